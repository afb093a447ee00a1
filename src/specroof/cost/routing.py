"""How a mixture-of-experts router spreads tokens: the distinct experts a step reads.

An MoE layer reads the weights of every expert that at least one of its ``T`` tokens routes
to, so the cost of a step depends on that number (``experts touched``), not on ``T x top_k``.
:class:`MoERouting` says where the number comes from:

- given (``--moe-experts-touched N``, as the measurement files record it): ``N`` experts per
  layer at every grid point, capped at ``T x top_k`` (the most ``T`` tokens can touch);
- ``uniform``: each token picks ``top_k`` distinct experts uniformly; an expert is missed by
  one token with probability ``1 - k/E``, by ``T`` independent tokens with ``(1 - k/E)^T``,
  so ``E (1 - (1 - k/E)^T)`` experts are touched on average;
- ``zipf:S``: expert ``e`` (``e = 1..E``) is preferred with weight ``w_e ~ e^-S`` and a token
  picks ``top_k`` distinct experts in proportion to those weights (sampling without
  replacement, as a top-k over noisy logits does). Its inclusion probability ``pi_e`` (the
  chance that ``e`` is among one token's k) follows from an exponential race: give every
  expert an arrival time ``~ Exp(w_e)``; the first k arrivals are a weighted sample without
  replacement, so

      pi_e = integral_0^inf  w_e exp(-w_e t) P(fewer than k other experts arrived by t) dt,

  where the other arrivals by ``t`` are independent Bernoullis ``1 - exp(-w_j t)`` (their count
  is Poisson-binomial, computed by dynamic programming up to k). Tokens are independent, so
  ``E[touched] = sum_e 1 - (1 - pi_e)^T``. ``S = 0`` is the uniform router.
- ``power_law_<a>`` (the router law of NVIDIA's measured MoE kernels, ``balanced`` being their
  name for uniform): expert ``r`` receives a share ``r^-a / sum r^-a`` of the ``T x top_k``
  assignments, at most ``T`` tokens (a token picks an expert once).

Grouped routing (DeepSeek-V3's ``n_group`` = G groups of E/G experts, each token keeping
``topk_group`` = g of them and picking its top-k within: ``groups = (G, g)``) changes which
experts a batch touches only under a skewed law. Under ``uniform`` every expert is alike, so by
symmetry each is still among a token's k with probability k/E and nothing changes. Under
``zipf:S`` a token picks in two stages: g groups without replacement, each in proportion to the
summed weight of its experts (the chance that the token's favourite expert lies in it), then its
k experts without replacement among the chosen groups' experts, in proportion to their weights.
The zipf ranks are dealt round-robin over the groups (rank r in group r mod G: each group holds
an equal share of popular and unpopular experts, the placement group-limited routing is trained
towards). Then ``pi_e = sum over group sets C containing e's group of P(C) x pi_e|C``, with
``P(C)`` from the sequential draw (a dynamic programme over subsets) and ``pi_e|C`` the
exponential-race inclusion over C's experts; tokens stay independent, so ``E[touched] =
sum_e 1 - (1 - pi_e)^T`` as before. ``power_law`` states each expert's share of the assignments
directly (a measured outcome, whatever the router did), so grouping does not enter it.

:meth:`MoERouting.expert_loads` gives the expected tokens of every expert, which a fused MoE
kernel pads to its tiles; :meth:`MoERouting.experts` the distinct experts a step reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from specroof.errors import SpecroofError

MAX_EXPERTS = 65_536
"""Most experts per layer priced: a step holds one number per expert and grid point (the largest
published MoE models route over a few hundred experts: 384 in Kimi K2, 256 in DeepSeek-V3)."""

MAX_EXPERT_POINTS = 50_000_000
"""Most (grid point, expert) pairs priced at once: 400 MB per float array of them."""


@dataclass(frozen=True)
class MoERouting:
    """Where the number of experts touched per layer comes from (see the module docstring).

    ``experts_touched``: given per layer (None: the expected number under ``kind``);
    ``kind``: ``uniform``, ``zipf`` or ``power_law``; ``skew``: the exponent (S or a).
    """

    experts_touched: float | None = None
    kind: str = "uniform"
    skew: float = 0.0

    @classmethod
    def of(cls, routing: "str | MoERouting | None" = None, experts_touched: float | None = None) -> "MoERouting":
        """Parse ``uniform`` or ``zipf:S`` (or keep a MoERouting), with an optional given count."""
        base = routing if isinstance(routing, MoERouting) else _parse(routing)
        if experts_touched is None:
            return base
        if isinstance(experts_touched, bool) or not isinstance(experts_touched, (int, float, np.integer, np.floating)):
            raise SpecroofError(f"experts touched must be a number, got {experts_touched!r}")
        return cls(float(experts_touched), base.kind, base.skew)

    def check(self, model_name: str, num_experts: int, top_k: int) -> "MoERouting":
        """One-line errors for a given count outside [top_k, num_experts]."""
        n = self.experts_touched
        if n is not None and not top_k <= n <= num_experts:
            raise SpecroofError(f"--moe-experts-touched {n:g} is outside [{top_k}, {num_experts}] for {model_name} "
                                f"(top-{top_k} of {num_experts} experts)")
        return self

    def for_other_model(self) -> "MoERouting":
        """The routing another model (a draft model) gets: the same router law, no given count."""
        return MoERouting(None, self.kind, self.skew)

    def experts(self, num_experts: int, top_k: int, tokens: np.ndarray | float,
                groups: tuple[int, int] = (1, 1)) -> np.ndarray:
        """Distinct experts per layer that ``tokens`` tokens touch (given, or expected);
        ``groups``: (expert groups, groups per token) of a grouped router."""
        t = np.asarray(tokens, dtype=float)
        _check_size(num_experts, 1)
        if self.experts_touched is not None:
            return np.minimum(self.experts_touched, t * top_k) + 0.0 * t
        if self.kind == "uniform" or self.skew == 0.0:
            return expected_active_experts(num_experts, top_k, t)
        _check_size(num_experts, t.size)  # the laws below hold one number per (point, expert)
        if self.kind == "power_law":  # each expert's tokens arrive as a Poisson count
            return np.sum(1.0 - np.exp(-self.expert_loads(num_experts, top_k, t)), axis=-1)
        pi = np.array(inclusion(num_experts, top_k, float(self.skew), groups))
        miss = np.power.outer(1.0 - pi, t)  # [E, *tokens.shape]
        return np.sum(1.0 - miss, axis=0)

    def expert_loads(self, num_experts: int, top_k: int, tokens: np.ndarray | float,
                     groups: tuple[int, int] = (1, 1)) -> np.ndarray:
        """Expected tokens of each expert, shape ``tokens.shape + (num_experts,)``."""
        t = np.asarray(tokens, dtype=float)[..., None]
        _check_size(num_experts, t.size)
        if self.kind == "power_law":
            w = np.arange(1, num_experts + 1, dtype=float) ** -self.skew
            return np.minimum(t * top_k * w / w.sum(), t)
        if self.kind == "zipf" and self.skew:
            return t * np.array(inclusion(num_experts, top_k, float(self.skew), groups))
        return np.broadcast_to(t * top_k / num_experts, t.shape[:-1] + (num_experts,))

    def describe(self) -> str:
        """The spec this routing parses from."""
        return "uniform" if self.kind == "uniform" else f"{self.kind}{':' if self.kind == 'zipf' else '_'}{self.skew:g}"


def _check_size(num_experts: int, points: int) -> None:
    """SpecroofError before an array of ``points x num_experts`` numbers too large to hold."""
    if num_experts > MAX_EXPERTS:
        raise SpecroofError(f"{num_experts:,} experts per layer: more than the {MAX_EXPERTS:,} specroof prices "
                            "(published MoE models have a few hundred)")
    if num_experts * points > MAX_EXPERT_POINTS:
        raise SpecroofError(f"{points:,} grid points x {num_experts:,} experts: more than the {MAX_EXPERT_POINTS:,} "
                            "(point, expert) pairs priced at once; use a smaller grid")


def _parse(text: str | None) -> MoERouting:
    if text is None or text in ("uniform", "balanced"):
        return MoERouting()
    if str(text).startswith("power_law_"):
        try:
            a = float(str(text)[len("power_law_"):])
        except ValueError:
            a = -1.0
        if not (np.isfinite(a) and 0 < a < 100):
            raise SpecroofError(f"MoE routing power_law_<a> needs 0 < a < 100, got {text!r}")
        return MoERouting(None, "power_law", a)
    kind, _, arg = str(text).partition(":")
    if kind == "zipf":
        try:
            skew = float(arg)
        except ValueError:
            skew = -1.0
        if not np.isfinite(skew) or skew < 0:
            raise SpecroofError(f"--moe-routing zipf:S needs an exponent S >= 0 (e.g. zipf:1.0), got {text!r}")
        return MoERouting(None, "zipf", skew)
    raise SpecroofError(f"unknown MoE routing {text!r}; valid: uniform (balanced), zipf:S (e.g. zipf:1.0), "
                        "power_law_<a> (e.g. power_law_1.2)")


def expected_active_experts(num_experts: int, per_token: int, tokens: np.ndarray | float) -> np.ndarray:
    """Experts hit by at least one of ``tokens`` tokens under uniform top-k routing.

    Each token picks ``per_token`` of ``num_experts`` experts; an expert is missed by one token
    with probability 1 - k/E, by all T tokens with (1 - k/E)^T.
    """
    return num_experts * (1.0 - (1.0 - per_token / num_experts) ** np.asarray(tokens, dtype=float))


MAX_ZIPF_SPAN_DECADES = 300.0
"""Largest spread of the zipf weights, in decades (``S log10 E``): beyond it the lightest
expert's weight ``E^-S`` underflows a float and the race integral has no finite time grid."""

_ZIPF_CHUNK = 4_000_000
"""Numbers held per block of the time grid (experts x times x k): about 32 MB."""


@lru_cache(maxsize=64)
def zipf_inclusion(num_experts: int, top_k: int, skew: float, points: int = 1000) -> tuple[float, ...]:
    """P(expert e is among one token's top_k) when experts are drawn without replacement in
    proportion to ``e^-skew`` (the exponential-race integral of the module docstring).

    The count of *other* experts arrived by time t is, for each e, the arrivals among the
    experts before e combined with those after it: prefix and suffix distributions (truncated
    at k) built in one pass each, so the cost is O(E x times x k), not O(E^2 x times x k).
    """
    _check_size(num_experts, 1)
    if top_k >= num_experts:
        return tuple(np.ones(num_experts))
    if skew * np.log10(num_experts) > MAX_ZIPF_SPAN_DECADES:
        limit = MAX_ZIPF_SPAN_DECADES / np.log10(num_experts)
        raise SpecroofError(f"--moe-routing zipf:{skew:g} over {num_experts} experts: the weights e^-S span more than "
                            f"1e{MAX_ZIPF_SPAN_DECADES:.0f}, beyond a float; give S <= {limit:.0f} (already at S = 10 "
                            "nearly every token picks the same top experts)")
    w = np.arange(1, num_experts + 1, dtype=float) ** -skew
    pi = race_inclusion(w / w.sum(), top_k, points)
    if not np.all(np.isfinite(pi)):
        raise SpecroofError(f"--moe-routing zipf:{skew:g} over {num_experts} experts gives no finite inclusion "
                            "probabilities; use a smaller S")
    return tuple(float(p) for p in pi)


def race_inclusion(w: np.ndarray, top_k: int, points: int = 1000) -> np.ndarray:
    """P(expert e is among the first ``top_k`` of an exponential race with rates ``w``
    (normalized weights): weighted sampling without replacement."""
    if top_k >= w.size:
        return np.ones(w.size)
    # Arrival times: the k-th of the race lands near t ~ k / (sum of the largest rates); the
    # grid reaches far past the slowest expert's time scale, log-spaced for the early arrivals.
    t = np.concatenate(([0.0], np.geomspace(1e-6 / w.max(), 60.0 * top_k / w.min(), points)))
    fewer = np.empty((w.size, t.size))  # P(fewer than k experts other than e arrived by t)
    step = max(1, _ZIPF_CHUNK // (w.size * top_k))
    for lo in range(0, t.size, step):
        fewer[:, lo:lo + step] = _fewer_others(w, t[lo:lo + step], top_k)
    density = w[:, None] * np.exp(-np.outer(w, t))
    return np.clip(np.trapezoid(density * fewer, t, axis=1), 0.0, 1.0)


def _fewer_others(w: np.ndarray, t: np.ndarray, top_k: int) -> np.ndarray:
    """[E, times]: P(fewer than ``top_k`` of the experts other than e arrived by each time)."""
    arrived = 1.0 - np.exp(-np.outer(w, t))  # [E, G]: expert j arrived by t
    none = np.zeros((t.size, top_k))
    none[:, 0] = 1.0
    prefix = np.empty((w.size, t.size, top_k))  # prefix[e]: arrivals among experts < e, c < k
    count = none
    for e in range(w.size):
        prefix[e] = count
        count = _one_more(count, arrived[e])
    fewer = np.empty((w.size, t.size))
    count = none  # arrivals among experts > e
    for e in range(w.size - 1, -1, -1):
        at_most = np.cumsum(count, axis=1)[:, ::-1]  # [G, a]: P(suffix count <= k - 1 - a)
        fewer[e] = np.sum(prefix[e] * at_most, axis=1)  # sum over a + b < k
        count = _one_more(count, arrived[e])
    return fewer


def _one_more(count: np.ndarray, q: np.ndarray) -> np.ndarray:
    """count [G, c < k]: P(c arrived); the same with one more expert, arrived with probability q [G]."""
    out = count * (1.0 - q)[:, None]
    out[:, 1:] += count[:, :-1] * q[:, None]
    return out


MAX_GROUP_SETS = 20_000
"""Most sets of expert groups a token can keep that the grouped law enumerates (DeepSeek-V3:
C(8, 4) = 70; every published grouped router has at most 8 groups)."""


@lru_cache(maxsize=64)
def inclusion(num_experts: int, top_k: int, skew: float, groups: tuple[int, int] = (1, 1)) -> tuple[float, ...]:
    """P(expert e is among one token's top_k) under ``zipf:skew``, grouped or not (``groups``:
    G groups, g kept per token; the two-stage draw of the module docstring)."""
    count, kept = groups
    if count <= 1 or kept >= count:
        return zipf_inclusion(num_experts, top_k, skew)
    if num_experts % count or top_k > kept * (num_experts // count):
        raise SpecroofError(f"{count} expert groups keeping {kept} per token cannot route top-{top_k} of "
                            f"{num_experts} experts")
    zipf_inclusion(num_experts, top_k, skew)  # the same range checks as the ungrouped law
    w = np.arange(1, num_experts + 1, dtype=float) ** -skew
    w = w / w.sum()
    member = np.arange(num_experts) % count  # rank r in group r mod G
    group_weight = np.bincount(member, weights=w, minlength=count)
    pi = np.zeros(num_experts)
    for chosen, p_set in group_sets(group_weight, kept).items():
        inside = np.isin(member, chosen)
        pi[inside] += p_set * race_inclusion(w[inside] / w[inside].sum(), top_k)
    return tuple(float(p) for p in pi)


def group_sets(weights: np.ndarray, kept: int) -> dict[tuple[int, ...], float]:
    """P(a token keeps exactly this set of groups) when it draws ``kept`` groups one by one
    without replacement in proportion to ``weights`` (normalized): a dynamic programme over the
    sets drawn so far, P(A + j) += P(A) w_j / (1 - w(A))."""
    from math import comb

    if comb(weights.size, kept) > MAX_GROUP_SETS:
        raise SpecroofError(f"{weights.size} expert groups keeping {kept} per token: more than the "
                            f"{MAX_GROUP_SETS:,} group sets specroof enumerates")
    drawn: dict[tuple[int, ...], float] = {(): 1.0}
    for _ in range(kept):
        nxt: dict[tuple[int, ...], float] = {}
        for chosen, p in drawn.items():
            left = 1.0 - float(weights[list(chosen)].sum())
            for j in range(weights.size):
                if j not in chosen:
                    key = tuple(sorted((*chosen, j)))
                    nxt[key] = nxt.get(key, 0.0) + p * float(weights[j]) / left
        drawn = nxt
    return drawn
