"""A drafting method as a record: what it takes, what it needs, and the passes it adds to a step.

:class:`Method` is a method that drafts without forward passes of its own (free candidates,
Medusa heads riding the verification forward, n-gram lookup); :class:`PassMethod` drafts with
forward passes, chained or as a tree, and MUST say what one pass runs
(:meth:`PassMethod.draft_pass`, abstract: a method that does not is refused when it is built,
never priced as some other method). The schedule of passes (how many, over how many tokens)
is the same for every pass-based method and is written once, here.

Every hook receives the settled drafting choice (a :class:`Choice`: the method's name and
its parameters, :class:`specroof.speculation.drafting.Drafting`) and prices through the
builders of :mod:`specroof.cost.drafting_ops` and :mod:`specroof.cost.engine_ops`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from specroof.cost.engine_ops import verification_operations
from specroof.cost.engine_work import SpeculativeStep, engine_work
from specroof.cost.grid import Grid
from specroof.cost.operation import ArrayLike, Operation
from specroof.cost.setup import StepSetup
from specroof.cost.step import Pass
from specroof.models.architecture import ModelConfig
from specroof.registry import Registry
from specroof.speculation.methods.shape import TreeShape


class Choice(Protocol):
    """A settled drafting choice (:class:`specroof.speculation.drafting.Drafting`)."""

    @property
    def method(self) -> str: ...
    @property
    def heads(self) -> int | None: ...
    @property
    def draft_model(self) -> ModelConfig | None: ...
    @property
    def tree(self) -> TreeShape | None: ...
    @property
    def draft_vocab(self) -> int | None: ...
    @property
    def proposal_rate(self) -> float | None: ...


@dataclass(frozen=True)
class Method:
    """A drafting method that runs no forward passes of its own.

    ``description``: one line for ``--help`` and the explorer's catalog. ``label``: the phrase
    in titles and exports. ``parameters``: the :data:`~specroof.speculation.methods.parameters.PARAMETERS`
    it takes (``tree`` makes it tree capable); ``required``: those it cannot run without.
    """

    name: str
    description: str
    label: str
    parameters: tuple[str, ...] = ()
    required: tuple[str, ...] = ()

    @property
    def pass_based(self) -> bool:
        """Drafts with forward passes (chains or trees of them)."""
        return False

    @property
    def tree_capable(self) -> bool:
        return "tree" in self.parameters

    def check_target(self, choice: Choice, target: ModelConfig) -> None:
        """Refuse a target the method cannot draft for (no MTP layers, a smaller vocabulary)."""

    def describe(self, choice: Choice) -> str:
        """A short phrase for titles and exports (a tree's shape is added by the caller)."""
        return self.label

    def shape_limits(self, choice: Choice) -> tuple[int | None, int | None]:
        """(depth, width) the method can draft without a tree; None: the acceptance model's."""
        return None, None

    def tokens_per_step(self, choice: Choice, tau: np.ndarray) -> np.ndarray:
        """Tokens a step yields per sequence, from the acceptance length ``tau``."""
        return tau

    def verified_grid(self, choice: Choice, grid: Grid) -> Grid:
        """The tokens the target verifies per sequence (the grid's candidates)."""
        return grid

    def verification_extras(self, choice: Choice, setup: StepSetup, grid: Grid) -> list[Operation]:
        """Drafting operations that ride the verification forward (Medusa heads)."""
        return []

    def speculative_step(self, choice: Choice, setup: StepSetup, grid: Grid,
                         trees: list[TreeShape | None] | None = None) -> SpeculativeStep:
        """The step's drafting in the cost floor's words, for the engine's own work
        (:mod:`specroof.cost.engine_work`): passes per column, their width, tree or chain."""
        shapes = _shapes(choice, grid, trees)
        return SpeculativeStep(self.name, np.zeros(len(shapes)), np.ones(len(shapes)),
                               tree=any(s is not None for s in shapes), draft_vocab=choice.draft_vocab,
                               draft_model=choice.draft_model, heads=choice.heads, **_paths(shapes, grid))

    def passes(self, choice: Choice, setup: StepSetup, grid: Grid,
               trees: list[TreeShape | None] | None = None) -> list[Pass]:
        """The passes of one speculative step: verification, with whatever rides on it and what
        the engine adds around it."""
        verified = self.verified_grid(choice, grid)
        verify = verification_operations(setup, verified)
        work = engine_work(setup).verification(setup, verified, self.speculative_step(choice, setup, grid, trees))
        return [Pass(setup, verify + self.verification_extras(choice, setup, grid) + work)]


@dataclass(frozen=True)
class PassMethod(Method, ABC):
    """A method that drafts with forward passes: a chain of ``n`` verified tokens runs ``n - 1``
    of them, a tree ``steps``, each later one over ``topk`` tokens per sequence.

    ``first_reads_verified``: the first pass runs over every token the target just verified
    (EAGLE and MTP read the target's hidden states, vLLM's ``EagleProposer.propose``); False:
    over one new token (a draft model).
    """

    first_reads_verified: bool = True

    @property
    def pass_based(self) -> bool:
        return True

    @abstractmethod
    def draft_pass(self, choice: Choice, setup: StepSetup, grid: Grid, width: ArrayLike,
                   first: bool) -> tuple[StepSetup, list[Operation]]:
        """The drafter's setup and the operations of ONE pass over ``width`` tokens per
        sequence (``first``: the pass that reads what the target verified)."""

    def passes(self, choice: Choice, setup: StepSetup, grid: Grid,
               trees: list[TreeShape | None] | None = None) -> list[Pass]:
        return super().passes(choice, setup, grid, trees) + self.drafting_passes(choice, setup, grid, trees)

    def speculative_step(self, choice: Choice, setup: StepSetup, grid: Grid,
                         trees: list[TreeShape | None] | None = None) -> SpeculativeStep:
        shapes = _shapes(choice, grid, trees)
        n = grid.candidates.astype(float)
        steps = np.array([s.steps if s is not None else max(k - 1, 0) for s, k in zip(shapes, n)], dtype=float)
        width = np.array([s.topk if s is not None else 1 for s in shapes], dtype=float)
        return SpeculativeStep(self.name, np.where(n > 1, steps, 0.0), width, tree=any(s is not None for s in shapes),
                               draft_vocab=choice.draft_vocab, draft_model=choice.draft_model, heads=choice.heads,
                               **_paths(shapes, grid))

    def drafting_passes(self, choice: Choice, setup: StepSetup, grid: Grid,
                        trees: list[TreeShape | None] | None) -> list[Pass]:
        """A first pass and the later ones (chain: one token per sequence; tree: ``topk``),
        each with what the engine adds to a drafting pass.

        ``trees``: one shape per candidates column (None: a chain), from the acceptance model;
        an explicit ``choice.tree`` wins."""
        step = self.speculative_step(choice, setup, grid, trees)
        steps, width, work = step.steps, step.topk, engine_work(setup)
        n = grid.candidates.astype(float)
        first_width = n if self.first_reads_verified else np.ones_like(n)
        first_setup, first = self.draft_pass(choice, setup, grid, first_width, True)
        first = first + work.drafting_pass(setup, Pass(first_setup, first), grid, step, first_width, True)
        if np.array_equal(first_width, width):  # every pass alike (a draft model's chain)
            return [Pass(first_setup, first, repeats=grid.per_column(steps))]
        later_setup, later = self.draft_pass(choice, setup, grid, width, False)
        later = later + work.drafting_pass(setup, Pass(later_setup, later), grid, step, width, False)
        return [
            Pass(first_setup, first, repeats=grid.per_column(np.minimum(steps, 1.0))),
            Pass(later_setup, later, repeats=grid.per_column(np.maximum(steps - 1.0, 0.0))),
        ]


def _paths(shapes: list[TreeShape | None], grid: Grid) -> dict[str, np.ndarray]:
    """Per column, the verified tree's drafted levels and root-to-leaf paths (a chain: n - 1 and 1;
    NaN: a tree given by its shape only), for engines whose work follows the paths."""
    n = grid.candidates.astype(float)
    depth = [s.steps if s is not None else max(k - 1.0, 0.0) for s, k in zip(shapes, n)]
    leaves = [1.0 if s is None else np.nan if s.leaves is None else float(s.leaves) for s in shapes]
    return {"depth": np.array(depth, dtype=float), "leaves": np.array(leaves, dtype=float)}


def _shapes(choice: Choice, grid: Grid, trees: list[TreeShape | None] | None) -> list[TreeShape | None]:
    """The tree shape of each candidates column (None: a chain); an explicit ``choice.tree`` wins."""
    count = grid.candidates.size
    return [choice.tree] * count if choice.tree is not None else list(trees or [None] * count)


METHODS: Registry[Method] = Registry("drafting method", "--method")
"""Every drafting method by name (the recipe for adding one: :mod:`specroof.speculation.methods`)."""
