"""The architecture record, its registry, and the choice of a builder for a model.

Kept apart from the package's ``__init__`` so the member modules (``dense``, ``moe``) import
this module, and the ``__init__`` imports them, without an import cycle.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from specroof.cost.grid import Grid
from specroof.cost.operation import ArrayLike, Operation
from specroof.cost.setup import StepSetup
from specroof.errors import SpecroofError
from specroof.models.architecture import ModelConfig
from specroof.registry import Registry

Builder = Callable[[StepSetup, Grid, "ArrayLike | None", "int | None"], list[Operation]]
"""(setup, grid, tokens, layers) -> the operations of one step of ``setup.model``, in step order.
``tokens``: rows the linear layers process when an engine pads the step (default: batch x
candidates); ``layers``: decoder layers when a drafter runs fewer than the model has."""


@dataclass(frozen=True)
class Architecture:
    """A model family: which models it builds (``accepts``) and how (``build``)."""

    name: str
    description: str
    accepts: Callable[[ModelConfig], bool]
    build: Builder


ARCHITECTURES: Registry[Architecture] = Registry("architecture")
"""Every registered list builder, by name (the recipe: :mod:`specroof.cost.architectures`)."""


def builder_for(model: ModelConfig) -> Architecture:
    """The architecture that builds ``model``: the most recently registered one that accepts it
    (so a specialised builder registered after the general ones takes its models)."""
    for architecture in reversed(list(ARCHITECTURES)):
        if architecture.accepts(model):
            return architecture
    raise SpecroofError(f"model {model.name!r}: no registered architecture builds it "
                        f"(registered: {', '.join(ARCHITECTURES.names()) or 'none'})")


def model_operations(setup: StepSetup, grid: Grid, tokens: ArrayLike | None = None,
                     layers: int | None = None) -> list[Operation]:
    """Every operation of one step of ``setup.model`` over ``grid``, from its architecture's builder."""
    return builder_for(setup.model).build(setup, grid, tokens, layers)


def parameter_count(operations: Sequence[Operation], weight_bytes: float) -> float:
    """Parameters held by ``operations`` (their resident weights over the bytes of one weight).

    Read off a list built at tensor parallelism 1, it is the model's parameter count, embedding
    and LM head included (tied weights once); at tp > 1, the parameters on one device."""
    return sum(op.weight_bytes for op in operations) / weight_bytes
