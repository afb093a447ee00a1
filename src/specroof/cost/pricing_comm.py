"""The price of expert parallelism's all-to-all: DeepEP-style dispatch and combine.

Each rank sends each of its ``T`` tokens to the ranks of its ``top_k`` experts (dispatch) and
gets the experts' outputs back (combine). The bytes that leave a rank are

    payload = T x top_k x hidden x 2 x (ranks - 1) / ranks

(16-bit values, the share of experts on other ranks), and one call costs

    seconds = floor_us + payload / GB/s

with ``floor_us`` (synchronization, launch, the notify round) and ``GB/s`` fitted per (GPU,
engine, mode, phase) to NVIDIA's measured DeepEP and ``moe_a2a`` kernels
(``a2a_kernels.toml``, made by ``tools/kernels/fit_a2a.py``: :mod:`specroof.calibration.kernels.a2a`).
The measured tables are 8-GPU groups only, so the ``(ranks - 1) / ranks`` factor is physics,
not fitted. Low-latency dispatch sends fp8 values in DeepEP; the fit's GB/s is per 16-bit byte
of the formula, so that saving is inside the fitted rate.

Mode: DeepEP's low-latency kernels serve decode-sized batches (a fixed buffer of at most
``LOW_LATENCY_MAX_TOKENS`` tokens per rank), the normal (high-throughput) kernels larger ones:
SGLang's ``--deepep-mode auto`` picks low-latency for decode and normal for prefill
(python/sglang/srt/layers/moe/token_dispatcher/deepep.py, v0.5), vLLM the same through
``deepep_low_latency`` / ``deepep_high_throughput`` all2all backends. Without a fitted row (a
device or engine the database does not measure) the datasheet line prices it: the profile's
``allreduce_latency_us`` and the interconnect at ``interconnect_efficiency``.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np

from specroof.cost.opcost import OpCost
from specroof.cost.operation import AllToAllShape
from specroof.cost.setup import DeviceSetup
from specroof.datafiles import read_toml

LOW_LATENCY_MAX_TOKENS = 128
"""Most tokens per rank a low-latency dispatch carries: SGLang's default
``SGLANG_DEEPEP_NUM_MAX_DISPATCH_TOKENS_PER_RANK`` (128), the low-latency buffer's size."""

VALUE_BYTES = 2.0
"""Bytes per value in the payload formula (bf16 activations)."""

MODES = ("low_latency", "normal")


@lru_cache(maxsize=1)
def a2a_fits() -> dict[str, Any]:
    """``{device: {engine: {mode: {phase: [floor_us, gbps]}}}}`` shipped in a2a_kernels.toml."""
    path = resources.files("specroof.cost") / "a2a_kernels.toml"
    if not path.is_file():
        return {}
    return {k: v for k, v in read_toml(path, "a2a_kernels.toml").items() if k != "about"}


def a2a_line(setup: DeviceSetup, mode: str, phase: str) -> tuple[float, float]:
    """(floor_us, GB/s) of one all-to-all call: the fitted row, else the datasheet line."""
    row = a2a_fits().get(setup.hardware.name, {}).get(setup.profile.engine, {}).get(mode, {}).get(phase)
    if row is not None:
        return float(row[0]), float(row[1])
    prof = setup.profile
    return prof.allreduce_latency_us, max(setup.hardware.interconnect_gbps, 1.0) * prof.interconnect_efficiency


def a2a_payload_bytes(shape: AllToAllShape) -> np.ndarray:
    """Bytes one rank sends to the others in one dispatch (or receives back in one combine)."""
    tokens = np.asarray(shape.tokens, dtype=float)
    return tokens * shape.top_k * shape.hidden * VALUE_BYTES * (shape.ranks - 1) / shape.ranks


def price_all_to_all(shape: AllToAllShape, setup: DeviceSetup) -> OpCost:
    """One dispatch or combine: low-latency kernels up to LOW_LATENCY_MAX_TOKENS tokens per rank,
    normal kernels beyond."""
    payload = a2a_payload_bytes(shape)
    tokens = np.asarray(shape.tokens, dtype=float)
    (ll_floor, ll_gbps), (nm_floor, nm_gbps) = (a2a_line(setup, mode, shape.phase) for mode in MODES)
    low = tokens <= LOW_LATENCY_MAX_TOKENS
    transfer_s = payload / (np.where(low, ll_gbps, nm_gbps) * 1e9)
    seconds = transfer_s + np.where(low, ll_floor, nm_floor) * 1e-6
    return OpCost(np.zeros_like(payload), payload, seconds, 1.0, 0.0, transfer_s)
