"""``heads``: Medusa heads on the verification forward's hidden states (arXiv 2401.10774).

Each head drafts one level, so ``H`` heads draft at most ``H`` deep; the heads run in the
verification forward itself (no drafting pass), and not at all when a step verifies one token.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from specroof.cost.drafting_ops import medusa_head_operations
from specroof.cost.grid import Grid
from specroof.cost.operation import Operation
from specroof.cost.setup import StepSetup
from specroof.errors import SpecroofError
from specroof.speculation.methods.base import METHODS, Choice, Method


@dataclass(frozen=True)
class MedusaHeads(Method):
    """``heads`` Medusa heads (default 5) priced in the verification forward."""

    def describe(self, choice: Choice) -> str:
        return f"{choice.heads} Medusa heads"

    def shape_limits(self, choice: Choice) -> tuple[int | None, int | None]:
        return choice.heads, None

    def verification_extras(self, choice: Choice, setup: StepSetup, grid: Grid) -> list[Operation]:
        if choice.heads is None:
            raise SpecroofError("method 'heads' needs a number of heads; settle the choice with Drafting.of")
        speculating = (grid.n > 1).astype(float)  # plain decoding (n = 1) runs no heads
        return [replace(op, count=op.count * speculating) for op in medusa_head_operations(setup, grid, choice.heads)]


HEADS = METHODS.register(MedusaHeads(
    name="heads",
    description="Medusa heads on the verification's hidden states",
    label="Medusa heads",
    parameters=("heads",),
))
