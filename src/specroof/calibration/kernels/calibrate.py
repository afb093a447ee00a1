"""``specroof calibrate --kernels GPU[:ENGINE[:VERSION]]``: the shipped engine-kernel fit, run on
the user's installed NVIDIA kernel database (``pip install 'specroof[kernels]'``).

The result is a calibrated profile file like the measurement calibration writes: ``base``
(the catalog device), ``profile_base`` (the engine profile) and a ``[profile]`` table of the
fitted fields at 16-bit weights (GEMMs, decode and prefill attention, custom all-reduce, MoE).
"""

from __future__ import annotations

from specroof.kernels.schema import ALLREDUCE

import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from specroof.errors import SpecroofError
from specroof.kernels import schema
from specroof.calibration.kernels import selection as sel

BF16_SECTIONS = ("gemm_bf16", "decode_attention", "context_attention", ALLREDUCE, "moe_bf16")
DEFAULT_ENGINE = "vllm"


@dataclass
class KernelCalibration:
    gpu: str
    engine: str
    version: str
    hardware: str
    fields: dict[str, Any]
    stats: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_toml(self) -> str:
        import tomli_w

        from specroof.calibration.fit import _plain

        data = {
            "base": self.hardware,
            "profile_base": self.engine,
            "calibrated_from": f"NVIDIA aiconfigurator-core kernel database: {self.gpu} {self.engine} {self.version}",
            "profile": {k: _plain(v) for k, v in self.fields.items()},
            "fit": {sec: {k: v for k, v in s.items() if not isinstance(v, dict)} for sec, s in self.stats.items()},
        }
        header = ("# Calibrated by `specroof calibrate --kernels`; use with --hardware THIS_FILE.\n"
                  "# Fitted at 16-bit weights only (fp8 / int weight fields are not written here).\n")
        return header + "\n" + tomli_w.dumps(data)

    def write(self, path: str | Path) -> None:
        """Write the profile atomically: a failed write leaves any previous file byte-identical."""
        from specroof.datafiles import write_atomic

        write_atomic(path, self.to_toml(), "profile")

    def rows(self) -> list[dict[str, Any]]:
        return [{"section": sec, "rows": s["rows"], "held-out MAPE %": s["mape_heldout_pct"],
                 "fit MAPE %": s["mape_fit_pct"], "bias %": s["bias_pct"]} for sec, s in self.stats.items()]


def parse_spec(spec: str) -> tuple[str, str, str | None]:
    parts = str(spec).strip().split(":")
    if not parts[0] or len(parts) > 3 or any(not p for p in parts[1:]):
        raise SpecroofError(f"--kernels {spec!r}: give GPU[:ENGINE[:VERSION]], e.g. h200_sxm:vllm")
    return parts[0], parts[1] if len(parts) > 1 else DEFAULT_ENGINE, parts[2] if len(parts) > 2 else None


def calibrate_kernels(spec: str, hardware: str | None = None, root: str | None = None,
                      loader: Callable[..., Any] | None = None, listing: dict | None = None,
                      max_rows: int | None = None) -> KernelCalibration:
    """Fit the engine's kernel fields for ``GPU[:ENGINE[:VERSION]]`` on the installed database.

    ``loader(gpu, engine, family, version)`` and ``listing`` replace the database reader (tests).
    """
    from specroof.cost.engine_kernels import DATABASE_GPUS
    from specroof.hardware.accelerator import load_hardware
    from specroof.kernels import database
    from specroof.calibration.kernels.fitting import evaluate

    gpu, engine, version = parse_spec(spec)
    present = listing if listing is not None else database.listing(root)
    if gpu not in present:
        engines = sorted({e for g in present.values() for e in g if e != "nccl"})
        raise SpecroofError(f"GPU {gpu!r} is not in the kernel database; GPUs present: {', '.join(sorted(present))}; "
                            f"engines: {', '.join(engines)}")
    if engine not in present[gpu] or engine == "nccl":
        raise SpecroofError(f"engine {engine!r} has no tables for {gpu}; engines present: "
                            f"{', '.join(sorted(e for e in present[gpu] if e != 'nccl'))}")
    if version is not None and not any(version in v for v in present[gpu][engine].values()):
        have = sorted({v for vs in present[gpu][engine].values() for v in vs})
        raise SpecroofError(f"{gpu} {engine} has no version {version!r}; versions present: {', '.join(have)}")
    device = hardware or DATABASE_GPUS.get(gpu)
    if device is None:
        raise SpecroofError(f"{gpu} has no specroof catalog device; give --hardware NAME|FILE for its datasheet")
    accel = load_hardware(device)
    load = loader or (lambda g, e, f, v: database.load(g, e, f, v, root))
    if version is None and loader is None:  # name the version the database calls current
        try:
            version = database.find_table(gpu, engine, "gemm", None, root).version
        except SpecroofError:
            version = None
    fields: dict[str, Any] = {}
    stats: dict[str, dict[str, Any]] = {}
    from specroof.calibration.kernels import physics as ph

    for section in BF16_SECTIONS:
        family = sel.SECTIONS[section][0]
        if family not in present[gpu][engine]:
            continue
        try:
            rows = load(gpu, engine, family, version)
        except SpecroofError:
            continue
        rows = sel.select(section, rows)
        if len(rows) < 8:
            continue
        p, s = evaluate(section, rows, accel, zlib.crc32(f"{gpu}-{engine}-{section}".encode()), fields, max_rows)
        fields.update(p)
        stats[section] = s
    if not stats:
        raise SpecroofError(f"{gpu} {engine}: no kernel rows the fit can use")
    out = dict(ph.ENGINE_STRUCTURE, **fields)
    from specroof.cost.profile import get_profile

    rest = get_profile(engine).caveat.split("; ", 1)[1:]  # what the engine profile adds (host time)
    out["caveat"] = "; ".join([f"profile {engine} with kernels calibrated by `specroof calibrate --kernels` to "
                               f"NVIDIA's {gpu} {engine} {version or 'current'} tables (16-bit weights)"] + rest)
    if isinstance(out.get("gemm_tiles"), (int, float)):
        out["gemm_tiles"] = [[int(out["gemm_tiles"]), 128]]
    return KernelCalibration(gpu, engine, version or "current", accel.name, out, stats)


__all__ = ["KernelCalibration", "calibrate_kernels", "parse_spec", "schema"]
