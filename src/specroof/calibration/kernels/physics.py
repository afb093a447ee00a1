"""Measured kernel rows priced by the cost model's own pricing functions.

There is no second model here: :func:`predict` turns rows of the normalized schema
(:mod:`specroof.kernels.schema`) into :func:`specroof.kernel_latency` calls, which build the
shapes a step emits and price them with :mod:`specroof.cost.pricing`. The fitted parameters
are profile fields (:class:`specroof.cost.profile.ImplementationProfile`); which fields each
section fits, from where and within which physical bounds is :data:`FIT_FIELDS`.
``tools/kernels/fit_physics.py`` and ``specroof calibrate --kernels`` fit them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from specroof.calibration.kernels.mla_module import predict_module
from specroof.checks import specs
from specroof.cost.kernel_latency import kernel_latency
from specroof.cost.profile import ImplementationProfile, get_profile
from specroof.kernels.schema import ALLREDUCE

ENGINE_STRUCTURE: dict[str, Any] = {
    "gemm_tile_policy": "rows",
    "decode_attention_kernel": "paged",
    "tree_attention_kernel": "paged",
    "attention_causal": True,
    "moe_kernel": "fused",
}
"""The kernel physics every fitted engine profile uses (not fitted: the structure)."""

# section -> (kernel kind, kernel_latency dtype, engine-profile precision table)
SECTION_KIND: dict[str, tuple[str, str, str]] = {
    "gemm_bf16": ("gemm", "bf16", "bf16"),
    "gemm_fp8": ("gemm", "fp8", "fp8"),
    "gemm_fp8_block": ("gemm", "fp8_block", "fp8_block"),
    "gemm_int8_wo": ("gemm", "int8", "int8"),
    "gemm_int4_wo": ("gemm", "int4", "int4"),
    "decode_attention": ("decode_attention", "bf16", "bf16"),
    "context_attention": ("context_attention", "bf16", "bf16"),
    ALLREDUCE: (ALLREDUCE, "bf16", "bf16"),
    "moe_bf16": ("moe", "bf16", "bf16"),
    "moe_fp8": ("moe", "fp8", "fp8"),
    "moe_fp8_block": ("moe", "fp8_block", "fp8_block"),
    "recurrent_scan": ("recurrent_scan", "bf16", "bf16"),  # --- linear attention
    # --- precision: block-scaled 4-bit formats (specroof.cost.dtypes)
    "gemm_nvfp4": ("gemm", "nvfp4", "nvfp4"),
    "moe_nvfp4": ("moe", "nvfp4", "nvfp4"),
    "moe_mxfp4": ("moe", "mxfp4", "mxfp4"),
    "mla_decode": ("mla_decode", "bf16", "bf16"),  # --- MLA
    "dsa_module": ("dsa_module", "bf16", "bf16"),
}

# section -> {profile field: start}; the bounds are the field's declared ``kernel_fit``.
_GEMM = {"compute_efficiency": 0.7, "bandwidth_efficiency": 0.8, "gemm_fixed_us": 3.0, "gemm_overlap_q": 3.0}
_GEMM_W8A8 = {"compute_efficiency": 0.6, "bandwidth_efficiency": 0.8, "gemm_quantize_us": 3.0, "gemm_overlap_q": 3.0}
_MOE = {"moe_compute_efficiency": 0.5, "moe_bandwidth_efficiency": 0.8, "moe_fixed_us": 30.0}
_STARTS: dict[str, dict[str, float]] = {
    "gemm_bf16": _GEMM, "gemm_int8_wo": _GEMM, "gemm_int4_wo": _GEMM,
    "gemm_fp8": _GEMM_W8A8, "gemm_fp8_block": _GEMM_W8A8,
    "decode_attention": {"attention_call_us": 8.0, "attention_seq_us": 0.01, "attention_kv_head_us": 0.02,
                         "attention_q_head_us": 0.001, "attention_bandwidth_efficiency": 0.85},
    "context_attention": {"attention_prefill_call_us": 10.0, "attention_prefill_block_us": 2.0,
                          "attention_compute_efficiency": 0.5},
    "moe_bf16": _MOE, "moe_fp8": _MOE, "moe_fp8_block": _MOE,
    "recurrent_scan": {"linear_scan_call_us": 5.0, "linear_scan_chunk_call_us": 10.0, "linear_scan_chunk_step_us": 2.0,
                    "linear_scan_bandwidth_efficiency": 0.8, "linear_scan_chunk_bandwidth_efficiency": 0.5,
                    "linear_scan_compute_efficiency": 0.1},
    "gemm_nvfp4": _GEMM_W8A8, "moe_nvfp4": _MOE, "moe_mxfp4": _MOE,  # --- precision
    "mla_decode": {"mla_call_us": 8.0, "mla_seq_us": 0.05, "mla_row_us": 0.002, "mla_bandwidth_efficiency": 0.8,
                   "mla_compute_efficiency": 0.6},
    "dsa_module": {"dsa_indexer_us": 50.0},
}
_SPECS = specs(ImplementationProfile)
FIT_FIELDS: dict[str, dict[str, tuple[float, float, float]]] = {
    section: {name: (start, *_SPECS[name].kernel_fit) for name, start in starts.items()}  # type: ignore[misc]
    for section, starts in _STARTS.items()}
"""section -> {profile field: (start, lower bound, upper bound)}; all positive, fitted in log space."""

DISCRETE: dict[str, tuple[str, tuple[int, ...]]] = {
    "gemm": ("gemm_tiles", (1, 16, 64, 128)),
    "moe": ("moe_tile_m", (16, 64, 128)),
    "context_attention": ("attention_q_block", (16, 32, 64, 128)),
}
"""kind -> the discrete field searched on a grid: GEMM row padding (the first tile's rows), MoE tile."""

PRECISION_FIXED = {"fp8": {"gemm_w8a8": True}, "fp8_block": {"gemm_w8a8": True}}


def fit_profile(fields: dict[str, Any], base: str | ImplementationProfile = "serving") -> ImplementationProfile:
    """A profile with the engine structure and ``fields`` over ``base`` (engine name cleared, so
    shipped fits are not applied on top)."""
    values = dict(ENGINE_STRUCTURE, **fields)
    if isinstance(values.get("gemm_tiles"), (int, float)):
        values["gemm_tiles"] = [[int(values["gemm_tiles"]), 128]]
    return get_profile(base).with_overrides(engine="", **values)


def predict(section: str, fields: dict[str, Any] | str, rows: np.ndarray, hardware) -> np.ndarray:
    """Microseconds of each row under the profile ``fields`` describe (see :func:`fit_profile`),
    or, for a profile name (``"vllm"``), under that profile as a user gets it (the shipped
    fitted fields of the device, if any)."""
    kind, dtype, precision = SECTION_KIND[section]
    if isinstance(fields, str):
        prof = fields
    else:
        prof = fit_profile(dict(PRECISION_FIXED.get(precision, {}), **fields))
    if kind == "dsa_module":  # the whole layer through the builder, the shared GEMM and MLA fields held
        return predict_module(rows, hardware, prof, sparse=True)
    if kind == "gemm":
        return kernel_latency("gemm", hardware, profile=prof, dtype=dtype, m=rows["m"], n=rows["n"], k=rows["k"])
    if kind in ("decode_attention", "mla_decode"):
        out = np.empty(len(rows))
        for kv in np.unique(rows["kv_dtype"]):
            sel = rows["kv_dtype"] == kv
            r = rows[sel]
            heads = {"num_heads": r["num_heads"]} if kind == "mla_decode" else {
                "num_heads": r["num_heads"], "num_kv_heads": r["num_kv_heads"], "head_dim": r["head_dim"]}
            out[sel] = kernel_latency(kind, hardware, profile=prof, dtype=dtype, batch=r["batch"], kv_len=r["kv_len"],
                                      kv_dtype=str(kv), **heads)
        return out
    if kind == "context_attention":
        return kernel_latency(kind, hardware, profile=prof, dtype=dtype, batch=rows["batch"], seq_len=rows["seq_len"],
                              num_heads=rows["num_heads"], num_kv_heads=rows["num_kv_heads"],
                              head_dim=rows["head_dim"])
    if kind == "recurrent_scan":
        return linear_scan_rows(prof, rows, hardware)
    if kind == ALLREDUCE:
        return kernel_latency(kind, hardware, profile=prof, num_gpus=rows["num_gpus"],
                              message_bytes=rows["message_bytes"])
    out = np.empty(len(rows))
    for dist in np.unique(rows["distribution"]):
        sel = rows["distribution"] == dist
        r = rows[sel]
        out[sel] = kernel_latency("moe", hardware, profile=prof, dtype=dtype, num_tokens=r["num_tokens"],
                                  hidden_size=r["hidden"], intermediate_size=r["inter"], top_k=r["topk"],
                                  num_experts=r["num_experts"], distribution=str(dist))
    return out


LINEAR_STATE_DTYPE = "fp32"
"""The state dtype the measured GDN / KDA rows are priced at: the tables do not say it, and
aiconfigurator-core resolves it as SGLang does (``mamba_ssm_dtype`` from the config, else
float32: ``sdk/models/qwen35.py``); every Qwen3.5 config the GDN rows come from declares
float32."""


def linear_scan_rows(prof, rows: np.ndarray, hardware) -> np.ndarray:
    """--- linear attention: microseconds of measured scan rows (normalized GDN / KDA schema), per phase."""
    out = np.empty(len(rows))
    for phase in np.unique(rows["phase"]):
        sel = rows["phase"] == phase
        r = rows[sel]
        out[sel] = kernel_latency("recurrent_scan", hardware, profile=prof, batch=r["batch"], tokens=r["seq_len"],
                                  num_k_heads=r["num_k_heads"], head_k_dim=r["head_k_dim"],
                                  num_v_heads=r["num_v_heads"], head_v_dim=r["head_v_dim"], phase=str(phase),
                                  state_dtype=LINEAR_STATE_DTYPE)
    return out


def mape(pred, meas):
    """Mean absolute percentage error, percent."""
    pred, meas = np.asarray(pred, float), np.asarray(meas, float)
    return float(np.mean(np.abs(pred - meas) / meas) * 100.0)


# ---------------------------------------------------------------- model-free counts (measured facts)

GEMM_WEIGHT_BYTES = {"bf16": 2.0, "fp16": 2.0, "fp8": 1.0, "fp8_block": 1.0, "int8_wo": 1.0, "int4_wo": 0.5,
                     "nvfp4": 0.5625}
KV_BYTES = {"bf16": 2.0, "fp16": 2.0, "fp8": 1.0}


def gemm_flops(rows):
    return 2.0 * rows["m"].astype(float) * rows["n"] * rows["k"]


def gemm_bytes(rows, dtype):
    """Weights + bf16 activations in and out (what a weight-streaming GEMM must move)."""
    m, n, k = (rows[f].astype(float) for f in ("m", "n", "k"))
    return k * n * GEMM_WEIGHT_BYTES[dtype] + 2.0 * m * k + 2.0 * m * n


def kv_bytes(rows):
    kvb = np.array([KV_BYTES.get(str(d), 2.0) for d in rows["kv_dtype"]])
    return 2.0 * rows["batch"].astype(float) * rows["kv_len"] * rows["num_kv_heads"] * rows["head_dim"] * kvb
