"""``draft``: a separate draft model; a chain of ``n - 1`` drafts is ``n - 1`` passes of one
token per sequence, a tree (SpecInfer/Sequoia) one pass per level over ``topk`` tokens."""

from __future__ import annotations

from dataclasses import dataclass

from specroof.cost.drafting_ops import draft_model_operations
from specroof.cost.grid import Grid
from specroof.cost.operation import ArrayLike, Operation
from specroof.cost.setup import StepSetup
from specroof.errors import SpecroofError
from specroof.speculation.methods.base import METHODS, Choice, PassMethod


@dataclass(frozen=True)
class DraftModel(PassMethod):
    """A draft model with its own embedding, run with the target's dtypes and profile."""

    def describe(self, choice: Choice) -> str:
        name = choice.draft_model.name if choice.draft_model is not None else "?"
        return f"draft model {name}"

    def draft_pass(self, choice: Choice, setup: StepSetup, grid: Grid, width: ArrayLike,
                   first: bool) -> tuple[StepSetup, list[Operation]]:
        if choice.draft_model is None:
            raise SpecroofError("method 'draft' needs a draft model (--draft-model NAME, e.g. llama-68m)")
        return draft_model_operations(setup, choice.draft_model, grid, width)


DRAFT = METHODS.register(DraftModel(
    name="draft",
    description="a draft model, chained or as a tree",
    label="draft model",
    parameters=("draft_model", "tree"),
    required=("draft_model",),
    first_reads_verified=False,
))
