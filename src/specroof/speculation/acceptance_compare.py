""""Is my acceptance normal?": a measured tau(n) next to the acceptance catalog's.

``specroof acceptance --from vllm-metrics:FILE --compare catalog --model M --method X`` puts an
engine's (or a profile's) measured acceptance length at each draft length K beside what the
catalog (:mod:`specroof.speculation.acceptance_catalog`) publishes for that model and method.

The **normal band** at K is what the catalog itself says acceptance varies by:

- with several curves of the model and method measured at K (datasets, domains, settings), the
  range of their taus, each widened by its row's stated spread;
- with one curve, its tau widened by its stated spread, else by half the *typical relative range*
  across datasets: the median, over every (model, method, K) of the catalog measured on two or
  more datasets, of (max - min) / mean. It is read off the shipped catalog when the comparison
  runs, not a constant chosen here.

A measured tau outside the band is flagged LOW or HIGH, with the usual causes of each (the
questions engine issue trackers answer most: a random-token benchmark, a missing chat template,
sampling temperature, a quantized draft head). The catalog row used is named, and a weak match
(another size or model: :mod:`specroof.speculation.catalog_match`) is said.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from specroof.errors import SpecroofError
from specroof.speculation.acceptance import AcceptanceModel
from specroof.speculation.acceptance_catalog import CatalogEntry, catalog_entries
from specroof.speculation.catalog_match import best_match, normalize

LOW_CAUSES = (
    "the dataset: random or synthetic prompts accept far less than real text (check the benchmark's "
    "dataset, e.g. vllm bench --dataset-name random)",
    "the chat template: prompts sent without the model's chat template drift from what the head was "
    "trained on",
    "the temperature: sampling at T > 0 accepts less than the greedy rows",
    "a quantized draft head (an FP8 or FP4 MTP / EAGLE head) or a head trained for another version of "
    "the target",
    "K beyond the depth the head was trained for (specroof check --model ... reads it)",
)
HIGH_CAUSES = (
    "a repetitive or templated workload (copying, code edits, structured output) accepts more than "
    "the catalog's chat and benchmark sets",
    "greedy decoding where the catalog's row sampled, or short outputs that stop early",
)


@dataclass(frozen=True)
class ComparedPoint:
    """One draft length K: the measured tau, the catalog's best row and its normal band."""

    k: int
    measured: float
    catalog: float | None
    low: float
    high: float

    @property
    def verdict(self) -> str:
        if self.measured < self.low:
            return "LOW"
        return "HIGH" if self.measured > self.high else "normal"

    def record(self) -> dict[str, Any]:
        return {"k_draft_tokens": self.k, "measured_acceptance_length": self.measured,
                "catalog_acceptance_length": self.catalog, "normal_low": self.low, "normal_high": self.high,
                "verdict": self.verdict}


@dataclass(frozen=True)
class Comparison:
    """The points compared, the catalog row named, and what to check when a point is off."""

    points: tuple[ComparedPoint, ...]
    row_line: str
    band_note: str

    @property
    def flagged(self) -> tuple[ComparedPoint, ...]:
        return tuple(p for p in self.points if p.verdict != "normal")

    def advice(self) -> list[str]:
        """One line per direction flagged, with the usual causes."""
        lines = []
        for verdict, causes in (("LOW", LOW_CAUSES), ("HIGH", HIGH_CAUSES)):
            ks = [str(p.k) for p in self.flagged if p.verdict == verdict]
            if ks:
                lines.append(f"acceptance {verdict} at K={','.join(ks)} (outside the catalog's spread); usual causes: "
                             + "; ".join(causes))
        return lines or ["acceptance within the catalog's spread at every K compared"]


@lru_cache(maxsize=1)
def typical_relative_range() -> float:
    """Median over the catalog's (model, method, K) measured on 2+ datasets of (max - min) / mean."""
    groups: dict[tuple[str, str, int], list[float]] = defaultdict(list)
    for entry in catalog_entries():
        for k, tau in entry.points:
            groups[(normalize(entry.model), entry.method, k)].append(tau)
    ranges = [(max(v) - min(v)) / statistics.fmean(v) for v in groups.values() if len(v) > 1]
    if not ranges:
        raise SpecroofError("the acceptance catalog has no model and method measured on two datasets: "
                            "no spread to compare against")
    return statistics.median(ranges)


def _band(k: int, curves: list[CatalogEntry]) -> tuple[float, float] | None:
    """The normal band at ``k`` from the curves that measured it (None: none did)."""
    values = []
    for entry in curves:
        for (kk, tau), spread in zip(entry.points, entry.spreads):
            if kk == k:
                values.append((tau - (spread or 0.0), tau + (spread or 0.0), spread))
    if not values:
        return None
    if len(values) == 1 and values[0][2] is None:
        tau = values[0][0]
        half = tau * typical_relative_range() / 2
        return tau - half, tau + half
    return min(v[0] for v in values), max(v[1] for v in values)


def compare_to_catalog(measured: AcceptanceModel, model: str, method: str, domain: str | None = None,
                       max_k: int | None = None) -> Comparison:
    """``measured`` tau at every K the catalog and the measurement both cover (K up to ``max_k``,
    the measurement's own largest draft length)."""
    match = best_match(model, method, domain)
    if match is None:
        methods = sorted({e.method for e in catalog_entries()})
        raise SpecroofError(f"the acceptance catalog has no {method!r} row to compare with; it has {', '.join(methods)}")
    chosen = match.entry
    curves = [e for e in catalog_entries()
              if e.method == method and normalize(e.model) == normalize(chosen.model)]
    points = []
    for k, tau in chosen.points:
        band = _band(k, curves)
        if band is None or (max_k is not None and k > max_k):
            continue
        points.append(ComparedPoint(k, float(np.asarray(measured.tau(np.array([k + 1])))[0]), tau, *band))
    if not points:
        raise SpecroofError(f"no draft length in common: the measurement covers K <= {max_k}, "
                            f"{chosen.name()} measured {chosen.k_range()}")
    note = (f"normal band: the range of {len(curves)} catalog curve(s) of {chosen.model}/{method} at each K, widened "
            f"by stated spreads; a single curve without one: +-{100 * typical_relative_range() / 2:.1f}% (half the "
            "catalog's median relative range across datasets)")
    return Comparison(tuple(points), match.line(model), note)
