"""vLLM's acceptance: ``vllm-metrics:FILE[:MODEL]``, a tau(n) curve from its Prometheus counters.

A saved Prometheus text scrape of vLLM's ``/metrics`` endpoint (``curl host:8000/metrics >
FILE``). vLLM v1 defines four counters in ``vllm/v1/spec_decode/metrics.py``
(``SpecDecodingProm``), labelled ``model_name`` and ``engine`` by
``vllm/v1/metrics/loggers.py`` (``PrometheusStatLogger``); the exposition format adds the
``_total`` suffix and prometheus_client a ``_created`` timestamp series, which is ignored:

- ``vllm:spec_decode_num_drafts``: speculative steps in which a sequence got a draft;
- ``vllm:spec_decode_num_draft_tokens``: draft tokens proposed;
- ``vllm:spec_decode_num_accepted_tokens``: draft tokens accepted (the bonus token excluded);
- ``vllm:spec_decode_num_accepted_tokens_per_pos{position="i"}``: drafts whose position i
  (0-based) was accepted. vLLM increments positions ``0..accepted-1`` of each draft, so a
  draft counted at position i is counted at every earlier one (chain semantics).

With ``p_i = accepted_per_pos[i] / num_drafts`` (the probability that position i is accepted
given a draft was made), a step that verifies ``n = 1 + k`` tokens yields
``tau(n) = 1 + sum_{i<k} p_i`` tokens, for every k up to the positions the engine drafted.
Without per-position counters only ``tau = 1 + accepted / drafts`` at the drafted
``k = draft_tokens / drafts`` is known: a single-point curve, linear in between (a chord
from (1, 1), which under-states a concave curve).

Series of several engines of one model are summed. A scrape of several models is refused
unless ``:MODEL`` picks one ``model_name``.

Acceptance is assumed independent of batch size and of context length (``ASSUMPTION``). The
Prometheus text format is read by :mod:`specroof.speculation.prometheus_text`.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from specroof.datafiles import read_text
from specroof.errors import SpecroofError, suggest
from specroof.speculation.engine_metrics import EngineAcceptance, split_file_arg
from specroof.speculation.prometheus_text import Sample, _clip, parse_prometheus_text

VLLM_PREFIX = "vllm:spec_decode_"
VLLM_DRAFTS = "vllm:spec_decode_num_drafts"
VLLM_DRAFT_TOKENS = "vllm:spec_decode_num_draft_tokens"
VLLM_ACCEPTED = "vllm:spec_decode_num_accepted_tokens"
VLLM_PER_POS = "vllm:spec_decode_num_accepted_tokens_per_pos"
VLLM_COUNTERS = (VLLM_DRAFTS, VLLM_DRAFT_TOKENS, VLLM_ACCEPTED, VLLM_PER_POS)
"""Counter names as vLLM v1 declares them (``vllm/v1/spec_decode/metrics.py``), without ``_total``."""

_V0_ONLY = "vllm:spec_decode_num_emitted_tokens"  # vLLM v0's counter; v0 had no num_drafts

_CONSISTENCY = 0.01
"""Relative slack between sum(per-position counters) and num_accepted_tokens: a scrape reads
counters one by one, so a step observed mid-scrape can make them differ by a few tokens."""


def read_vllm_metrics(path: str | Path, model: str | None = None, spec: str | None = None) -> EngineAcceptance:
    """tau(n) from a saved scrape of vLLM's ``/metrics`` (see the module docstring).

    ``model`` selects one ``model_name`` when the scrape holds several; series of all engines
    (the ``engine`` label, data-parallel ranks) of that model are summed. Counters are
    cumulative since the server started: scrape a server that served only the workload of
    interest. Acceptance is assumed independent of batch size and context length.
    """
    path = Path(path)
    where = str(path)
    spec = spec or (f"vllm-metrics:{path}" + (f":{model}" if model else ""))
    samples, skipped = parse_prometheus_text(read_text(path, f"vLLM metrics file {where!r}"), where, keep=VLLM_PREFIX)
    series, models = _model_series(samples, model, where, path)
    totals, per_pos, engines = _sum_series(series, where)
    drafts, drafted, accepted = _checked_totals(totals, where)
    counters: dict[str, Any] = {
        "num_drafts": int(drafts), "num_draft_tokens": int(drafted), "num_accepted_tokens": int(accepted),
        "mean_draft_length": drafted / drafts, "mean_acceptance_length": 1.0 + accepted / drafts,
        "draft_acceptance_rate": accepted / drafted,
    }
    notes = [f"summed over {len(engines)} engine label values" if len(engines) > 1 else "one engine"]
    if len(models) > 1 or model is not None:
        notes.append(f"model_name {model!r}")
    if skipped:
        notes.append(f"{skipped} unreadable non-spec-decode lines skipped")
    if per_pos:
        return _per_position_curve(per_pos, counters, notes, spec, where)
    k = int(round(drafted / drafts))
    if abs(drafted / drafts - k) > 1e-6 * max(1.0, drafted / drafts):
        raise SpecroofError(f"{where}: drafts averaged {drafted / drafts:g} tokens (varying lengths) and the file has "
                            f"no {VLLM_PER_POS} counters, so tau is known at no single n; scrape a vLLM that exports "
                            "them, or give a measured curve:FILE")
    notes.append(f"no per-position counters: tau known only at n={k + 1} (linear from (1, 1) in between)")
    return EngineAcceptance([(1.0, 1.0), (float(k + 1), 1.0 + accepted / drafts)], spec, "vllm", counters,
                            notes=notes)


def _model_series(samples: list[Sample], model: str | None, where: str, path: Path) -> tuple[list[Sample], list[str]]:
    """The spec-decode counter samples of one model, and every model_name the scrape holds."""
    series = [s for s in samples if _counter_base(s.name) in VLLM_COUNTERS]
    if not any(_counter_base(s.name) == VLLM_DRAFTS for s in series) and any(
            s.name.startswith(_V0_ONLY) for s in samples):
        raise SpecroofError(f"{where}: has vLLM v0 spec-decode metrics, which lack {VLLM_DRAFTS}; "
                            "scrape a vLLM v1 server (or give the acceptance lengths as curve:FILE)")
    if not series:
        raise SpecroofError(f"{where}: no vLLM spec-decode counters ({VLLM_DRAFTS}_total, ...); save the "
                            "/metrics page of a vLLM server started with --speculative-config after it served requests")
    models = sorted({s.label("model_name") for s in series})
    if model is None and len(models) > 1:
        raise SpecroofError(f"{where}: spec-decode counters of {len(models)} models ({', '.join(map(repr, models))}); "
                            f"pick one with vllm-metrics:{path}:MODEL")
    if model is not None:
        if model not in models:
            raise SpecroofError(f"{where}: no spec-decode counters for model_name {model!r}"
                                f"{suggest(model, models)}; models in the file: {', '.join(map(repr, models))}")
        series = [s for s in series if s.label("model_name") == model]
    return series, models


def _sum_series(series: list[Sample], where: str) -> tuple[dict[str, float], dict[int, float], set[str]]:
    """(totals per counter, per-position totals, engine label values): every engine's series summed."""
    totals: dict[str, float] = {}
    per_pos: dict[int, float] = {}
    seen: dict[tuple[str, tuple[tuple[str, str], ...]], int] = {}
    engines: set[str] = set()
    for s in series:
        base = _counter_base(s.name)
        key = (base, s.labels)
        if key in seen:
            raise SpecroofError(f"{where}:{s.line}: {base} with the same labels as line {seen[key]}; "
                                "is this two scrapes in one file? keep one")
        seen[key] = s.line
        _check_counter(s, where)
        engines.add(s.label("engine"))
        if base == VLLM_PER_POS:
            position = s.label("position", "")
            if not (position.isascii() and position.isdigit()):
                raise SpecroofError(f"{where}:{s.line}: {s.name} has position={position!r}; "
                                    "expect a 0-based integer label position=\"0\", \"1\", ...")
            per_pos[int(position)] = per_pos.get(int(position), 0.0) + s.value
        else:
            totals[base] = totals.get(base, 0.0) + s.value
    return totals, per_pos, engines


def _checked_totals(totals: dict[str, float], where: str) -> tuple[float, float, float]:
    """(drafts, draft tokens, accepted tokens), each present and consistent with the others."""
    for name in (VLLM_DRAFTS, VLLM_DRAFT_TOKENS, VLLM_ACCEPTED):
        if name not in totals:
            found = ', '.join(sorted(totals) or ['only per-position counters'])
            raise SpecroofError(f"{where}: lacks {name}_total (found {found}); save the whole /metrics page")
    drafts, drafted, accepted = totals[VLLM_DRAFTS], totals[VLLM_DRAFT_TOKENS], totals[VLLM_ACCEPTED]
    if drafts == 0:
        raise SpecroofError(f"{where}: {VLLM_DRAFTS} is 0, so nothing was drafted yet; "
                            "scrape after the server has served requests")
    if drafted < drafts:
        raise SpecroofError(f"{where}: {VLLM_DRAFT_TOKENS} ({drafted:g}) is below {VLLM_DRAFTS} ({drafts:g}); "
                            "every draft proposes at least one token, so the file is inconsistent")
    if accepted > drafted:
        raise SpecroofError(f"{where}: {VLLM_ACCEPTED} ({accepted:g}) exceeds {VLLM_DRAFT_TOKENS} ({drafted:g}); "
                            "no more tokens can be accepted than were drafted")
    return drafts, drafted, accepted


def _per_position_curve(per_pos: dict[int, float], counters: dict[str, Any], notes: list[str], spec: str,
                        where: str) -> EngineAcceptance:
    """tau(n) at every n up to the drafted positions: 1 + the sum of the per-position rates."""
    drafts, accepted = float(counters["num_drafts"]), float(counters["num_accepted_tokens"])
    mean_draft = counters["mean_draft_length"]
    counts = _contiguous_positions(per_pos, where)
    k = len(counts)
    if mean_draft > k + 1e-9:
        raise SpecroofError(f"{where}: drafts average {mean_draft:g} tokens but per-position counters cover only "
                            f"{k} positions; the file is inconsistent (two servers mixed?)")
    _check_positions(counts, drafts, where)
    total = float(sum(counts))
    if abs(total - accepted) > _CONSISTENCY * max(accepted, total) + 1e-9:
        raise SpecroofError(f"{where}: per-position counters sum to {total:g} but {VLLM_ACCEPTED} is {accepted:g} "
                            f"(more than {_CONSISTENCY:.0%} apart); the file mixes scrapes or servers")
    rates = [c / drafts for c in counts]
    taus = 1.0 + np.cumsum(rates)
    points = [(1.0, 1.0)] + [(float(i + 2), float(t)) for i, t in enumerate(taus)]
    counters["positions"] = k
    if mean_draft < k - 1e-9:
        notes.append(f"drafts averaged {mean_draft:.3g} of {k} tokens; short drafts count as rejected at the "
                     "positions they lack")
    return EngineAcceptance(points, spec, "vllm", counters, rates, counts, notes)


def _check_positions(counts: list[float], drafts: float, where: str) -> None:
    """Each position is accepted at most once per draft, and only after every position before it."""
    for i, c in enumerate(counts):
        if c > drafts * (1 + 1e-12):
            raise SpecroofError(f"{where}: {VLLM_PER_POS} at position {i} ({c:g}) exceeds {VLLM_DRAFTS} ({drafts:g}); "
                                "a position is accepted at most once per draft")
        if i and c > counts[i - 1] * (1 + 1e-12):
            raise SpecroofError(f"{where}: {VLLM_PER_POS} rises from {counts[i - 1]:g} at position {i - 1} to "
                                f"{c:g} at position {i}; a position is accepted only after all before it")


_MAX_COUNT = 2 ** 53
"""Largest counter value read: above it a float no longer holds every whole number, and no
server counts that many events (2^53 tokens is 285 years at a million tokens per second)."""


def _check_counter(sample: Sample, where: str) -> None:
    """A counter counts events: a finite whole number >= 0, below 2^53."""
    value, shown = sample.value, _clip(sample.text or repr(sample.value), 40)
    literal = (sample.text or "").lower()
    if math.isnan(value) or value < 0 or "inf" in literal:
        raise SpecroofError(f"{where}:{sample.line}: {sample.name} is {shown}; a counter is a finite number >= 0")
    if value > _MAX_COUNT:  # a long literal that overflows a float included
        raise SpecroofError(f"{where}:{sample.line}: {sample.name} is {shown}; a counter is a finite whole number "
                            "at most 2^53 (no server counts more events), so the file is corrupt")
    if value != math.floor(value):
        raise SpecroofError(f"{where}:{sample.line}: {sample.name} is {shown}; a counter counts events, so it is a "
                            "whole number")


def _counter_base(name: str) -> str:
    """``X_total`` -> ``X``; ``X`` -> ``X``; ``X_created`` and others -> '' (not a counter value)."""
    if name.endswith("_total"):
        return name[: -len("_total")]
    return name if name in VLLM_COUNTERS else ""


def _contiguous_positions(per_pos: dict[int, float], where: str) -> list[float]:
    k = max(per_pos) + 1
    if k != len(per_pos):  # positions are distinct integers >= 0, so some below k are missing
        first = next(i for i in range(len(per_pos) + 1) if i not in per_pos)
        raise SpecroofError(f"{where}: {VLLM_PER_POS} lacks position {first} (positions run up to {k - 1}); "
                            "save the whole /metrics page")
    return [per_pos[i] for i in range(k)]


def parse_vllm_metrics(args: str) -> EngineAcceptance:
    """``vllm-metrics:FILE`` or ``vllm-metrics:FILE:MODEL``."""
    path, model = split_file_arg("vllm-metrics", args, "MODEL")
    return read_vllm_metrics(path, model, spec=f"vllm-metrics:{args}")
