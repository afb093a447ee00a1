"""``llm-d-sim``: the plan as a latency profile of llm-d's inference simulator (``llm-d-inference-sim``).

The simulator has no speculative-decoding parameter. Its decode time is ``(output_tokens - 1) x
inter-token-latency``, multiplied by ``time-factor-under-load``, which grows linearly from 1
(one request in flight) to its value at ``max-num-seqs`` requests (``llm-d/llm-d-inference-sim``
``docs/latency-simulation.md`` and ``docs/configuration.md``, commit 05ea24a7: durations as Go
strings such as ``750us``; latency keys nested under ``latencies:``, the flat top-level keys of
older versions still accepted until v0.13). So speculation is folded into those two numbers:

- ``inter-token-latency``: the mean time per generated token at batch 1 with the schedule's k,
  the plain step's latency divided by the plan's speedup (= the speculative step over tau);
- ``time-factor-under-load``: that time per token at the schedule's largest batch (its
  ``max-num-seqs``) over the one at batch 1.

Both are means over the planned contexts where batch 1 and the largest batch both fit. The bursts
of tau tokens per step are averaged out (the simulator spaces tokens evenly), and prefill is not
in a plan: ``prefill-overhead`` and ``prefill-time-per-token`` are left to the user. The same two
numbers without speculation follow as comments, for the A/B run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from specroof.speculation.engines.engine import ENGINES, Engine, Spelling
from specroof.speculation.launch import max_batch, target_ref, yaml_str

if TYPE_CHECKING:
    from specroof.speculation.plan import PlanResult


def token_latency_ms(p: PlanResult, batch: int, k: int) -> np.ndarray:
    """Time per generated token (ms) per planned context, at a planned batch size with k draft
    tokens: the plain step's latency over the speedup (NaN where it does not fit)."""
    i = int(np.flatnonzero(p.batch == batch)[0])
    return p.ar_latency_ms[i] / p.sweep_speedup[i, k]


def _means(p: PlanResult, cells: list[tuple[int, int]]) -> list[float]:
    """The mean time per token of each (batch, k) cell over the contexts where every cell fits,
    so batch 1 and the largest batch are compared on the same contexts."""
    grid = np.array([token_latency_ms(p, b, k) for b, k in cells])
    usable = np.all(np.isfinite(grid), axis=0)
    return [float(row[usable].mean()) if usable.any() else float("nan") for row in grid]


def _k_at(ranges: list[list[int]], batch: int) -> int:
    return next(k for start, end, k in ranges if start <= batch <= end)


def write(p: PlanResult, ranges: list[list[int]], spelling: Spelling) -> list[str]:
    """A YAML profile for ``llm-d-inference-sim --config FILE``."""
    low, cap = int(p.batch.min()), max_batch(ranges)
    spec_low, spec_cap, plain_low, plain_cap = _means(p, [(low, _k_at(ranges, low)), (cap, _k_at(ranges, cap)),
                                                         (low, 0), (cap, 0)])
    spec, plain = (spec_low, spec_cap), (plain_low, plain_cap)
    lines = ["# llm-d-inference-sim latency profile (llm-d/llm-d-inference-sim docs/latency-simulation.md): the",
             "# simulator has no speculative-decoding parameter, so the plan's speculation is folded into",
             f"# inter-token-latency (mean time per generated token at batch {low}, k = {_k_at(ranges, low)}) and",
             f"# time-factor-under-load (that time at batch {cap}, k = {_k_at(ranges, cap)}, over the one at "
             f"batch {low}; the simulator",
             "# scales linearly up to max-num-seqs). Speculation's bursts of tau tokens per step are averaged out.",
             "# Prefill is not in a plan: set prefill-overhead and prefill-time-per-token from measurements.",
             "engine: vllm", f"model: {yaml_str(target_ref(p))}", f"max-num-seqs: {cap}",
             "latency-calculator: per-token", "latencies:"]
    lines += _latencies(*spec, indent="  ")
    lines += ["# without speculation (the A/B run), replace the two lines above with:"]
    lines += [f"#{line}" for line in _latencies(*plain, indent="  ")]
    if spec[1] < spec[0] or plain[1] < plain[0]:
        lines.append("# warning: the time per token at the largest batch is below batch 1's in this plan; the "
                     "simulator's factor must be >= 1, so it is written as 1")
    return lines


def _latencies(low_ms: float, cap_ms: float, indent: str) -> list[str]:
    factor = max(cap_ms / low_ms, 1.0)
    return [f"{indent}inter-token-latency: {round(low_ms * 1000)}us", f"{indent}time-factor-under-load: {factor:.3f}"]


ENGINES.register(Engine(
    name="llm-d-sim", display_name="llm-d inference simulator",
    description="a latency profile (YAML) for llm-d-inference-sim, speculation folded into its inter-token latency",
    write=write, any_method=True))
