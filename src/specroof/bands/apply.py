"""Error bands on predictions: match a result's domain to the shipped bands, over a whole grid.

The bands are data (``error_bands.csv`` beside this module, written by
``tools/make_error_bands.py`` from the residuals of every validation the project has; how they
are derived: ``docs/error-bands.md``). A result's domain is fixed per call (profile, method,
architecture family, GPU, tensor parallelism); only the batch range varies over the grid, so
a lookup costs one dictionary probe per batch range, never one per grid point.

``validated`` is true only where the exact domain (every key, batch range included) has a
band made of held-out residuals of whole steps or speedups. Elsewhere the band comes from the
first coarser domain that has one (:data:`specroof.bands.stats.FALLBACK`) and the record
carries a one-line ``validation_note`` saying so.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np

from specroof.bands.stats import ANY, BATCH_LABELS, BATCH_STARTS, FALLBACK, KEYS, Band
from specroof.datafiles import csv_records, read_text
from specroof.errors import SpecroofWarning

BANDS_FILE = "error_bands.csv"
COLUMNS = ("quantity", "level", *KEYS, "n", "q_low", "q_high", "coverage", "rule", "held_out", "evidence",
           "sources", "date")
NAMES = {"speedup": "speedup", "latency": "latency_ms"}
"""Record field each quantity's band is about."""


@dataclass(frozen=True)
class Domain:
    """What a result was priced for, but its batch sizes."""

    profile: str
    method: str
    family: str
    gpu: str
    tp: int

    def key(self, batch_label: str, wild: tuple[str, ...] = ()) -> tuple[str, ...]:
        raw = {"profile": self.profile, "method": self.method, "family": self.family, "gpu": self.gpu,
               "tp": str(self.tp), "batch": batch_label}
        return tuple(ANY if k in wild else raw[k] for k in KEYS)


def architecture_family(model: Any) -> str:
    """The architecture family a model's bands are looked up under (``dense``, ``moe``)."""
    return "moe" if getattr(model, "is_moe", False) else "dense"


def step_domain(step: Any, method: str = "none") -> Domain:
    """The domain of a :class:`specroof.cost.step.StepLatency` (and the drafting method)."""
    return Domain(step.profile.name, method, architecture_family(step.model), step.hardware.name, int(step.tp))


def parse_bands(text: str) -> dict[tuple[str, tuple[str, ...]], Band]:
    """{(quantity, key): Band} from the text of an error-band CSV (``#`` lines are comments)."""
    out = {}
    for r in csv_records(text):
        key = tuple(r[k] for k in KEYS)
        out[(r["quantity"], key)] = Band(r["quantity"], key, int(r["level"]), int(r["n"]), float(r["q_low"]),
                                         float(r["q_high"]), float(r["coverage"]), r["rule"],
                                         r["held_out"] == "true", r["evidence"], r["sources"])
    return out


@lru_cache(maxsize=1)
def shipped_bands() -> dict[tuple[str, tuple[str, ...]], Band]:
    """The bands shipped in the package (empty if the file is missing: every record unvalidated)."""
    path = resources.files("specroof.bands") / BANDS_FILE
    if not path.is_file():
        return {}
    return parse_bands(read_text(path, BANDS_FILE))


def find(quantity: str, domain: Domain, batch_label: str,
         table: dict[tuple[str, tuple[str, ...]], Band] | None = None) -> Band | None:
    """The band of the most specific domain (fewest wildcards, :data:`FALLBACK` order) that has one."""
    table = shipped_bands() if table is None else table
    for wild in FALLBACK:
        band = table.get((quantity, domain.key(batch_label, wild)))
        if band is not None:
            return band
    return None


def is_validated(band: Band | None) -> bool:
    """Held-out evidence of whole steps or speedups in the exact domain."""
    return band is not None and band.level == 0 and band.held_out and band.evidence == "step"


def note(quantity: str, domain: Domain, batch_label: str, band: Band | None) -> str | None:
    """One line for a record outside every validated domain; None inside one."""
    if is_validated(band):
        return None
    where = (f"{domain.profile}/{domain.method}/{domain.family}/{domain.gpu}/tp{domain.tp}/batch {batch_label}")
    if band is None:
        return f"not validated: no {quantity} evidence for {where} and no band to fall back to"
    if band.level == 0 and not band.held_out:
        return f"not validated: {where} has in-sample {quantity} residuals only ({band.sources}); band from them"
    if band.level == 0:
        return f"not validated end to end: {quantity} band of {where} from held-out kernel timings only"
    scope = ", ".join(f"{k} {v}" for k, v in zip(KEYS, band.key) if v != ANY) or "every domain pooled"
    return (f"not validated: no held-out {quantity} residuals for {where}; band from {band.n} residuals of "
            f"{scope} ({band.sources})")


@dataclass(frozen=True)
class Lookup:
    """Per batch size: the residual band, whether it is validated, and the note."""

    q_low: np.ndarray
    q_high: np.ndarray
    validated: np.ndarray
    note: np.ndarray  # object: str or None


def lookup(quantity: str, domain: Domain, batch: np.ndarray) -> Lookup:
    """The band of each batch size of ``batch`` (one probe per batch range)."""
    batch = np.asarray(batch)
    index = np.searchsorted(BATCH_STARTS, batch, side="right") - 1
    low, high = np.full(batch.shape, np.nan), np.full(batch.shape, np.nan)
    ok, notes = np.zeros(batch.shape, bool), np.full(batch.shape, None, dtype=object)
    for i in np.unique(index):
        band = find(quantity, domain, BATCH_LABELS[i])
        at = index == i
        if band is not None:
            low[at], high[at] = band.q_low, band.q_high
        ok[at] = is_validated(band)
        notes[at] = note(quantity, domain, BATCH_LABELS[i], band)
    return Lookup(low, high, ok, notes)


def band_arrays(domain: Domain, batch: np.ndarray, values: dict[str, np.ndarray], primary: str,
                exact: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """``<field>_low`` / ``<field>_high`` for each quantity in ``values`` (arrays with batch on
    axis 0), plus ``validated`` and ``validation_note`` of the ``primary`` quantity.

    A residual ``r = predicted / measured - 1`` in ``[q_low, q_high]`` puts the measured value in
    ``[p / (1 + q_high), p / (1 + q_low)]``. ``exact``: where the speedup is 1 by definition
    (plain decoding), its band is [1, 1].
    """
    out: dict[str, np.ndarray] = {}
    for quantity, value in values.items():
        value = np.asarray(value, dtype=float)
        found = lookup(quantity, domain, batch)
        shape = (-1,) + (1,) * (value.ndim - 1)
        with np.errstate(invalid="ignore"):
            low, high = value / (1 + found.q_high.reshape(shape)), value / (1 + found.q_low.reshape(shape))
        if quantity == "speedup" and exact is not None:
            low, high = np.where(exact, value, low), np.where(exact, value, high)
        out[f"{NAMES[quantity]}_low"], out[f"{NAMES[quantity]}_high"] = low, high
        if quantity == primary:
            out["validated"] = np.broadcast_to(found.validated.reshape(shape), value.shape)
            out["validation_note"] = np.broadcast_to(found.note.reshape(shape), value.shape)
    return out


def record_fields(arrays: dict[str, np.ndarray]) -> list[dict[str, Any]]:
    """The arrays of :func:`band_arrays` as one dict per point (C order), JSON-ready."""
    flat = {name: np.asarray(a).ravel() for name, a in arrays.items()}
    size = len(next(iter(flat.values()))) if flat else 0
    out = []
    for i in range(size):
        row: dict[str, Any] = {}
        for name, a in flat.items():
            v = a[i]
            if name == "validated":
                row[name] = bool(v)
            elif name == "validation_note":
                row[name] = v
            else:
                row[name] = float(v) if math.isfinite(v) else None
        out.append(row)
    return out


def warn_unvalidated(records: list[dict[str, Any]], what: str = "points") -> None:
    """One ``warning:`` for the records outside every validated domain (none if all inside)."""
    outside = [r for r in records if r.get("validated") is False]
    if outside:
        warnings.warn(SpecroofWarning(
            f"{len(outside)} of {len(records)} {what} outside every validated domain "
            f"(validation_note per record; docs/error-bands.md): {outside[0]['validation_note']}"), stacklevel=2)
