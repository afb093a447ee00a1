"""Acceptance read from the engines' own metrics: vLLM's Prometheus counters, SGLang's accept length.

Two sources, each turned into a measured tau(n) curve (a :class:`CurveAcceptance` that names
where it came from and never extrapolates):

``vllm-metrics:FILE[:MODEL]``
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

``sglang:FILE[:N]``
    SGLang's average accept length, which counts the bonus token (the scheduler adds
    ``accepted + batch_size`` per verify step, ``python/sglang/srt/managers/scheduler_metrics_mixin.py``),
    from either
    - the ``/get_server_info`` (or ``/server_info``) JSON: ``internal_states[*].avg_spec_accept_length``
      (set by ``get_internal_state`` in ``python/sglang/srt/managers/scheduler.py``; one entry per
      data-parallel rank, averaged with equal weight), plus the server arguments at top level,
      whose ``speculative_num_draft_tokens`` gives N; or
    - the scheduler's log: the ``accept len: X.XX`` field of its ``Decode batch`` lines, each the
      average over one logging interval; the lines are averaged with equal weight.
    N is the number of tokens verified per step, root included (``--speculative-num-draft-tokens``;
    ``--speculative-num-steps + 1`` for a chain). A log does not state it: give it as
    ``sglang:FILE:N``.

Acceptance is assumed independent of batch size and of context length: the engines' counters
average over whatever batches and contexts they served, and the curve is used at every batch
size and sequence length of the study.

The Prometheus text format is read by the small strict parser of
:mod:`specroof.speculation.prometheus_text` (not ``prometheus_client``'s: see there).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from specroof.datafiles import parse_json, read_text
from specroof.errors import SpecroofError, suggest
from specroof.speculation.acceptance import CurveAcceptance
from specroof.speculation.prometheus_text import Sample, _clip, parse_prometheus_text  # noqa: F401 (re-exported)

ASSUMPTION = ("acceptance is assumed independent of batch size and context length "
              "(the engine's counters average over the batches and contexts it served)")
"""The one assumption every engine-metrics curve makes, said in headers, docs and docstrings."""

VLLM_PREFIX = "vllm:spec_decode_"
VLLM_DRAFTS = "vllm:spec_decode_num_drafts"
VLLM_DRAFT_TOKENS = "vllm:spec_decode_num_draft_tokens"
VLLM_ACCEPTED = "vllm:spec_decode_num_accepted_tokens"
VLLM_PER_POS = "vllm:spec_decode_num_accepted_tokens_per_pos"
VLLM_COUNTERS = (VLLM_DRAFTS, VLLM_DRAFT_TOKENS, VLLM_ACCEPTED, VLLM_PER_POS)
"""Counter names as vLLM v1 declares them (``vllm/v1/spec_decode/metrics.py``), without ``_total``."""

ENGINE_KINDS = ("vllm-metrics", "sglang")
"""The acceptance-spec kinds this module reads (``specroof acceptance --from`` takes these)."""

_V0_ONLY = "vllm:spec_decode_num_emitted_tokens"  # vLLM v0's counter; v0 had no num_drafts

_MAX_DRAFT_TOKENS = 4096
"""Largest N accepted for SGLang: far above any tree SGLang builds, low enough to catch a typo."""

_CONSISTENCY = 0.01
"""Relative slack between sum(per-position counters) and num_accepted_tokens: a scrape reads
counters one by one, so a step observed mid-scrape can make them differ by a few tokens."""


class EngineAcceptance(CurveAcceptance):
    """A tau(n) curve measured by an inference engine, with what was read to build it.

    It is a :class:`CurveAcceptance` (exact at the measured points, linear between them,
    refusing budgets beyond the last) whose :meth:`describe` names the source spec. ``counters``
    holds the raw numbers read, ``position_rates`` the per-position acceptance probabilities
    when the engine reported them, ``notes`` how the numbers were combined.

    Acceptance is assumed independent of batch size and of context length (see ``ASSUMPTION``).
    """

    def __init__(self, points: Sequence[tuple[float, float]], spec: str, engine: str,
                 counters: dict[str, Any], position_rates: Sequence[float] | None = None,
                 position_counts: Sequence[float] | None = None, notes: Sequence[str] = ()) -> None:
        super().__init__(points, name=spec)
        self.spec = spec
        self.engine = engine
        # vLLM counts accepted positions of a chain; SGLang's N is the nodes of the tree it served
        # (a chain when its server info says topk 1).
        chain = engine != "sglang" or dict(counters).get("speculative_eagle_topk") == 1
        self.counts = "positions" if chain else "nodes"
        self.counters = dict(counters)
        self.position_rates = None if position_rates is None else [float(p) for p in position_rates]
        self.position_counts = None if position_counts is None else [float(c) for c in position_counts]
        self.notes = list(notes)
        self.assumption = ASSUMPTION

    def describe(self) -> str:
        return self.spec

    def _limit_reason(self) -> str:
        k = self.max_candidates - 1
        return (f"{self.spec} measured tau only up to n={self.max_candidates} ({k} draft token"
                f"{'s' if k != 1 else ''} per step); refusing to extrapolate")

    def rows(self) -> list[dict[str, Any]]:
        """One record per measured budget n: the draft position it adds, its rate, and tau(n).

        With per-position counters every n from 1 to k + 1 is measured; otherwise only n = 1
        and n = k + 1 (the points in between are the curve's linear interpolation and are not
        listed).
        """
        rows: list[dict[str, Any]] = []
        for n, tau in zip(self.candidates, self.acceptance):
            n = int(n)
            row: dict[str, Any] = {"candidates": n, "draft_position": None, "accepted": None,
                                   "acceptance_rate": None, "acceptance_length": float(tau)}
            if n > 1 and self.position_rates is not None:
                row["draft_position"] = n - 2
                row["acceptance_rate"] = self.position_rates[n - 2]
                if self.position_counts is not None:
                    count = self.position_counts[n - 2]
                    row["accepted"] = int(count) if count.is_integer() else count
            rows.append(row)
        return rows


# --------------------------------------------------------------------------------------------
# vLLM
# --------------------------------------------------------------------------------------------


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
    text = read_text(path, f"vLLM metrics file {where!r}")
    samples, skipped = parse_prometheus_text(text, where, keep=VLLM_PREFIX)
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

    for name in (VLLM_DRAFTS, VLLM_DRAFT_TOKENS, VLLM_ACCEPTED):
        if name not in totals:
            raise SpecroofError(f"{where}: lacks {name}_total (found {', '.join(sorted(totals) or ['only per-position counters'])}); "
                                "save the whole /metrics page")
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
    mean_draft = drafted / drafts
    counters: dict[str, Any] = {
        "num_drafts": int(drafts), "num_draft_tokens": int(drafted), "num_accepted_tokens": int(accepted),
        "mean_draft_length": mean_draft, "mean_acceptance_length": 1.0 + accepted / drafts,
        "draft_acceptance_rate": accepted / drafted,
    }
    notes = [f"summed over {len(engines)} engine label values" if len(engines) > 1 else "one engine"]
    if len(models) > 1 or model is not None:
        notes.append(f"model_name {model!r}")
    if skipped:
        notes.append(f"{skipped} unreadable non-spec-decode lines skipped")

    if per_pos:
        counts = _contiguous_positions(per_pos, where)
        k = len(counts)
        if mean_draft > k + 1e-9:
            raise SpecroofError(f"{where}: drafts average {mean_draft:g} tokens but per-position counters cover only "
                                f"{k} positions; the file is inconsistent (two servers mixed?)")
        for i, c in enumerate(counts):
            if c > drafts * (1 + 1e-12):
                raise SpecroofError(f"{where}: {VLLM_PER_POS} at position {i} ({c:g}) exceeds {VLLM_DRAFTS} ({drafts:g}); "
                                    "a position is accepted at most once per draft")
            if i and c > counts[i - 1] * (1 + 1e-12):
                raise SpecroofError(f"{where}: {VLLM_PER_POS} rises from {counts[i - 1]:g} at position {i - 1} to "
                                    f"{c:g} at position {i}; a position is accepted only after all before it")
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

    k_float = mean_draft
    k = int(round(k_float))
    if abs(k_float - k) > 1e-6 * max(1.0, k_float):
        raise SpecroofError(f"{where}: drafts averaged {k_float:g} tokens (varying lengths) and the file has no "
                            f"{VLLM_PER_POS} counters, so tau is known at no single n; scrape a vLLM that exports "
                            "them, or give a measured curve:FILE")
    notes.append(f"no per-position counters: tau known only at n={k + 1} (linear from (1, 1) in between)")
    return EngineAcceptance([(1.0, 1.0), (float(k + 1), 1.0 + accepted / drafts)], spec, "vllm", counters,
                            notes=notes)


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


# --------------------------------------------------------------------------------------------
# SGLang
# --------------------------------------------------------------------------------------------

_ACCEPT_LEN = re.compile(r"accept len:\s*(\S+?)(?:,|\s|$)")


def read_sglang(path: str | Path, num_draft_tokens: int | None = None, spec: str | None = None) -> EngineAcceptance:
    """tau at SGLang's draft token count from its server-info JSON or its scheduler log.

    ``num_draft_tokens`` is N, the tokens verified per step with the root
    (``--speculative-num-draft-tokens``); a server-info JSON states it, a log does not. The
    accept length counts the bonus token, so it is tau(N) directly. Acceptance is assumed
    independent of batch size and context length.
    """
    path = Path(path)
    where = str(path)
    spec = spec or (f"sglang:{path}" + (f":{num_draft_tokens}" if num_draft_tokens is not None else ""))
    text = read_text(path, f"SGLang file {where!r}")
    if text.lstrip().startswith("{"):
        values, stated, counters, notes = _sglang_server_info(text, where)
    else:
        values, stated, counters, notes = _sglang_log(text, where)
    if num_draft_tokens is None:
        if stated is None:
            raise SpecroofError(f"{where}: does not state SGLang's draft token count; give it as sglang:{path}:N "
                                "(N = --speculative-num-draft-tokens, tokens verified per step, root included)")
        num_draft_tokens = stated
    elif stated is not None and stated != num_draft_tokens:
        raise SpecroofError(f"{where}: states speculative_num_draft_tokens={stated}, but N={num_draft_tokens} was given; "
                            f"drop :{num_draft_tokens} or fix it")
    n = int(num_draft_tokens)
    if not 2 <= n <= _MAX_DRAFT_TOKENS:
        raise SpecroofError(f"{where}: N={n} is outside 2..{_MAX_DRAFT_TOKENS}; N counts tokens verified per step, "
                            "root included (--speculative-num-draft-tokens), so it is at least 2")
    tau = float(np.mean(values))
    if tau > n + 1e-6:
        raise SpecroofError(f"{where}: accept length {tau:.3g} exceeds N={n} tokens verified per step; "
                            "N is --speculative-num-draft-tokens (root included)")
    counters.update({"num_draft_tokens": n, "mean_acceptance_length": tau})
    notes.append(f"tau known only at n={n} (linear from (1, 1) in between)")
    return EngineAcceptance([(1.0, 1.0), (float(n), min(tau, float(n)))], spec, "sglang", counters, notes=notes)


def _sglang_server_info(text: str, where: str) -> tuple[list[float], int | None, dict[str, Any], list[str]]:
    info = parse_json(text, f"{where} (SGLang's /get_server_info response)")
    if not isinstance(info, dict):
        raise SpecroofError(f"{where}: expected a JSON object (SGLang's /get_server_info response)")
    states = info.get("internal_states")
    found: list[Any] = []
    if isinstance(states, list):
        found = [s.get("avg_spec_accept_length") for s in states
                 if isinstance(s, dict) and s.get("avg_spec_accept_length") is not None]
    if not found and info.get("avg_spec_accept_length") is not None:
        found = [info["avg_spec_accept_length"]]
    if not found:
        raise SpecroofError(f"{where}: no internal_states[].avg_spec_accept_length; SGLang reports it once a "
                            "speculative server has decoded, so query /get_server_info after serving requests")
    values = [_accept_length(v, f"{where}: avg_spec_accept_length") for v in found]
    stated = info.get("speculative_num_draft_tokens")
    if stated is None and isinstance(states, list) and states and isinstance(states[0], dict):
        stated = states[0].get("speculative_num_draft_tokens")
    if stated is not None:
        if (isinstance(stated, bool) or not isinstance(stated, (int, float)) or not math.isfinite(stated)
                or stated != int(stated) or stated < 1):
            raise SpecroofError(f"{where}: speculative_num_draft_tokens is {stated!r}; expect a positive integer")
        stated = int(stated)
    counters: dict[str, Any] = {"avg_spec_accept_length": values if len(values) > 1 else values[0]}
    for key in ("speculative_algorithm", "speculative_num_steps", "speculative_eagle_topk"):
        if info.get(key) is not None:
            counters[key] = _server_setting(info[key], key, where)
    notes = ["server info JSON"]
    if len(values) > 1:
        notes.append(f"{len(values)} data-parallel ranks averaged with equal weight")
    return values, stated, counters, notes


def _sglang_log(text: str, where: str) -> tuple[list[float], int | None, dict[str, Any], list[str]]:
    values: list[float] = []
    for line_no, line in enumerate(text.split("\n"), start=1):
        if "accept len:" not in line:
            continue
        match = _ACCEPT_LEN.search(line)
        if match is None:
            raise SpecroofError(f"{where}:{line_no}: 'accept len:' without a number")
        values.append(_accept_length(match.group(1), f"{where}:{line_no}: accept len"))
    if not values:
        raise SpecroofError(f"{where}: neither SGLang server-info JSON nor a log with 'Decode batch ... accept len: X' "
                            "lines; save /get_server_info or the server's log")
    counters: dict[str, Any] = {"log_lines": len(values), "accept_len_min": min(values), "accept_len_max": max(values)}
    notes = [f"mean of {len(values)} 'accept len' log lines, each weighted equally (each line averages one "
             "logging interval; values are rounded to 2 decimals)"]
    return values, None, counters, notes


def _server_setting(value: Any, key: str, where: str) -> str | int:
    """A server argument shown beside the curve: a short name or a small whole number."""
    if isinstance(value, str) and 0 < len(value) <= 64 and value.isprintable():
        return value
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= _MAX_DRAFT_TOKENS:
        return value
    raise SpecroofError(f"{where}: {key} is {_clip(repr(value), 40)}; expect a short name or a whole number "
                        f"in 0..{_MAX_DRAFT_TOKENS}")


def _accept_length(value: Any, what: str) -> float:
    try:
        number = float(value) if not isinstance(value, bool) else math.nan
    except (TypeError, ValueError):
        raise SpecroofError(f"{what} {_clip(str(value))!r} is not a number") from None
    if not math.isfinite(number) or number < 1:
        raise SpecroofError(f"{what} is {_clip(str(value))!r}; an accept length counts the bonus token, so it is a "
                            "finite number >= 1")
    return number


# --------------------------------------------------------------------------------------------
# KIND:ARGS
# --------------------------------------------------------------------------------------------


def split_file_arg(kind: str, args: str, extra: str) -> tuple[Path, str | None]:
    """``FILE`` or ``FILE:EXTRA``: a path that exists whole wins, else the shortest existing prefix.

    Any existing path that is not a directory is taken (a FIFO or a device too), so that the
    reader says what it is rather than "not found".
    """
    if _exists_not_dir(args):
        return Path(args), None
    for i, ch in enumerate(args):  # the first ':' after an existing file (a model name may hold ':')
        if ch == ":" and _exists_not_dir(args[:i]):
            return Path(args[:i]), args[i + 1:].strip() or None
    file_part, sep, _ = args.rpartition(":")
    for candidate in (args, file_part if sep else ""):
        if candidate and _is_dir(candidate):
            raise SpecroofError(f"{kind}:{args}: {candidate!r} is a directory; give a file ({kind}:FILE[:{extra}])")
    tried = f"{args!r}" + (f" (nor {file_part!r})" if sep and file_part else "")
    raise SpecroofError(f"{kind} file {tried} not found; give {kind}:FILE[:{extra}] with an existing file")


def _exists_not_dir(path: str) -> bool:
    try:
        p = Path(path)
        return p.exists() and not p.is_dir()
    except (OSError, ValueError):  # a name too long for the file system, a NUL byte
        return False


def _is_dir(path: str) -> bool:
    try:
        return Path(path).is_dir()
    except (OSError, ValueError):
        return False


def parse_vllm_metrics(args: str) -> EngineAcceptance:
    """``vllm-metrics:FILE`` or ``vllm-metrics:FILE:MODEL``."""
    path, model = split_file_arg("vllm-metrics", args, "MODEL")
    return read_vllm_metrics(path, model, spec=f"vllm-metrics:{args}")


def parse_sglang(args: str) -> EngineAcceptance:
    """``sglang:FILE`` or ``sglang:FILE:N``."""
    path, extra = split_file_arg("sglang", args, "N")
    n = None
    if extra is not None:
        try:
            n = int(extra)
        except ValueError:
            raise SpecroofError(f"sglang:{args}: N={extra!r} is not an integer; give sglang:FILE:N with N the "
                                "tokens verified per step (--speculative-num-draft-tokens)") from None
    return read_sglang(path, n, spec=f"sglang:{args}")
