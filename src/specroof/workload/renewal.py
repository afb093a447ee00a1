"""Arrival times of renewal processes (independent gaps): the gamma family, Poisson at CV 1.

Its own module so that the arrival specs (:mod:`specroof.workload.arrivals`) and the trace
readers (:mod:`specroof.workload.traces`, which draw a ``vllm bench serve`` run's arrivals again)
share one draw without importing each other.
"""

from __future__ import annotations

import numpy as np

from specroof.errors import SpecroofError


def gamma_arrivals_s(rate_rps: float, cv: float, count: int, seed: int) -> np.ndarray:
    """Arrival times (s, the first at 0) of a gamma renewal process: mean gap ``1 / rate_rps``,
    gap coefficient of variation ``cv``. CV 1 draws exactly the Poisson process of the same seed."""
    check_rate(rate_rps)
    if not np.isfinite(cv) or cv <= 0:
        raise SpecroofError(f"gamma arrivals: the coefficient of variation must be a positive number, got {cv}")
    rng = np.random.default_rng(seed)
    if cv == 1.0:
        gaps = rng.exponential(1.0 / rate_rps, size=count)
    else:
        shape = 1.0 / cv**2
        gaps = rng.gamma(shape, 1.0 / (rate_rps * shape), size=count)
    return np.cumsum(gaps) - gaps[0]


def check_rate(rate_rps: float) -> None:
    if not np.isfinite(rate_rps) or rate_rps <= 0:
        raise SpecroofError(f"request rate must be a positive number of requests per second, got {rate_rps}")
