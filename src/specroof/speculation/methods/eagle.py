"""``eagle`` / ``eagle3``: an EAGLE-1/2 (arXiv 2401.15077 / 2406.16858) or EAGLE-3 (arXiv
2503.01840) head, one decoder layer reading the target's hidden states.

The first pass of a step runs over every token the target verified; EAGLE-3 fuses three of
the target's hidden states once per step and predicts over its own reduced vocabulary
(``--draft-vocab``; without it, the draft vocabulary of the first EAGLE-3 head published for a
catalog model in ``checkpoints.toml``, said in one warning line, else 32000 as in the released
heads).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

from specroof.cost.drafting_ops import EAGLE3_DRAFT_VOCAB, eagle_operations
from specroof.cost.grid import Grid
from specroof.cost.operation import ArrayLike, Operation
from specroof.cost.setup import StepSetup
from specroof.errors import SpecroofError, SpecroofWarning
from specroof.models.architecture import ModelConfig
from specroof.speculation.methods.base import METHODS, Choice, PassMethod
from specroof.speculation.methods.checkpoints import priced_head, published_heads


@dataclass(frozen=True)
class EagleHead(PassMethod):
    """An EAGLE head; ``version`` (``eagle`` or ``eagle3``) is the head the builder prices."""

    version: str = "eagle"

    def draft_vocab(self, choice: Choice, target: ModelConfig) -> int | None:
        """The vocabulary the head predicts over (None: the target's own, EAGLE-1/2)."""
        return choice.draft_vocab

    def draft_pass(self, choice: Choice, setup: StepSetup, grid: Grid, width: ArrayLike,
                   first: bool) -> tuple[StepSetup, list[Operation]]:
        return eagle_operations(setup, self.version, grid, width, first, self.draft_vocab(choice, setup.model))


@dataclass(frozen=True)
class Eagle3Head(EagleHead):
    """EAGLE-3: its draft vocabulary must fit in the target's; a catalog model with a published
    head drafts over that head's vocabulary unless ``--draft-vocab`` says otherwise."""

    def draft_vocab(self, choice: Choice, target: ModelConfig) -> int:
        if choice.draft_vocab is not None:
            return choice.draft_vocab
        head = priced_head(target, None)
        return head.draft_vocab if head else EAGLE3_DRAFT_VOCAB

    def check_target(self, choice: Choice, target: ModelConfig) -> None:
        vocab = self.draft_vocab(choice, target)
        heads = published_heads(target) if choice.draft_vocab is None else ()
        if heads:
            _say_head(target, heads[0].repo, vocab, len(heads))
        if vocab > target.vocab_size:
            raise SpecroofError(f"EAGLE-3 draft vocabulary {vocab} is larger than {target.name}'s "
                                f"{target.vocab_size}; set --draft-vocab <= {target.vocab_size}")


def _say_head(target: ModelConfig, repo: str, vocab: int, count: int) -> None:
    """One line naming the head priced (issued from this one line, so once per message)."""
    others = f"; {count - 1} other head(s) listed in `specroof models`" if count > 1 else ""
    warnings.warn(SpecroofWarning(
        f"{target.name}: EAGLE-3 drafts with the published head {repo} (draft vocabulary {vocab:,}{others}); "
        "set --draft-vocab to price another head"), stacklevel=1)


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
