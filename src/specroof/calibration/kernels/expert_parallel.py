"""How well the expert-parallel shard of :mod:`specroof.cost.architectures.expert_parallel`
predicts measured MoE layers under expert parallelism, with nothing fitted to them.

NVIDIA's MoE tables measure one GPU's fused MoE layer for ``moe_ep_size = ep`` (``E / ep``
local experts, the step's ``num_tokens`` tokens routed over all ``E``), next to the same shape
at ``ep = 1``. The engine's MoE kernel fields are fitted on ``ep = 1`` rows only, so every
``ep > 1`` row is held out. To judge the expert-parallel model itself, not the MoE kernel fit
it stands on, the check compares ratios: measured ``t(ep) / t(1)`` against priced
``t(ep) / t(1)``.

The tables' ``balanced`` routing is not a random router: the collector assigns token ``t``'s
``i``-th expert as ``(t + i ceil(E / k)) mod E`` (aiconfigurator's ``balanced_logits``), so
every rank gets exactly its share and no rank is busier than the mean. The shard is therefore
checked at the mean load ``T top_k / ep`` (``balanced``); the busiest-rank load specroof prices
for a real router (``E[max_r N_r]``, :func:`specroof.cost.parallel.max_rank_copies`) is shown
beside it for scale, and cannot be checked against these rows.
"""

from __future__ import annotations

import numpy as np

from specroof.cost.operation import GATE_UP_PROJ, MoEShape, operation
from specroof.cost.parallel import expected_max_poisson
from specroof.cost.pricing import price
from specroof.cost.setup import DeviceSetup

SHAPE_KEYS = ("num_experts", "topk", "num_tokens", "hidden", "inter")


def shard_us(setup: DeviceSetup, experts: int, top_k: int, copies: float, hidden: int, inter: int) -> float:
    """Microseconds of one rank's fused MoE layer (gate-up and down) over ``experts`` local experts
    that receive ``copies`` routed token copies."""
    k = min(top_k, experts)
    shapes = (MoEShape(copies / k, experts, k, 2 * inter, hidden), MoEShape(copies / k, experts, k, hidden, inter))
    return sum(float(np.asarray(price(operation(GATE_UP_PROJ, s), setup).seconds)) for s in shapes) * 1e6


def ratio_errors(rows: np.ndarray, setup: DeviceSetup) -> dict[int, dict[str, float]]:
    """Per ep: rows, MAPE of the ratio t(ep)/t(1) at the mean load (``balanced``) and at the
    busiest rank's load, and the balanced model's median signed error (negative: too fast)."""
    ones = {tuple(int(r[key]) for key in SHAPE_KEYS): float(r["latency_us"]) for r in rows if r["ep"] == 1}
    errors: dict[int, dict[str, list[float]]] = {}
    for r in rows:
        e, k, t, h, i = (int(r[key]) for key in SHAPE_KEYS)
        ep = int(r["ep"])
        base = ones.get((e, k, t, h, i))
        if ep == 1 or base is None or e % ep:
            continue
        measured = float(r["latency_us"]) / base
        whole = shard_us(setup, e, k, t * k, h, i)
        mean = t * k / ep
        out = errors.setdefault(ep, {"busiest": [], "balanced": []})
        out["busiest"].append(shard_us(setup, e // ep, k, expected_max_poisson(np.full(ep, mean)), h, i) / whole
                              / measured - 1.0)
        out["balanced"].append(shard_us(setup, e // ep, k, mean, h, i) / whole / measured - 1.0)
    return {ep: {"rows": len(v["busiest"]), "busiest_mape": 100 * float(np.mean(np.abs(v["busiest"]))),
                 "balanced_mape": 100 * float(np.mean(np.abs(v["balanced"]))),
                 "balanced_bias": 100 * float(np.median(v["balanced"]))} for ep, v in sorted(errors.items())}
