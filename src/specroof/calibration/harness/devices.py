"""Torch, devices and dtypes for the measurement harness: what to run on, and how it is named.

torch is imported only inside functions (:func:`import_torch`), so importing this module is cheap.
"""

from __future__ import annotations

import os
import platform
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from specroof.errors import SpecroofError
from specroof.models.architecture import ModelConfig

DTYPE_ALIASES = {
    "fp16": "fp16", "float16": "fp16", "half": "fp16",
    "bf16": "bf16", "bfloat16": "bf16",
    "fp32": "fp32", "float32": "fp32", "float": "fp32",
}
TORCH_DTYPE = {"fp16": "float16", "bf16": "bfloat16", "fp32": "float32"}
CUDA_RESERVE_BYTES = 1.5 * 2**30
"""Bytes the CUDA context, cuBLAS workspaces and allocator fragmentation take outside our tensors."""


def normalize_dtype(dtype: str | None, device: str) -> str:
    """``fp16``/``bf16``/``fp32`` (aliases accepted); None picks fp16 on CUDA, fp32 on CPU."""
    if dtype is None:
        return "fp32" if device.startswith("cpu") else "fp16"
    key = str(dtype).strip().lower()
    if key not in DTYPE_ALIASES:
        raise SpecroofError(f"--dtype must be one of fp16, bf16, fp32; got {dtype!r}")
    return DTYPE_ALIASES[key]


def hardware_slug(device_name: str) -> str:
    """A catalog-style name from a device name: 'NVIDIA H200' -> 'h200'."""
    slug = re.sub(r"[^a-z0-9]+", "-", device_name.lower()).strip("-")
    slug = re.sub(r"^nvidia-", "", slug)
    return slug or "unknown"


def as_int_list(values: int | Iterable[int], what: str) -> list[int]:
    items = [values] if isinstance(values, int) else list(values)
    out: list[int] = []
    for v in items:
        if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
            raise SpecroofError(f"{what} values must be positive integers, got {v!r}")
        if v not in out:
            out.append(v)
    if not out:
        raise SpecroofError(f"{what} needs at least one value")
    return out


def import_torch() -> Any:
    try:
        import torch
    except ImportError:
        raise SpecroofError("specroof measure needs torch: pip install 'specroof[measure]'") from None
    return torch


def resolve_device(torch: Any, device: str) -> Any:
    key = str(device).strip().lower()
    if key == "cpu":
        return torch.device("cpu")
    if key == "cuda" or re.fullmatch(r"cuda:\d+", key):
        if not torch.cuda.is_available():
            why = " (this torch is a CPU-only build)" if torch.version.cuda is None else ""
            raise SpecroofError(
                f"--device {device}: no CUDA device is available to torch {torch.__version__}{why}; "
                "use --device cpu to measure on the CPU"
            )
        dev = torch.device(key)
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise SpecroofError(
                f"--device {device}: only {torch.cuda.device_count()} CUDA device(s) visible"
            )
        return torch.device("cuda", dev.index if dev.index is not None else torch.cuda.current_device())
    raise SpecroofError(f"--device must be cuda, cuda:N or cpu, got {device!r}")


def check_device(device: str) -> str:
    """Raise SpecroofError unless torch is installed and ``device`` is usable; return its name."""
    torch = import_torch()
    dev = resolve_device(torch, device)
    return device_name(torch, dev)


def default_memory_limit(torch: Any, dev: Any) -> float | None:
    """Bytes we may allocate: free GPU memory less a reserve, or 70% of the host's RAM."""
    if dev.type == "cuda":
        free, _total = torch.cuda.mem_get_info(dev)
        return max(free * 0.97 - CUDA_RESERVE_BYTES, 0.0)
    try:
        return 0.7 * os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def device_name(torch: Any, dev: Any) -> str:
    if dev.type == "cuda":
        return str(torch.cuda.getdevice_name(dev))
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "cpu"


def sdpa_has_enable_gqa(torch: Any) -> bool:
    f = torch.nn.functional
    q = torch.zeros(1, 2, 1, 4)
    k = torch.zeros(1, 1, 1, 4)
    try:
        f.scaled_dot_product_attention(q, k, k, enable_gqa=True)
    except TypeError:
        return False
    return True


def gqa_mode(torch: Any, model: ModelConfig, gqa: str) -> str:
    if model.num_kv_heads == model.num_heads:
        return "mha"
    if gqa == "repeat":
        return "repeat_interleave"
    has = sdpa_has_enable_gqa(torch)
    if gqa == "enable_gqa" and not has:
        raise SpecroofError(f"torch {torch.__version__} has no enable_gqa in scaled_dot_product_attention")
    if gqa == "auto":
        # As Hugging Face transformers does: enable_gqa only without a mask (a masked
        # enable_gqa call falls back to SDPA's unfused math kernel), repeat_interleave with one.
        return "mask_aware" if has else "repeat_interleave"
    return "enable_gqa"


