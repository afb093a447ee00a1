"""Kernel accuracy held out by shape and by GPU, recomputed from a kernel extract folder.

The fit of :mod:`specroof.calibration.kernels.fitting` is scored three ways here, none of which lets the
fit see the rows it is scored on:

- **by shape axis**: the distinct values of one shape axis (GEMM ``n`` or ``k``, attention
  heads or context length, MoE hidden size or expert count, all-reduce message size) are
  ranked and dealt into two folds (even and odd ranks); the section is fitted on the rows of
  one fold and predicts the rows of the other, then the other way round. Every row is
  predicted once, by a fit that never saw its value of that axis (the other axes are seen);
- **one GPU left out**: the left-out GPU's rows are predicted with fields transferred from the
  shipped profiles of the *other* GPUs of the same engine (``engine_kernels.toml``, each fitted
  on that GPU's own rows only). Efficiencies are fractions of the device's datasheet peaks, so
  they transfer as they are and the pricing scales them by the left-out GPU's datasheet;
  fixed and per-unit costs in microseconds have no datasheet quantity and are taken as they
  are. Each field is the median over the other GPUs (the most common value for a discrete
  one such as the GEMM row tile). All-reduce is not transferred: its fits are per interconnect.

Only numpy and the fit's own functions: the extract folder is a parameter (the package never
reads the checkout).
"""

from __future__ import annotations

import os
from collections import Counter
from typing import Any

import numpy as np

from specroof.calibration.kernels import physics as ph
from specroof.calibration.kernels import selection as sel
from specroof.calibration.kernels.fitting import SHARED_FROM, RowSource, _stats, fit_section
from specroof.cost.engine_kernels import DATABASE_GPUS, fitted_overrides
from specroof.errors import SpecroofError
from specroof.kernels.extract import read_extract
from specroof.kernels.schema import ALLREDUCE

AXES: dict[str, tuple[str, ...]] = {
    "gemm": ("n", "k"),
    "decode_attention": ("num_heads", "kv_len"),
    "context_attention": ("num_heads", "seq_len"),
    ALLREDUCE: ("message_bytes",),
    "moe": ("hidden", "num_experts"),
    "recurrent_scan": ("num_v_heads", "batch"),  # --- linear attention: batch sizes span every phase
    "mla_decode": ("num_heads", "kv_len"),
    "dsa_module": ("num_heads", "kv_len"),
}
"""Kernel kind -> the shape axes whose values are left out whole."""

MIN_FIT_ROWS = 8


def folds(values: np.ndarray) -> np.ndarray:
    """Fold (0 or 1) of each row: the rank of its value among the distinct values, even or odd."""
    uniq = np.unique(values)
    return np.searchsorted(uniq, values) % 2


def _shared_fields(section: str, gpu: str, engine: str) -> dict[str, Any]:
    """Fields a section takes from an earlier one (fp8 GEMMs' fixed cost, prefill's decode
    terms): the shipped profile's, fitted on the same GPU's rows of the *other* section."""
    names = SHARED_FROM.get(section, ())
    shipped = fitted_overrides(DATABASE_GPUS[gpu], engine, "bf16")
    return {k: shipped[k] for k in names if k in shipped}


def by_axis_predictions(section: str, rows: np.ndarray, gpu: str, engine: str, axis: str) -> np.ndarray | None:
    """Each row's latency predicted by a fit that never saw its value of ``axis`` (two folds,
    each predicted by a fit on the other); None if a fold has too few rows or a single value."""
    fold = folds(rows[axis])
    if len(np.unique(rows[axis])) < 2:
        return None
    hw = DATABASE_GPUS[gpu]
    fixed = _shared_fields(section, gpu, engine)
    pred = np.empty(len(rows))
    for f in (0, 1):
        train, test = rows[fold != f], rows[fold == f]
        if len(train) < MIN_FIT_ROWS:
            return None
        fields = fit_section(section, train, hw, fixed)
        pred[fold == f] = ph.predict(section, dict(fixed, **fields), test, hw)
    return pred


def by_axis(section: str, rows: np.ndarray, gpu: str, engine: str, axis: str) -> dict[str, Any] | None:
    """Held-out stats with the values of ``axis`` left out whole (:func:`by_axis_predictions`)."""
    pred = by_axis_predictions(section, rows, gpu, engine, axis)
    return None if pred is None else _stats(pred, rows["latency_us"])


def _section_fields(section: str) -> tuple[str, ...]:
    kind = ph.SECTION_KIND[section][0]
    names = list(ph.FIT_FIELDS.get(section, {})) + list(SHARED_FROM.get(section, ()))
    if kind in ph.DISCRETE:
        names.append(ph.DISCRETE[kind][0])
    return tuple(names)


def transferred_fields(section: str, engine: str, left_out: str) -> dict[str, Any] | None:
    """The section's fields for ``left_out`` from the other GPUs' shipped fits (median; the most
    common value of a list field), or None if no other GPU has them."""
    precision = ph.SECTION_KIND[section][2]
    names = _section_fields(section)
    others = []
    for gpu, device in DATABASE_GPUS.items():
        if gpu == left_out:
            continue
        fields = fitted_overrides(device, engine, precision)
        if all(n in fields for n in names):
            others.append({n: fields[n] for n in names})
    if not others:
        return None
    out: dict[str, Any] = {}
    for n in names:
        values = [o[n] for o in others]
        if isinstance(values[0], (list, tuple)):
            key, _ = Counter(repr(v) for v in values).most_common(1)[0]
            out[n] = next(v for v in values if repr(v) == key)
        else:
            out[n] = float(np.median(values))
    return out


def leave_gpu_out(section: str, rows: np.ndarray, gpu: str, engine: str) -> dict[str, Any] | None:
    """Stats of the left-out GPU's rows under fields transferred from the other GPUs."""
    if ph.SECTION_KIND[section][0] == ALLREDUCE:
        return None
    fields = transferred_fields(section, engine, gpu)
    if fields is None:
        return None
    return _stats(ph.predict(section, fields, rows, DATABASE_GPUS[gpu]), rows["latency_us"])


CROSS_FAMILY = {"recurrent_scan": "kda"}
"""--- linear attention: a section -> a kernel family it was not fitted on but prices (KDA's
scans with the fields fitted on Gated DeltaNet's)."""


def cross_family(source: RowSource, gpu: str, engine: str, section: str) -> dict[str, Any] | None:
    """Stats of the other family's rows (:data:`CROSS_FAMILY`) priced with the section fitted on
    all of its own rows of the same GPU and engine, overall and per ``phase``; None without both."""
    rows = section_rows(source, gpu, engine, section)
    other = source(gpu, engine, CROSS_FAMILY[section])
    if rows is None or other is None:
        return None
    other = sel.select(section, other)
    if not len(other):
        return None
    pred = ph.predict(section, fit_section(section, rows, DATABASE_GPUS[gpu]), other, DATABASE_GPUS[gpu])
    out = {"all": _stats(pred, other["latency_us"])}
    for phase in np.unique(other["phase"]):
        sel_phase = other["phase"] == phase
        out[str(phase)] = _stats(pred[sel_phase], other["latency_us"][sel_phase])
    return out


def extract_source(root: str | os.PathLike) -> RowSource:
    """Rows from the extract folder ``root`` (None where it has no such table)."""
    def rows(gpu: str, engine: str, family: str) -> np.ndarray | None:
        try:
            return read_extract(gpu, engine, family, root)
        except SpecroofError:
            return None
    return rows


def section_rows(source: RowSource, gpu: str, engine: str, section: str) -> np.ndarray | None:
    """The rows the fit selects for ``section`` (None where there are too few)."""
    rows = source(gpu, engine, sel.SECTIONS[section][0])
    if rows is None:
        return None
    rows = sel.select(section, rows)
    return rows if len(rows) >= 2 * MIN_FIT_ROWS else None


def heldout_report(root: str | os.PathLike | RowSource, cells: list[tuple[str, str]], sections: list[str],
                   gpu_out: bool = True) -> dict[str, dict[str, Any]]:
    """``{"gpu/engine/section": {"by_<axis>": stats, "gpu_out": stats}}`` over the extract folder
    ``root`` (or any row source, e.g. the full database in tools/kernels/fit_physics.py)."""
    source = root if callable(root) else extract_source(root)
    out: dict[str, dict[str, Any]] = {}
    for gpu, engine in cells:
        for section in sections:
            rows = section_rows(source, gpu, engine, section)
            if rows is None:
                continue
            entry: dict[str, Any] = {}
            for axis in AXES[ph.SECTION_KIND[section][0]]:
                stats = by_axis(section, rows, gpu, engine, axis)
                if stats is not None:
                    entry[f"by_{axis}"] = stats
            stats = leave_gpu_out(section, rows, gpu, engine) if gpu_out else None
            if stats is not None:
                entry["gpu_out"] = stats
            if entry:
                out[f"{gpu}/{engine}/{section}"] = entry
    return out
