"""``validate()``: how far predictions are from measured step latencies, and where the error comes from.

Reports, per model, per file and overall, the mean absolute percentage error (MAPE) of the
step latency and of the normalized latency T(b, n, s) / T(b, 1, s) — the ratio speedup depends
on, computed where the measurements also hold the n = 1 point of the same batch and context —
and the worst points. Where rows carry ``ops_ms`` (each operation timed alone), the step's
error is split over the operations::

    predicted / measured - 1 = sum over timed ops of (op_pred - op_meas) / measured
                               + (untimed_pred - untimed_meas) / measured

where ``untimed`` is the step minus its timed operations (elementwise kernels, MoE dispatch,
and whatever the operations lose or gain when run inside the step). ``by_operation`` reports
each term's mean (``step_error_pct``: its signed share of the step error) with the operation's
own error.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from specroof.calibration.measurements import Measurement
from specroof.calibration.problem import MeasurementsArg, MeasurementSet, load_sources
from specroof.errors import SpecroofWarning
from specroof.hardware.accelerator import Accelerator, load_hardware

UNTIMED = "(untimed: elementwise, dispatch, in-step effects)"
"""The by_operation entry for the step minus its timed operations."""


@dataclass
class Validation:
    """Predicted vs measured for every measurement, with summary errors."""

    points: list[dict[str, Any]]
    summary: list[dict[str, Any]]
    by_file: list[dict[str, Any]] = field(default_factory=list)
    by_operation: list[dict[str, Any]] = field(default_factory=list)

    def worst(self, count: int = 5) -> list[dict[str, Any]]:
        return sorted(self.points, key=lambda p: -abs(p["error_pct"]))[:count]

    @property
    def overall(self) -> dict[str, Any]:
        return self.summary[-1]

    def to_dict(self) -> dict[str, Any]:
        return {"summary": self.summary, "by_file": self.by_file, "by_operation": self.by_operation,
                "worst": self.worst(), "points": self.points}


def _mape(errors: list[float]) -> float | None:
    return float(np.mean(np.abs(errors))) if errors else None


def _device_key(name: str) -> str:
    """'NVIDIA H200', 'h200', 'H200 SXM 141GB' -> comparable lower-case words without the vendor."""
    words = str(name).lower().replace("_", " ").replace("-", " ").split()
    return " ".join(w for w in words if w not in ("nvidia", "amd", "intel"))


def _warn_other_device(rows: Sequence[Measurement], accel: Accelerator) -> None:
    """Warn when the measurements name a device other than the one predicting them."""
    ours = {_device_key(accel.name), _device_key(accel.display_name)}
    others = sorted({m.hardware for m in rows if _device_key(m.hardware) not in ours})
    if others:
        warnings.warn(SpecroofWarning(
            f"the measurements come from {', '.join(others)} but are predicted with {accel.name} "
            f"({accel.display_name}); errors then compare two different devices. Pass --hardware "
            f"{others[0]} (or a profile calibrated on it) to check the model on the device measured"), stacklevel=2)


def validate(measurements: MeasurementsArg, hardware: str | Path | Accelerator,
             profile: str | None = None, overrides: dict[str, Any] | None = None) -> Validation:
    """Predict every measured point with ``hardware`` (a device or a calibrated profile).

    ``measurements``: one or several JSONL files from one GPU, or rows. ``overrides``: profile
    fields to predict with (a fit's parameters). Decoder steps are predicted by the cost of a
    step; Medusa-head rows (``heads`` set) by the drafting cost of that many heads, reported as
    their own group.
    """
    sources = load_sources(measurements)
    accel = load_hardware(hardware)
    _warn_other_device([m for _, m in sources], accel)
    data = MeasurementSet([m for _, m in sources], accel, profile or accel.profile_base)
    file_of = {id(m): s for s, m in sources}
    predicted, ops = data.predict(dict(overrides or {}))
    points = _step_points(data, predicted, file_of)
    for m, p in zip(data.head_rows, data.predict_heads(dict(overrides or {}))):
        points.append({"model": f"{m.model} + {m.heads} Medusa heads", "file": file_of[id(m)], "batch": m.batch,
                       "candidates": m.candidates, "seq_len": m.seq_len, "measured_ms": m.latency_ms,
                       "predicted_ms": float(p), "error_pct": 100 * (p / m.latency_ms - 1),
                       "normalized_error_pct": None})
    summary = [_summary(points, "model", model) for model in sorted({p["model"] for p in points})]
    summary.append(_summary(points, "model", "all"))
    files = sorted({p["file"] for p in points if p["file"]})
    by_file = [_summary(points, "file", f) for f in files]
    return Validation(points, summary, by_file, _by_operation(data, predicted, ops))


def _step_points(data: MeasurementSet, predicted: np.ndarray, file_of: dict[int, str]) -> list[dict[str, Any]]:
    plain = {(m.model, m.dtype, m.batch, m.seq_len): (m.latency_ms, p)
             for m, p in zip(data.rows, predicted) if m.candidates == 1}
    points = []
    for m, p in zip(data.rows, predicted):
        point = {"model": m.model, "file": file_of[id(m)], "batch": m.batch, "candidates": m.candidates,
                 "seq_len": m.seq_len, "measured_ms": m.latency_ms, "predicted_ms": float(p),
                 "error_pct": 100 * (p / m.latency_ms - 1), "normalized_error_pct": None}
        base = plain.get((m.model, m.dtype, m.batch, m.seq_len))
        if base and m.candidates > 1:
            point["normalized_error_pct"] = 100 * ((p / base[1]) / (m.latency_ms / base[0]) - 1)
        points.append(point)
    return points


def _summary(points: list[dict[str, Any]], key: str, value: str) -> dict[str, Any]:
    chosen = [p for p in points if value == "all" or p[key] == value]
    norm = [p["normalized_error_pct"] for p in chosen if p["normalized_error_pct"] is not None]
    lat = [p["error_pct"] for p in chosen]
    return {
        key: value, "points": len(chosen), "mape_latency_pct": _mape(lat),
        "bias_pct": float(np.mean(lat)), "max_error_pct": float(max(np.abs(lat))),
        "mape_normalized_pct": _mape(norm), "max_normalized_error_pct": float(max(np.abs(norm))) if norm else None,
    }


def _by_operation(data: MeasurementSet, predicted: np.ndarray, ops: list[dict[str, float]]) -> list[dict[str, Any]]:
    """Per model and timed operation: its own error and its signed share of the step error."""
    terms: dict[tuple[str, str], list[tuple[float, float, float]]] = {}
    for m, total, pred_ops in zip(data.rows, predicted, ops):
        timed = {k: v for k, v in m.ops_ms.items() if k in pred_ops}
        if not timed:
            continue
        for name, measured in timed.items():
            terms.setdefault((m.model, name), []).append((measured, pred_ops[name], m.latency_ms))
        rest_meas = m.latency_ms - sum(timed.values())
        rest_pred = total - sum(pred_ops[k] for k in timed)
        terms.setdefault((m.model, UNTIMED), []).append((rest_meas, rest_pred, m.latency_ms))
    rows = []
    for (model, name), values in terms.items():
        meas, pred, step = (np.array(v) for v in zip(*values))
        positive = meas > 0  # the untimed rest is <= 0 where ops_ms sum above the step: no own error
        own = 100 * (pred[positive] / meas[positive] - 1)
        rows.append({"model": model, "operation": name, "points": len(values), "measured_ms": float(meas.mean()),
                     "predicted_ms": float(pred.mean()),
                     "mape_pct": float(np.mean(np.abs(own))) if own.size else None,
                     "bias_pct": float(np.mean(own)) if own.size else None,
                     "step_error_pct": float(np.mean(100 * (pred - meas) / step))})
    return rows
