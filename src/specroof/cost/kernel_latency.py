"""``specroof.kernel_latency``: the time of one kernel call, priced by the step's own functions.

Each kind builds the shape a step would emit and prices it with :func:`specroof.cost.pricing.price`
(the per-kernel gap included), so a GEMM here and the same GEMM in a step cost the same:

- ``gemm``: ``m, n, k`` -- [m x k] activations times [k x n] weights;
- ``decode_attention``: ``batch, kv_len, num_heads, num_kv_heads, head_dim`` (optional
  ``kv_dtype``): one new query per sequence over ``kv_len`` cached tokens (including it);
- ``context_attention``: ``batch, seq_len, num_heads, num_kv_heads, head_dim``: a prefill of
  ``seq_len`` tokens per sequence, no prefix;
- ``allreduce``: ``num_gpus, message_bytes``;
- ``mla_decode``: ``batch, kv_len, num_heads`` (optional ``kv_dtype``): the MLA attention kernel
  (absorbed path), one new query per sequence over ``kv_len`` cached latents of DeepSeek-V3's
  width (kv_lora_rank 512 + qk_rope_head_dim 64, value heads 128), ``num_heads`` heads on the GPU;
- ``moe``: ``num_tokens, hidden_size, intermediate_size, top_k, num_experts`` (optional
  ``distribution``: ``balanced`` or ``power_law_<a>``): one MoE layer's gate-up and down
  expert computation (the router GEMM is not included);
- ``recurrent_scan``: ``batch, tokens, num_k_heads, head_k_dim, num_v_heads, head_v_dim`` (optional
  ``phase``: ``generation``/``verify`` run the recurrent kernel, writing a state checkpoint per
  token past the first; ``context`` the chunked prefill; ``state_dtype``, default fp32): one
  linear-attention layer's scan (:mod:`specroof.cost.pricing_linear`).

Shape arguments broadcast as numpy arrays; the result is microseconds, one per point.
``dtype`` is the weight precision (``bf16``, ``fp16``, ``fp8``, ``fp8_block``, ``int8``,
``int4``, ``mxfp4``, ``nvfp4``: :mod:`specroof.cost.dtypes`); activations are 16-bit.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from specroof.cost.allreduce import check_domain
from specroof.cost.dtypes import BYTES, KV_DTYPES, check_dtype
from specroof.cost.finite import require_finite
from specroof.cost.operation import (
    AllreduceShape,
    AttentionShape,
    GemmShape,
    LatentAttentionShape,
    LinearScanShape,
    MoEShape,
    Operation,
    OpInfo,
)
from specroof.cost.precision import group_compute_dtype
from specroof.cost.pricing import price
from specroof.cost.profile import ImplementationProfile
from specroof.cost.profile_device import device_base, with_device_fields
from specroof.cost.routing import MoERouting
from specroof.cost.setup import DeviceSetup, engine_kernel_profile, gemm_compute_dtype
from specroof.errors import SpecroofError
from specroof.hardware.accelerator import Accelerator, load_hardware
from specroof.kernels.schema import ALLREDUCE

KINDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "gemm": (("m", "n", "k"), ()),
    "decode_attention": (("batch", "kv_len", "num_heads", "num_kv_heads", "head_dim"), ("kv_dtype",)),
    "context_attention": (("batch", "seq_len", "num_heads", "num_kv_heads", "head_dim"), ("kv_dtype",)),
    ALLREDUCE: (("num_gpus", "message_bytes"), ()),
    "mla_decode": (("batch", "kv_len", "num_heads"), ("kv_dtype",)),
    "moe": (("num_tokens", "hidden_size", "intermediate_size", "top_k", "num_experts"), ("distribution",)),
    "recurrent_scan": (("batch", "tokens", "num_k_heads", "head_k_dim", "num_v_heads", "head_v_dim"),
                    ("phase", "state_dtype")),
}
"""kind -> (required shape arguments, optional keyword arguments)."""

MAX_KERNEL_POINTS = 2_000_000
"""Most shape points one call prices: each carries a few dozen float intermediates (and an MoE
point one per expert), so the cap keeps a call within a few GiB."""

WEIGHT_DTYPES = ("bf16", "fp16", "fp8", "fp8_block", "int8", "int4", "mxfp4", "nvfp4")
DEEPSEEK_LATENT = (512, 64, 128, 128)
"""(kv_lora_rank, qk_rope_head_dim, qk_nope_head_dim, v_head_dim) of the MLA kernels NVIDIA's
database measures (DeepSeek-V3's; Kimi K2 has the same)."""
INTEGER_ARGS = ("num_heads", "num_kv_heads", "head_dim", "num_gpus", "top_k", "num_experts", "num_k_heads",
                "head_k_dim", "num_v_heads", "head_v_dim")


def kernel_setup(hardware: str | Accelerator, profile: str | ImplementationProfile | None = None,
                 dtype: str = "bf16", kv_dtype: str | None = None) -> DeviceSetup:
    """The DeviceSetup a kernel is priced under: device, profile (the engine's fitted kernels
    where shipped), weight precision; no model (kernel shapes are given explicitly)."""
    accel = load_hardware(hardware)
    variant = check_dtype(dtype, WEIGHT_DTYPES, "kernel dtype")
    weights = "fp8" if variant == "fp8_block" else variant
    act = "fp16" if weights == "fp16" else "bf16"
    kv = check_dtype(kv_dtype or act, KV_DTYPES, "KV-cache dtype")
    prof = with_device_fields(engine_kernel_profile(device_base(accel, profile), accel, weights, variant), accel,
                              profile)
    comp = group_compute_dtype(weights, act, accel, "the kernel", lambda d: gemm_compute_dtype(prof, d, act),
                               "--dtype")  # nvfp4 needs FP4 tensor cores
    return DeviceSetup(accel, prof, weights, act, kv, comp)


def _arrays(kind: str, shape: dict[str, Any]) -> dict[str, np.ndarray]:
    if kind not in KINDS:
        raise SpecroofError(f"unknown kernel kind {kind!r}; valid: {', '.join(KINDS)}")
    required, optional = KINDS[kind]
    missing = [a for a in required if shape.get(a) is None]
    unknown = sorted(set(shape) - set(required) - set(optional))
    if unknown:
        raise SpecroofError(f"{kind}: unknown argument(s) {', '.join(unknown)}; it takes {', '.join(required + optional)}")
    if missing:
        raise SpecroofError(f"{kind}: missing {', '.join(missing)} (it takes {', '.join(required + optional)})")
    try:
        values = [np.asarray(shape[a], dtype=float) for a in required]
    except (TypeError, ValueError, OverflowError):
        raise SpecroofError(f"{kind}: shape arguments must be numbers or arrays of numbers (each below 1e308)") from None
    try:
        values = np.broadcast_arrays(*values)
    except ValueError:
        raise SpecroofError(f"{kind}: shape arguments do not broadcast together: "
                            + ", ".join(f"{a} {np.shape(v)}" for a, v in zip(required, values))) from None
    out = dict(zip(required, values))
    size = int(next(iter(out.values())).size)
    if size > MAX_KERNEL_POINTS:
        raise SpecroofError(f"{kind}: {size:,} shape points, more than the {MAX_KERNEL_POINTS:,} computed at once; "
                            "split the call")
    for name, v in out.items():
        if not np.all(np.isfinite(v)) or np.any(v < 1):  # kv_len counts the new token itself
            raise SpecroofError(f"{kind}: {name} must be finite and >= 1")
        if name in INTEGER_ARGS and np.any(v != np.round(v)):
            raise SpecroofError(f"{kind}: {name} must be whole numbers")
    return out


def _scalars_each(arrays: dict[str, np.ndarray], names: tuple[str, ...]):
    """Index sets over which ``names`` (integers a shape class needs as scalars) are constant."""
    keys = np.stack([arrays[n].ravel() for n in names], axis=-1)
    uniq, inverse = np.unique(keys, axis=0, return_inverse=True)
    for i, values in enumerate(uniq):
        yield dict(zip(names, (int(v) for v in values))), inverse.ravel() == i


def kernel_latency(kind: str, hardware: str | Accelerator, *, profile: str | ImplementationProfile | None = None,
                   dtype: str = "bf16", **shape: Any) -> np.ndarray:
    """Microseconds of one call of a ``kind`` kernel (see :func:`_kernel_latency`), checked finite."""
    us = _kernel_latency(kind, hardware, profile=profile, dtype=dtype, **shape)
    require_finite(us, f"{kind} kernel latency (us)")
    return us


def _kernel_latency(kind: str, hardware: str | Accelerator, *, profile: str | ImplementationProfile | None = None,
                    dtype: str = "bf16", **shape: Any) -> np.ndarray:
    """Microseconds of one call of a ``kind`` kernel on ``hardware`` under ``profile``.

    Same pricing functions as a step (:mod:`specroof.cost.pricing`), the engine's fitted kernel
    parameters when ``profile`` is ``vllm``, ``sglang`` or ``trtllm`` on a device NVIDIA's
    database measured. Shape arguments broadcast; the result has their broadcast shape.
    """
    extra = {k: shape.pop(k) for k in ("kv_dtype", "distribution", "phase", "state_dtype") if k in shape}
    arrays = _arrays(kind, shape)
    if "kv_dtype" in extra and kind not in ("decode_attention", "context_attention", "mla_decode"):
        raise SpecroofError(f"{kind}: kv_dtype applies to attention kernels only")
    setup = kernel_setup(hardware, profile, dtype, extra.get("kv_dtype"))
    size = next(iter(arrays.values())).shape
    out = np.empty(size, dtype=float).ravel()
    if kind == "gemm":
        cost = price(_op(GemmShape(arrays["m"], arrays["n"], arrays["k"])), setup)
        return np.broadcast_to(cost.seconds * 1e6, size).astype(float)
    if kind in ("decode_attention", "context_attention"):
        heads = ("num_heads", "num_kv_heads", "head_dim")
        for ints, sel in _scalars_each(arrays, heads):
            if ints["num_heads"] % ints["num_kv_heads"]:
                raise SpecroofError(f"{kind}: num_heads must be a multiple of num_kv_heads")
            b = arrays["batch"].ravel()[sel]
            if kind == "decode_attention":
                a = AttentionShape(b, np.ones_like(b), arrays["kv_len"].ravel()[sel], ints["num_heads"],
                                   ints["num_kv_heads"], ints["head_dim"])
            else:
                s_len = arrays["seq_len"].ravel()[sel]
                a = AttentionShape(b, s_len, s_len, ints["num_heads"], ints["num_kv_heads"], ints["head_dim"])
            out[sel] = price(_op(a), setup).seconds * 1e6
        return out.reshape(size)
    if kind == "recurrent_scan":  # --- linear attention
        return linear_scan_us(arrays, setup, str(extra.get("phase", "generation")), extra.get("state_dtype", "fp32"))
    if kind == "mla_decode":
        return _mla_decode_us(arrays, setup, out, size)
    if kind == ALLREDUCE:
        for ints, sel in _scalars_each(arrays, ("num_gpus",)):
            if ints["num_gpus"] < 2:
                raise SpecroofError("allreduce: num_gpus must be >= 2")
            check_domain(ints["num_gpus"], setup.hardware, "allreduce: num_gpus, all-reduce over")
            elements = arrays["message_bytes"].ravel()[sel] / setup.activation_bytes
            out[sel] = price(_op(AllreduceShape(elements, ints["num_gpus"])), setup).seconds * 1e6
        return out.reshape(size)
    routing = extra.get("distribution")
    if routing is not None:
        setup = replace(setup, routing=MoERouting.of(str(routing)))
    for ints, sel in _scalars_each(arrays, ("top_k", "num_experts")):
        if ints["top_k"] > ints["num_experts"]:
            raise SpecroofError("moe: top_k must be <= num_experts")
        t = arrays["num_tokens"].ravel()[sel]
        h, i = arrays["hidden_size"].ravel()[sel], arrays["intermediate_size"].ravel()[sel]
        gate_up = price(_op(MoEShape(t, ints["num_experts"], ints["top_k"], 2 * i, h)), setup)
        down = price(_op(MoEShape(t, ints["num_experts"], ints["top_k"], h, i)), setup)
        out[sel] = (gate_up.seconds + down.seconds) * 1e6
    return out.reshape(size)


def _mla_decode_us(arrays: dict[str, np.ndarray], setup: DeviceSetup, out: np.ndarray, size: tuple) -> np.ndarray:
    """Microseconds of the absorbed MLA decode kernel (one query per sequence, DeepSeek-V3's latent)."""
    for ints, sel in _scalars_each(arrays, ("num_heads",)):
        b = arrays["batch"].ravel()[sel]
        a = LatentAttentionShape(b, np.ones_like(b), arrays["kv_len"].ravel()[sel], ints["num_heads"], *DEEPSEEK_LATENT)
        out[sel] = price(_op(a), setup).seconds * 1e6
    return out.reshape(size)


def linear_scan_us(arrays: dict[str, np.ndarray], setup: DeviceSetup, phase: str, state_dtype: str) -> np.ndarray:
    """Microseconds of one linear-attention scan per shape point (see the module docstring)."""
    if phase not in ("context", "generation", "verify"):
        raise SpecroofError(f"recurrent_scan: phase must be context, generation or verify, got {phase!r}")
    state_bytes = BYTES[check_dtype(state_dtype, ("fp32", "bf16", "fp16"), "recurrent_scan state dtype")]
    size = arrays["batch"].shape
    out = np.empty(size, dtype=float).ravel()
    for ints, sel in _scalars_each(arrays, ("num_k_heads", "head_k_dim", "num_v_heads", "head_v_dim")):
        b, n = arrays["batch"].ravel()[sel], arrays["tokens"].ravel()[sel]
        chunked = phase == "context"
        shape = LinearScanShape(b, n, ints["num_v_heads"], ints["head_k_dim"], ints["head_v_dim"], state_bytes,
                                key_heads=ints["num_k_heads"], chunked=chunked,
                                checkpoints=0.0 if chunked else n - 1.0)
        out[sel] = price(_op(shape), setup).seconds * 1e6
    return out.reshape(size)


def _op(shape):
    return Operation(_KERNEL_INFO, shape)


_KERNEL_INFO = OpInfo("kernel", "kernel", "#000000", "o", "one kernel call (specroof.kernel_latency)")
"""Not a step operation (not in the REGISTRY): it only carries a shape to the pricing."""
