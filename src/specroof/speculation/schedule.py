"""A plan as a batch-size schedule ``[[start_batch, end_batch, k], ...]`` (k = n - 1 draft tokens).

The schedule is derived from the plan's sweep (speedup and fit at every planned batch size
``b_1 < ... < b_m``, every n = k + 1 and every planned context) in four steps, with ``g``
the minimum gain (``--min-gain``, default 0.01 = 1 %):

1. **Score.** Each (batch size, k) gets the mean over contexts of ln(speedup): the log of the
   geometric-mean speedup over the planned contexts at which that batch size runs at all
   (n = 1 fits). A k is *usable* at a batch size when it fits at every one of those contexts.
   A batch size where not even n = 1 fits ends the schedule: it covers the planned batch
   sizes before the first one that does not fit, and the exports cap the engine's batch there.
2. **Eligible.** k = 0 (speculation off) is always eligible; k > 0 is eligible at a batch size
   when it is usable and its geometric-mean speedup exceeds 1 + g. Speculation is off where no
   k gains more than g.
3. **Best monotone choice.** Among the sequences k(b_1) >= k(b_2) >= ... (never more draft
   tokens at a larger batch: verification gets dearer with load) with every k eligible, the
   one with the highest total score, i.e. the highest geometric-mean speedup over the planned
   batch sizes, each counted once; ties go to the smaller k. Found exactly by dynamic
   programming over (batch size, k).
4. **A switch must pay.** Neighbouring batch sizes with the same k form a range. Where the
   schedule switches from k_a (range A) to a smaller k_b (range B), it keeps k_a over B instead
   unless k_b's geometric-mean speedup over B's batch sizes beats k_a's by more than g, or k_a
   is not eligible at some batch size of B (then the switch is forced). The switch with the
   smallest gain is dropped first, and the check repeats until every switch left pays.

Ranges are inclusive and contiguous: the first starts at batch 1 (sizes below the smallest
planned one take its k), a range runs up to one below the next range's first planned batch
size (sizes between two planned ones take the k of the planned size at or below them, as
vLLM's table fills gaps), and the last ends at the last planned batch size that fits.
"""

from __future__ import annotations

import math

import numpy as np

from specroof.errors import SpecroofError

DEFAULT_MIN_GAIN = 0.01
"""Smallest relative speedup a schedule acts on: speculating, or switching k (1 %)."""


def check_min_gain(min_gain: float) -> float:
    """The minimum gain as a float in [0, 1), or SpecroofError."""
    if isinstance(min_gain, bool) or not isinstance(min_gain, (int, float, np.integer, np.floating)) \
            or not 0 <= float(min_gain) < 1:
        raise SpecroofError(f"minimum gain must be a fraction in [0, 1) (0.01 = 1 %), got {min_gain!r}")
    return float(min_gain)


def batch_scores(speedup: np.ndarray, fits: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(score, usable, runs) from a (B, N, S) sweep over n = 1..N: the mean ln(speedup) over the
    contexts where each batch size runs, (B, N); where each k fits at all of them, (B, N); and
    whether the batch size runs at any context, (B,)."""
    speedup = np.asarray(speedup, dtype=float)
    fits = np.asarray(fits, dtype=bool)
    feasible = fits[:, 0, :]  # (B, S): contexts where plain decoding fits
    runs = feasible.any(axis=1)
    usable = (fits | ~feasible[:, None, :]).all(axis=2) & runs[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.where(feasible[:, None, :], np.log(np.where(speedup > 0, speedup, np.nan)), 0.0)
    contexts = np.maximum(feasible.sum(axis=1), 1)[:, None]
    score = np.where(usable, np.nan_to_num(logs.sum(axis=2) / contexts, nan=-np.inf), -np.inf)
    return score, usable, runs


def best_monotone(score: np.ndarray, eligible: np.ndarray) -> np.ndarray:
    """k per row maximizing the total score over non-increasing sequences of eligible k (step 3).

    ``score`` and ``eligible`` are (m, K) with k = 0 eligible in every row; ties go to the
    smaller k. O(m K) time.
    """
    value = np.where(eligible, score, -np.inf)
    total = np.empty_like(value)
    total[0] = value[0]
    for i in range(1, value.shape[0]):
        best_from = np.maximum.accumulate(total[i - 1, ::-1])[::-1]  # best over k' >= k of the row above
        total[i] = value[i] + best_from
    ks = np.empty(value.shape[0], dtype=np.int64)
    ks[-1] = int(np.argmax(total[-1]))
    for i in range(value.shape[0] - 2, -1, -1):
        ks[i] = ks[i + 1] + int(np.argmax(total[i, ks[i + 1]:]))
    return ks


def _runs_of(ks: np.ndarray) -> list[list[int]]:
    """[[first_index, last_index, k], ...] of equal neighbouring values."""
    runs: list[list[int]] = []
    for i, k in enumerate(ks.tolist()):
        if runs and runs[-1][2] == k:
            runs[-1][1] = i
        else:
            runs.append([i, i, k])
    return runs


def _switch_gain(score: np.ndarray, eligible: np.ndarray, k_before: int, run: list[int]) -> float:
    """ln of the gain of ``run``'s own k over keeping ``k_before`` across it (inf: forced)."""
    rows = slice(run[0], run[1] + 1)
    if not eligible[rows, k_before].all():
        return math.inf
    return float(np.mean(score[rows, run[2]]) - np.mean(score[rows, k_before]))


def drop_small_switches(score: np.ndarray, eligible: np.ndarray, ks: np.ndarray, min_gain: float) -> np.ndarray:
    """Step 4: keep the previous k over a range whose own k gains no more than ``min_gain``."""
    runs = _runs_of(ks)
    floor = math.log1p(min_gain)
    while len(runs) > 1:
        gains = [_switch_gain(score, eligible, runs[j - 1][2], runs[j]) for j in range(1, len(runs))]
        j = int(np.argmin(gains)) + 1
        if gains[j - 1] > floor:
            break
        runs[j - 1][1] = runs[j][1]
        del runs[j]
    out = np.empty_like(ks)
    for first, last, k in runs:
        out[first:last + 1] = k
    return out


def schedule(batch: np.ndarray, speedup: np.ndarray, fits: np.ndarray,
             min_gain: float = DEFAULT_MIN_GAIN) -> list[list[int]]:
    """The schedule of a sweep (see the module docstring): ``speedup`` and ``fits`` are
    (B, N, S) or (B, N) over the planned batch sizes ``batch`` and n = 1..N.

    Raises SpecroofError when not even n = 1 fits at any planned batch size.
    """
    min_gain = check_min_gain(min_gain)
    speedup, fits = np.asarray(speedup), np.asarray(fits)
    if speedup.ndim == 2:
        speedup, fits = speedup[:, :, None], fits[:, :, None]
    batches, first = np.unique(np.asarray(batch), return_index=True)  # sorted, duplicates dropped
    score, usable, runs = batch_scores(speedup[first], fits[first])
    if not runs[0]:
        raise SpecroofError(f"nothing in this plan fits in the device's memory (or within the model's context) at "
                            f"batch {int(batches[0])}, not even plain decoding: no schedule to export")
    last = int(np.argmin(runs)) - 1 if not runs.all() else runs.size - 1  # before the first that does not fit
    score, usable = score[:last + 1].copy(), usable[:last + 1]
    eligible = usable & (score > math.log1p(min_gain))
    eligible[:, 0] = True
    score[:, 0] = 0.0  # plain decoding: speedup 1 by definition
    ks = drop_small_switches(score, eligible, best_monotone(score, eligible), min_gain)
    ranges = []
    for first_i, last_i, k in _runs_of(ks):
        start = 1 if first_i == 0 else int(batches[first_i])
        end = int(batches[last_i + 1]) - 1 if last_i + 1 <= last else int(batches[last_i])
        ranges.append([start, end, int(k)])
    return ranges
