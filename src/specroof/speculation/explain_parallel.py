"""explain's expert-parallel line: how the all-to-all and the busiest expert rank grow when a
verification step sends ``b x n`` tokens where a plain step sent ``b``.

Under expert parallelism with data-parallel attention every MoE layer pays a dispatch and a
combine whose payload grows with the tokens each rank sends (:mod:`specroof.cost.pricing_comm`),
and the step waits for the rank whose experts received the most tokens
(:func:`specroof.cost.parallel.max_rank_copies`). Both are parts of the causes table already;
this line says them in one place.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from specroof.cost.operation import DRAFTING, MOE_COMBINE_A2A, MOE_DISPATCH_A2A
from specroof.cost.parallel import max_rank_copies
from specroof.cost.pricing_comm import LOW_LATENCY_MAX_TOKENS
from specroof.cost.setup import StepSetup
from specroof.cost.step import StepLatency

A2A_NAMES = (MOE_DISPATCH_A2A.name, MOE_COMBINE_A2A.name)


def all_to_all_growth(setup: StepSetup, spec_step: StepLatency, plain_step: StepLatency,
                      verify_ms: float) -> dict[str, Any] | None:
    """The all-to-all and busiest-rank figures of one grid point (None without expert parallelism)."""
    if setup.ep == 1 or not setup.model.is_moe:
        return None
    batch, candidates = int(spec_step.batch[0]), int(spec_step.candidates[0])
    names = [n for n in A2A_NAMES if any(op.name == n and op.operation.group != DRAFTING
                                         for op in spec_step.operations)]

    def ms(step: StepLatency, name: str) -> float:
        return float(np.asarray(step.ops_ms[name])[0, 0, 0]) if name in step.ops_ms else 0.0

    plain_ms = sum(ms(plain_step, n) for n in names)
    spec_ms = sum(ms(spec_step, n) for n in names)
    k, ep = setup.model.experts_per_token, setup.ep
    rank_tokens = batch * candidates / setup.dp_attention
    busiest = float(max_rank_copies(setup, float(batch * candidates)))
    return {"ep": ep, "tokens_per_rank_plain": batch / setup.dp_attention, "tokens_per_rank_verify": rank_tokens,
            "a2a_plain_ms": plain_ms, "a2a_verify_ms": spec_ms, "a2a_added_ms": spec_ms - plain_ms,
            "a2a_share_of_verify": spec_ms / verify_ms if verify_ms else 0.0,
            "mode_verify": "low_latency" if rank_tokens <= LOW_LATENCY_MAX_TOKENS else "normal",
            "busiest_rank_copies": busiest, "balanced_rank_copies": batch * candidates * k / ep}


def all_to_all_line(growth: dict[str, Any]) -> str:
    """explain's one line for it."""
    head = (f"expert parallelism over {growth['ep']} GPUs: the busiest expert rank gets "
            f"{growth['busiest_rank_copies']:.1f} routed tokens at verification vs {growth['balanced_rank_copies']:.1f} "
            "if balanced")
    if not growth["a2a_verify_ms"]:
        return head + " (no all-to-all: every GPU holds every token, the all-reduce combines)"
    return (head + f"; all-to-all {growth['a2a_plain_ms']:.3f} ms at {growth['tokens_per_rank_plain']:g} tokens per "
            f"rank -> {growth['a2a_verify_ms']:.3f} ms at {growth['tokens_per_rank_verify']:g} "
            f"({growth['mode_verify'].replace('_', '-')} kernels, {100 * growth['a2a_share_of_verify']:.1f}% of the "
            "verify step)")
