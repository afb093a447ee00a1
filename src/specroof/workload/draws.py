"""Per-request acceptance: how many tokens each speculative step of each request yields.

The acceptance model gives tau(n), the mean tokens a step of n candidates yields, over
requests. Requests differ (a code prompt is more predictable than a poem), so each request r
gets its own per-token acceptance rate alpha_r(n), and each of its steps yields
``1 + min(K, G)`` tokens, G the leading run of accepted drafts (geometric in alpha_r): a chain
of K = n - 1 drafts, each accepted with alpha_r given the ones before were (a tree of n tokens is
read along its accepted path: at most its depth + 1 tokens a step, the cap the pricing's bound
states).

alpha_r(n) = sigmoid(logit(m(n)) + s * z_r): ``z_r`` is the request's standard-normal quality,
drawn once (seeded), so a request that accepts well at one n accepts well at every n; ``s``
(logit units) is set from ``spread``, the standard deviation of alpha_r around its mean, and
m(n) is solved so the mean of the chain's tau over the drawn requests equals the model's
tau(n) exactly. With ``spread = 0`` every request accepts alike and only the step-to-step
randomness remains.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from specroof.errors import SpecroofError

MOST_RATE = 1.0 - 1e-9
"""Largest per-token rate: a chain that always accepts still has a finite log-rate."""
DEFAULT_SPREAD = 0.065
"""The spread ``simulate`` draws with unless told: the median of the per-dataset spreads fitted to
SpecDecode-Bench's per-request EAGLE-3 traces of Llama-3.1-8B (GSM8K 0.04, CNN/DailyMail 0.05,
InstructCoder 0.08, ShareGPT 0.11; data/validation/specdecode-bench-request-acceptance.csv,
fitted and checked by tests/test_simulate_spread.py)."""
MOST_LOGIT_SCALE = 4.0
"""Widest spread in logit units: near a mean rate of 0 or 1 a rate's standard deviation cannot reach
``spread`` (the rates are bounded), so the spread is what this scale gives there."""


def chain_tau(alpha: np.ndarray | float, n: int) -> np.ndarray:
    """Mean tokens a step of a K = n - 1 chain yields at per-token rate alpha: sum alpha^i, i < n."""
    a = np.asarray(alpha, dtype=float)
    return np.sum(a[..., None] ** np.arange(n), axis=-1)


def _logit(p: float) -> float:
    p = min(max(p, 1e-9), MOST_RATE)
    return float(np.log(p / (1.0 - p)))


def _rates(offset: float, scale: float, z: np.ndarray) -> np.ndarray:
    logit = np.clip(offset + scale * z, -60.0, 60.0)
    return np.minimum(1.0 / (1.0 + np.exp(-logit)), MOST_RATE)


def _solve_offset(tau: float, n: int, scale: float, z: np.ndarray) -> float:
    """The logit offset at which the requests' mean chain tau equals ``tau`` (bisection: the mean
    rises with the offset)."""
    low, high = -60.0, 60.0
    for _ in range(90):
        middle = 0.5 * (low + high)
        if float(np.mean(chain_tau(_rates(middle, scale, z), n))) < tau:
            low = middle
        else:
            high = middle
    return 0.5 * (low + high)


@dataclass
class AcceptanceDraws:
    """Each request's acceptance at each candidate count, and the step-to-step draws.

    ``tau``: the model's tau per candidate count n; ``quality``: z_r per request; ``spread``:
    standard deviation of alpha_r (0 to 0.5)."""

    tau: dict[int, float]
    quality: np.ndarray
    spread: float
    rng: np.random.Generator
    caps: dict[int, int]
    _rates: dict[int, np.ndarray] = field(default_factory=dict, repr=False)
    _log_rates: dict[int, np.ndarray] = field(default_factory=dict, repr=False)

    @classmethod
    def of(cls, tau: dict[int, float], requests: int, spread: float = 0.0, seed: int = 0,
           caps: dict[int, int] | None = None) -> "AcceptanceDraws":
        """``caps``: the most tokens a step of n candidates yields (depth + 1; n for a chain)."""
        if not 0.0 <= spread < 0.5:
            raise SpecroofError(f"acceptance spread must be >= 0 and < 0.5 (a standard deviation of a rate), got {spread}")
        caps = {n: (caps or {}).get(n, n) for n in tau}
        for n, value in tau.items():
            if not 1.0 <= value <= caps[n] + 1e-9:
                raise SpecroofError(f"tau({n}) = {value:g} is outside [1, {caps[n]}]: a step of {n} candidates yields "
                                    f"at most {caps[n]} tokens")
        rng = np.random.default_rng(seed)
        quality = rng.standard_normal(requests) if spread > 0 else np.zeros(requests)
        return cls(tau, quality, spread, rng, caps)

    def rates(self, n: int) -> np.ndarray:
        """alpha_r(n) of every request (solved once per n)."""
        if n not in self._rates:
            self._rates[n] = self._solve(n)
        return self._rates[n]

    def _solve(self, n: int) -> np.ndarray:
        target, cap = self.tau[n], self.caps[n]
        if cap == 1 or target <= 1.0 + 1e-12:  # nothing is ever accepted
            return np.zeros(self.quality.size)
        if target >= cap - 1e-9:
            return np.full(self.quality.size, MOST_RATE)
        mean = _mean_rate(target, cap)
        scale = min(self.spread / max(mean * (1.0 - mean), 1e-6), MOST_LOGIT_SCALE)  # d sigmoid / d logit = m(1 - m)
        offset = _solve_offset(target, cap, scale, self.quality) if scale > 0 else _logit(mean)
        return _rates(offset, scale, self.quality)

    def tokens(self, requests: np.ndarray, n: int) -> np.ndarray:
        """Tokens one step of ``n`` candidates yields for each of ``requests``: 1 + min(depth, G)
        (depth = K for a chain, the tree's levels for a tree)."""
        if n == 1:
            return np.ones(requests.size, dtype=np.int64)
        if n not in self._log_rates:
            with np.errstate(divide="ignore"):
                self._log_rates[n] = np.log(self.rates(n))  # -inf for a rate of 0: no draft accepted
        uniform = 1.0 - self.rng.random(requests.size)  # in (0, 1]: log is finite
        run = np.floor(np.log(uniform) / self._log_rates[n][requests])
        return 1 + np.minimum(self.caps[n] - 1, run).astype(np.int64)


def _mean_rate(tau: float, n: int) -> float:
    """The per-token rate at which a chain of n - 1 drafts yields ``tau`` (bisection)."""
    low, high = 0.0, 1.0
    for _ in range(60):
        middle = 0.5 * (low + high)
        if float(chain_tau(middle, n)) < tau:
            low = middle
        else:
            high = middle
    return 0.5 * (low + high)
