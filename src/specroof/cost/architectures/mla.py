"""Multi-head latent attention (DeepSeek-V2/V3/R1, Kimi K2): the attention block of an MLA layer.

Per layer, with hidden ``h``, ``H`` query heads on one device (heads split over tensor
parallelism), latent ``L = kv_lora_rank``, shared RoPE key ``R = qk_rope_head_dim``, per-head
key part ``N = qk_nope_head_dim`` and value ``V = v_head_dim``::

    q_a_proj       [T, h] x [h, q_lora_rank]        replicated on every rank (absent when q_lora_rank = 0)
    q_proj         [T, q_lora_rank or h] x [.., H (N + R)]
    kv_a_proj      [T, h] x [h, L + R]              replicated; with q_a_proj one GEMM under fuse_qkv
                                                    (vLLM's fused_qkv_a_proj)
    mla_bmm        absorbed path: q_nope x W_UK [H: T x N x L], then out x W_UV [H: T x L x V]
    kv_b_proj      naive path: every context token's latent x [L, H (N + V)]
    mla_attention  absorbed: MQA over the latent (qk L + R, v L); naive: MHA (qk N + R, v V)
    o_proj         [T, H V] x [H V, h]

The cache holds ``L + R`` elements per token and layer, for all heads at once, and every
tensor-parallel rank holds all of it (vLLM and SGLang replicate the latent; only heads split).
A step with few queries per sequence (decode, verification) runs the absorbed path, a long
prefill the naive one (:func:`specroof.cost.pricing_mla.absorbed_path`, with its sources): the
choice is per grid point, so the two paths' operations carry counts of 0 or ``layers``.
DeepSeek sparse attention adds the indexer (:mod:`.dsa`).
"""

from __future__ import annotations

import numpy as np

from specroof.cost.architectures.dsa import indexer_operations
from specroof.cost.grid import Grid
from specroof.cost.operation import (
    KV_A_PROJ,
    KV_B_PROJ,
    MLA_ATTENTION,
    MLA_BMM,
    O_PROJ,
    Q_A_PROJ,
    Q_PROJ,
    ArrayLike,
    GemmShape,
    LatentAttentionShape,
    Operation,
    operation,
)
from specroof.cost.pricing_mla import absorbed_path, latent_token_bytes
from specroof.cost.setup import StepSetup


def mla_attention_operations(setup: StepSetup, grid: Grid, tokens: ArrayLike, num_layers: int) -> list[Operation]:
    """The attention block of ``num_layers`` MLA layers (DSA's indexer included when the model has one)."""
    m = setup.model
    ops = latent_projections(setup, tokens, num_layers)
    if m.is_dsa:
        ops += indexer_operations(setup, grid, tokens, num_layers)
    ops += latent_core(setup, grid, tokens, num_layers)
    heads, layers = setup.q_heads, float(num_layers)
    o_in = heads * m.v_head_dim
    ops.append(operation(O_PROJ, GemmShape(tokens, m.hidden_size, o_in), layers,
                         o_in * m.hidden_size * setup.weight_bytes * num_layers))
    return ops


def latent_projections(setup: StepSetup, tokens: ArrayLike, num_layers: int) -> list[Operation]:
    """q_a_proj and kv_a_proj (replicated on every rank, fused under ``fuse_qkv``), then q_proj."""
    m, act = setup.model, setup.activation_bytes
    h, layers, wb = m.hidden_size, float(num_layers), setup.weight_bytes * num_layers
    cached = m.kv_lora_rank + m.qk_rope_head_dim
    ops = []
    if m.q_lora_rank and setup.profile.fuse_qkv:
        width = m.q_lora_rank + cached
        ops.append(operation(KV_A_PROJ, GemmShape(tokens, width, h), layers, h * width * wb, tokens * width * act))
    else:
        if m.q_lora_rank:
            ops.append(operation(Q_A_PROJ, GemmShape(tokens, m.q_lora_rank, h), layers, h * m.q_lora_rank * wb,
                                 tokens * m.q_lora_rank * act))
        ops.append(operation(KV_A_PROJ, GemmShape(tokens, cached, h), layers, h * cached * wb, tokens * cached * act))
    q_in = m.q_lora_rank or h
    q_width = setup.q_heads * (m.qk_nope_head_dim + m.qk_rope_head_dim)
    ops.append(operation(Q_PROJ, GemmShape(tokens, q_width, q_in), layers, q_in * q_width * wb, tokens * q_width * act))
    return ops


def latent_core(setup: StepSetup, grid: Grid, tokens: ArrayLike, num_layers: int) -> list[Operation]:
    """The absorbed path's two per-head GEMMs, the naive path's up-projection of the context,
    and the attention over the latent cache. ``kv_b_proj``'s weights are W_UK and W_UV, held
    once (on ``mla_bmm``); under DSA the kernel is always the absorbed one."""
    m = setup.model
    heads, latent, nope, v = setup.q_heads, m.kv_lora_rank, m.qk_nope_head_dim, m.v_head_dim
    b, n, s = grid.b, grid.n, grid.s
    absorbed = np.ones_like(np.asarray(n, dtype=float)) if m.is_dsa else absorbed_path(n).astype(float)
    layers, wb = float(num_layers), setup.weight_bytes * num_layers
    ops = [
        operation(MLA_BMM, GemmShape(tokens, latent, nope, groups=heads), layers * absorbed,
                  heads * nope * latent * wb, tokens * heads * latent * setup.activation_bytes),
        operation(MLA_BMM, GemmShape(tokens, v, latent, groups=heads), layers * absorbed, heads * latent * v * wb),
    ]
    if not m.is_dsa:
        context = b * (s + n)
        ops.append(operation(KV_B_PROJ, GemmShape(context, heads * (nope + v), latent), layers * (1.0 - absorbed),
                             0.0, context * heads * (nope + v) * setup.activation_bytes * (1.0 - absorbed)))
    shape = LatentAttentionShape(b, n, s + n, heads, latent, m.qk_rope_head_dim, nope, v, m.index_topk)
    ops.append(operation(MLA_ATTENTION, shape, layers,
                         cache_bytes_per_token=latent_token_bytes(latent, m.qk_rope_head_dim, setup.kv_dtype)))
    return ops
