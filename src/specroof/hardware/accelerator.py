"""Accelerator specifications, from the catalog or from a calibrated profile file.

A catalog file (``hardware/catalog/<name>.toml``) holds datasheet figures with sources.
A calibrated profile (written by ``specroof calibrate``) names a ``base`` device, may
override any datasheet figure, and carries a ``[profile]`` table of fitted implementation
parameters (achieved bandwidth, FLOP/s, overheads...). Both load through ``load_hardware``
so ``--hardware`` accepts either everywhere.
"""

from __future__ import annotations

import re
from dataclasses import MISSING, dataclass, fields, replace
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from specroof.checks import (
    ANY,
    NAME,
    NON_NEGATIVE_FLOAT,
    NON_NEGATIVE_INT,
    POSITIVE_FLOAT,
    POSITIVE_INT,
    TEXT,
    Check,
    annotation,
    check,
    check_fields,
    declare,
    pydantic,
    schema,
    schema_of,
)
from specroof.datafiles import looks_like_path, packaged_names, read_toml
from specroof.errors import SpecroofError, suggest

_PACKAGE = "specroof.hardware"
_DTYPE_KEY = re.compile(r"^[a-z][a-z0-9_]{0,15}$")


def _dtype_names(value: dict[str, float]) -> dict[str, float]:
    for key, tflops in value.items():
        if not _DTYPE_KEY.match(key):
            raise ValueError(f"has a dtype name {key!r} that is not a dtype (fp16, bf16, fp8, int8, fp32...)")
        if tflops > 1e6:
            raise ValueError(f"{key} = {tflops:g} TFLOP/s is beyond any device (is it in FLOP/s?)")
    return value


def _peaks() -> Any:
    from typing import Annotated

    pd = pydantic()
    return Annotated[dict[str, annotation(POSITIVE_FLOAT)], pd.AfterValidator(_dtype_names), pd.Field(min_length=1)]


PEAKS = Check(build=_peaks, words="table dtype -> TFLOP/s (> 0, <= 1e6), at least one")
SOURCES = Check(build=lambda: dict[str, annotation(TEXT)], words="table of strings")
TABLE = Check(build=lambda: dict[str, Any], words="table")


@dataclass(frozen=True)
class Accelerator:
    """Datasheet figures of one device, plus optional calibrated profile parameters.

    ``peak_tflops`` maps a dtype (fp16, bf16, fp8, fp4, int8, fp32) to dense tensor throughput;
    a dtype missing from it is not supported by the tensor cores.
    ``profile_base`` / ``profile_overrides`` come from a calibrated profile file and are
    applied on top of the implementation profile by the cost model.
    ``interconnect_domain_gpus``: how many devices ``interconnect_gbps`` joins (an HGX board 8,
    an NVL72 rack 72, NVLink-bridged pairs 2); 0 when not stated (one 8-device server assumed).
    """

    name: str = declare(..., NAME, "", "the catalog name (the file's name)")
    display_name: str = declare(..., NAME, "", "the name shown in tables")
    memory_gb: float = declare(..., POSITIVE_FLOAT.within(le=1e6), "GB", "device memory capacity")
    memory_bandwidth_gbps: float = declare(..., POSITIVE_FLOAT.within(le=1e6), "GB/s",
                                           "datasheet memory bandwidth")
    sm_count: int = declare(..., POSITIVE_INT.within(le=1_000_000), "SMs", "streaming multiprocessors (compute "
                            "units): GEMM tiles and attention blocks run in waves over them")
    peak_tflops: dict[str, float] = declare(..., PEAKS, "TFLOP/s", "dense tensor throughput per dtype (fp16, bf16, fp4, "
                                            "fp8, int8, fp32); a dtype missing is not supported by the tensor cores")
    vendor: str = declare("", TEXT, "", "who makes the device")
    l2_cache_mb: float = declare(0.0, NON_NEGATIVE_FLOAT.within(le=1e6), "MB", "last-level cache size")
    interconnect_gbps: float = declare(0.0, NON_NEGATIVE_FLOAT.within(le=1e6), "GB/s",
                                       "device-to-device bandwidth per direction (NVLink, xGMI, PCIe)")
    interconnect: str = declare("", TEXT, "", "the interconnect's name")
    interconnect_domain_gpus: int = declare(0, NON_NEGATIVE_INT.within(le=100_000), "devices", "how many devices "
                                            "interconnect_gbps joins; 0: not stated (one 8-device server assumed)")
    tdp_w: float = declare(0.0, NON_NEGATIVE_FLOAT.within(le=1e6), "W", "thermal design power")
    sources: dict[str, str] = declare({}, SOURCES, "", "where each figure comes from (datasheet URLs)")
    profile_base: str | None = declare(None, NAME.or_none(), "", "a calibrated file's implementation profile "
                                       "(checked when a step is priced: profiles live above devices)")
    profile_overrides: dict[str, Any] = declare({}, TABLE, "", "a calibrated file's [profile] table of fitted "
                                                "profile fields (checked when applied to the profile)")
    calibrated_from: str = declare("", TEXT, "", "the measurements a calibrated file was fitted to")
    file: str = declare("", TEXT, "", "the hardware file the device was read from (empty: the catalog or Python)")

    def __post_init__(self) -> None:
        """Check every field: finite, positive sizes and rates, known profile fields."""
        label = f"accelerator {self.name!r}" if isinstance(self.name, str) else "Accelerator"
        checked = check_fields(Accelerator, {f.name: getattr(self, f.name) for f in fields(self)}, label)
        for key, value in checked.items():  # integral floats become ints, ints become floats where declared
            object.__setattr__(self, key, value)

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
    def domain_gpus(self) -> int:
        """Devices one all-reduce can span at ``interconnect_gbps`` (8 when the file does not say)."""
        return self.interconnect_domain_gpus or DEFAULT_DOMAIN_GPUS

    @property
    def where(self) -> str:
        """How messages name this device: its file, else its name."""
        return f"hardware file {self.file}" if self.file else f"accelerator {self.name!r}"

    @property
    def is_calibrated(self) -> bool:
        return bool(self.profile_overrides)


DEFAULT_DOMAIN_GPUS = 8
"""Devices assumed joined by the interconnect when a hardware file does not say: one 8-GPU server."""

_CALIBRATED = ("profile_base", "profile_overrides", "calibrated_from", "file")
#: The datasheet keys of a hardware file: every declared field but what a calibrated file links.
_DATASHEET = tuple(f.name for f in fields(Accelerator) if f.name not in _CALIBRATED)
#: Keys a file must give (name and display name default to the file's name).
_REQUIRED = tuple(f.name for f in fields(Accelerator) if f.default is MISSING and f.default_factory is MISSING
                  and f.name not in ("name", "display_name"))
#: How many ``base`` links a hardware file may follow (a profile on a profile on a device...).
MAX_BASE_CHAIN = 8


@lru_cache(maxsize=1)
def _file_schema() -> Any:
    """Top-level keys of a hardware TOML: a catalog-style device or a calibrated profile.

    Only which keys may appear, and the types of the links (``base``, ``profile_base``) and
    tables, are checked here; the datasheet values are checked by the Accelerator's own
    declarations once a ``base`` device has been merged in.
    """
    typed = {"name": NAME, "display_name": NAME, "vendor": TEXT, "interconnect": TEXT, "sources": SOURCES}
    keys = {k: (typed.get(k, ANY).or_none(), None) for k in _DATASHEET}
    keys.update({"base": (NAME.or_none(), None), "profile_base": (NAME.or_none(), None),
                 "calibrated_from": (TEXT.or_none(), None), "profile": (TABLE.or_none(), None),
                 "fit": (TABLE.or_none(), None)})
    return schema_of("HardwareFile", keys)


def _from_table(data: dict[str, Any], label: str) -> Accelerator:
    """A device from the datasheet keys of a hardware file (checked by the Accelerator itself)."""
    check(_file_schema(), data, f"accelerator file {label}")
    missing = [k for k in _REQUIRED if k not in data]
    if missing:
        raise SpecroofError(f"accelerator file {label} lacks {', '.join(missing)}")
    values = {k: data[k] for k in _DATASHEET if k in data}
    values.setdefault("name", label)
    values.setdefault("display_name", values["name"])
    checked = check(schema(Accelerator), values, f"accelerator file {label}")  # the message names the file
    return Accelerator(**checked.model_dump())


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
    return _load(hardware, ())


def _load(hardware: "str | Path | Accelerator", chain: tuple[str, ...]) -> Accelerator:
    """``load_hardware``, remembering the files already followed through ``base`` links."""
    if isinstance(hardware, Accelerator):
        return hardware
    if looks_like_path(hardware, ".toml"):
        path = Path(hardware)
        if not path.exists():
            raise SpecroofError(f"hardware file not found: {path}")
        key = str(path.resolve())
        if key in chain:
            raise SpecroofError(f"hardware file {path}: its base chain comes back to itself "
                                f"({' -> '.join(Path(c).name for c in (*chain, key))}); "
                                "base must name a catalog device or another file")
        if len(chain) >= MAX_BASE_CHAIN:
            raise SpecroofError(f"hardware file {path}: more than {MAX_BASE_CHAIN} base links; "
                                "point base at a catalog device")
        return _from_file(_read_toml(path, str(path)), str(path), (*chain, key))
    if not isinstance(hardware, str):
        raise SpecroofError(f"hardware must be a name, a path or an Accelerator, got {type(hardware).__name__}")
    key = hardware.strip().lower()
    if key not in catalog_names():
        raise SpecroofError(
            f"unknown hardware {hardware!r}{suggest(key, catalog_names())}; "
            "run `specroof hardware` for the list, or pass a path to a .toml file"
        )
    return _catalog_entry(key)


def _from_file(data: dict[str, Any], label: str, chain: tuple[str, ...]) -> Accelerator:
    """A catalog-style file, or a calibrated profile (``base`` + overrides + ``[profile]``).

    The ``[profile]`` fields and ``profile_base`` are kept as written: implementation profiles
    live a floor above devices, and check them when a step is priced with this device.
    """
    meta = check(_file_schema(), data, f"hardware file {label}")
    if meta.base is not None:
        base = _load(meta.base, chain)
        merged = {k: getattr(base, k) for k in _DATASHEET}
        merged.update({k: v for k, v in data.items() if k in _DATASHEET})
        accel = _from_table(merged, label)
    else:
        accel = _from_table(data, label)
    return replace(accel, profile_base=meta.profile_base, profile_overrides=dict(meta.profile or {}),
                   calibrated_from=meta.calibrated_from or "", file=label)
