"""An engine's speculative-decoding counters -> an acceptance curve (``candidates,acceptance_length``).

vLLM exports, at its Prometheus ``/metrics`` endpoint, counters summed over every step that
speculated (``vllm:spec_decode_*_total``):

- ``num_drafts``: steps that verified a draft;
- ``num_draft_tokens``: draft tokens proposed (k per draft for a fixed draft length);
- ``num_accepted_tokens``: draft tokens accepted;
- ``num_accepted_tokens_per_pos{position="i"}``: accepted at draft position i (0-based).

A chain is accepted up to its first rejection, so with the per-position counts the mean
tokens per step of a shorter draft of j tokens (n = j + 1 candidates verified) is the same
prefix: tau(j + 1) = 1 + sum_{i < j} accepted_i / drafts, and tau(1) = 1 (the bonus token).
Without them only the drafted length k is known: tau(k + 1) = 1 + accepted / drafts. The
curve assumes the proposals of the first j positions do not depend on k, which holds for the
chain drafters (draft model, EAGLE, n-gram) the counters describe.
"""

from __future__ import annotations

import re

from specroof.errors import SpecroofError

_LINE = re.compile(r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>[^}]*)\})?\s+(?P<value>\S+)")
_POSITION = re.compile(r'position="(\d+)"')
PREFIX = "vllm:spec_decode_"


def curve_from_metrics(text: str) -> str:
    """CSV text of the acceptance curve the counters in ``text`` (Prometheus format) imply."""
    totals: dict[str, float] = {}
    per_pos: dict[int, float] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _LINE.match(line)
        if not match or not match.group("name").startswith(PREFIX):
            continue
        name = match.group("name")[len(PREFIX):].removesuffix("_total")
        try:
            value = float(match.group("value"))
        except ValueError:
            raise SpecroofError(f"metrics line {line[:80]!r}: {match.group('value')!r} is not a number") from None
        if name == "num_accepted_tokens_per_pos":
            position = _POSITION.search(match.group("labels") or "")
            if position is None:
                raise SpecroofError(f"metrics line {line[:80]!r} lacks its position label")
            per_pos[int(position.group(1))] = per_pos.get(int(position.group(1)), 0.0) + value
        else:  # summed over label sets (several models or engines on one server)
            totals[name] = totals.get(name, 0.0) + value
    drafts = totals.get("num_drafts", 0.0)
    if drafts <= 0:
        raise SpecroofError("no speculative-decoding counters in this file: expected vLLM's /metrics text with "
                            "vllm:spec_decode_num_drafts_total > 0 (save it with curl http://HOST:PORT/metrics)")
    rows = [(1, 1.0)]
    if per_pos:
        positions = sorted(per_pos)
        if positions != list(range(len(positions))):
            raise SpecroofError(f"draft positions {positions} are not 0, 1, 2, ...: the file is incomplete")
        tau = 1.0
        for i in positions:
            tau += per_pos[i] / drafts
            rows.append((i + 2, tau))
    else:
        accepted, proposed = totals.get("num_accepted_tokens"), totals.get("num_draft_tokens")
        if accepted is None or proposed is None:
            raise SpecroofError("the metrics have drafts but no accepted or draft token counts")
        rows.append((max(1, round(proposed / drafts)) + 1, 1.0 + accepted / drafts))
    lines = ["# acceptance curve from vLLM speculative-decoding counters",
             f"# {drafts:.0f} drafts; tau(n) = 1 + accepted tokens in the first n - 1 positions / drafts",
             "candidates,acceptance_length"]
    lines += [f"{n},{tau:.6f}" for n, tau in rows]
    return "\n".join(lines) + "\n"
