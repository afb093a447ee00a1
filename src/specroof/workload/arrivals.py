"""How a request set is made: ``poisson:RATE`` (requests per second), more kinds as registered.

``requests_from(spec, ...)`` is the one entry point the simulator and the CLI call.
"""

from __future__ import annotations

import numpy as np

from specroof.errors import SpecroofError
from specroof.workload.requests import RequestSet


def poisson_requests(rate_rps: float, count: int, prompt_tokens: int, output_tokens: int, seed: int) -> RequestSet:
    """``count`` requests of fixed lengths arriving as a Poisson process of ``rate_rps``."""
    if not np.isfinite(rate_rps) or rate_rps <= 0:
        raise SpecroofError(f"request rate must be a positive number of requests per second, got {rate_rps}")
    gaps = np.random.default_rng(seed).exponential(1.0 / rate_rps, size=count)
    return RequestSet(np.cumsum(gaps) - gaps[0], np.full(count, prompt_tokens), np.full(count, output_tokens),
                      f"poisson {rate_rps:g} req/s, seed {seed}")


def requests_from(spec: str, *, count: int, prompt_tokens: int, output_tokens: int, seed: int = 0,
                  max_requests: int | None = None) -> RequestSet:
    """The request set an arrivals spec names (``poisson:RATE``)."""
    kind, _, rest = spec.partition(":")
    if kind == "poisson":
        try:
            rate = float(rest)
        except ValueError:
            raise SpecroofError(f"arrivals {spec!r}: give poisson:RATE with RATE in requests per second") from None
        return poisson_requests(rate, count if max_requests is None else min(count, max_requests), prompt_tokens,
                                output_tokens, seed)
    raise SpecroofError(f"arrivals {spec!r}: unknown kind {kind!r}; use poisson:RATE")
