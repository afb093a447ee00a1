"""The shipped all-to-all kernel fits (``a2a_kernels.toml``, made by
``tools/kernels/fit_parallel.py fit``), read once; priced by :mod:`specroof.cost.pricing_comm`."""

from __future__ import annotations

import warnings
from functools import lru_cache
from importlib import resources
from typing import Any

from specroof.datafiles import read_toml
from specroof.errors import SpecroofWarning


@lru_cache(maxsize=1)
def a2a_fits() -> dict[str, Any]:
    """``{device: {engine: {mode: {phase: [floor_us, gbps]}}}}`` shipped in a2a_kernels.toml."""
    path = resources.files("specroof.cost") / "a2a_kernels.toml"
    if not path.is_file():
        return {}
    return {k: v for k, v in read_toml(path, "a2a_kernels.toml").items() if k != "about"}


def warn_unmeasured(device: str, engine: str, a2a: bool) -> None:
    """One warning when an engine profile's all-to-all has no measured kernels on ``device``
    (it is then priced from the datasheet link); nothing for a profile without an engine (its
    kernels are priors anyway, as its caveat says) or a layout with no all-to-all."""
    if not a2a or not engine or engine in a2a_fits().get(device, {}):
        return
    measured = ", ".join(sorted(a2a_fits()))
    warnings.warn(SpecroofWarning(
        f"the expert-parallel all-to-all has no measured {engine} kernels on {device} (measured: {measured}); "
        "priced from the datasheet interconnect (allreduce_latency_us + bytes at interconnect_efficiency)"),
        stacklevel=4)
