"""What a simulation measured: throughput, TTFT/TPOT/ITL/E2E percentiles, goodput under an SLO.

Definitions follow ``vllm bench serve`` (vllm/benchmarks/serve.py): TTFT is arrival to first
token; TPOT a request's (E2E - TTFT) / (output - 1), requests of one token left out; ITL the
gap between a request's consecutive token emissions (one per step: a speculative step emits
its accepted tokens together); throughput counts generated tokens over the whole run (first
arrival to last completion). Goodput: requests per second that met every SLO bound.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from specroof.errors import SpecroofError
from specroof.workload.simulator import SimulationResult

PERCENTILES = (50, 90, 99)
SLO_METRICS = ("ttft", "tpot", "e2e")
"""Per-request bounds goodput counts (ITL is per step, not per request: bound TPOT instead)."""
_UNITS_S = {"s": 1.0, "ms": 1e-3}


def parse_slo(text: str) -> dict[str, float]:
    """``ttft=2s,tpot=50ms`` -> bounds in seconds. Units s or ms are required."""
    bounds: dict[str, float] = {}
    for part in (p.strip() for p in text.split(",") if p.strip()):
        name, _, value = part.partition("=")
        name = name.strip().lower()
        if name not in SLO_METRICS:
            raise SpecroofError(f"--slo {part!r}: unknown metric {name!r}; use {', '.join(SLO_METRICS)}")
        match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:e[-+]?[0-9]+)?)\s*([a-z]*)\s*", value, flags=re.IGNORECASE)
        if not match or match.group(2).lower() not in _UNITS_S:
            raise SpecroofError(f"--slo {part!r}: give a positive number with a unit, s or ms (e.g. tpot=50ms)")
        if name in bounds:
            raise SpecroofError(f"--slo {text!r}: {name} is bounded twice")
        seconds = float(match.group(1)) * _UNITS_S[match.group(2).lower()]
        if seconds <= 0:
            raise SpecroofError(f"--slo {part!r}: the bound must be positive")
        bounds[name] = seconds
    if not bounds:
        raise SpecroofError("--slo: give at least one bound, e.g. ttft=2s,tpot=50ms")
    return bounds


@dataclass
class LoadMetrics:
    """Summary of one simulation (times in seconds, throughput in tokens or requests per second)."""

    requests: int
    duration_s: float
    output_tokens_per_s: float
    requests_per_s: float
    percentiles: dict[str, dict[int, float]]  # metric -> percentile -> seconds
    mean: dict[str, float]
    goodput_rps: float | None
    preemptions: int
    steps: int

    def record(self) -> dict[str, float | int | None]:
        """Flat fields in ms for the tables and JSON (ttft_p50_ms, ...)."""
        out: dict[str, float | int | None] = {
            "requests": self.requests, "duration_s": self.duration_s, "output_tok_s": self.output_tokens_per_s,
            "request_rps": self.requests_per_s}
        for metric, by_p in self.percentiles.items():
            out[f"{metric}_mean_ms"] = self.mean[metric] * 1e3
            for p, value in by_p.items():
                out[f"{metric}_p{p}_ms"] = value * 1e3
        out["goodput_rps"] = self.goodput_rps
        out["preemptions"], out["steps"] = self.preemptions, self.steps
        return out


def per_request(result: SimulationResult) -> dict[str, np.ndarray]:
    """TTFT, TPOT and E2E of every request (TPOT NaN for a one-token request)."""
    ttft = result.first_token_s - result.arrival_s
    e2e = result.finish_s - result.arrival_s
    decoded = result.output_tokens - 1
    with np.errstate(invalid="ignore", divide="ignore"):
        tpot = np.where(decoded > 0, (e2e - ttft) / np.maximum(decoded, 1), np.nan)
    return {"ttft": ttft, "tpot": tpot, "e2e": e2e}


def summarize(result: SimulationResult, slo: dict[str, float] | None = None) -> LoadMetrics:
    """The run's throughput, percentiles and goodput."""
    values = per_request(result)
    values["itl"] = result.itl_s
    duration = float(np.max(result.finish_s) - np.min(result.arrival_s))
    percentiles = {m: {p: _percentile(v, p) for p in PERCENTILES} for m, v in values.items()}
    mean = {m: float(np.nanmean(v)) if np.any(np.isfinite(v)) else float("nan") for m, v in values.items()}
    goodput = None
    if slo:
        met = np.ones(result.arrival_s.size, dtype=bool)
        for name, bound in slo.items():
            met &= ~(values[name] > bound)  # NaN (one-token TPOT) meets the bound
        goodput = float(np.count_nonzero(met)) / duration
    count = result.arrival_s.size
    return LoadMetrics(count, duration, float(result.output_tokens.sum()) / duration, count / duration, percentiles,
                       mean, goodput, result.preemptions, result.steps)


def _percentile(values: np.ndarray, p: int) -> float:
    finite = values[np.isfinite(values)]
    return float(np.percentile(finite, p)) if finite.size else float("nan")
