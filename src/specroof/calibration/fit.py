"""Fit the physical parameters of an implementation profile to measured step latencies.

What is fitted is physics, not points: a handful of parameters that mean the same thing
for every model, batch size and context length (achieved bandwidth and FLOP/s, fixed GEMM
latency, per-kernel gaps, elementwise bandwidth, the attention kernel's per-block bandwidth
and compute rate, host launch cost). Discrete choices (GEMM tile shapes, attention blocks
per SM) are tried in turn and the best fit kept. Residuals are log ratios, so a 10% miss
weighs the same at 5 ms and at 200 ms; per-operator timings (``ops_ms``) join the fit with a
lower weight, so the split is right as well as the total.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from specroof.calibration.measurements import Measurement
from specroof.calibration.plausibility import warn_implausible
from specroof.calibration.problem import MeasurementsArg, MeasurementSet, load_sources
from specroof.calibration.profile_file import plain, profile_document, write_profile
from specroof.calibration.validate import validate
from specroof.checks import spec_of
from specroof.cost.profile import ImplementationProfile
from specroof.cost.setup import setup_step
from specroof.errors import SpecroofError
from specroof.hardware.accelerator import Accelerator, load_hardware


@dataclass(frozen=True)
class Parameter:
    """One continuous profile field the fit may move, within physical bounds."""

    name: str
    lower: float
    upper: float
    meaning: str

    @classmethod
    def of(cls, name: str) -> "Parameter":
        """The field's fit bounds and meaning, as the profile declares them."""
        spec = spec_of(ImplementationProfile, name)
        if spec.fit is None:
            raise ValueError(f"profile field {name} declares no fit bounds")
        return cls(name, *spec.fit, f"{spec.meaning} ({spec.unit})" if spec.unit else spec.meaning)


PARAMETERS: tuple[Parameter, ...] = tuple(Parameter.of(name) for name in (
    "bandwidth_efficiency", "compute_efficiency", "gemm_fixed_us", "kernel_overhead_us", "elementwise_efficiency",
    "attention_cta_bandwidth_gbps", "attention_compute_efficiency", "gemm_l2_spill_penalty"))
LAUNCH = Parameter.of("launch_overhead_us")

#: Discrete alternatives tried; each combination gets its own continuous fit.
TILE_CHOICES: tuple[tuple[tuple[int, int], ...], ...] = (
    ((64, 128), (128, 128), (128, 256)),
    ((128, 128), (128, 256)),
    ((128, 128),),
    ((128, 256),),
)
CTAS_PER_SM_CHOICES = (1, 2)


@dataclass
class Calibration:
    """A fitted profile and how well it fits the measurements it was fitted on."""

    hardware: Accelerator
    base_profile: str
    profile: ImplementationProfile
    fitted: dict[str, Any]
    rms_log_error: float
    mape_latency: float
    points: int
    source: str = ""
    meanings: dict[str, str] = field(default_factory=dict)
    in_sample: list[dict[str, Any]] = field(default_factory=list)

    def document(self) -> dict[str, Any]:
        """The profile file's tables: base device + [profile] overrides + [fit] errors."""
        fit = {"points": self.points, "mape_latency_percent": round(100 * self.mape_latency, 3),
               "rms_log_error": round(self.rms_log_error, 5), **self._mape_by_scope()}
        return profile_document(self.hardware.name, self.base_profile, self.source, self.fitted, fit)

    def comments(self) -> list[str]:
        return (["Calibrated by `specroof calibrate`; use with --hardware THIS_FILE."]
                + [f"{k}: {m}" for k, m in self.meanings.items()])

    def _mape_by_scope(self) -> dict[str, dict[str, float]]:
        """In-sample MAPE (percent) per file and per model, for the profile file's [fit] table."""
        out: dict[str, dict[str, float]] = {}
        for row in self.in_sample:
            out.setdefault(f"mape_percent_per_{row['scope']}", {})[row["name"]] = round(row["mape_latency_pct"], 3)
        return out

    def write(self, path: str | Path) -> None:
        write_profile(path, self.comments(), self.document())

    def rows(self) -> list[dict[str, Any]]:
        """Fitted parameters with their meaning, for printing."""
        return [{"parameter": k, "value": plain(v), "meaning": self.meanings.get(k, "")} for k, v in self.fitted.items()]


def _check_enough_points(rows: Sequence[Measurement]) -> None:
    """Refuse a fit with fewer distinct measured points than fitted parameters.

    With fewer points than parameters the fit is underdetermined: it reproduces the points
    exactly (MAPE 0%) whatever the parameters, and predicts nothing. Repeated timings of the
    same point count once.
    """
    distinct = {(m.model, m.dtype, m.batch, m.candidates, m.seq_len, m.cuda_graph is not False) for m in rows}
    eager = any(m.eager_latency_ms for m in rows)
    needed = len(PARAMETERS) + (1 if eager else 0) + 2  # + the two discrete choices (tiles, CTAs per SM)
    if len(distinct) < needed:
        raise SpecroofError(
            f"calibrate fits {needed} parameters but the measurements hold only {len(distinct)} distinct "
            f"(model, dtype, batch, candidates, seq_len) point{'s' if len(distinct) != 1 else ''}; "
            f"measure at least {needed} different points, e.g. --batch 1,16,64 --candidates 1,16,64 "
            "--seq-len 512,2048")


def calibrate(measurements: MeasurementsArg, hardware: str | Path | Accelerator | None = None,
              profile: str = "pytorch-sdpa") -> Calibration:
    """Fit one hardware profile to measurements: a JSONL path, several (e.g. a dense and an MoE
    model's files, all from one GPU), or Measurement rows.

    ``hardware`` is the base device (default: the ``hardware`` field of the measurements);
    ``profile`` names the implementation profile the measurements were taken with (the
    shared H200 files: ``pytorch-sdpa``). The result's ``in_sample`` holds the error per file
    and per model.
    """
    sources = load_sources(measurements)
    accel = load_hardware(hardware if hardware is not None else sources[0][1].hardware)
    # Medusa-head rows are left to validate(): fitted together with the decoder's own GEMMs
    # they pull the compute efficiency towards their shapes and the held-out error grows.
    decoder_rows = [m for _, m in sources if m.heads is None]
    if not decoder_rows:
        raise SpecroofError("calibrate needs decoder-step measurements (rows without 'heads'); "
                            "Medusa-head rows can be checked with `specroof validate`")
    _check_enough_points(decoder_rows)
    warn_implausible(decoder_rows, accel)
    problem = MeasurementSet(decoder_rows, accel, profile)
    params = list(PARAMETERS) + ([LAUNCH] if problem.has_eager else [])
    start_profile = setup_step(problem.rows[0].model, accel, profile=profile).profile
    fitted = _least_squares(problem, params, start_profile)
    total, _ = problem.predict(fitted)
    measured = np.array([m.latency_ms for m in problem.rows])
    meanings = {p.name: p.meaning for p in params}
    meanings["gemm_tiles"] = "GEMM output tiles [rows, cols] the kernels choose from"
    meanings["attention_ctas_per_sm"] = "attention thread blocks resident per SM"
    files = list(dict.fromkeys(s for s, _ in sources if s))
    check = validate([(s, m) for s, m in sources if m.heads is None], accel, profile, overrides=fitted)
    return Calibration(
        hardware=accel, base_profile=profile,
        profile=start_profile.with_overrides(**fitted), fitted=fitted,
        rms_log_error=float(np.sqrt(np.mean(np.log(total / measured) ** 2))),
        mape_latency=float(np.mean(np.abs(total / measured - 1))), points=len(problem.rows),
        source=", ".join(files), meanings=meanings, in_sample=_scoped(check.by_file, "file") + _scoped(check.summary, "model"),
    )


def _scoped(rows: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    """Summary rows labelled ``scope`` (file or model) and ``name``, for one table."""
    return [{"scope": key, "name": r[key], **{k: v for k, v in r.items() if k != key}} for r in rows]


def _least_squares(problem: MeasurementSet, params: list[Parameter], start_profile: ImplementationProfile
                   ) -> dict[str, Any]:
    """The best fit over every discrete choice, each fitted in log space within its bounds."""
    from scipy.optimize import least_squares

    lower = np.log([p.lower for p in params])
    upper = np.log([p.upper for p in params])
    start = [min(max(getattr(start_profile, p.name), p.lower), p.upper) for p in params]
    x0 = np.clip(np.log(start), lower + 1e-6, upper - 1e-6)
    best: tuple[float, dict[str, Any]] | None = None
    for tiles, ctas in itertools.product(TILE_CHOICES, CTAS_PER_SM_CHOICES):
        discrete = {"gemm_tiles": tiles, "attention_ctas_per_sm": ctas}

        def fun(x: np.ndarray) -> np.ndarray:
            values = {p.name: float(v) for p, v in zip(params, np.exp(x))}
            return problem.residuals({**discrete, **values})

        sol = least_squares(fun, x0, bounds=(lower, upper), x_scale=1.0, diff_step=1e-3, max_nfev=400)
        cost = float(np.sum(sol.fun ** 2))
        if best is None or cost < best[0]:
            best = (cost, {**discrete, **{p.name: float(v) for p, v in zip(params, np.exp(sol.x))}})
    assert best is not None
    return best[1]
