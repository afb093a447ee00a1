"""``memory_footprint()``: the memory on one device of a speculative step, drafting included.

The arithmetic reads the step's operation list (:func:`specroof.cost.memory.footprint`); this
entry resolves the step from the same arguments as :func:`specroof.speedup` (a
:class:`~specroof.speculation.study.Study`), so a footprint and a speedup of the same settings
count the same draft model, heads or tree. Without an ``acceptance`` a tree drafter drafts
chains (as :func:`specroof.ops`); with one, the tree that model verifies at each candidate count.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from specroof.cost.memory import RUNTIME_RESERVE_BYTES, MemoryFootprint, footprint
from specroof.cost.setup import StepSetup
from specroof.errors import SpecroofError
from specroof.hardware.accelerator import Accelerator
from specroof.models.architecture import ModelConfig
from specroof.speculation.acceptance import AcceptanceModel
from specroof.speculation.drafting import Drafting, TreeShape
from specroof.speculation.study import Study


def memory_footprint(model: str | Path | ModelConfig | StepSetup, hardware: str | Path | Accelerator | None = None,
                     batch: int | Iterable[int] = 1, candidates: int | Iterable[int] = 1,
                     seq_len: int | Iterable[int] = 1024, *, acceptance: str | AcceptanceModel | None = None,
                     method: str | None = None, draft_model: str | Path | ModelConfig | None = None,
                     heads: int | None = None, max_depth: int | None = None, drafting: Drafting | None = None,
                     tree: str | TreeShape | None = None, draft_vocab: int | None = None,
                     proposal_rate: float | None = None, reserve_bytes: float = RUNTIME_RESERVE_BYTES,
                     **options: Any) -> MemoryFootprint:
    """Memory on one device over the grid (:mod:`specroof.cost.memory` says what is counted).

    ``model`` is a model (name, config.json path or ModelConfig, with ``hardware`` and the
    cost-model ``options`` of :func:`specroof.latency`) or an already resolved ``StepSetup``
    (then ``hardware`` and ``options`` must be left out). The drafting arguments are
    :func:`specroof.speedup`'s (``method``, ``draft_model``, ``heads``, ``tree``, ``draft_vocab``,
    ``proposal_rate``, or a built ``drafting``); ``acceptance`` only shapes the trees drafted.
    ``reserve_bytes``: what the runtime keeps (1 GiB by default).
    """
    if isinstance(model, StepSetup) and (hardware is not None or options):
        raise SpecroofError("memory_footprint: give either a StepSetup or a model with hardware and options")
    if not isinstance(model, StepSetup) and hardware is None:
        raise SpecroofError("memory_footprint needs the hardware (e.g. 'h200')")
    study = Study.of(model, hardware, batch, candidates, seq_len, acceptance=acceptance, method=method,
                     draft_model=draft_model, heads=heads, max_depth=max_depth, drafting=drafting, tree=tree,
                     draft_vocab=draft_vocab, proposal_rate=proposal_rate, default_acceptance=False, **options)
    return footprint_of(study, reserve_bytes)


def footprint_of(study: Study, reserve_bytes: float = RUNTIME_RESERVE_BYTES) -> MemoryFootprint:
    """:func:`memory_footprint` of a built :class:`~specroof.speculation.study.Study`."""
    reserve = float(reserve_bytes)
    if not math.isfinite(reserve) or reserve < 0:
        raise SpecroofError(f"memory reserve must be a non-negative number of bytes, got {reserve_bytes!r}")
    return footprint(study.passes(), study.grid, reserve)


def fits(model: str | Path | ModelConfig | StepSetup, hardware: str | Path | Accelerator | None = None,
         batch: int | Iterable[int] = 1, candidates: int | Iterable[int] = 1,
         seq_len: int | Iterable[int] = 1024, **kwargs: Any) -> np.ndarray:
    """Boolean (batch, candidates, seq_len) array: does the step fit in the device's memory?

    Same arguments as :func:`memory_footprint`.
    """
    return memory_footprint(model, hardware, batch, candidates, seq_len, **kwargs).fits
