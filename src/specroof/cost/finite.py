"""The last guard before a number leaves the library: every result is finite and positive.

Inputs are checked where they are read, and divisions are guarded where they happen; this is
the boundary check behind them. A non-finite or non-positive time or speedup is never
returned (nor printed as ``nan`` or served as ``null``): a SpecroofError names the grid point,
so the input that produced it can be found and reported.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from specroof.errors import SpecroofError, shown


def require_finite(values: np.ndarray | float, what: str, axes: Mapping[str, np.ndarray] | None = None,
                   positive: bool = True) -> None:
    """SpecroofError at the first point where ``values`` is NaN, infinite, negative, or 0 when
    ``positive`` (a step restricted to operations absent from it may take 0 ms).

    ``axes``: name -> values along each dimension of ``values`` (e.g. batch, candidates,
    seq_len), used to name the point; without them the index is given.
    """
    array = np.asarray(values, dtype=float)
    if array.size:  # two reductions, no grid-sized temporaries, when all is well (NaN propagates)
        low, high = float(array.min()), float(array.max())
        if np.isfinite(low) and np.isfinite(high) and (low > 0 if positive else low >= 0):
            return
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(array) | (array <= 0 if positive else array < 0)
    if not np.any(bad):
        return
    index = np.unravel_index(int(np.argmax(bad)), array.shape) if array.ndim else ()
    if axes and len(axes) == array.ndim:
        point = ", ".join(f"{name}={shown(np.asarray(axis).ravel()[i].item())}"
                          for (name, axis), i in zip(axes.items(), index))
    else:
        point = f"index {tuple(int(i) for i in index)}" if index else "the single point"
    value = array[index] if index else float(array)
    raise SpecroofError(f"{what} came out {value:g} at {point}: an impossible value, not returned; the inputs at "
                        "that point are outside what specroof can price (please report it with the call)")
