"""``ops()``: one step's operations, each with its work, its roofline position and its time.

Like LLM-Viewer's per-layer roofline table, but for a whole verification step and the
drafting it carries: one record per operation of the step's list (:mod:`specroof.cost.operation`),
with its totals over every instance (layers, heads, draft passes). The records' ``time_ms``
add up to the step's latency: :func:`specroof.latency`'s ``latency_ms`` for plain or free-draft
steps, :func:`specroof.speedup`'s speculative ``latency_ms`` when the method drafts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from specroof.cost.capacity import warn_unfit
from specroof.cost.step import StepLatency, price_step
from specroof.errors import SpecroofError
from specroof.hardware.accelerator import Accelerator
from specroof.models.architecture import ModelConfig
from specroof.speculation.acceptance import AcceptanceModel
from specroof.speculation.drafting import Drafting, TreeShape
from specroof.speculation.study import Study


@dataclass
class StepOperations:
    """The priced operations of one (batch, candidates, seq_len) step."""

    step: StepLatency = field(repr=False)
    drafting: Drafting
    batch: int
    candidates: int
    seq_len: int
    latency_ms: float
    ridge_flops_per_byte: float

    def to_records(self) -> list[dict[str, Any]]:
        """One dict per operation, in step order (drafting passes after the verification)."""
        records = []
        for op in self.step.operations:
            flops, moved, ms = float(op.flops[0, 0, 0]), float(op.bytes[0, 0, 0]), float(op.seconds[0, 0, 0]) * 1e3
            records.append({
                "name": op.name, "group": op.operation.group, "kind": op.operation.kind,
                "count": float(op.instances[0, 0, 0]), "flops": flops, "bytes": moved,
                "intensity": flops / moved if moved > 0 else None,
                "bound": str(op.bound[0, 0, 0]) if ms > 0 else None,
                "time_ms": ms, "share_pct": 100 * ms / self.latency_ms if self.latency_ms > 0 else 0.0,
                **self.step.fit.record((0, 0, 0)),  # the step's: does it fit, memory per device
            })
        return records


def ops(model: str | Path | ModelConfig, hardware: str | Path | Accelerator, batch: int = 1, candidates: int = 1,
        seq_len: int = 1024, method: str | None = None, draft_model: str | Path | ModelConfig | None = None,
        heads: int | None = None, drafting: Drafting | None = None, tree: str | TreeShape | None = None,
        draft_vocab: int | None = None, proposal_rate: float | None = None,
        acceptance: str | AcceptanceModel | None = None, **options: Any) -> StepOperations:
    """The operations of one step of ``batch`` sequences verifying ``candidates`` tokens each over
    ``seq_len`` cached tokens, with the drafting of ``method`` (default none) and its parameters
    as for :func:`specroof.speedup`. ``acceptance`` matters only through the tree a tree
    acceptance model verifies (default: chains). Options as for :func:`specroof.latency`."""
    for value, what in ((batch, "batch"), (candidates, "candidates"), (seq_len, "seq_len")):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise SpecroofError(f"ops needs one positive integer {what}, got {value!r}")
    study = Study.of(model, hardware, batch, candidates, seq_len, acceptance=acceptance, method=method,
                     draft_model=draft_model, heads=heads, drafting=drafting, tree=tree, draft_vocab=draft_vocab,
                     proposal_rate=proposal_rate, default_acceptance=False, **options)
    return ops_of(study)


def ops_of(study: Study) -> StepOperations:
    """:func:`ops` of a built one-point :class:`~specroof.speculation.study.Study` (its acceptance
    shapes only the trees drafted; None: chains)."""
    if study.grid.points != 1:
        raise SpecroofError(f"ops prices one point; the study's grid has {study.grid.points:,}")
    step = price_step(study.passes(), study.grid)
    warn_unfit(step.fit)
    setup, hw = study.setup, study.setup.hardware
    batch, candidates, seq_len = (int(axis[0]) for axis in (study.grid.batch, study.grid.candidates,
                                                            study.grid.seq_len))
    return StepOperations(step=step, drafting=study.drafting, batch=batch, candidates=candidates, seq_len=seq_len,
                          latency_ms=float(step.latency_ms[0, 0, 0]),
                          ridge_flops_per_byte=hw.peak_flops(setup.compute_dtype) / hw.memory_bandwidth)
