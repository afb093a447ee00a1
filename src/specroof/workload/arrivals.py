"""How a request set is made: ``poisson:RATE``, ``gamma:RATE:CV`` or ``trace:FILE``.

``requests_from(spec, ...)`` is the one entry point the simulator and the CLI call. RATE is in
requests per second. ``gamma:RATE:CV`` is a gamma renewal process: gaps between arrivals are
gamma-distributed with mean ``1 / RATE`` and coefficient of variation CV (shape ``1 / CV**2``),
the process ``vllm bench serve --burstiness B`` draws with ``B = 1 / CV**2`` (vLLM
``vllm/benchmarks/serve.py``, ``get_request``); CV 1 is the Poisson process itself, CV < 1 more
regular, CV > 1 burstier. ``trace:FILE`` reads recorded requests (:mod:`specroof.workload.traces`:
a Mooncake JSONL, a ``vllm bench serve`` result JSON or a CSV); there the file gives the lengths
and the count, so ``count``, ``prompt_tokens`` and ``output_tokens`` are not used and
``max_requests`` keeps the first requests.
"""

from __future__ import annotations

import numpy as np

from specroof.errors import SpecroofError
from specroof.workload.renewal import check_rate, gamma_arrivals_s
from specroof.workload.requests import RequestSet
from specroof.workload.traces import read_trace

KINDS = ("poisson:RATE", "gamma:RATE:CV", "trace:FILE")


def poisson_requests(rate_rps: float, count: int, prompt_tokens: int, output_tokens: int, seed: int) -> RequestSet:
    """``count`` requests of fixed lengths arriving as a Poisson process of ``rate_rps``."""
    check_rate(rate_rps)
    gaps = np.random.default_rng(seed).exponential(1.0 / rate_rps, size=count)
    return RequestSet(np.cumsum(gaps) - gaps[0], np.full(count, prompt_tokens), np.full(count, output_tokens),
                      f"poisson {rate_rps:g} req/s, seed {seed}")


def gamma_requests(rate_rps: float, cv: float, count: int, prompt_tokens: int, output_tokens: int,
                   seed: int) -> RequestSet:
    """``count`` requests of fixed lengths arriving as a gamma renewal process (see the module)."""
    arrivals = gamma_arrivals_s(rate_rps, cv, count, seed)
    return RequestSet(arrivals, np.full(count, prompt_tokens), np.full(count, output_tokens),
                      f"gamma {rate_rps:g} req/s, CV {cv:g}, seed {seed}")


def requests_from(spec: str, *, count: int, prompt_tokens: int, output_tokens: int, seed: int = 0,
                  max_requests: int | None = None) -> RequestSet:
    """The request set an arrivals spec names (``poisson:RATE``, ``gamma:RATE:CV``, ``trace:FILE``)."""
    kind, _, rest = spec.partition(":")
    if max_requests is not None and max_requests < 1:
        raise SpecroofError(f"--max-requests must be at least 1, got {max_requests}")
    if kind == "trace":
        if not rest:
            raise SpecroofError(f"arrivals {spec!r}: give trace:FILE (.jsonl Mooncake, .json vllm bench serve, .csv)")
        return read_trace(rest, max_requests=max_requests, seed=seed)
    drawn = count if max_requests is None else min(count, max_requests)
    if kind == "poisson":
        return poisson_requests(_number(rest, spec, "poisson:RATE"), drawn, prompt_tokens, output_tokens, seed)
    if kind == "gamma":
        rate, sep, cv = rest.partition(":")
        if not sep:
            raise SpecroofError(f"arrivals {spec!r}: give gamma:RATE:CV (CV: the gaps' coefficient of variation, "
                                "1 = Poisson)")
        return gamma_requests(_number(rate, spec, "gamma:RATE:CV"), _number(cv, spec, "gamma:RATE:CV"), drawn,
                              prompt_tokens, output_tokens, seed)
    raise SpecroofError(f"arrivals {spec!r}: unknown kind {kind!r}; use {', '.join(KINDS)}")


def _number(text: str, spec: str, syntax: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise SpecroofError(f"arrivals {spec!r}: give {syntax} with numbers (RATE in requests per second)") from None
