"""The normalized schema of measured kernel tables, shared by the database and the extract.

Every family is a numpy structured array with these fields, whatever engine or version the rows
came from. Times are microseconds (the database stores milliseconds); sizes are counts or
bytes as the field name says. ``kernel`` is the database's ``kernel_source`` string.

- gemm: ``C[m, n] = A[m, k] @ W[k, n]``; ``m`` is the token count, ``dtype`` the GEMM
  precision (``bf16``, ``fp8`` per-tensor, ``fp8_block``, ``nvfp4``, ``int8_wo``/``int4_wo``
  weight-only with bf16 activations, ``sq`` SmoothQuant int8).
- decode_attention: one new query token per sequence attending over ``kv_len`` cached tokens
  (the database's ``isl + step``); ``window`` 0 means full attention.
- context_attention: prefill of ``seq_len`` new tokens per sequence after ``prefix`` cached ones
  (always 0 in this database), causal.
- allreduce: an all-reduce of ``message_bytes`` per GPU (the database stores an element count;
  bytes = count x dtype size) across ``num_gpus`` GPUs. ``kind`` names the implementation:
  ``vllm_graph``/``vllm_eager``, ``sglang_graph``/``sglang_eager``, ``trtllm``, ``nccl``.
- moe: one fused MoE layer (routing, permute, expert GEMMs, un-permute) on one GPU, for
  ``num_tokens`` tokens, ``num_experts`` experts of width ``inter``, ``topk`` routed each;
  ``tp``/``ep`` are the MoE tensor/expert parallel sizes the shard was priced for, and
  ``distribution`` the routing (``balanced``, ``power_law_1.01``, ``power_law_1.2``).
- a2a: one expert-parallel all-to-all call (``phase`` dispatch or combine, ``mode``
  ``low_latency`` or ``normal``) over ``ranks`` GPUs, each rank sending ``num_tokens`` tokens of
  ``hidden`` values to ``topk`` of ``num_experts`` experts (16-bit activations).
- mla_decode: the MLA attention kernel alone (absorbed path), one new query per sequence over
  ``kv_len`` cached latents (``isl + step``) for ``num_heads`` query heads on the GPU, with
  DeepSeek-V3's latent (kv_lora_rank 512 + qk_rope_head_dim 64).
- mla_module: DeepSeek-V3's whole MLA attention layer on one GPU (projections, latent attention,
  o_proj) for one new token per sequence, ``num_heads`` heads on the GPU, GEMMs in ``dtype``;
  dsa_module: the same for DeepSeek-V3.2's sparse-attention layer (indexer included).
- mla_bmm: the absorbed path's per-head batched GEMMs, ``num_heads`` x [num_tokens, 128] x
  [128, 512] (``op`` = ``pre``: W_UK folded into the query) or x [512, 128] (``post``: W_UV).
"""

from __future__ import annotations

import numpy as np

# The family names (one home each; specroof.cost.operation has its own operation names).
MLA_BMM = "mla_bmm"
"""The family (and the database's directory) of MLA's per-head batched GEMMs: the cost model's
operation of the same name is another vocabulary (cost/operation.py), so the family is spelled here once."""
GEMM, DECODE_ATTENTION, CONTEXT_ATTENTION, ALLREDUCE, MOE = (
    "gemm", "decode_attention", "context_attention", "allreduce", "moe")

FAMILIES: dict[str, list[tuple[str, str]]] = {
    GEMM: [
        ("kernel", "U128"), ("dtype", "U16"),
        ("m", "i8"), ("n", "i8"), ("k", "i8"),
        ("latency_us", "f8"),
    ],
    DECODE_ATTENTION: [
        ("kernel", "U128"), ("batch", "i8"), ("kv_len", "i8"),
        ("num_heads", "i8"), ("num_kv_heads", "i8"), ("head_dim", "i8"),
        ("kv_dtype", "U16"), ("window", "i8"),
        ("latency_us", "f8"),
    ],
    CONTEXT_ATTENTION: [
        ("kernel", "U128"), ("batch", "i8"), ("seq_len", "i8"), ("prefix", "i8"),
        ("num_heads", "i8"), ("num_kv_heads", "i8"), ("head_dim", "i8"),
        ("kv_dtype", "U16"), ("window", "i8"),
        ("latency_us", "f8"),
    ],
    ALLREDUCE: [
        ("kind", "U32"), ("kernel", "U128"), ("dtype", "U16"),
        ("num_gpus", "i8"), ("message_bytes", "i8"),
        ("latency_us", "f8"),
    ],
    # --- MLA (the database's mla/<engine>/<version>/generation_mla_perf.parquet)
    "mla_decode": [
        ("kernel", "U128"), ("batch", "i8"), ("kv_len", "i8"), ("num_heads", "i8"),
        ("kv_dtype", "U16"), ("latency_us", "f8"),
    ],
    "mla_module": [
        ("kernel", "U128"), ("dtype", "U16"), ("batch", "i8"), ("kv_len", "i8"), ("num_heads", "i8"),
        ("kv_dtype", "U16"), ("latency_us", "f8"),
    ],
    MLA_BMM: [
        ("kernel", "U128"), ("op", "U8"), ("dtype", "U16"), ("num_tokens", "i8"), ("num_heads", "i8"),
        ("latency_us", "f8"),
    ],
    "dsa_module": [
        ("kernel", "U128"), ("dtype", "U16"), ("batch", "i8"), ("kv_len", "i8"), ("num_heads", "i8"),
        ("kv_dtype", "U16"), ("latency_us", "f8"),
    ],
    "moe": [
        ("kernel", "U128"), ("dtype", "U16"),
        ("num_tokens", "i8"), ("hidden", "i8"), ("inter", "i8"),
        ("topk", "i8"), ("num_experts", "i8"), ("tp", "i8"), ("ep", "i8"),
        ("distribution", "U24"),
        ("latency_us", "f8"),
    ],
    # --- parallel: MoE layers sharded by expert parallelism (ep > 1 rows of the moe tables, with the
    # ep = 1 row of each shape) and the expert-parallel all-to-all (kernels/a2a_tables.py)
    "moe_ep": [
        ("kernel", "U128"), ("dtype", "U16"),
        ("num_tokens", "i8"), ("hidden", "i8"), ("inter", "i8"),
        ("topk", "i8"), ("num_experts", "i8"), ("tp", "i8"), ("ep", "i8"),
        ("distribution", "U24"),
        ("latency_us", "f8"),
    ],
    "a2a": [
        ("kernel", "U32"), ("mode", "U16"), ("phase", "U16"), ("ranks", "i8"),
        ("hidden", "i8"), ("topk", "i8"), ("num_experts", "i8"), ("num_tokens", "i8"),
        ("latency_us", "f8"),
    ],
}

# --- linear attention: the Gated DeltaNet, KDA and Mamba-2 tables share one schema. ``phase``:
# ``context`` (a prefill of ``seq_len`` tokens per sequence from an empty state), ``generation``
# (one token), ``verify`` (``seq_len`` speculative tokens per sequence); ``kernel`` names the scan
# or the short convolution. Mamba-2 rows: num_k_heads = n_groups, head_k_dim = d_state,
# num_v_heads = nheads, head_v_dim = head_dim.
GDN, KDA, MAMBA2 = "gdn", "kda", "mamba2"
LINEAR_FAMILIES = (GDN, KDA, MAMBA2)
_LINEAR_COLUMNS = [
    ("kernel", "U128"), ("phase", "U16"), ("batch", "i8"), ("seq_len", "i8"), ("num_tokens", "i8"),
    ("d_model", "i8"), ("num_k_heads", "i8"), ("head_k_dim", "i8"), ("num_v_heads", "i8"), ("head_v_dim", "i8"),
    ("d_conv", "i8"), ("latency_us", "f8"),
]
FAMILIES.update({family: list(_LINEAR_COLUMNS) for family in LINEAR_FAMILIES})

BACKENDS = ("trtllm", "vllm", "sglang")
"""The kernel database's own backend folders (aiconfigurator-core's names: ``<gpu>/<backend>/<version>``).

A vocabulary of the database, not of specroof's engines: the engines a plan is exported to are
:data:`specroof.speculation.engines.ENGINES`, each naming its database backend, if any, as
``Engine.kernel_backend`` (tests/test_engines.py checks every one is listed here)."""

# Database spellings of precisions -> ours (catalog peak_tflops keys where one exists).
DTYPE_NAMES = {"bfloat16": "bf16", "float16": "fp16", "half": "fp16", "float8": "fp8", "int8": "int8"}

DTYPE_BYTES = {"bf16": 2, "fp16": 2, "fp8": 1, "int8": 1, "fp32": 4}


def normalize_dtype(name: str) -> str:
    return DTYPE_NAMES.get(str(name), str(name))


def dtype_of(family: str) -> np.dtype:
    return np.dtype(FAMILIES[family])


def empty(family: str) -> np.ndarray:
    return np.zeros(0, dtype=dtype_of(family))


def from_columns(family: str, columns: dict[str, object]) -> np.ndarray:
    """A structured array of ``family`` from a dict of equal-length columns (any sequence type).

    A plain structured ndarray, not a recarray: index fields as ``rows["dtype"]`` (on a recarray
    ``rows.dtype`` would be numpy's dtype, not the field).
    """
    dt = dtype_of(family)
    out = np.zeros(len(np.asarray(columns[dt.names[0]])), dtype=dt)
    for name in dt.names:
        out[name] = np.asarray(columns[name]).astype(dt[name])
    return out
