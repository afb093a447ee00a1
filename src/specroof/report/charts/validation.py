"""Predicted vs measured step latency of a validation, log-log, one colour per model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from specroof.calibration.validate import Validation
from specroof.report.charts.common import figure, save, styled

BAND = 0.05
"""The shaded band around the diagonal: +-5%."""


def _where(models: list[str], hardware: str, profile: str) -> str:
    return ", ".join(models) + (f" on {hardware}" if hardware else "") + (f", profile {profile}" if profile else "")


@styled
def validation_figure(result: Validation, title: str = "", hardware: str = "", profile: str = "") -> Any:
    """The Figure of :func:`plot_validation`: one scatter collection per model (measured x,
    predicted y), the diagonal and the +-5% band."""
    fig = figure(6.5, 6.0)
    ax = fig.add_subplot()
    models = sorted({p["model"] for p in result.points})
    for model in models:
        pts = [p for p in result.points if p["model"] == model]
        ax.scatter([p["measured_ms"] for p in pts], [p["predicted_ms"] for p in pts], label=model, s=28, alpha=0.85)
    values = [p["measured_ms"] for p in result.points] + [p["predicted_ms"] for p in result.points]
    lo, hi = min(values) * 0.8, max(values) * 1.25
    line = np.geomspace(lo, hi, 50)
    ax.plot(line, line, color="black", lw=1)
    ax.fill_between(line, line * (1 - BAND), line * (1 + BAND), color="grey", alpha=0.2, label=f"±{BAND:.0%}")
    ax.set(xscale="log", yscale="log", xlim=(lo, hi), ylim=(lo, hi), xlabel="measured step latency (ms)",
           ylabel="predicted step latency (ms)")
    overall = result.overall
    ax.set_title(title or f"{_where(models, hardware, profile)}\npredicted vs measured step latency: MAPE "
                 f"{overall['mape_latency_pct']:.1f}%, max {overall['max_error_pct']:.1f}%", fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    return fig


@styled
def plot_validation(result: Validation, path: str | Path, title: str = "", hardware: str = "",
                    profile: str = "") -> Path:
    """Predicted vs measured latency, log-log, one colour per model, +-5% band, to ``path``.

    The title names the models, the device (``hardware``) and the implementation ``profile``.
    """
    return save(validation_figure(result, title, hardware, profile), Path(path))
