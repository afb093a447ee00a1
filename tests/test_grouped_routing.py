"""Grouped routing (DeepSeek-V3's n_group / topk_group): the expected experts a batch touches,
against a Monte-Carlo of the same two-stage draw with a fixed seed (cost/routing.py)."""

from __future__ import annotations

import numpy as np
import pytest

from specroof.cost.routing import MoERouting, expected_active_experts, group_sets, inclusion, zipf_inclusion
from specroof.errors import SpecroofError


def _monte_carlo(experts: int, top_k: int, groups: int, kept: int, skew: float, tokens: int,
                 trials: int, seed: int) -> tuple[float, np.ndarray]:
    """(mean distinct experts over ``tokens`` tokens, per-expert frequency of one token's picks).

    Each token draws ``kept`` groups by the Gumbel top-k of log group weights (weighted sampling
    without replacement), then its ``top_k`` experts by the Gumbel top-k of log expert weights
    over the kept groups' experts; zipf ranks sit in groups round-robin (rank r in group r mod G)."""
    rng = np.random.default_rng(seed)
    w = np.arange(1, experts + 1, dtype=float) ** -skew
    member = np.arange(experts) % groups
    group_w = np.bincount(member, weights=w, minlength=groups)
    group_keys = np.log(group_w) + rng.gumbel(size=(trials, tokens, groups))
    chosen = np.argsort(-group_keys, axis=-1)[..., :kept]  # [trials, tokens, kept]
    allowed = (member[None, None, :, None] == chosen[..., None, :]).any(-1)  # [trials, tokens, E]
    keys = np.where(allowed, np.log(w) + rng.gumbel(size=(trials, tokens, experts)), -np.inf)
    picked = np.argsort(-keys, axis=-1)[..., :top_k]
    hit = np.zeros((trials, tokens, experts), dtype=bool)
    np.put_along_axis(hit, picked, True, axis=-1)
    touched = hit.any(axis=1).sum(axis=-1).mean()
    return float(touched), hit[:, 0, :].mean(axis=0)


@pytest.mark.parametrize("experts, top_k, groups, kept, skew", [(32, 4, 8, 2, 1.2), (64, 6, 8, 3, 0.8)])
def test_grouped_zipf_matches_monte_carlo(experts, top_k, groups, kept, skew):
    routing = MoERouting.of(f"zipf:{skew}")
    for tokens in (1, 3, 8):
        simulated, frequency = _monte_carlo(experts, top_k, groups, kept, skew, tokens, 20_000, seed=11)
        expected = float(routing.experts(experts, top_k, tokens, (groups, kept)))
        assert expected == pytest.approx(simulated, abs=0.06), tokens
    pi = np.array(inclusion(experts, top_k, skew, (groups, kept)))
    np.testing.assert_allclose(pi, frequency, atol=0.012)  # 20,000 draws: 3.5 standard errors at p = 0.5
    assert pi.sum() == pytest.approx(top_k, rel=2e-3)


def test_grouping_changes_the_skewed_count():
    """With the popular experts spread over the groups, a token must take all k experts inside
    its g groups, so it reaches further down each group's ranks than the ungrouped law would:
    a batch wakes more distinct experts (the Monte-Carlo above confirms the law itself)."""
    routing = MoERouting.of("zipf:1.0")
    grouped = float(routing.experts(64, 6, 16, (8, 2)))
    plain = float(routing.experts(64, 6, 16))
    assert grouped > plain + 0.5


def test_uniform_routing_is_unchanged_by_groups():
    """By symmetry each expert is still picked with probability k/E: the Monte-Carlo of the
    grouped draw with equal weights agrees with the ungrouped closed form."""
    simulated, _ = _monte_carlo(32, 4, 8, 2, 0.0, 5, 20_000, seed=5)
    closed = float(expected_active_experts(32, 4, 5))
    assert simulated == pytest.approx(closed, abs=0.06)
    assert float(MoERouting.of("uniform").experts(32, 4, 5, (8, 2))) == closed


def test_keeping_every_group_is_the_ungrouped_law():
    assert inclusion(32, 4, 1.1, (8, 8)) == zipf_inclusion(32, 4, 1.1)
    assert inclusion(32, 4, 1.1, (1, 1)) == zipf_inclusion(32, 4, 1.1)


def test_group_sets_are_a_distribution_over_the_kept_sets():
    weights = np.array([0.4, 0.3, 0.2, 0.1])
    sets = group_sets(weights, 2)
    assert len(sets) == 6 and sum(sets.values()) == pytest.approx(1.0)
    # P({0, 1}) = 0.4 * 0.3 / 0.6 + 0.3 * 0.4 / 0.7, by hand
    assert sets[(0, 1)] == pytest.approx(0.4 * 0.3 / 0.6 + 0.3 * 0.4 / 0.7)


def test_a_group_limit_that_cannot_hold_top_k_is_refused():
    with pytest.raises(SpecroofError, match="cannot route top-8"):
        inclusion(16, 8, 1.0, (8, 2))
