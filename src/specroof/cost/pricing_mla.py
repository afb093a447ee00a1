"""Pricing of multi-head latent attention (MLA) and of DeepSeek sparse attention's indexer.

**Which path.** Engines run MLA two ways. The *absorbed* path folds ``W_UK`` into the query and
attends over the cached latent directly: one KV "head" of ``latent + rope`` elements shared by
all query heads, the output still in latent space until ``W_UV`` (the ``mla_bmm`` operations).
The *naive* path up-projects every context token's latent into per-head keys and values
(``kv_b_proj``) and runs ordinary multi-head attention. vLLM routes each request by its query
length: requests with at most ``reorder_batch_threshold`` new tokens take the decode (absorbed)
path, the rest the prefill (naive) path; its FlashMLA backend sets that threshold to 128
("process small prefills with decode pathway", ``vllm/v1/attention/backends/mla/flashmla.py``,
vLLM v1, 2025), and a backend that takes speculative tokens as decodes raises the default of 1
to ``1 + num_speculative_tokens`` (``_init_reorder_batch_threshold``,
``vllm/v1/attention/backend.py``), so verification is always absorbed. SGLang likewise runs decode, ``target_verify`` and
``draft_extend`` absorbed and only long extends through the naive ("MHA") path. So a step with
at most :data:`ABSORB_MAX_QUERIES` queries per sequence is absorbed, a longer one naive.

**Absorbed cost.** FlashMLA treats the ``queries x heads`` of a sequence as the rows of one
tile (``get_mla_metadata(seqlens, s_q * h_q // h_kv, h_kv)``) and pads them to
:data:`MLA_BLOCK_ROWS`: at 16 heads per GPU (128 heads over TP 8) four verified tokens cost the
compute of one. The cache is read once per sequence for all its heads and queries.

**DSA.** Each query attends to the ``index_topk`` tokens its indexer picked (all of them while
the context is shorter), gathered per query, so attention stops growing with the context; the
indexer itself scores every cached key in fp8 and keeps the top k (vLLM's DeepSeek-V3.2
indexer: fp8 keys with one fp32 scale per 128 elements, ``vllm/model_executor/models/deepseek_v2.py``).
"""

from __future__ import annotations

import numpy as np

from specroof.cost.dtypes import BYTES
from specroof.cost.opcost import OpCost
from specroof.cost.operation import IndexerShape, LatentAttentionShape
from specroof.cost.setup import DeviceSetup
from specroof.errors import SpecroofError

ABSORB_MAX_QUERIES = 128
"""Queries per sequence up to which engines take the absorbed (decode) path: vLLM FlashMLA's
``reorder_batch_threshold`` (see the module docstring)."""

MLA_BLOCK_ROWS = 64
"""Rows (queries x heads of one sequence) per FlashMLA tile on Hopper (``kBlockM = 64`` in
deepseek-ai/FlashMLA ``csrc``); fewer rows are padded to it."""

INDEXER_SCALE_BYTES = 4.0
"""One fp32 scale per indexer key of up to 128 elements (vLLM's fp8 indexer cache)."""

SCORE_BYTES = 4.0
"""Indexer logits are fp32; the top-k pass writes then reads them, and writes int32 indices."""


def absorbed_path(queries) -> np.ndarray:
    """True where a step of ``queries`` new tokens per sequence takes the absorbed path."""
    return np.asarray(queries, dtype=float) <= ABSORB_MAX_QUERIES


def latent_token_bytes(latent: int, rope: int, kv_dtype: str) -> float:
    """Bytes one token adds to one MLA layer's cache: the latent and the shared RoPE key, once
    for all heads (and on every tensor-parallel rank: engines do not split the latent)."""
    return float(latent + rope) * BYTES[kv_dtype]


def indexer_token_bytes(head_dim: int) -> float:
    """Bytes one token adds to one DSA layer's indexer cache: an fp8 key and its scale."""
    return float(head_dim) + INDEXER_SCALE_BYTES * np.ceil(head_dim / 128.0)


def _rates(setup: DeviceSetup) -> tuple[float, float]:
    """(tensor FLOP/s, bytes/s) the latent attention kernel reaches."""
    hw, prof = setup.hardware, setup.profile
    rate_dtype = setup.activation_dtype if setup.activation_dtype in ("fp16", "bf16") else setup.compute_dtype
    compute = prof.mla_compute_efficiency or prof.attention_compute_efficiency
    bandwidth = prof.mla_bandwidth_efficiency or prof.attention_bandwidth_efficiency or prof.bandwidth_efficiency
    return hw.peak_flops(rate_dtype) * compute, hw.memory_bandwidth * bandwidth


def _absorbed(a: LatentAttentionShape, setup: DeviceSetup) -> tuple[np.ndarray, ...]:
    """(flops, bytes, compute_s, memory_s) of the absorbed path: MQA over the latent."""
    b, n = np.asarray(a.batch, float), np.asarray(a.queries, float)
    keys = np.asarray(a.keys, float)
    token = latent_token_bytes(a.latent, a.rope, setup.kv_dtype)
    if a.topk:
        pairs = n * np.minimum(keys, a.topk)
        read = b * pairs * token  # each query gathers its own selection
    else:
        pairs = n * (keys - n) + n * (n + 1) / 2.0
        read = b * keys * token
    qk_width, pv_width = a.latent + a.rope, a.latent
    flops = 2.0 * b * a.q_heads * pairs * (qk_width + pv_width)
    rows = np.ceil(n * a.q_heads / MLA_BLOCK_ROWS) * MLA_BLOCK_ROWS
    computed = 2.0 * b * rows * (pairs / n) * (qk_width + pv_width)
    moved = read + b * n * token + b * n * a.q_heads * (qk_width + pv_width) * setup.activation_bytes
    flop_rate, byte_rate = _rates(setup)
    return flops, moved, computed / flop_rate, moved / byte_rate


def _naive(a: LatentAttentionShape, setup: DeviceSetup) -> tuple[np.ndarray, ...]:
    """(flops, bytes, compute_s, memory_s) of the naive path: multi-head attention over the
    per-head keys and values ``kv_b_proj`` wrote (bf16, qk ``nope + rope``, v ``v_dim``)."""
    b, n = np.asarray(a.batch, float), np.asarray(a.queries, float)
    keys = np.asarray(a.keys, float)
    pairs = n * (keys - n) + n * (n + 1) / 2.0
    qk_width = a.nope + a.rope
    flops = 2.0 * b * a.q_heads * pairs * (qk_width + a.v_dim)
    act = setup.activation_bytes
    moved = b * keys * a.q_heads * (qk_width + a.v_dim) * act + b * n * a.q_heads * (qk_width + a.v_dim) * act
    flop_rate, byte_rate = _rates(setup)
    return flops, moved, flops / flop_rate, moved / byte_rate


def price_latent_attention(a: LatentAttentionShape, setup: DeviceSetup) -> OpCost:
    """One MLA layer's attention: the absorbed path at up to :data:`ABSORB_MAX_QUERIES` queries per
    sequence (always under DSA, whose kernel is the absorbed one), else the naive path.

    t = mla_call_us + batch x (mla_seq_us + queries x heads x mla_row_us) + max(compute, memory)
    on the chosen path."""
    prof = setup.profile
    chosen = _absorbed(a, setup)
    if not a.topk:
        use = absorbed_path(a.queries)
        chosen = tuple(np.where(use, x, y) for x, y in zip(chosen, _naive(a, setup)))
    flops, moved, compute_s, memory_s = chosen
    rows = np.asarray(a.queries, float) * a.q_heads
    fixed = (prof.mla_call_us + np.asarray(a.batch, float) * (prof.mla_seq_us + rows * prof.mla_row_us)) * 1e-6
    return OpCost(flops, moved, fixed + np.maximum(compute_s, memory_s), 1.0, compute_s, memory_s)


def price_indexer(a: IndexerShape, setup: DeviceSetup) -> OpCost:
    """DSA's lightning indexer for one layer: fp8 scores of every query against every cached
    indexer key (``heads x head_dim`` each, at the fp8 rate where the device has one), then a
    top-k pass over the fp32 scores. Two kernels, plus the indexer's fixed ``dsa_indexer_us``
    (fitted to the measured DSA layers: the small kernels around the scores)."""
    hw, prof = setup.hardware, setup.profile
    b, n = np.asarray(a.batch, float), np.asarray(a.queries, float)
    keys = np.asarray(a.keys, float)
    flops = 2.0 * b * n * keys * a.heads * a.head_dim
    try:
        peak = hw.peak_flops("fp8")
    except SpecroofError:  # no fp8 tensor cores: the scores run at the 16-bit rate
        peak = hw.peak_flops(setup.activation_dtype if setup.activation_dtype in ("fp16", "bf16") else "fp16")
    compute_s = flops / (peak * (prof.mla_compute_efficiency or prof.attention_compute_efficiency))
    moved = b * keys * indexer_token_bytes(a.head_dim) + b * n * (3.0 * keys * SCORE_BYTES + a.topk * 4.0)
    memory_s = moved / (hw.memory_bandwidth * (prof.mla_bandwidth_efficiency or prof.bandwidth_efficiency))
    fixed_us = prof.dsa_indexer_us + prof.mla_call_us + b * prof.mla_seq_us
    return OpCost(flops, moved, fixed_us * 1e-6 + np.maximum(compute_s, memory_s), 2.0, compute_s, memory_s)
