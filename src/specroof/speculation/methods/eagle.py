"""``eagle`` / ``eagle3``: an EAGLE-1/2 (arXiv 2401.15077 / 2406.16858) or EAGLE-3 (arXiv
2503.01840) head, one decoder layer reading the target's hidden states.

The first pass of a step runs over every token the target verified; EAGLE-3 fuses three of
the target's hidden states once per step and predicts over its own reduced vocabulary
(``--draft-vocab``, default 32000 as in the released heads).
"""

from __future__ import annotations

from dataclasses import dataclass

from specroof.cost.drafting_ops import EAGLE3_DRAFT_VOCAB, eagle_operations
from specroof.cost.grid import Grid
from specroof.cost.operation import ArrayLike, Operation
from specroof.cost.setup import StepSetup
from specroof.errors import SpecroofError
from specroof.models.architecture import ModelConfig
from specroof.speculation.methods.base import METHODS, Choice, PassMethod


@dataclass(frozen=True)
class EagleHead(PassMethod):
    """An EAGLE head; ``version`` (``eagle`` or ``eagle3``) is the head the builder prices."""

    version: str = "eagle"

    def draft_pass(self, choice: Choice, setup: StepSetup, grid: Grid, width: ArrayLike,
                   first: bool) -> tuple[StepSetup, list[Operation]]:
        return eagle_operations(setup, self.version, grid, width, first, choice.draft_vocab)


@dataclass(frozen=True)
class Eagle3Head(EagleHead):
    """EAGLE-3: its draft vocabulary must fit in the target's."""

    def check_target(self, choice: Choice, target: ModelConfig) -> None:
        vocab = choice.draft_vocab or EAGLE3_DRAFT_VOCAB
        if vocab > target.vocab_size:
            raise SpecroofError(f"EAGLE-3 draft vocabulary {vocab} is larger than {target.name}'s "
                                f"{target.vocab_size}; set --draft-vocab <= {target.vocab_size}")


EAGLE = METHODS.register(EagleHead(
    name="eagle",
    description="an EAGLE-1/2 head: one decoder layer on the target's hidden states",
    label="EAGLE head",
    parameters=("tree",),
))
EAGLE3 = METHODS.register(Eagle3Head(
    name="eagle3",
    description="an EAGLE-3 head: fused hidden states, its own draft vocabulary",
    label="EAGLE-3 head",
    parameters=("tree", "draft_vocab"),
    version="eagle3",
))
