"""Warnings for measurements that no real GPU produces, before a fit takes them at face value.

A least-squares fit reproduces whatever it is given: a timer that measured nothing, a file in
the wrong unit or of another device still yields a profile with a small in-sample error. Each
check below is physics every real step obeys, and says in one ``warning:`` line what broke it:

- constant timings: distinct points (other batch, candidates or context) timed alike, to 1%;
- faster than the datasheet allows: below the time to read the step's weights once at the
  datasheet bandwidth, or to do its matrix FLOPs at the datasheet peak (a true lower bound:
  every step reads every dense weight and at least ``top_k`` experts per MoE layer);
- per-operation times summing above the step they split;
- latency falling while the work grows: a point with no smaller batch, candidate count,
  context or experts touched than another, yet over 5% faster (timing noise is ~1%; the
  shipped H200 files never fall).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np

from specroof.calibration.measurements import Measurement
from specroof.calibration.problem import experts_touched
from specroof.cost.dtypes import BYTES
from specroof.errors import SpecroofError, SpecroofWarning
from specroof.hardware.accelerator import Accelerator
from specroof.models.architecture import load_model

CONSTANT_SPREAD = 0.01
"""Distinct points whose latencies all lie within 1% of each other are called constant."""

OPS_SLACK = 0.05
"""Per-operation times may exceed the step by 5% (each is timed on its own, with its own sync)."""

FALLING_SLACK = 0.05
"""More work may be up to 5% faster (noise); beyond that the timing is suspect."""

FLOOR_SLACK = 0.02
"""Measured steps may undercut the datasheet floor by 2% (datasheet rounding) before a warning."""


def warn_implausible(rows: Sequence[Measurement], accel: Accelerator) -> None:
    """One SpecroofWarning per kind of implausible decoder-step measurement in ``rows``."""
    for check in (_constant, _below_floor, _ops_above_step, _falling):
        message = check(rows, accel)
        if message:
            warnings.warn(SpecroofWarning(message), stacklevel=3)


def _point(m: Measurement) -> str:
    return f"{m.model} batch={m.batch} candidates={m.candidates} seq_len={m.seq_len}"


def _constant(rows: Sequence[Measurement], accel: Accelerator) -> str:
    points = {(m.model, m.batch, m.candidates, m.seq_len) for m in rows}
    latencies = [m.latency_ms for m in rows]
    if len(points) < 2 or max(latencies) > min(latencies) * (1 + CONSTANT_SPREAD):
        return ""
    return (f"all {len(rows)} measured steps take {min(latencies):.4g} to {max(latencies):.4g} ms over "
            f"{len(points)} different points; a step's time grows with batch, candidates and context, so the "
            "timer may not be measuring the step (the fit will be meaningless)")


def step_floor_ms(m: Measurement, accel: Accelerator) -> float | None:
    """The least time any implementation can take for ``m`` on ``accel``'s datasheet (ms):
    its weights read once at the peak bandwidth, or its matrix FLOPs at the peak rate."""

    try:
        model = load_model(m.model)
        peak = accel.peak_flops(m.dtype)
    except SpecroofError:
        return None
    h = model.hidden_size
    attention = h * (model.q_dim + 2 * model.kv_dim) + model.q_dim * h
    experts = model.experts_per_token if model.is_moe else 1  # the fewest experts a step can read
    mlp = experts * 3 * h * model.mlp_width
    per_token = model.num_layers * (attention + mlp) + model.vocab_size * h  # weights a token multiplies
    weight_bytes = per_token * BYTES.get(m.dtype, 2.0)
    flops = 2.0 * m.tokens * per_token
    return 1e3 * max(weight_bytes / accel.memory_bandwidth, flops / peak)


def _below_floor(rows: Sequence[Measurement], accel: Accelerator) -> str:
    worst: tuple[float, Measurement, float] | None = None
    count = 0
    for m in rows:
        floor = step_floor_ms(m, accel)
        if floor is None or m.latency_ms >= floor * (1 - FLOOR_SLACK):
            continue
        count += 1
        if worst is None or m.latency_ms / floor < worst[0]:
            worst = (m.latency_ms / floor, m, floor)
    if worst is None:
        return ""
    _, m, floor = worst
    return (f"{count} measured step{'s are' if count > 1 else ' is'} faster than {accel.name}'s datasheet allows "
            f"(e.g. {_point(m)}: {m.latency_ms:.4g} ms, but reading its weights at "
            f"{accel.memory_bandwidth_gbps:g} GB/s or doing its FLOPs at peak takes {floor:.4g} ms); wrong device, "
            "dtype or unit?")


def _ops_above_step(rows: Sequence[Measurement], accel: Accelerator) -> str:
    over = [m for m in rows if m.ops_total_ms is not None and m.ops_total_ms > m.latency_ms * (1 + OPS_SLACK)]
    if not over:
        return ""
    m = max(over, key=lambda r: r.ops_total_ms / r.latency_ms)
    return (f"{len(over)} row{'s' if len(over) > 1 else ''} split into operations that sum to more than the whole "
            f"step (e.g. {_point(m)}: {m.ops_total_ms:.4g} ms of ops_ms in a {m.latency_ms:.4g} ms step); the parts "
            "of a step cannot take longer than the step")


MAX_PAIRED_ROWS = 3000
"""Rows per (model, dtype, graphs) group compared pairwise for falling latency (9 M pairs)."""


def _falling(rows: Sequence[Measurement], accel: Accelerator) -> str:
    """The worst pair where ``b`` does no less work than ``a`` on every axis yet is > 5% faster."""

    groups: dict[tuple, list[Measurement]] = {}
    for m in rows:
        groups.setdefault((m.model, m.dtype, m.cuda_graph is not False), []).append(m)
    worst: tuple[float, Measurement, Measurement] | None = None
    for group in groups.values():
        group = group[:MAX_PAIRED_ROWS]
        ex = [experts_touched(m) for m in group]
        axes = np.array([[m.batch, m.candidates, m.seq_len or 0, -1 if e is None else e] for m, e in zip(group, ex)],
                        dtype=float)  # [N, 4]
        lat = np.array([m.latency_ms for m in group])
        more = np.all(axes[None, :, :] >= axes[:, None, :], axis=2)  # [a, b]: b does no less work than a
        more &= np.any(axes[None, :, :3] > axes[:, None, :3], axis=2)  # and is another point
        ratio = np.where(more, lat[None, :] / lat[:, None], np.inf)
        a, b = np.unravel_index(int(np.argmin(ratio)), ratio.shape)
        if ratio[a, b] < 1 - FALLING_SLACK and (worst is None or ratio[a, b] < worst[0]):
            worst = (float(ratio[a, b]), group[a], group[b])
    if worst is None:
        return ""
    _, a, b = worst
    return (f"latency falls as the work grows: {_point(b)} takes {b.latency_ms:.4g} ms, less than "
            f"{a.latency_ms:.4g} ms at {_point(a)}; more tokens or context never make a step faster (rows swapped "
            "or mislabelled?)")
