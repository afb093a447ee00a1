"""``PlanResult``: a plan's best candidate count per (batch, seq_len) cell, as arrays and records.

Built by :func:`specroof.plan` (:mod:`specroof.speculation.plan` says how the cells are searched).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from specroof.bands import band_arrays, record_fields
from specroof.cost.setup import StepSetup
from specroof.speculation.acceptance import AcceptanceModel
from specroof.speculation.bounds import ACCEPTANCE_MODEL, DRAFTING_SHAPE
from specroof.speculation.default_acceptance import acceptance_source
from specroof.speculation.drafting import Drafting
from specroof.speculation.schedule import DEFAULT_MIN_GAIN


@dataclass
class PlanResult:
    """The best candidate count per (batch, seq_len) cell, and the sweep it came from.

    Arrays of shape ``(len(batch), len(seq_len))``; where nothing fits, ``best_candidates``
    is 0 and the float fields are NaN (``to_records`` turns them into None).
    ``sweep`` holds the full speedup grid over ``candidates`` (1..limit) and ``fits_grid``
    the memory check at every point of it.
    """

    model: str
    hardware: str
    hardware_display: str
    drafting: Drafting
    acceptance: AcceptanceModel
    objective: str
    limit: int
    batch: np.ndarray
    seq_len: np.ndarray
    candidates: np.ndarray
    best_candidates: np.ndarray
    speedup: np.ndarray
    acceptance_length: np.ndarray
    throughput: np.ndarray
    latency_ms: np.ndarray
    ar_latency_ms: np.ndarray
    footprint_gb: np.ndarray
    capacity_gb: float
    fits: np.ndarray
    unconstrained_candidates: np.ndarray
    sweep_speedup: np.ndarray
    fits_grid: np.ndarray
    current: int | None = None
    speedup_at_current: np.ndarray | None = None
    current_fits: np.ndarray | None = None
    caveat: str = ""  # the implementation profile's, to print beside the plan
    model_acceptance_length: np.ndarray | None = None  # the acceptance model's own tau at best n
    shape_max_tokens: np.ndarray | None = None  # the most the drafting shape yields at best n
    setup: StepSetup | None = None  # the target's resolved settings (tp, dtypes): the exports read them
    min_gain: float = DEFAULT_MIN_GAIN
    domain: Any = None  # specroof.bands.Domain: where the error bands are looked up

    def __repr__(self) -> str:
        """A few lines (the arrays hold the whole sweep; use to_records() to see every cell)."""
        cells = ", ".join(f"b={int(b)}: n={int(n)}" for b, n in zip(self.batch[:8], self.best_candidates[:8, 0]))
        more = ", ..." if self.batch.size > 8 else ""
        return (f"PlanResult({self.model} on {self.hardware}, {self.method}, acceptance "
                f"{self.acceptance.describe()}, objective {self.objective}, n in 1..{self.limit}, "
                f"{self.batch.size} batch sizes x {self.seq_len.size} seq_len; best n at seq_len "
                f"{int(self.seq_len[0])}: {cells}{more})")

    @property
    def method(self) -> str:
        return self.drafting.method

    @property
    def draft_model(self) -> str | None:
        """The draft model's name (method ``draft``)."""
        return self.drafting.draft_model.name if self.drafting.draft_model is not None else None

    @property
    def heads(self) -> int | None:
        """The number of Medusa heads (method ``heads``)."""
        return self.drafting.heads

    @property
    def speculative_tokens(self) -> np.ndarray:
        """k = n - 1 draft tokens per step (0: do not speculate; -1 where nothing fits)."""
        return self.best_candidates - 1

    def to_records(self) -> list[dict[str, Any]]:
        """One dict per (batch, seq_len) cell; None where nothing fits."""
        records = []
        source = acceptance_source(self.acceptance)
        bands = iter(self.band_records())
        for i, b in enumerate(self.batch):
            for k, s in enumerate(self.seq_len):
                n = int(self.best_candidates[i, k])
                ok = n > 0
                record: dict[str, Any] = {
                    "batch": int(b), "seq_len": int(s),
                    "best_candidates": n if ok else None,
                    "speculative_tokens": n - 1 if ok else None,
                    "speedup": _num(self.speedup[i, k]) if ok else None,
                    "acceptance_length": _num(self.acceptance_length[i, k]) if ok else None,
                    **self._bound_fields(i, k, ok),
                    "throughput": _num(self.throughput[i, k]) if ok else None,
                    "latency_ms": _num(self.latency_ms[i, k]) if ok else None,
                    "ar_latency_ms": _num(self.ar_latency_ms[i, k]),
                    "footprint_gb": _num(self.footprint_gb[i, k]),
                    "fits": bool(self.fits[i, k]),
                    **next(bands),
                }
                if self.current is not None:
                    record["speedup_at_current"] = _num(self.speedup_at_current[i, k])
                    record["current_fits"] = bool(self.current_fits[i, k])
                record["acceptance_source"] = source
                record["note"] = self._note(i, k)
                records.append(record)
        return records

    def _bound_fields(self, i: int, k: int, ok: bool) -> dict[str, Any]:
        """acceptance_bound, model_acceptance_length, shape_max_tokens of a cell (bounds.py)."""
        if not ok or self.model_acceptance_length is None or self.shape_max_tokens is None:
            return {"acceptance_bound": None, "model_acceptance_length": None, "shape_max_tokens": None}
        claimed, tau = float(self.model_acceptance_length[i, k]), float(self.acceptance_length[i, k])
        return {"acceptance_bound": DRAFTING_SHAPE if tau < claimed - 1e-9 else ACCEPTANCE_MODEL,
                "model_acceptance_length": _num(claimed), "shape_max_tokens": _num(self.shape_max_tokens[i, k])}

    def band_records(self) -> list[dict[str, Any]]:
        """Per cell: error bands of speedup and latency_ms, ``validated``, ``validation_note``."""
        if self.domain is None:
            return [{} for _ in range(self.batch.size * self.seq_len.size)]
        return record_fields(band_arrays(self.domain, self.batch, {"speedup": self.speedup, "latency": self.latency_ms},
                                         "speedup", self.best_candidates == 1))

    def _note(self, i: int, k: int) -> str:
        notes = []
        n, free = int(self.best_candidates[i, k]), int(self.unconstrained_candidates[i, k])
        if n == 0:
            notes.append(f"does not fit even without speculation: {self.footprint_gb[i, k]:.1f} GB needed per device "
                         f"of {self.capacity_gb:.1f} GB, or a context beyond the model's maximum (the warning says "
                         "which)")
        elif free != n and free > 1:
            notes.append(f"memory-limited: n={free} would be faster but does not fit")
        if self.current is not None and not self.current_fits[i, k]:
            notes.append(f"current n={self.current} does not fit in memory")
        return "; ".join(notes)


def _num(value: Any) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None
