"""Roofline timing of GEMMs with tile and wave quantization, vectorized with numpy.

A GEMM of ``groups`` independent problems [M x K] x [K x N] computes in output tiles of
``tm x tn``; rows are padded to ``tm`` and tiles run in waves over the SMs, each SM holding
one tile at a time at ``peak / sm_count * efficiency``. When a GEMM has fewer tiles than
SMs, cuBLAS splits the K reduction over the idle SMs (split-K). The kernel takes the
longer of its compute time and its memory time (bytes / achieved bandwidth), plus a fixed
latency. The fastest of the candidate tiles wins, as cuBLAS's heuristics pick the best
kernel for a shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

SPLIT_K_FACTORS = (1, 2, 4, 8, 16)  # reduction splits a split-K kernel may use


@dataclass(frozen=True)
class Machine:
    """The few numbers a kernel's time depends on, after efficiencies are applied."""

    sm_count: int
    flops_per_sm: float  # achieved FLOP/s of one SM on a full tile
    bandwidth: float  # achieved bytes/s of streaming kernels
    fixed_s: float  # fixed latency per GEMM kernel, seconds
    l2_bytes: float = 0.0  # last-level cache size
    l2_spill_penalty: float = 0.0  # compute slowdown once activations no longer fit in L2


def gemm_compute_time(m: np.ndarray, n: np.ndarray | int, k: np.ndarray | int, groups: np.ndarray | int,
                      tiles: tuple[tuple[int, int], ...], machine: Machine, split_k: bool,
                      policy: str = "fastest") -> np.ndarray:
    """Seconds of tensor-core work per element of ``m``, for the tile the policy picks.

    ``fastest``: the quickest candidate tile (an autotuned library). ``fill``: the largest
    tile that still gives every SM a tile, else the smallest (a shape-threshold heuristic,
    as cuBLAS's default tables behave); it keeps the steps of big tiles at large ``m``.
    ``m`` (rows per group) may be fractional (expected tokens per MoE expert): it is
    rounded up, since a tile computes whole rows.
    """
    m = np.ceil(np.asarray(m, dtype=float))
    if policy == "rows":
        # Rows padded to the tile's row count, no waves: the library has enough tile shapes
        # (and stream-K) that the last partial wave is filled.
        tm = float(tiles[0][0])
        t = groups * np.ceil(m / tm) * tm * 2.0 * np.asarray(n, dtype=float) * np.asarray(k, dtype=float) / (
            machine.flops_per_sm * machine.sm_count)
        return np.where(m > 0, t, 0.0)
    if policy == "fill":
        return _fill_policy_time(m, n, k, groups, tiles, machine, split_k)
    best = None
    for tm, tn in tiles:
        n_tiles = groups * np.ceil(m / tm) * np.ceil(n / tn)
        # Split-K only fills idle SMs (it never adds a wave); the allowed splits do not depend
        # on k, which keeps the time non-decreasing in k.
        for split in SPLIT_K_FACTORS if split_k else (1,):
            t = np.ceil(n_tiles * split / machine.sm_count) * 2.0 * tm * tn * np.ceil(
                np.asarray(k, dtype=float) / split) / machine.flops_per_sm
            if split > 1:
                t = np.where(n_tiles * split <= machine.sm_count, t, np.inf)
            best = t if best is None else np.minimum(best, t)
    return np.where(m > 0, best, 0.0)


def _fill_policy_time(m: np.ndarray, n: np.ndarray | int, k: np.ndarray | int, groups: np.ndarray | int,
                      tiles: tuple[tuple[int, int], ...], machine: Machine, split_k: bool) -> np.ndarray:
    ordered = sorted(tiles, key=lambda t: t[0] * t[1])
    chosen = gemm_compute_time(m, n, k, groups, (ordered[0],), machine, split_k)
    for tile in ordered[1:]:
        fills = groups * np.ceil(m / tile[0]) * np.ceil(n / tile[1]) >= machine.sm_count
        chosen = np.where(fills, gemm_compute_time(m, n, k, groups, (tile,), machine, split_k), chosen)
    return chosen


class GemmTime(NamedTuple):
    """FLOPs, bytes moved, and seconds of a GEMM: its compute and memory times, and the total."""

    flops: np.ndarray
    bytes: np.ndarray
    compute_s: np.ndarray
    memory_s: np.ndarray
    seconds: np.ndarray


def overlap(a: np.ndarray, b: np.ndarray, q: float) -> np.ndarray:
    """Time of two overlapping activities: ``(a^q + b^q)^(1/q)``; q = 0 means perfect overlap
    (max(a, b), the roofline), q = 1 none (a + b)."""
    if not q:
        return np.maximum(a, b)
    hi = np.maximum(a, b)
    safe = np.where(hi > 0, hi, 1.0)
    return np.where(hi > 0, hi * ((a / safe) ** q + (b / safe) ** q) ** (1.0 / q), 0.0)


def gemm_time(m: np.ndarray, n: np.ndarray | int, k: np.ndarray | int, groups: np.ndarray | int, weight_bytes: np.ndarray | float,
              act_bytes: float, tiles: tuple[tuple[int, int], ...], machine: Machine, split_k: bool = True,
              policy: str = "fastest", overlap_q: float = 0.0) -> GemmTime:
    """FLOPs, bytes and seconds of a (grouped) GEMM with ``m`` rows per group.

    ``weight_bytes``: bytes of the [K x N] operands read (all groups); activations in and out
    (``m*k`` and ``m*n`` per group) move at ``act_bytes`` per element.
    """
    m = np.asarray(m, dtype=float)
    flops = 2.0 * m * n * k * groups
    moved = weight_bytes + act_bytes * m * groups * (k + n)
    compute = gemm_compute_time(m, n, k, groups, tiles, machine, split_k, policy)
    if machine.l2_spill_penalty and machine.l2_bytes:
        # Activations in and out larger than L2 stream from HBM while tiles compute: the
        # spilled fraction slows the tensor cores (operand waits, power shared with HBM).
        working_set = act_bytes * m * groups * (k + n)
        spilled = np.clip(1.0 - machine.l2_bytes / np.maximum(working_set, 1.0), 0.0, 1.0)
        compute = compute / (1.0 - machine.l2_spill_penalty * spilled)
    memory = moved / machine.bandwidth
    return GemmTime(flops, moved, compute, memory, overlap(compute, memory, overlap_q) + machine.fixed_s)
