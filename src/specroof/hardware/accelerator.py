"""Accelerator specifications, from the catalog or from a calibrated profile file.

A catalog file (``hardware/catalog/<name>.toml``) holds datasheet figures with sources.
A calibrated profile (written by ``specroof calibrate``) names a ``base`` device, may
override any datasheet figure, and carries a ``[profile]`` table of fitted implementation
parameters (achieved bandwidth, FLOP/s, overheads...). Both load through ``load_hardware``
so ``--hardware`` accepts either everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from specroof.datafiles import looks_like_path, packaged_names, read_toml
from specroof.errors import SpecroofError, suggest

_PACKAGE = "specroof.hardware"


@dataclass(frozen=True)
class Accelerator:
    """Datasheet figures of one device, plus optional calibrated profile parameters.

    ``peak_tflops`` maps a dtype (fp16, bf16, fp8, int8, fp32) to dense tensor throughput;
    a dtype missing from it is not supported by the tensor cores.
    ``profile_base`` / ``profile_overrides`` come from a calibrated profile file and are
    applied on top of the implementation profile by the cost model.
    """

    name: str
    display_name: str
    memory_gb: float
    memory_bandwidth_gbps: float
    sm_count: int
    peak_tflops: dict[str, float]
    vendor: str = ""
    l2_cache_mb: float = 0.0
    interconnect_gbps: float = 0.0
    interconnect: str = ""
    tdp_w: float = 0.0
    sources: dict[str, str] = field(default_factory=dict)
    profile_base: str | None = None
    profile_overrides: dict[str, Any] = field(default_factory=dict)
    calibrated_from: str = ""

    def peak_flops(self, dtype: str) -> float:
        """Dense peak in FLOP/s for a compute dtype; SpecroofError if unsupported."""
        key = "fp16" if dtype == "bf16" and "bf16" not in self.peak_tflops else dtype
        if key not in self.peak_tflops:
            have = ", ".join(sorted(self.peak_tflops))
            raise SpecroofError(
                f"{self.name} has no {dtype} tensor throughput (it has: {have}); pick another "
                "--dtype, or use weight-only quantization (e.g. --weight-dtype int4 with fp16 activations)"
            )
        return self.peak_tflops[key] * 1e12

    @property
    def memory_bandwidth(self) -> float:
        """Datasheet memory bandwidth in bytes/s."""
        return self.memory_bandwidth_gbps * 1e9

    @property
    def memory_bytes(self) -> float:
        return self.memory_gb * 1e9

    @property
    def is_calibrated(self) -> bool:
        return bool(self.profile_overrides)


_REQUIRED = ("memory_gb", "memory_bandwidth_gbps", "sm_count", "peak_tflops")


def _from_table(data: dict[str, Any], label: str) -> Accelerator:
    missing = [k for k in _REQUIRED if k not in data]
    if missing:
        raise SpecroofError(f"accelerator file {label} lacks {', '.join(missing)}")
    peaks = data["peak_tflops"]
    if not isinstance(peaks, dict) or not peaks:
        raise SpecroofError(f"accelerator file {label}: [peak_tflops] must map dtypes to TFLOP/s")
    for key in ("memory_gb", "memory_bandwidth_gbps", "sm_count"):
        _check_positive(data[key], key, label)
    for key, value in peaks.items():
        _check_positive(value, f"peak_tflops.{key}", label)
    return Accelerator(
        name=str(data.get("name", label)),
        display_name=str(data.get("display_name", data.get("name", label))),
        memory_gb=float(data["memory_gb"]),
        memory_bandwidth_gbps=float(data["memory_bandwidth_gbps"]),
        sm_count=int(data["sm_count"]),
        peak_tflops={str(k): float(v) for k, v in peaks.items()},
        vendor=str(data.get("vendor", "")),
        l2_cache_mb=float(data.get("l2_cache_mb", 0.0)),
        interconnect_gbps=float(data.get("interconnect_gbps", 0.0)),
        interconnect=str(data.get("interconnect", "")),
        tdp_w=float(data.get("tdp_w", 0.0) or 0.0),
        sources={str(k): str(v) for k, v in data.get("sources", {}).items()},
    )


def _check_positive(value: Any, key: str, label: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise SpecroofError(f"accelerator file {label}: {key} must be a positive number, got {value!r}")


@lru_cache(maxsize=1)
def catalog_names() -> tuple[str, ...]:
    """Names of the shipped accelerators (file names of ``hardware/catalog/*.toml``)."""
    return packaged_names(_PACKAGE, "catalog", ".toml")


def _read_toml(path: Path | Any, label: str) -> dict[str, Any]:
    return read_toml(path, f"accelerator file {label}")


@lru_cache(maxsize=64)
def _catalog_entry(name: str) -> Accelerator:
    file = resources.files(_PACKAGE) / "catalog" / f"{name}.toml"
    return _from_table(_read_toml(file, name), name)


def load_hardware(hardware: "str | Path | Accelerator") -> Accelerator:
    """An Accelerator from a catalog name, a catalog-style TOML file or a calibrated profile."""
    if isinstance(hardware, Accelerator):
        return hardware
    if looks_like_path(hardware, ".toml"):
        path = Path(hardware)
        if not path.exists():
            raise SpecroofError(f"hardware file not found: {path}")
        return _from_file(_read_toml(path, str(path)), str(path))
    if not isinstance(hardware, str):
        raise SpecroofError(f"hardware must be a name, a path or an Accelerator, got {type(hardware).__name__}")
    key = hardware.strip().lower()
    if key not in catalog_names():
        raise SpecroofError(
            f"unknown hardware {hardware!r}{suggest(key, catalog_names())}; "
            "run `specroof hardware` for the list, or pass a path to a .toml file"
        )
    return _catalog_entry(key)


def _from_file(data: dict[str, Any], label: str) -> Accelerator:
    """A catalog-style file, or a calibrated profile (``base`` + overrides + ``[profile]``)."""
    profile = data.get("profile", {})
    if not isinstance(profile, dict):
        raise SpecroofError(f"hardware file {label}: [profile] must be a table")
    base_name = data.get("base")
    if base_name is not None:
        base = load_hardware(str(base_name))
        overrides = {k: v for k, v in data.items() if k in _REQUIRED or k in ("display_name", "name")}
        merged = {
            "name": base.name, "display_name": base.display_name, "memory_gb": base.memory_gb,
            "memory_bandwidth_gbps": base.memory_bandwidth_gbps, "sm_count": base.sm_count,
            "peak_tflops": dict(base.peak_tflops), **overrides,
        }
        accel = replace(base, **{k: v for k, v in _from_table(merged, label).__dict__.items()
                                 if k in merged or k == "peak_tflops"})
    else:
        accel = _from_table(data, label)
    return replace(
        accel,
        profile_base=data.get("profile_base"),
        profile_overrides=dict(profile),
        calibrated_from=str(data.get("calibrated_from", "")),
    )
