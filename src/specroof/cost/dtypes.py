"""Storage sizes of the dtypes specroof knows and which tensor-core rate a GEMM runs at."""

from __future__ import annotations

from specroof.errors import SpecroofError, suggest

BYTES: dict[str, float] = {
    "fp32": 4.0, "fp16": 2.0, "bf16": 2.0, "fp8": 1.0, "int8": 1.0, "int4": 0.5,
}
ACTIVATION_DTYPES = ("fp16", "bf16", "fp8", "fp32")
KV_DTYPES = ("fp16", "bf16", "fp8", "int8")


def check_dtype(dtype: str, allowed: tuple[str, ...] | None = None, what: str = "dtype") -> str:
    """Normalize and validate a dtype name; SpecroofError listing the valid ones."""
    key = str(dtype).strip().lower()
    valid = allowed or tuple(BYTES)
    if key not in valid:
        raise SpecroofError(f"unknown {what} {dtype!r}{suggest(key, valid)}; valid: {', '.join(valid)}")
    return key


def compute_dtype(weight_dtype: str, activation_dtype: str) -> str:
    """The tensor-core rate a GEMM of these operands runs at.

    Both operands in fp8 (or int8) run at the fp8 (int8) rate; weight-only quantization
    (int4/int8/fp8 weights with 16-bit activations) dequantizes to the activation type and
    runs at its rate, saving memory traffic but not compute.
    """
    if weight_dtype == activation_dtype and weight_dtype in ("fp8", "int8"):
        return weight_dtype
    if activation_dtype == "fp8":
        return "fp8"
    return activation_dtype


def kv_token_bytes(kv_heads: int, head_dim: int, kv_dtype: str) -> float:
    """Bytes one token adds to one layer's KV cache: a key and a value of ``head_dim`` for each
    of ``kv_heads`` heads. The one formula both the cache size (an attention operation's
    ``cache_bytes_per_token``) and the attention kernels' cache traffic read."""
    return 2.0 * kv_heads * head_dim * BYTES[kv_dtype]
