"""The batch-size schedule (``speculation/schedule.py``): contiguous, monotone, and every switch pays.

Random speedup tables check the definition's four properties; small ones are checked against
an exhaustive search over every non-increasing sequence; real plans check that the schedule
reads the plan's own sweep.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from specroof import SpecroofError
from specroof.speculation.plan import batch_ranges, plan
from specroof.speculation.schedule import DEFAULT_MIN_GAIN, batch_scores, best_monotone, schedule


def k_at(ranges, b):
    [k] = [k for start, end, k in ranges if start <= b <= end]
    return k


@st.composite
def tables(draw, max_batches=10, max_n=8, contexts=(1, 2)):
    """(batch, speedup (B, N, S), fits (B, N, S)): speedup 1 at n = 1, random elsewhere; memory
    that only grows with batch and n, as a footprint does."""
    b = draw(st.integers(1, max_batches))
    n = draw(st.integers(1, max_n))
    s = draw(st.sampled_from(contexts))
    batch = sorted(draw(st.lists(st.integers(1, 600), min_size=b, max_size=b, unique=True)))
    values = draw(st.lists(st.floats(0.5, 3.0), min_size=b * n * s, max_size=b * n * s))
    speed = np.asarray(values).reshape(b, n, s)
    speed[:, 0, :] = 1.0
    need = np.cumsum(np.cumsum(np.asarray(draw(st.lists(st.floats(0, 1), min_size=b * n, max_size=b * n)))
                               .reshape(b, n), axis=0), axis=1)
    budget = draw(st.floats(0.0, float(need.max()) * 1.2 + 0.1))
    fits = np.repeat((need <= budget)[:, :, None], s, axis=2)
    return batch, speed, fits


def _per_batch(batch, speed, fits):
    score, usable, runs = batch_scores(speed, fits)
    return score, usable, runs


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(table=tables(), min_gain=st.sampled_from([0.0, 0.01, 0.05]))
def test_schedule_properties_on_random_tables(table, min_gain):
    batch, speed, fits = table
    score, usable, runs = _per_batch(batch, speed, fits)
    if not runs[0]:
        with pytest.raises(SpecroofError, match="nothing in this plan fits"):
            schedule(batch, speed, fits, min_gain)
        return
    ranges = schedule(batch, speed, fits, min_gain)
    last = len(batch) - 1 if runs.all() else int(np.argmin(runs)) - 1
    # Contiguous from 1 to the last planned batch size that fits (and no further).
    assert ranges[0][0] == 1 and ranges[-1][1] == batch[last]
    for (s1, e1, k1), (s2, e2, k2) in zip(ranges, ranges[1:]):
        assert s1 <= e1 and s2 == e1 + 1
        assert k2 < k1  # monotone: never more draft tokens at a larger batch; equal neighbours merged
    floor = math.log1p(min_gain)
    ks = [k_at(ranges, b) for b in batch[:last + 1]]
    for i, k in enumerate(ks):
        if k > 0:  # speculation only where it fits and gains more than the minimum
            assert usable[i, k] and score[i, k] > floor
    # Every switch pays more than the minimum over its range, or keeping the previous k was impossible.
    idx = np.asarray(batch[:last + 1])
    for (s1, e1, k1), (s2, e2, k2) in zip(ranges, ranges[1:]):
        rows = np.flatnonzero((idx >= s2) & (idx <= e2))
        kept_ok = all(usable[r, k1] and (k1 == 0 or score[r, k1] > floor) for r in rows)
        if kept_ok:
            own = np.mean([0.0 if k2 == 0 else score[r, k2] for r in rows])
            kept = np.mean([score[r, k1] for r in rows])
            assert own - kept > floor


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_best_monotone_is_the_exhaustive_optimum(data):
    m = data.draw(st.integers(1, 5))
    k_count = data.draw(st.integers(1, 4))
    score = np.asarray(data.draw(st.lists(st.floats(-1, 1), min_size=m * k_count, max_size=m * k_count))
                       ).reshape(m, k_count)
    eligible = np.asarray(data.draw(st.lists(st.booleans(), min_size=m * k_count, max_size=m * k_count))
                          ).reshape(m, k_count)
    eligible[:, 0] = True
    ks = best_monotone(score, eligible)
    assert all(a >= b for a, b in zip(ks, ks[1:])) and all(eligible[i, k] for i, k in enumerate(ks))
    best = max(sum(score[i, k] for i, k in enumerate(seq))
               for seq in itertools.product(range(k_count), repeat=m)
               if all(a >= b for a, b in zip(seq, seq[1:])) and all(eligible[i, k] for i, k in enumerate(seq)))
    assert sum(score[i, k] for i, k in enumerate(ks)) == pytest.approx(best, abs=1e-12)


def test_no_speculation_for_a_gain_at_or_below_the_minimum():
    batch = [1, 2, 4]
    speed = np.array([[1.0, 1.5, 1.4], [1.0, 1.009, 1.004], [1.0, 1.0001, 0.9]])[:, :, None]
    fits = np.ones_like(speed, dtype=bool)
    assert schedule(batch, speed, fits) == [[1, 1, 1], [2, 4, 0]]
    assert schedule(batch, speed, fits, min_gain=0.0) == [[1, 4, 1]]  # any gain at all pays


def test_a_switch_that_gains_less_than_the_minimum_keeps_the_previous_k():
    # The best k drops from 3 to 2 at batch 8, but k = 3 is within 0.5 % there: k stays 3.
    batch = [1, 8, 64]
    speed = np.ones((3, 4, 1))
    speed[0, 1:, 0] = [1.3, 1.5, 1.6]
    speed[1, 1:, 0] = [1.2, 1.41, 1.405]
    speed[2, 1:, 0] = [1.1, 1.0, 0.9]
    fits = np.ones_like(speed, dtype=bool)
    assert schedule(batch, speed, fits) == [[1, 63, 3], [64, 64, 1]]
    assert schedule(batch, speed, fits, min_gain=0.001) == [[1, 7, 3], [8, 63, 2], [64, 64, 1]]


def test_batch_sizes_that_do_not_fit_end_the_schedule():
    batch = [1, 16, 256]
    speed = np.ones((3, 3, 1))
    speed[:, 1:, 0] = 1.5
    fits = np.ones_like(speed, dtype=bool)
    fits[2] = False
    assert schedule(batch, speed, fits) == [[1, 16, 1]]
    fits[:] = False
    with pytest.raises(SpecroofError, match="nothing in this plan fits"):
        schedule(batch, speed, fits)


@pytest.mark.parametrize("value", [-0.1, 1.0, float("nan"), "1%", True])
def test_min_gain_must_be_a_fraction(value):
    with pytest.raises(SpecroofError, match="minimum gain"):
        schedule([1], np.ones((1, 2, 1)), np.ones((1, 2, 1), dtype=bool), value)


def test_dense_batch_grid_gives_few_monotone_ranges():
    """``plan --batch 1:512:1``: the per-batch optimum jitters with GEMM tiles; the schedule does not."""
    p = plan("llama-3-8b", "h200", list(range(1, 513)), [1024], acceptance="chain:0.8", method="draft",
             draft_model="llama-3.2-1b", max_candidates=12)
    ranges = batch_ranges(p)
    ks = [k for _, _, k in ranges]
    assert ks == sorted(ks, reverse=True) and len(ranges) <= 6
    assert ranges[0][0] == 1 and ranges[-1][1] == 512
    best = p.best_candidates[:, 0] - 1
    assert (np.diff(best) > 0).any()  # the per-batch optimum itself is not monotone here
    for start, end, k in ranges:  # speculation only where the plan's own sweep gains more than 1 %
        if k > 0:
            rows = (p.batch >= start) & (p.batch <= end)
            assert np.all(p.sweep_speedup[rows, k, 0] > 1 + DEFAULT_MIN_GAIN)


def test_several_contexts_score_by_geometric_mean():
    p = plan("llama-3-8b", "h200", [1, 3, 16, 64, 100], [512, 4096], acceptance="chain:0.8",
             method="draft", draft_model="llama-3.2-1b", max_candidates=20)
    ranges = batch_ranges(p, min_gain=0.0)
    geo = np.exp(np.log(p.sweep_speedup).mean(axis=2))  # (B, N)
    for b, row in zip(p.batch, geo):
        k = k_at(ranges, int(b))
        assert k == 0 or row[k] > 1.0
    # Naming one context schedules from that context alone.
    one = batch_ranges(p, seq_len=4096)
    assert one == schedule(p.batch, p.sweep_speedup[:, :, 1:], p.fits_grid[:, :, 1:])
    with pytest.raises(SpecroofError, match="not in the plan"):
        batch_ranges(p, seq_len=777)
