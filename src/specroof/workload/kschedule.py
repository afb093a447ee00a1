"""Which candidate count each step uses: fixed, or a per-batch table (dynamic K).

A table maps the decode batch size to candidates n = K + 1 (1: no speculation): a step of b
decoding sequences takes the row of the largest batch <= b (the first row below the smallest).
``--schedule plan`` takes the table :func:`specroof.plan` picks; ``--schedule FILE.json`` reads
``{"1": 5, "8": 4, "32": 1}`` (batch -> candidates) or ``{"k": {...}}`` with K instead of n.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from specroof.datafiles import read_json
from specroof.errors import SpecroofError


@dataclass(frozen=True)
class KSchedule:
    """``batches`` (increasing, first 1) and the candidates ``ns`` each uses; ``label`` names it."""

    batches: tuple[int, ...]
    ns: tuple[int, ...]
    label: str

    def __post_init__(self) -> None:
        if not self.batches or len(self.batches) != len(self.ns):
            raise SpecroofError(f"schedule {self.label}: give one candidate count per batch size")
        if any(b < 1 for b in self.batches) or list(self.batches) != sorted(set(self.batches)):
            raise SpecroofError(f"schedule {self.label}: batch sizes must be >= 1, increasing, each once")
        if any(n < 1 for n in self.ns):
            raise SpecroofError(f"schedule {self.label}: candidate counts must be >= 1 (1: no speculation)")

    @classmethod
    def fixed(cls, n: int) -> "KSchedule":
        return cls((1,), (int(n),), f"K={int(n) - 1}" if n > 1 else "no speculation")

    @property
    def captured(self) -> int | None:
        """The candidate count an engine captures CUDA graphs for under this schedule: the
        largest of a dynamic one (None for a fixed one: its one count always has graphs)."""
        return max(self.ns) if len(set(self.ns)) > 1 else None

    @property
    def uncaptured(self) -> tuple[int, ...]:
        """Counts whose steps run eagerly where graphs are captured for one count."""
        top = self.captured
        return tuple(sorted(n for n in set(self.ns) if top is not None and n != top))

    @property
    def speculates(self) -> bool:
        return max(self.ns) > 1

    def candidates_at(self, batch: int) -> int:
        """n for a step of ``batch`` decoding sequences."""
        index = max(int(np.searchsorted(self.batches, batch, side="right")) - 1, 0)
        return self.ns[index]


def from_table(table: dict[Any, Any], label: str, unit: str = "n") -> KSchedule:
    """A schedule from ``{batch: n}`` (``unit="k"``: values are K, n = K + 1)."""
    try:
        rows = sorted((int(b), int(v) + (1 if unit == "k" else 0)) for b, v in table.items())
    except (TypeError, ValueError):
        raise SpecroofError(f"schedule {label}: keys are batch sizes and values whole numbers") from None
    if not rows:
        raise SpecroofError(f"schedule {label}: the table is empty")
    batches, ns = zip(*rows)
    return KSchedule(tuple(batches), tuple(ns), label)


def read_schedule(path: str | Path) -> KSchedule:
    """A schedule JSON file: ``{"1": 5, "8": 4}`` (candidates) or ``{"k": {"1": 4, "8": 3}}``."""
    data = read_json(Path(path), "schedule")
    if isinstance(data, dict) and set(data) == {"k"} and isinstance(data["k"], dict):
        return from_table(data["k"], f"{Path(path).name}", unit="k")
    if not isinstance(data, dict):
        raise SpecroofError(f"schedule {path}: give an object {{batch: candidates}} or {{\"k\": {{batch: K}}}}")
    return from_table(data, Path(path).name)


def from_plan(plan: Any) -> KSchedule:
    """The plan's best candidates per batch (its first seq_len column)."""
    table = {int(b): max(int(n), 1) for b, n in zip(plan.batch, plan.best_candidates[:, 0])}
    return from_table(table, "plan")
