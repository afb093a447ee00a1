"""SGLang's acceptance: ``sglang:FILE[:N]``, its average accept length as a tau(N) point.

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

Acceptance is assumed independent of batch size and of context length (``ASSUMPTION``).
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import numpy as np

from specroof.datafiles import parse_json, read_text
from specroof.errors import SpecroofError
from specroof.speculation.engine_metrics import EngineAcceptance, split_file_arg
from specroof.speculation.prometheus_text import _clip

MAX_DRAFT_TOKENS = 4096
"""Largest N accepted for SGLang: far above any tree SGLang builds, low enough to catch a typo."""

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
    if not 2 <= n <= MAX_DRAFT_TOKENS:
        raise SpecroofError(f"{where}: N={n} is outside 2..{MAX_DRAFT_TOKENS}; N counts tokens verified per step, "
                            "root included (--speculative-num-draft-tokens), so it is at least 2")
    tau = float(np.mean(values))
    if tau > n + 1e-6:
        raise SpecroofError(f"{where}: accept length {tau:.3g} exceeds N={n} tokens verified per step; "
                            "N is --speculative-num-draft-tokens (root included)")
    counters.update({"num_draft_tokens": n, "mean_acceptance_length": tau})
    notes.append(f"tau known only at n={n} (linear from (1, 1) in between)")
    # SGLang's N counts the nodes of the tree it served: a chain's positions when its server info says topk 1.
    counts = "positions" if counters.get("speculative_eagle_topk") == 1 else "nodes"
    return EngineAcceptance([(1.0, 1.0), (float(n), min(tau, float(n)))], spec, "sglang", counters, notes=notes,
                            counts=counts)


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
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_DRAFT_TOKENS:
        return value
    raise SpecroofError(f"{where}: {key} is {_clip(repr(value), 40)}; expect a short name or a whole number "
                        f"in 0..{MAX_DRAFT_TOKENS}")


def _accept_length(value: Any, what: str) -> float:
    try:
        number = float(value) if not isinstance(value, bool) else math.nan
    except (TypeError, ValueError):
        raise SpecroofError(f"{what} {_clip(str(value))!r} is not a number") from None
    if not math.isfinite(number) or number < 1:
        raise SpecroofError(f"{what} is {_clip(str(value))!r}; an accept length counts the bonus token, so it is a "
                            "finite number >= 1")
    return number


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
