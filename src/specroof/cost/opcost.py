"""The price of one instance of an operation on the grid: :class:`OpCost`.

``seconds`` and ``kernels`` are what a step's latency adds up; FLOPs, bytes and the roofline
terms (``compute_s``, ``memory_s``) are what ``explain``, ``ops`` and the charts read at a few
points. A pricing function may therefore give those four as a function computed on first
read (:meth:`OpCost.deferred`): for attention they are grid-sized arrays, and a sweep that
only needs the time never builds them.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Value = np.ndarray | float
Detail = tuple[Value, Value, Value, Value]
"""(flops, bytes, compute_s, memory_s)."""


class OpCost:
    """FLOPs, bytes and seconds of one instance on the grid; ``compute_s`` and ``memory_s`` are
    its roofline terms (the rest of ``seconds`` is fixed per-kernel overhead)."""

    __slots__ = ("seconds", "kernels", "_detail", "_compute_detail")

    def __init__(self, flops: Value, bytes: Value, seconds: Value, kernels: Value,  # noqa: A002 (the field's name)
                 compute_s: Value = 0.0, memory_s: Value = 0.0) -> None:
        self.seconds = seconds
        self.kernels = kernels
        self._detail: Detail | None = (flops, bytes, compute_s, memory_s)
        self._compute_detail: Callable[[], Detail] | None = None

    @classmethod
    def deferred(cls, seconds: np.ndarray, kernels: Value, detail: Callable[[], Detail]) -> "OpCost":
        """A cost whose FLOPs, bytes and roofline terms ``detail()`` computes on first read.
        ``seconds`` must be an array of its own (it is updated in place: :meth:`add_seconds`)."""
        cost = cls(0.0, 0.0, seconds, kernels)
        cost._detail, cost._compute_detail = None, detail
        return cost

    def add_seconds(self, extra: Value) -> None:
        """Add ``extra`` to the time: in place for a deferred cost's own array (no second
        grid-sized array), else as a new value."""
        owned = self._compute_detail is not None and isinstance(self.seconds, np.ndarray)
        if owned and np.broadcast_shapes(np.shape(self.seconds), np.shape(extra)) == np.shape(self.seconds):
            self.seconds += extra
        else:
            self.seconds = self.seconds + extra

    def _resolved(self) -> Detail:
        if self._detail is None:
            assert self._compute_detail is not None
            self._detail, self._compute_detail = self._compute_detail(), None
        return self._detail

    @property
    def flops(self) -> Value:
        return self._resolved()[0]

    @property
    def bytes(self) -> Value:
        return self._resolved()[1]

    @property
    def compute_s(self) -> Value:
        return self._resolved()[2]

    @property
    def memory_s(self) -> Value:
        return self._resolved()[3]
