"""A set of requests: when each arrives, how long its prompt is, how many tokens it generates."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from specroof.errors import SpecroofError


@dataclass(frozen=True, eq=False)
class RequestSet:
    """Requests in arrival order: ``arrival_s`` (seconds from the start, non-decreasing),
    ``prompt_tokens`` and ``output_tokens`` (positive integers), and ``source``, one phrase
    naming where they came from (``"poisson 2 req/s, seed 0"``, ``"trace FILE"``)."""

    arrival_s: np.ndarray
    prompt_tokens: np.ndarray
    output_tokens: np.ndarray
    source: str

    def __post_init__(self) -> None:
        arrival = np.asarray(self.arrival_s, dtype=float)
        prompt = np.asarray(self.prompt_tokens, dtype=np.int64)
        output = np.asarray(self.output_tokens, dtype=np.int64)
        if not (arrival.ndim == prompt.ndim == output.ndim == 1) or not (arrival.size == prompt.size == output.size):
            raise SpecroofError(f"{self.source}: arrivals, prompt and output lengths must be three lists of one length")
        if arrival.size == 0:
            raise SpecroofError(f"{self.source}: no requests")
        if not np.all(np.isfinite(arrival)) or np.any(arrival < 0) or np.any(np.diff(arrival) < 0):
            raise SpecroofError(f"{self.source}: arrival times must be finite, >= 0 and in order")
        if np.any(prompt < 1) or np.any(output < 1):
            raise SpecroofError(f"{self.source}: prompt and output lengths must be >= 1 token")
        object.__setattr__(self, "arrival_s", arrival)
        object.__setattr__(self, "prompt_tokens", prompt)
        object.__setattr__(self, "output_tokens", output)

    @property
    def count(self) -> int:
        return int(self.arrival_s.size)
