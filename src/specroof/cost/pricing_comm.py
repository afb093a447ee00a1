"""The price of expert parallelism's all-to-all: DeepEP-style dispatch and combine.

Each rank sends each of its ``T`` tokens to the ranks of its ``top_k`` experts (dispatch) and
gets the experts' outputs back (combine). The two DeepEP modes move different bytes:

- low-latency: a token is written once per chosen expert into that expert's receive buffer
  (the buffer is laid out per local expert), so ``T x top_k x (R - 1) / R`` rows leave a rank;
- normal: a token goes once to every rank holding one of its experts, so
  ``T x (R - 1) x P(a given other rank holds one of its experts)`` rows leave, with
  ``P = 1 - C(E - E/R, k) / C(E, k)`` under a uniform router (top-k without replacement);

each row ``hidden`` values of 2 bytes. One call costs

    seconds = floor_us + payload / GB/s

with ``floor_us`` (synchronization, launch, the notify round) and ``GB/s`` fitted per (GPU,
engine, mode, phase) to NVIDIA's measured DeepEP and ``moe_a2a`` kernels
(``a2a_kernels.toml``, made by ``tools/kernels/fit_parallel.py``: :mod:`specroof.calibration.kernels.a2a`).
The measured tables are one-node groups only (8 GPUs, 4 on GB200), so the rank dependence is
the physics above, not fitted. Low-latency dispatch sends fp8 values in DeepEP; the fit's GB/s
is per 16-bit byte of the formula, so that saving is inside the fitted rate.

Mode: DeepEP's low-latency kernels serve decode-sized batches (a fixed buffer of at most
``LOW_LATENCY_MAX_TOKENS`` tokens per rank), the normal (high-throughput) kernels larger ones:
SGLang's ``--deepep-mode auto`` picks low-latency for decode and normal for prefill
(python/sglang/srt/layers/moe/token_dispatcher/deepep.py, v0.5), vLLM the same through its
``deepep_low_latency`` / ``deepep_high_throughput`` all2all backends, and aiconfigurator-core
0.12.0 prices generation with ``deepep_ll`` and context with ``deepep_ht`` (sdk/operations/
moe_comm.py). Without a fitted row (a device or engine the database does not measure) the
datasheet line prices it: the profile's ``allreduce_latency_us`` and the interconnect at
``interconnect_efficiency``.
"""

from __future__ import annotations

import math

import numpy as np

from specroof.cost.a2a_data import a2a_fits
from specroof.cost.opcost import OpCost
from specroof.cost.operation import AllToAllShape
from specroof.cost.setup import DeviceSetup

LOW_LATENCY_MAX_TOKENS = 128
"""Most tokens per rank a low-latency dispatch carries: SGLang's default
``SGLANG_DEEPEP_NUM_MAX_DISPATCH_TOKENS_PER_RANK`` (128), the low-latency buffer's size."""

VALUE_BYTES = 2.0
"""Bytes per value in the payload formula (bf16 activations)."""

MODES = ("low_latency", "normal")

__all__ = ["a2a_fits", "a2a_line", "a2a_payload_bytes", "other_rank_share", "price_all_to_all"]


def a2a_line(setup: DeviceSetup, mode: str, phase: str) -> tuple[float, float]:
    """(floor_us, GB/s) of one all-to-all call: the fitted row, else the datasheet line."""
    row = a2a_fits().get(setup.hardware.name, {}).get(setup.profile.engine, {}).get(mode, {}).get(phase)
    if row is not None:
        return float(row[0]), float(row[1])
    prof = setup.profile
    return prof.allreduce_latency_us, max(setup.hardware.interconnect_gbps, 1.0) * prof.interconnect_efficiency


def other_rank_share(experts: int, top_k: int, ranks: int) -> float:
    """P(a given other rank holds at least one of a token's ``top_k`` experts), uniform router."""
    per_rank = experts // ranks
    missed = math.comb(experts - per_rank, top_k) / math.comb(experts, top_k) if experts - per_rank >= top_k else 0.0
    return 1.0 - missed


def a2a_payload_bytes(shape: AllToAllShape, mode: str) -> np.ndarray:
    """Bytes one rank sends to the others in one dispatch (or receives back in one combine)."""
    tokens = np.asarray(shape.tokens, dtype=float)
    if mode == "low_latency":
        rows = tokens * shape.top_k * (shape.ranks - 1) / shape.ranks
    else:
        rows = tokens * (shape.ranks - 1) * other_rank_share(shape.experts, shape.top_k, shape.ranks)
    return rows * shape.hidden * VALUE_BYTES


def price_all_to_all(shape: AllToAllShape, setup: DeviceSetup) -> OpCost:
    """One dispatch or combine: low-latency kernels up to LOW_LATENCY_MAX_TOKENS tokens per rank,
    normal kernels beyond."""
    tokens = np.asarray(shape.tokens, dtype=float)
    low = tokens <= LOW_LATENCY_MAX_TOKENS
    payload = np.where(low, a2a_payload_bytes(shape, "low_latency"), a2a_payload_bytes(shape, "normal"))
    (ll_floor, ll_gbps), (nm_floor, nm_gbps) = (a2a_line(setup, mode, shape.phase) for mode in MODES)
    transfer_s = payload / (np.where(low, ll_gbps, nm_gbps) * 1e9)
    seconds = transfer_s + np.where(low, ll_floor, nm_floor) * 1e-6
    return OpCost(np.zeros_like(payload), payload, seconds, 1.0, 0.0, transfer_s)
