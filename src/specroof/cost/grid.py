"""The grid a step is priced over: batch x candidates x seq_len, validated once.

Every array the cost model produces is shaped ``(len(batch), len(candidates), len(seq_len))``.
A :class:`Grid` holds the three axes and hands out their broadcastable views (batch on axis
0, candidates on axis 1, seq_len on axis 2), so no caller reshapes an axis by hand.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from specroof.errors import SpecroofError, shown

MAX_GRID_POINTS = 20_000_000
"""Points priced at once: each operation holds a few float64 arrays of this size."""
MAX_AXIS_VALUE = 100_000_000
"""No batch, candidate count or context is larger (beyond it float64 token counts lose meaning)."""

AxisValues = int | Iterable[int]


def grid_axis(values: AxisValues, what: str) -> np.ndarray:
    """A 1-D array of positive integers; SpecroofError naming the bad value."""
    if values is None or isinstance(values, (str, bytes, dict)):
        raise SpecroofError(f"{what} must be a positive integer or a list of them, got {shown(values)}")
    try:
        array = np.atleast_1d(np.asarray(list(values) if not np.isscalar(values) else [values]))
    except (TypeError, ValueError, OverflowError):
        raise SpecroofError(f"{what} must be a positive integer or a list of them, got {shown(values)}") from None
    if array.size == 0:
        raise SpecroofError(f"{what} needs at least one value")
    if array.ndim != 1:
        raise SpecroofError(f"{what} must be a flat list of integers")
    if not np.issubdtype(array.dtype, np.number) or np.issubdtype(array.dtype, np.bool_):
        raise SpecroofError(f"{what} must be positive integers up to {MAX_AXIS_VALUE:,}, got {shown(values)}")
    with np.errstate(invalid="ignore"):
        bad = array[~np.isfinite(array) | (array <= 0) | (array != np.floor(array)) | (array > MAX_AXIS_VALUE)]
    if bad.size:
        raise SpecroofError(f"{what} must be positive integers up to {MAX_AXIS_VALUE:,}, got {shown(bad[0].item())}")
    return array.astype(np.int64)


@dataclass(frozen=True, eq=False)
class Grid:
    """Batch sizes, candidate counts and context lengths of one sweep (1-D int64 axes)."""

    batch: np.ndarray
    candidates: np.ndarray
    seq_len: np.ndarray

    @classmethod
    def of(cls, batch: AxisValues, candidates: AxisValues, seq_len: AxisValues) -> "Grid":
        """Validate the three axes and the grid's size."""
        grid = cls(grid_axis(batch, "batch"), grid_axis(candidates, "candidates"), grid_axis(seq_len, "seq_len"))
        if grid.points > MAX_GRID_POINTS:
            b, n, s = grid.shape
            raise SpecroofError(
                f"grid of {grid.points:,} points ({b} x {n} x {s}) is larger than the "
                f"{MAX_GRID_POINTS:,} computed at once; split it into smaller sweeps"
            )
        return grid

    @property
    def shape(self) -> tuple[int, int, int]:
        return (self.batch.size, self.candidates.size, self.seq_len.size)

    @property
    def points(self) -> int:
        return self.batch.size * self.candidates.size * self.seq_len.size

    @property
    def b(self) -> np.ndarray:
        """Batch sizes as floats, shaped (B, 1, 1)."""
        return self.batch.astype(float)[:, None, None]

    @property
    def n(self) -> np.ndarray:
        """Candidate counts as floats, shaped (1, N, 1)."""
        return self.candidates.astype(float)[None, :, None]

    def per_column(self, values: "np.ndarray | float") -> np.ndarray:
        """A value per candidates column (or one for every column) as floats, shaped (1, N, 1)
        like :attr:`n`: what drafting and engine work keep per candidate count."""
        return np.broadcast_to(np.asarray(values, dtype=float), self.candidates.shape)[None, :, None]

    @property
    def s(self) -> np.ndarray:
        """Context lengths as floats, shaped (1, 1, S)."""
        return self.seq_len.astype(float)[None, None, :]

    @property
    def tokens(self) -> np.ndarray:
        """Tokens fed through the model per step, batch x candidates, shaped (B, N, 1)."""
        return self.b * self.n

    def with_candidates(self, candidates: AxisValues) -> "Grid":
        """The same batch and context axes with other candidate counts (e.g. [1]: plain decoding)."""
        return Grid(self.batch, grid_axis(candidates, "candidates"), self.seq_len)

    def full(self, array: np.ndarray | float) -> np.ndarray:
        """``array`` broadcast to the whole grid (a read-only view)."""
        return np.broadcast_to(array, self.shape)


def compact(array: np.ndarray) -> np.ndarray:
    """The smallest array that broadcasts back to ``array``: a broadcast view's repeated
    (stride 0) axes taken once, so arithmetic on it stays at the size it was computed at."""
    array = np.asarray(array)
    return array[tuple(slice(0, 1) if stride == 0 else slice(None) for stride in array.strides)]
