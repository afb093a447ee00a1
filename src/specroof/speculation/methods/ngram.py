"""``ngram``: prompt lookup, free proposals. ``proposal_rate`` is the fraction of sequences
that find a match and send a draft; the others verify one token and yield one."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from specroof.cost.grid import Grid
from specroof.speculation.methods.base import METHODS, Choice, Method


@dataclass(frozen=True)
class NgramLookup(Method):
    """n-gram proposals: one chain (width 1), sent by a fraction of the sequences."""

    def describe(self, choice: Choice) -> str:
        rate = choice.proposal_rate if choice.proposal_rate is not None else 1.0
        return f"n-gram proposals ({rate:.0%} of sequences)"

    def shape_limits(self, choice: Choice) -> tuple[int | None, int | None]:
        return None, 1

    def tokens_per_step(self, choice: Choice, tau: np.ndarray) -> np.ndarray:
        """The mix of sequences that sent a draft (tau(n)) and those that did not (1)."""
        if choice.proposal_rate is None:
            return tau
        return 1.0 + choice.proposal_rate * (np.asarray(tau, dtype=float) - 1.0)

    def verified_grid(self, choice: Choice, grid: Grid) -> Grid:
        """The mean tokens verified per sequence: ``1 + rate (n - 1)``."""
        if choice.proposal_rate is None:
            return grid
        return Grid(grid.batch, 1.0 + choice.proposal_rate * (grid.candidates - 1.0), grid.seq_len)


NGRAM = METHODS.register(NgramLookup(
    name="ngram",
    description="n-gram prompt lookup: free proposals",
    label="n-gram proposals",
    parameters=("proposal_rate",),
))
