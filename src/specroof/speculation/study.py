"""``Study``: one validated value for what every entry point prices.

A study is the target's setup (model, device, dtypes, profile, tensor parallelism), the grid
(batch x candidates x seq_len), the drafting choice and the acceptance model, each resolved
and checked once. The entry points price a study (``speedup_of``, ``ops_of``, ``explain_of``,
``plan_of``, ``footprint_of``); their keyword forms (:func:`specroof.speedup`, ...,
:func:`specroof.memory_footprint`) build it first, so they take the same drafting arguments
with the same checks, and a sweep in chunks (plan) re-uses the resolved setup instead of
resolving the model and device again per chunk.

Build one with :meth:`Study.of` (names, files or objects, as the keyword APIs take them);
:meth:`Study.with_grid` gives the same study over another grid.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from specroof.cost.grid import Grid
from specroof.cost.setup import StepSetup, setup_step
from specroof.cost.step import Pass
from specroof.errors import SpecroofError
from specroof.hardware.accelerator import Accelerator
from specroof.models.architecture import ModelConfig
from specroof.speculation.acceptance import AcceptanceModel
from specroof.speculation.acceptance_spec import parse_acceptance
from specroof.speculation.default_acceptance import model_name_of, resolve_acceptance
from specroof.speculation.drafting import Drafting, TreeShape, trees_of

Axis = int | Iterable[int]


@dataclass(frozen=True, eq=False)
class Study:
    """Setup, grid, drafting and acceptance of one study, each validated (see the module docstring).

    ``acceptance`` is None only where no acceptance model was asked for and none is needed
    (:func:`specroof.ops`, :func:`specroof.memory_footprint`: tree drafters then draft chains).
    """

    setup: StepSetup
    grid: Grid
    drafting: Drafting
    acceptance: AcceptanceModel | None

    @classmethod
    def of(cls, model: str | Path | ModelConfig | StepSetup, hardware: str | Path | Accelerator | None = None,
           batch: Axis | Grid = 1, candidates: Axis = 1, seq_len: Axis = 1024,
           acceptance: str | AcceptanceModel | None = None, method: str | None = None,
           draft_model: str | Path | ModelConfig | None = None, heads: int | None = None,
           max_depth: int | None = None, drafting: Drafting | None = None, tree: str | TreeShape | None = None,
           draft_vocab: int | None = None, proposal_rate: float | None = None, default_acceptance: bool = True,
           **options: Any) -> "Study":
        """Resolve and check every part: the drafting, the acceptance (None: the method's shipped
        default, or with ``default_acceptance=False`` none), the setup (``model`` may be a
        resolved StepSetup, then without ``hardware`` and ``options``) and the grid (axes, or a
        built ``batch=Grid``), in that order, so the first error is the first part at fault."""
        drafting = Drafting.resolve(drafting, method, draft_model, heads, tree=tree, draft_vocab=draft_vocab,
                                    proposal_rate=proposal_rate)
        acc = speculation_acceptance(acceptance, drafting, max_depth, default_acceptance, model_name_of(model))
        return cls.on(model, hardware, batch, candidates, seq_len, drafting, acc, **options)

    @classmethod
    def on(cls, model: str | Path | ModelConfig | StepSetup, hardware: str | Path | Accelerator | None,
           batch: Axis | Grid, candidates: Axis, seq_len: Axis, drafting: Drafting,
           acceptance: AcceptanceModel | None, **options: Any) -> "Study":
        """A study of an already settled ``drafting`` and ``acceptance``: resolves the setup and grid."""
        setup = resolve_setup(model, hardware, options)
        grid = batch if isinstance(batch, Grid) else Grid.of(batch, candidates, seq_len)
        drafting.check(setup.model, grid.candidates)
        return cls(setup=setup, grid=grid, drafting=drafting, acceptance=acceptance)

    def with_grid(self, grid: Grid) -> "Study":
        """The same study over ``grid`` (the drafting's grid checks run again, nothing else)."""
        self.drafting.check(self.setup.model, grid.candidates)
        return replace(self, grid=grid)

    def passes(self) -> list[Pass]:
        """The passes of one speculative step over the grid: verification and drafting (with the
        tree the acceptance model verifies at each candidate count, if it verifies trees)."""
        return self.drafting.passes(self.setup, self.grid, trees_of(self.acceptance, self.grid.candidates))


def speculation_acceptance(acceptance: str | AcceptanceModel | None, drafting: Drafting, max_depth: int | None,
                           default: bool = True, model: str | None = None) -> AcceptanceModel | None:
    """The acceptance model: the given one, else the default (``default``: the catalog's best row
    for ``model``, else the method's) or None."""
    if default:
        return resolve_acceptance(acceptance, drafting.method, max_depth, model)
    if acceptance is None or isinstance(acceptance, AcceptanceModel):
        return acceptance
    return parse_acceptance(str(acceptance), max_depth)


def resolve_setup(model: str | Path | ModelConfig | StepSetup, hardware: str | Path | Accelerator | None,
                  options: dict[str, Any]) -> StepSetup:
    """A StepSetup as given, or resolved from a model, hardware and the cost-model options."""
    if isinstance(model, StepSetup):
        if hardware is not None or options:
            raise SpecroofError("give either a StepSetup or a model with hardware and options, not both")
        return model
    if hardware is None:
        raise SpecroofError("a study needs the hardware (e.g. 'h200')")
    return setup_step(model, hardware, **options)
