"""What an engine runs around a speculative step besides the model's own passes, as operations.

The model's passes (the target's verification, the drafter's passes) are priced from the model
alone (:mod:`specroof.cost.architectures`, :mod:`specroof.cost.drafting_ops`). Engines add work
of their own around them, and that work differs between engines and between their versions:
capturing and concatenating the target's hidden states, mapping a reduced draft vocabulary to
the target's, rebuilding attention metadata per drafting iteration, building a tree's mask and
positions, the verify and accept kernels, moving the accepted tokens' KV, matching n-grams on
the CPU, and the host time of all that. :class:`EngineWork` says what one engine adds, as
operations priced by the same pricing functions as everything else, and is chosen by the
profile's ``speculation_work`` field (``none``: nothing added).

The hooks see the step in the cost floor's words (:class:`SpeculativeStep`: the method's name,
the passes and their widths, the tree), never a method object: the methods sit a floor above.
Every operation a hook returns must vanish where the step does not speculate (``candidates``
of 1: the plain step of the same grid), so that the plain step's price is the model's alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from specroof.cost.grid import Grid
from specroof.cost.operation import REGISTRY, ArrayLike, Operation, OpInfo
from specroof.cost.passes import Pass
from specroof.cost.setup import StepSetup
from specroof.models.architecture import ModelConfig
from specroof.registry import Registry


@dataclass(frozen=True, eq=False)
class SpeculativeStep:
    """One speculative step's drafting, per candidates column of the grid.

    ``method``: the registered drafting method's name (``eagle``, ``eagle3``, ``mtp``, ``draft``,
    ``ngram``, ``heads``, ...). ``steps``: drafting passes per step (0 where candidates is 1);
    ``topk``: tokens per sequence of each pass after the first (1 for a chain); ``tree``: the
    target verifies a tree (an explicit ``--tree`` or a tree-verifying acceptance model), not a
    chain. ``draft_vocab``: an EAGLE-3 head's vocabulary; ``draft_model``: a draft model's config.
    ``heads``: Medusa heads; ``depth`` and ``leaves``: per column, the verified tree's drafted
    levels and root-to-leaf paths (a chain: n - 1 and 1; NaN leaves: a tree known only by its
    shape), which research code's per-path gathers follow.
    """

    method: str
    steps: np.ndarray
    topk: np.ndarray
    tree: bool = False
    draft_vocab: int | None = None
    draft_model: ModelConfig | None = None
    heads: int | None = None
    depth: np.ndarray | None = None
    leaves: np.ndarray | None = None

    def speculating(self, grid: Grid) -> np.ndarray:
        """1.0 on the grid's speculative columns (candidates > 1), 0.0 on the plain ones, shaped
        to broadcast over the grid."""
        return (grid.n > 1).astype(float)


@dataclass(frozen=True)
class EngineWork:
    """What one engine (and version range) adds to a speculative step. The default adds nothing.

    ``name``: the value of a profile's ``speculation_work`` that selects it; ``description``: one
    line for ``explain`` and the docs; ``source``: the engine code (repository path and version)
    the operations were read from.
    """

    name: str
    description: str
    source: str = ""

    def verification(self, setup: StepSetup, grid: Grid, step: SpeculativeStep) -> list[Operation]:
        """Operations the engine adds to the verification pass of a speculative step (tree mask
        and positions, verify and accept kernels, KV moves, n-gram matching, host work)."""
        return []

    def drafting_pass(self, target: StepSetup, drafted: Pass, grid: Grid, step: SpeculativeStep,
                      width: ArrayLike, first: bool) -> list[Operation]:
        """Operations the engine adds to ONE drafting pass over ``width`` tokens per sequence
        (``first``: the pass that reads what the target verified). ``drafted``: the pass as the
        method built it, its setup (the drafter's) and its own operations, so an engine's host
        work can be weighed against the pass's GPU time without building the pass again.
        Returned as drafting operations (``op.drafting(1.0)``), priced by the drafter's setup.
        When every pass of a
        step is alike (a draft model's chain), the hook is asked once, with ``first`` True, and
        its operations repeat with the pass."""
        return []


ENGINE_WORK: Registry[EngineWork] = Registry("engine speculation work", "profile field speculation_work")
"""Every engine's speculative work by name (the recipe: :mod:`specroof.cost.engine_work`)."""

NO_ENGINE_WORK = ENGINE_WORK.register(EngineWork(
    name="none", description="nothing beyond the model's passes (plain PyTorch profiles, the serving prior)"))


def engine_work(setup: StepSetup) -> EngineWork:
    """The member the step's profile names (``speculation_work``)."""
    return ENGINE_WORK.get(setup.profile.speculation_work)


ENGINE_OPERATIONS: set[str] = set()
"""Names of the operations declared by :func:`engine_operation`: engine work holds no weights
(the precision tables need no line for them)."""


def engine_operation(name: str, group: str, color: str, marker: str, description: str) -> OpInfo:
    """Declare an engine-work operation in the operation registry (its one home is the engine's
    module that emits it); a name registered twice is a bug."""
    if name in REGISTRY:
        raise ValueError(f"operation {name!r} is registered twice")
    info = OpInfo(name, group, color, marker, description)
    REGISTRY[name] = info
    ENGINE_OPERATIONS.add(name)
    return info
