"""Storage sizes of the dtypes specroof knows and which tensor-core rate a GEMM runs at.

Block-scaled weight formats store their scales next to the values, so their bytes per weight
include them (scales are weights too: the memory holds them and every GEMM reads them):

- ``fp8_block``: e4m3 values with one fp32 scale per 128 x 128 block (DeepSeek-V3's
  ``weight_block_size: [128, 128]``; the checkpoint stores ``weight_scale_inv`` as float32 of
  shape [ceil(out / 128), ceil(in / 128)]): 8 + 32 / 16384 bits per weight.
- ``mxfp4``: e2m1 values in blocks of 32 sharing one e8m0 scale (OCP Microscaling Formats
  spec v1.0; gpt-oss stores ``*_blocks`` and ``*_scales`` this way): 4 + 8 / 32 = 4.25 bits.
- ``nvfp4``: e2m1 values in blocks of 16 sharing one fp8 e4m3 scale, plus one fp32 global
  scale per tensor (NVIDIA's NVFP4, TensorRT Model Optimizer ``quant_algo: NVFP4``,
  ``group_size: 16``): 4 + 8 / 16 = 4.5 bits; the per-tensor fp32 adds 4 bytes per matrix,
  under a millionth of any LLM projection, and is left out.
"""

from __future__ import annotations

from specroof.errors import SpecroofError, suggest

FP8_BLOCK_VALUES = 128 * 128
"""Weights sharing one fp32 scale in DeepSeek's fp8 block format."""
MXFP4_BLOCK_VALUES = 32
"""Weights sharing one e8m0 scale in MXFP4 (OCP MX spec v1.0)."""
NVFP4_BLOCK_VALUES = 16
"""Weights sharing one e4m3 scale in NVFP4."""

BYTES: dict[str, float] = {
    "fp32": 4.0, "fp16": 2.0, "bf16": 2.0, "fp8": 1.0, "int8": 1.0, "int4": 0.5,
    "fp8_block": (8.0 + 32.0 / FP8_BLOCK_VALUES) / 8.0,
    "mxfp4": (4.0 + 8.0 / MXFP4_BLOCK_VALUES) / 8.0,
    "nvfp4": (4.0 + 8.0 / NVFP4_BLOCK_VALUES) / 8.0,
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


def format_compute_dtype(weight_dtype: str, activation_dtype: str, device_rates: tuple[str, ...]) -> str | None:
    """The tensor-core rate of a block-scaled format's GEMMs on a device with these peak rates
    (None for a format that is not block-scaled, or that the device cannot run).

    - ``fp8_block``: W8A8, the activations quantized per 1 x 128 group on the fly (vLLM's
      ``W8A8BlockFp8LinearOp``, SGLang's ``fp8_kernel.per_token_group_quant_fp8``, DeepGEMM);
      a device without fp8 tensor cores dequantizes the weights (vLLM's Marlin fp8 path, as
      for A100) and runs at the activations' rate.
    - ``mxfp4``: weights dequantized to the activations' type inside the kernel (W4A16: the
      database's ``w4a16_mxfp4`` MoE rows; vLLM's Marlin / triton_kernels MXFP4 MoE on Hopper
      and Ampere). Blackwell's W4A8 path (``w4a8_mxfp4_mxfp8``, TRT-LLM and FlashInfer) is
      measured too but is not the default of every engine, so it is not assumed.
    - ``nvfp4``: W4A4 on FP4 tensor cores (Blackwell only: CUTLASS / FlashInfer NVFP4 GEMMs in
      vLLM, SGLang and TRT-LLM), activations quantized to NVFP4 on the fly.
    """
    if weight_dtype == "fp8_block":
        return "fp8" if "fp8" in device_rates else activation_dtype
    if weight_dtype == "mxfp4":
        return activation_dtype
    if weight_dtype == "nvfp4":
        return "fp4" if "fp4" in device_rates else None
    return None


def quantized_activation_bytes(compute: str) -> float:
    """Bytes per activation element a quantize kernel writes before a low-precision GEMM
    (fp8: one byte; fp4: NVFP4's 4.5 bits, its scales included)."""
    return BYTES["nvfp4"] if compute == "fp4" else BYTES["fp8"]


def kv_token_bytes(kv_heads: int, head_dim: int, kv_dtype: str) -> float:
    """Bytes one token adds to one layer's KV cache: a key and a value of ``head_dim`` for each
    of ``kv_heads`` heads. The one formula both the cache size (an attention operation's
    ``cache_bytes_per_token``) and the attention kernels' cache traffic read."""
    return 2.0 * kv_heads * head_dim * BYTES[kv_dtype]
