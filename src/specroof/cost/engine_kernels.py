"""Kernel parameters of the engine profiles fitted per (device, engine) to NVIDIA's measured
kernel database (aiconfigurator-core 0.12.0, Apache-2.0: data/kernels/NOTICE).

``engine_kernels.toml`` (shipped in the package) holds, per catalog device and engine, the
profile fields of the pricing functions in :mod:`specroof.cost.pricing` as fitted by
``tools/kernels/fit_physics.py --source db --write-profiles``: a ``bf16`` table (GEMMs,
attention, all-reduce, MoE at 16-bit weights) and one table per other weight precision
(``fp8``, ``fp8_block``, ``int8``, ``int4``, ``nvfp4``, ``mxfp4``) whose fields replace the 16-bit
ones for GEMMs and MoE layers of that precision (a tensor group's own format:
:mod:`specroof.cost.precision`). Nothing else reads the database at run time.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Any

from specroof.datafiles import read_toml

BASE_SECTION = "bf16"
META_KEYS = ("database_gpu", "tables", "caveat", "mape")

DATABASE_GPUS = {"h100_sxm": "h100-sxm", "h200_sxm": "h200", "b200_sxm": "b200", "a100_sxm": "a100-80gb-sxm",
                 "gb200": "gb200", "l40s": "l40s"}
"""NVIDIA's database GPU names -> specroof catalog names (the GPUs we fit and ship)."""


_SGLANG_MXFP4 = ("SGLang runs gpt-oss's MXFP4 experts with OpenAI's triton_kernels on Hopper (server_args.py, "
                 "moe_runner_backend triton_kernel at ep_size 1), the kernel vLLM's MXFP4 table times; the database "
                 "times only SGLang's fused_moe_triton path, which it does not serve MXFP4 with")

NOT_SERVED: dict[tuple[str, str], str] = {("w4a16_mxfp4", "sglang_fused_moe_triton"): _SGLANG_MXFP4}
"""(database dtype, kernel) rows timing a path the engine does not run that format on, and why:
the kernel fit leaves them out (:mod:`specroof.calibration.kernels.selection`), and
:data:`SAME_KERNEL_AS` says which measured kernel stands in."""

SAME_KERNEL_AS: dict[tuple[str, str, str], tuple[str, str]] = {
    (gpu, "sglang", "mxfp4"): ("vllm", _SGLANG_MXFP4) for gpu in ("h100-sxm", "h200")
}
"""(device, engine, precision) without a fitted table of its own -> (the engine whose fit of that
precision times the same kernel, why). Read by :func:`fitted_overrides`; the profile's caveat
says so."""


@lru_cache(maxsize=1)
def _data() -> dict[str, Any]:
    path = resources.files("specroof.cost") / "engine_kernels.toml"
    if not path.is_file():
        return {}
    return read_toml(path, "engine_kernels.toml")


def fitted_pairs() -> dict[str, list[str]]:
    """``{catalog device: [engines]}`` with shipped fitted kernels."""
    return {hw: sorted(e for e in engines if isinstance(engines[e], dict))
            for hw, engines in _data().items() if hw != "about"}


def fitted_section(hardware: str, engine: str) -> dict[str, Any] | None:
    entry = _data().get(hardware, {}).get(engine)
    return entry if isinstance(entry, dict) else None


def stand_in(hardware: str, engine: str, precision: str) -> tuple[dict[str, Any], str] | None:
    """(another engine's fitted ``precision`` table, the note saying so) where :data:`SAME_KERNEL_AS`
    stands in for a table ``engine`` lacks on ``hardware``; None otherwise."""
    borrowed = SAME_KERNEL_AS.get((hardware, engine, precision))
    entry, other = fitted_section(hardware, engine), fitted_section(hardware, borrowed[0]) if borrowed else None
    if borrowed is None or entry is None or precision in entry or not isinstance((other or {}).get(precision), dict):
        return None
    return other[precision], f"{precision} MoE kernels: {borrowed[0]}'s fit on this device ({borrowed[1]})"


def fitted_overrides(hardware: str, engine: str, precision: str) -> dict[str, Any]:
    """Profile fields for ``engine`` on catalog ``hardware`` at this weight precision ({} if none)."""
    entry = fitted_section(hardware, engine)
    if entry is None:
        return {}
    out: dict[str, Any] = {}
    borrowed = stand_in(hardware, engine, precision)
    for table in (entry.get(BASE_SECTION), borrowed[0] if borrowed else entry.get(precision)):
        if isinstance(table, dict):
            out.update({k: v for k, v in table.items() if k not in META_KEYS and not isinstance(v, dict)})
    # the fit replaces where the kernels come from, nothing else; a stand-in says whose kernels
    caveats = ([entry["caveat"]] if "caveat" in entry else []) + ([borrowed[1]] if borrowed else [])
    if caveats:
        out["kernels_caveat"] = "; ".join(caveats)
    return out
