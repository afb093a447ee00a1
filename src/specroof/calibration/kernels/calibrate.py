"""``specroof calibrate --kernels GPU[:ENGINE[:VERSION]]``: the shipped engine-kernel fit, run on
the user's installed NVIDIA kernel database (``pip install 'specroof[kernels]'``).

The result is a calibrated profile file like the measurement calibration writes: ``base``
(the catalog device), ``profile_base`` (the engine profile) and a ``[profile]`` table of the
fitted fields at 16-bit weights (GEMMs, decode and prefill attention, custom all-reduce, MoE).
The fit is the one that derives the shipped profiles (:func:`.fitting.fit_engine`).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from specroof.calibration.kernels import physics as ph
from specroof.calibration.kernels.fitting import RowSource, fit_engine
from specroof.calibration.profile_file import profile_document, write_profile
from specroof.cost.engine_kernels import DATABASE_GPUS
from specroof.cost.profile import get_profile
from specroof.errors import SpecroofError, SpecroofWarning
from specroof.hardware.accelerator import load_hardware
from specroof.kernels import database
from specroof.kernels.schema import ALLREDUCE

BF16_SECTIONS = ("gemm_bf16", "decode_attention", "context_attention", ALLREDUCE, "moe_bf16")
DEFAULT_ENGINE = "vllm"
NCCL = "nccl"
"""The database's pseudo-engine of NCCL all-reduce tables: not an engine to calibrate."""

Listing = dict[str, dict[str, dict[str, list[str]]]]
"""{gpu: {engine: {family: [versions]}}}, as :func:`specroof.kernels.database.listing` returns."""


@dataclass
class KernelCalibration:
    gpu: str
    engine: str
    version: str
    hardware: str
    fields: dict[str, Any]
    stats: dict[str, dict[str, Any]] = field(default_factory=dict)

    def document(self) -> dict[str, Any]:
        fit = {sec: {k: v for k, v in s.items() if not isinstance(v, dict)} for sec, s in self.stats.items()}
        source = f"NVIDIA aiconfigurator-core kernel database: {self.gpu} {self.engine} {self.version}"
        return profile_document(self.hardware, self.engine, source, self.fields, fit)

    @staticmethod
    def comments() -> list[str]:
        return ["Calibrated by `specroof calibrate --kernels`; use with --hardware THIS_FILE.",
                "Fitted at 16-bit weights only (fp8 / int weight fields are not written here)."]

    def write(self, path: str | Path) -> None:
        """Write the profile atomically: a failed write leaves any previous file byte-identical."""
        write_profile(path, self.comments(), self.document())

    def rows(self) -> list[dict[str, Any]]:
        return [{"section": sec, "rows": s["rows"], "held-out MAPE %": s["mape_heldout_pct"],
                 "fit MAPE %": s["mape_fit_pct"], "bias %": s["bias_pct"]} for sec, s in self.stats.items()]


def parse_spec(spec: str) -> tuple[str, str, str | None]:
    parts = str(spec).strip().split(":")
    if not parts[0] or len(parts) > 3 or any(not p for p in parts[1:]):
        raise SpecroofError(f"--kernels {spec!r}: give GPU[:ENGINE[:VERSION]], e.g. h200_sxm:vllm")
    return parts[0], parts[1] if len(parts) > 1 else DEFAULT_ENGINE, parts[2] if len(parts) > 2 else None


def check_present(present: Listing, gpu: str, engine: str, version: str | None) -> None:
    """SpecroofError naming what the database has, unless it has ``gpu``, ``engine`` and ``version``."""
    if gpu not in present:
        engines = sorted({e for g in present.values() for e in g if e != NCCL})
        raise SpecroofError(f"GPU {gpu!r} is not in the kernel database; GPUs present: {', '.join(sorted(present))}; "
                            f"engines: {', '.join(engines)}")
    if engine not in present[gpu] or engine == NCCL:
        raise SpecroofError(f"engine {engine!r} has no tables for {gpu}; engines present: "
                            f"{', '.join(sorted(e for e in present[gpu] if e != NCCL))}")
    if version is not None and not any(version in v for v in present[gpu][engine].values()):
        have = sorted({v for vs in present[gpu][engine].values() for v in vs})
        raise SpecroofError(f"{gpu} {engine} has no version {version!r}; versions present: {', '.join(have)}")


def _current_version(gpu: str, engine: str, root: str | None) -> str | None:
    """The version the database calls current for the engine (its GEMM table's), if any."""
    try:
        return database.find_table(gpu, engine, "gemm", None, root).version
    except SpecroofError:
        return None


def _row_source(present: Listing, version: str | None, load: Callable[..., np.ndarray]) -> RowSource:
    """The fit's rows: None for a family the database lacks or cannot read."""
    def rows(gpu: str, engine: str, family: str) -> np.ndarray | None:
        if family not in present[gpu][engine]:
            return None
        try:
            return load(gpu, engine, family, version)
        except SpecroofError:
            return None
    return rows


def calibrated_fields(fitted: dict[str, Any], gpu: str, engine: str, version: str | None) -> dict[str, Any]:
    """The profile fields to write: the engine structure, the fitted kernels and a caveat that
    keeps what the engine profile's own caveat adds after its first clause (host time)."""
    out = dict(ph.ENGINE_STRUCTURE, **fitted)
    out["kernels_caveat"] = (f"profile {engine} with kernels calibrated by `specroof calibrate --kernels` to "
                             f"NVIDIA's {gpu} {engine} {version or 'current'} tables (16-bit weights)")
    if get_profile(engine).caveat:
        out["caveat"] = get_profile(engine).caveat
    if isinstance(out.get("gemm_tiles"), (int, float)):
        out["gemm_tiles"] = [[int(out["gemm_tiles"]), 128]]
    return out


def calibrate_kernels(spec: str, hardware: str | None = None, root: str | None = None,
                      loader: Callable[..., Any] | None = None, listing: Listing | None = None,
                      max_rows: int | None = None) -> KernelCalibration:
    """Fit the engine's kernel fields for ``GPU[:ENGINE[:VERSION]]`` on the installed database.

    ``loader(gpu, engine, family, version)`` and ``listing`` replace the database reader (tests).
    A section that cannot be priced on the device is left out with a warning.
    """
    gpu, engine, version = parse_spec(spec)
    present = listing if listing is not None else database.listing(root)
    check_present(present, gpu, engine, version)
    device = hardware or DATABASE_GPUS.get(gpu)
    if device is None:
        raise SpecroofError(f"{gpu} has no specroof catalog device; give --hardware NAME|FILE for its datasheet")
    accel = load_hardware(device)
    load = loader or (lambda g, e, f, v: database.load(g, e, f, v, root))
    if version is None and loader is None:
        version = _current_version(gpu, engine, root)
    skipped: dict[str, str] = {}
    fits = fit_engine(_row_source(present, version, load), gpu, engine, accel, BF16_SECTIONS, max_rows,
                      skipped=skipped)
    for section, reason in skipped.items():
        warnings.warn(SpecroofWarning(f"{gpu} {engine}: section {section} left out of the fit: {reason}"),
                      stacklevel=2)
    if not fits:
        raise SpecroofError(f"{gpu} {engine}: no kernel rows the fit can use")
    fields: dict[str, Any] = {}
    for fitted, _ in fits.values():
        fields.update(fitted)
    stats = {section: s for section, (_, s) in fits.items()}
    return KernelCalibration(gpu, engine, version or "current", accel.name,
                             calibrated_fields(fields, gpu, engine, version), stats)


__all__ = ["KernelCalibration", "calibrate_kernels", "parse_spec"]
