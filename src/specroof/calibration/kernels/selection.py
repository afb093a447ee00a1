"""Which measured rows each fitted section covers, shared by the fitter, the memo and the tests.

A *section* is one kernel family at one precision, e.g. ``gemm_bf16`` or ``moe_fp8``; its
selection picks the rows that matter for LLM inference, and :func:`predict` prices them with
the cost model's pricing functions (:mod:`specroof.calibration.kernels.physics`).
"""

from __future__ import annotations

import numpy as np

from specroof.calibration.kernels import physics as ph
from specroof.cost.engine_kernels import NOT_SERVED
from specroof.kernels.schema import ALLREDUCE

LLM_WIDTH = (2048, 28672)  # n and k of LLM projections
MAX_M = 8192
ALLREDUCE_KINDS = ("vllm_graph", "sglang_graph", "trtllm")  # what a CUDA-graph serving step calls


def select_gemm(a, dtype):
    return a[(a["dtype"] == dtype) & (a["m"] <= MAX_M) & (a["n"] >= LLM_WIDTH[0]) & (a["n"] <= LLM_WIDTH[1])
             & (a["k"] >= LLM_WIDTH[0]) & (a["k"] <= LLM_WIDTH[1])]


def select_decode(a):
    return a[(a["head_dim"] == 128) & (a["kv_dtype"] == "bf16") & (a["window"] == 0)]


def select_context(a):
    return a[(a["head_dim"] == 128) & (a["kv_dtype"] == "bf16") & (a["window"] == 0) & (a["prefix"] == 0)]


def select_allreduce(a):
    """2-8 GPUs, one implementation: the CUDA-graph custom all-reduce (trtllm: its own kernel)."""
    a = a[(a["num_gpus"] >= 2) & (a["num_gpus"] <= 8)]
    kinds = [k for k in ALLREDUCE_KINDS if np.any(a["kind"] == k)]
    return a[a["kind"] == kinds[0]] if kinds else a


def select_moe(a, dtype):
    """Single-GPU layers (moe_tp_size = moe_ep_size = 1): the sharded rows' semantics are not verified."""
    return a[(a["dtype"] == dtype) & (a["num_tokens"] <= MAX_M) & (a["tp"] == 1) & (a["ep"] == 1)]


def select_linear_scan(a):
    """--- linear attention: the scan kernels (the short convolution is priced as elementwise work)."""
    return a[~np.char.startswith(a["kernel"].astype(str), "causal_conv1d")]


def one_gated_kernel(a):
    """The rows of the most common kernel among the gated ones. The 4-bit MoE tables mix an
    engine's paths (TRT-LLM's CUTLASS, min-latency and non-gated MLP kernels; vLLM's FlashInfer
    TRT-LLM and Marlin experts): a non-gated MLP has other shapes than the gated MLP the
    pricing assumes, and one set of efficiencies can follow one kernel. The most measured one
    is the engine's default path in every table read (e.g. vLLM's FlashInfer TRT-LLM NVFP4
    experts on B200, its OpenAI Triton MXFP4 experts on H200)."""
    a = a[np.char.find(a["kernel"].astype(str), "nongated") < 0]
    if len(a) == 0:
        return a
    kernels, counts = np.unique(a["kernel"], return_counts=True)
    return a[a["kernel"] == kernels[np.argmax(counts)]]


def select_mla_decode(a):
    """bf16 latent caches (fp8 caches run another kernel variant, kept in the extract only)."""
    return a[a["kv_dtype"] == "bf16"]


def select_dsa_module(a):
    """DeepSeek-V3.2 layers with bf16 GEMMs and cache (the GEMM fields held are the bf16 ones)."""
    return a[(a["dtype"] == "bf16") & (a["kv_dtype"] == "bf16")]


ONE_KERNEL_DTYPES = ("nvfp4", "w4a16_mxfp4")
"""Block-scaled 4-bit sections (cost/precision) fitted to one kernel of the table (:func:`one_gated_kernel`)."""

GEMM_DTYPES = ("bf16", "fp8", "fp8_block", "int8_wo", "int4_wo", "nvfp4")
MOE_DTYPES = ("bf16", "fp8", "fp8_block", "nvfp4")

# section name -> (family, dtype or variant)
SECTIONS: dict[str, tuple[str, str | None]] = {
    **{f"gemm_{d}": ("gemm", d) for d in GEMM_DTYPES},
    "decode_attention": ("decode_attention", None),
    "context_attention": ("context_attention", None),
    ALLREDUCE: (ALLREDUCE, None),
    **{f"moe_{d}": ("moe", d) for d in MOE_DTYPES},
    "recurrent_scan": ("gdn", None),  # fitted on Gated DeltaNet; KDA rows are scored with those fields
    "moe_mxfp4": ("moe", "w4a16_mxfp4"),  # the database's MXFP4 experts with 16-bit activations
    "mla_decode": ("mla_decode", None),
    "dsa_module": ("dsa_module", None),
}


def select(section, rows):
    family, dtype = SECTIONS[section]
    if family == "gemm":
        return select_gemm(rows, dtype)
    if family == "moe":
        rows = select_moe(rows, dtype)
        served = np.array([(dtype, str(k)) not in NOT_SERVED for k in rows["kernel"]], dtype=bool)
        rows = rows[served] if len(rows) else rows
        return one_gated_kernel(rows) if dtype in ONE_KERNEL_DTYPES else rows
    return {"decode_attention": select_decode, "context_attention": select_context,
            ALLREDUCE: select_allreduce, "gdn": select_linear_scan, "kda": select_linear_scan,
            "mla_decode": select_mla_decode, "dsa_module": select_dsa_module}[family](rows)


def predict(section, fields, rows, hardware):
    """The rows priced by the cost model under profile ``fields`` (:func:`physics.predict`)."""
    return ph.predict(section, fields, rows, hardware)
