"""Does a priced step fit? Its memory against the device, its context against the model's maximum.

Every result the tool prices (``latency``, ``speedup``, ``plan``, ``explain``, ``ops`` and
the explorer's API) is checked here over its whole grid, with array operations only:

memory
    The footprint on one device at its tensor-parallel degree (:mod:`specroof.cost.memory`:
    weights / tp, the KV cache of ``batch x (seq_len + n)`` tokens, i.e. the K + 1 verified
    slots of every sequence, the step's largest activations, the drafting's own weights and
    cache, and the runtime reserve) against the device's ``memory_gb``.
context
    ``seq_len + n`` tokens (the cache after the step has written its candidates) against
    ``max_position_embeddings`` of every model in the step (the target and a draft model;
    ``max_sequence_length`` / ``n_positions`` in older configs). A model whose config states
    no maximum is not checked for context.

A point fits when both hold. Records say so in ``fits`` (with ``footprint_gb``, the memory
needed per device), and :func:`warn_unfit` names the first point that does not fit with its
numbers, as one ``warning:`` line.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from specroof.cost.grid import Grid
from specroof.cost.memory import RUNTIME_RESERVE_BYTES, MemoryFootprint, footprint
from specroof.errors import SpecroofWarning

if TYPE_CHECKING:
    from specroof.cost.passes import Pass

HINT = "more devices with --tp, a smaller --weight-dtype/--kv-dtype, or a smaller batch or context"


class DoesNotFitWarning(SpecroofWarning):
    """A priced point needs more memory than the device has, or a longer context than the model."""


@dataclass
class FitCheck:
    """Memory and context of a step at every (batch, candidates, seq_len) grid point."""

    memory: MemoryFootprint
    device: str
    models: tuple[str, ...]
    max_context: tuple[int | None, ...]  # max_position_embeddings of each model, None if unknown

    @property
    def context_tokens(self) -> np.ndarray:
        """Tokens in each sequence's cache once the step has written its candidates, (1, N, S)."""
        return self.memory.candidates[None, :, None] + self.memory.seq_len[None, None, :]

    @property
    def context_limit(self) -> tuple[str, int] | None:
        """(model, tokens): the smallest known maximum context among the step's models."""
        known = [(m, c) for m, c in zip(self.models, self.max_context) if c is not None]
        return min(known, key=lambda mc: mc[1]) if known else None

    @property
    def fits_memory(self) -> np.ndarray:
        return self.memory.fits

    @property
    def fits_context(self) -> np.ndarray:
        limit = self.context_limit
        shape = self.memory.shape
        if limit is None:
            return np.ones(shape, dtype=bool)
        return np.broadcast_to(self.context_tokens <= limit[1], shape)

    @cached_property
    def fits(self) -> np.ndarray:
        """True where the step fits in memory and within the context of every model."""
        limit = self.context_limit
        if limit is None or np.all(self.context_tokens <= limit[1]):
            return self.fits_memory
        return self.fits_memory & self.fits_context

    @property
    def footprint_gb(self) -> np.ndarray:
        """Memory needed on one device, GB (decimal, as the device's ``memory_gb``)."""
        return self.memory.total_bytes / 1e9

    def record(self, index: tuple[int, int, int]) -> dict[str, Any]:
        """The fields every record of a priced point carries: ``fits`` and ``footprint_gb``."""
        return {"fits": bool(self.fits[index]), "footprint_gb": self.memory.total_at(index) / 1e9}

    def first_misfit(self) -> str | None:
        """One line naming the first grid point (batch, then n, then seq_len order) that does not
        fit, with the numbers; None when every point fits."""
        fits = self.fits
        count = fits.size - int(np.count_nonzero(fits))
        if not count:
            return None
        i, j, k = (int(x) for x in np.unravel_index(int(np.argmin(fits)), fits.shape))
        more = f"; {count:,} of {fits.size:,} points do not fit" if fits.size > 1 else ""
        return f"{self.describe((i, j, k))}{more} ({HINT}); priced anyway"

    def describe(self, index: tuple[int, int, int]) -> str:
        """Why the point at ``index`` does not fit, with the numbers."""
        i, j, k = index
        m = self.memory
        b, n, s = int(m.batch[i]), int(m.candidates[j]), int(m.seq_len[k])
        reasons = []
        if not self.fits_memory[i, j, k]:
            parts = (("weights", m.weights_bytes + m.draft_weights_bytes), ("KV cache", m.kv_cache_bytes[i, j, k]),
                     ("activations", m.activation_bytes[i, j, k]), ("reserve", m.reserve_bytes))
            split = " + ".join(f"{name} {value / 1e9:.1f}" for name, value in parts)
            reasons.append(f"needs {m.total_at((i, j, k)) / 1e9:.1f} GB per device ({split}) against {m.capacity_gb:.1f} GB")
        if not self.fits_context[i, j, k]:
            model, most = self.context_limit  # type: ignore[misc]
            reasons.append(f"its context of {s + n:,} tokens (seq_len + n) is beyond {model}'s "
                           f"max_position_embeddings of {most:,}")
        return (f"{self.models[0]} on {self.device} does not fit at batch {b}, n={n}, seq_len {s}: "
                f"{'; '.join(reasons)}")


def check_fit(passes: list["Pass"], grid: Grid, reserve_bytes: float = RUNTIME_RESERVE_BYTES) -> FitCheck:
    """The fit of a step made of ``passes`` over ``grid`` (the first pass is the target's)."""
    models, limits = [], []
    for one in passes:
        if one.setup.model.name not in models:
            models.append(one.setup.model.name)
            limits.append(one.setup.model.max_position_embeddings)
    device = passes[0].setup.hardware.display_name
    return FitCheck(footprint(passes, grid, reserve_bytes), device, tuple(models), tuple(limits))


def warn_unfit(fit: FitCheck, what: str = "", stacklevel: int = 3) -> None:
    """A SpecroofWarning naming the first point that does not fit (nothing when all fit)."""
    message = fit.first_misfit()
    if message is not None:
        prefix = f"{what} " if what else ""
        warnings.warn(DoesNotFitWarning(prefix + message), stacklevel=stacklevel)
