"""``validate()``: how far predictions are from measured step latencies.

Reports, per model and overall, the mean absolute percentage error (MAPE) of the step
latency and of the normalized latency T(b, n, s) / T(b, 1, s) — the ratio speedup depends
on, computed where the file also holds the n = 1 point of the same batch and context —
and the worst points.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from specroof.calibration.fit import MeasurementSet
from specroof.calibration.measurements import Measurement, measurement_rows
from specroof.datafiles import save_figure
from specroof.errors import SpecroofWarning
from specroof.hardware.accelerator import Accelerator, load_hardware


@dataclass
class Validation:
    """Predicted vs measured for every decoder-step measurement, with summary errors."""

    points: list[dict[str, Any]]
    summary: list[dict[str, Any]]

    def worst(self, count: int = 5) -> list[dict[str, Any]]:
        return sorted(self.points, key=lambda p: -abs(p["error_pct"]))[:count]

    @property
    def overall(self) -> dict[str, Any]:
        return self.summary[-1]


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


def validate(measurements: str | Path | Sequence[Measurement], hardware: str | Path | Accelerator,
             profile: str | None = None) -> Validation:
    """Predict every measured point with ``hardware`` (a device or a calibrated profile).

    Decoder steps are predicted by the cost of a step; Medusa-head rows (``heads`` set) by the
    drafting cost of that many heads, reported as their own group.
    """
    rows = measurement_rows(measurements)
    accel = load_hardware(hardware)
    _warn_other_device(rows, accel)
    data = MeasurementSet(rows, accel, profile or accel.profile_base)
    predicted, _ = data.predict({})
    plain = {(m.model, m.dtype, m.batch, m.seq_len): (m.latency_ms, p)
             for m, p in zip(data.rows, predicted) if m.candidates == 1}
    points = []
    for m, p in zip(data.rows, predicted):
        point = {"model": m.model, "batch": m.batch, "candidates": m.candidates, "seq_len": m.seq_len,
                 "measured_ms": m.latency_ms, "predicted_ms": float(p), "error_pct": 100 * (p / m.latency_ms - 1),
                 "normalized_error_pct": None}
        base = plain.get((m.model, m.dtype, m.batch, m.seq_len))
        if base and m.candidates > 1:
            measured_ratio = m.latency_ms / base[0]
            predicted_ratio = p / base[1]
            point["normalized_error_pct"] = 100 * (predicted_ratio / measured_ratio - 1)
        points.append(point)
    for m, p in zip(data.head_rows, data.predict_heads({})):
        points.append({"model": f"{m.model} + {m.heads} Medusa heads", "batch": m.batch, "candidates": m.candidates,
                       "seq_len": m.seq_len, "measured_ms": m.latency_ms, "predicted_ms": float(p),
                       "error_pct": 100 * (p / m.latency_ms - 1), "normalized_error_pct": None})
    summary = []
    for model in sorted({p["model"] for p in points}) + ["all"]:
        chosen = [p for p in points if model in ("all", p["model"])]
        norm = [p["normalized_error_pct"] for p in chosen if p["normalized_error_pct"] is not None]
        lat = [p["error_pct"] for p in chosen]
        summary.append({
            "model": model, "points": len(chosen), "mape_latency_pct": _mape(lat),
            "max_error_pct": float(max(np.abs(lat))), "mape_normalized_pct": _mape(norm),
            "max_normalized_error_pct": float(max(np.abs(norm))) if norm else None,
        })
    return Validation(points=points, summary=summary)


def plot_validation(result: Validation, path: str | Path, title: str = "", hardware: str = "",
                    profile: str = "") -> None:
    """Predicted vs measured latency, log-log, one colour per model, +-5% band.

    The title names the models, the device (``hardware``) and the implementation ``profile``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 6), dpi=150)
    models = sorted({p["model"] for p in result.points})
    for model in models:
        pts = [p for p in result.points if p["model"] == model]
        ax.scatter([p["measured_ms"] for p in pts], [p["predicted_ms"] for p in pts], label=model, s=28, alpha=0.85)
    values = [p["measured_ms"] for p in result.points] + [p["predicted_ms"] for p in result.points]
    lo, hi = min(values) * 0.8, max(values) * 1.25
    line = np.geomspace(lo, hi, 50)
    ax.plot(line, line, color="black", lw=1)
    ax.fill_between(line, line * 0.95, line * 1.05, color="grey", alpha=0.2, label="±5%")
    ax.set(xscale="log", yscale="log", xlim=(lo, hi), ylim=(lo, hi), xlabel="measured step latency (ms)",
           ylabel="predicted step latency (ms)")
    overall = result.overall
    where = ", ".join(models) + (f" on {hardware}" if hardware else "") + (f", profile {profile}" if profile else "")
    ax.set_title(title or f"{where}\npredicted vs measured step latency: MAPE {overall['mape_latency_pct']:.1f}%, "
                 f"max {overall['max_error_pct']:.1f}%", fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    try:
        save_figure(fig, path, "chart")
    finally:
        plt.close(fig)
