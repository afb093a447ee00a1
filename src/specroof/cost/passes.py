"""A forward pass of a step: its operation list, the setup pricing it, how often it runs.

Its own module so that what reads passes (memory, the fit check) does not import the
pricing of a step (:mod:`specroof.cost.step`), which reads them too.
"""

from __future__ import annotations

from dataclasses import dataclass

from specroof.cost.operation import ArrayLike, Operation
from specroof.cost.precision import with_precision
from specroof.cost.setup import StepSetup


@dataclass(frozen=True, eq=False)
class Pass:
    """A forward pass: its operations, the setup pricing them, and how often it runs per step
    (``repeats`` may vary over the grid: a draft model runs ``n - 1`` passes). A drafter that
    reads the target's embedding table (an EAGLE head, an MTP module) has no table on its list:
    memory reads only the lists. Each operation's weights are at its tensor group's precision
    (:func:`specroof.cost.precision.with_precision`, applied here so every pass has it)."""

    setup: StepSetup
    operations: list[Operation]
    repeats: ArrayLike = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "operations", with_precision(self.setup.precision, self.operations))
