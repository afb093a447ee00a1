"""The operation list of a Llama-style decoder step (dense or mixture-of-experts).

A step feeds ``T = batch x candidates`` tokens through every layer over a KV cache of
``seq_len`` tokens. Per layer, with hidden ``h``, ``H`` query and ``K`` KV heads of width
``d`` (per device under tensor parallelism ``p``), MLP width ``i``::

    qkv_proj      [T, h] x [h, (H + 2K) d]          one GEMM, or three (profile fuse_qkv)
    attention     T queries over s + n keys per sequence
    o_proj        [T, H d] x [H d, h]
    moe_router    [T, h] x [h, E]                    MoE only
    gate_up_proj  [T, h] x [h, 2i]                   MoE: each touched expert, its tokens
    down_proj     [T, i] x [i, h]                    MoE: likewise
    allreduce     2 x [T, h]                         p > 1 only

and once per step the elementwise work of all layers (norms, RoPE, residual adds, SiLU, KV
writes) and the LM head ``[T, h] x [h, V]`` over every token (verification needs every
candidate's logits). The list holds every operation of the architecture; the profile's
``operators`` chooses which are priced (the Medusa appendix priced a subset).
"""

from __future__ import annotations

from specroof.cost.grid import Grid
from specroof.cost.operation import (
    ALLREDUCE,
    ATTENTION,
    DOWN_PROJ,
    ELEMENTWISE,
    GATE_UP_PROJ,
    LM_HEAD,
    MOE_ROUTER,
    O_PROJ,
    QKV_PROJ,
    AllreduceShape,
    ArrayLike,
    AttentionShape,
    ElementwiseShape,
    GemmShape,
    MoEShape,
    Operation,
    operation,
)
from specroof.cost.setup import StepSetup

LOGITS_BYTES = 4.0
"""Logits are computed or upcast in fp32 for sampling and verification."""


def decoder_operations(setup: StepSetup, grid: Grid, tokens: ArrayLike | None = None,
                       layers: int | None = None) -> list[Operation]:
    """Every operation of one step of ``setup.model`` over ``grid``, in step order.

    ``tokens``: rows the linear layers and elementwise kernels process, when an engine pads
    the step (CUDA-graph sizes; default ``batch x candidates``); attention always sees the
    real queries. ``layers``: decoder layers, when a draft runs fewer than the model has (an
    EAGLE or MTP layer: 1).
    """
    m, prof = setup.model, setup.profile
    num_layers = m.num_layers if layers is None else layers
    layers = float(num_layers)
    wb = setup.weight_bytes * num_layers  # per-layer weights, all layers resident
    b, n, s = grid.b, grid.n, grid.s
    tokens = grid.tokens if tokens is None else tokens
    h, d = m.hidden_size, m.head_dim
    act = setup.activation_bytes
    q_heads, kv_heads = setup.q_heads, setup.kv_heads
    qkv_widths = [q_heads * d, kv_heads * d, kv_heads * d]
    width = setup.mlp_width
    routed = m.experts_per_token if m.is_moe else 1

    ops: list[Operation] = []
    qkv_live = tokens * sum(qkv_widths) * act
    if prof.fuse_qkv:
        ops.append(operation(QKV_PROJ, GemmShape(tokens, sum(qkv_widths), h), layers,
                             h * sum(qkv_widths) * wb, qkv_live))
    else:
        ops += [operation(QKV_PROJ, GemmShape(tokens, w, h), layers, h * w * wb, qkv_live if i == 0 else 0.0)
                for i, w in enumerate(qkv_widths)]
    scores_live = 2 * b * q_heads * n * (s + n) * act if prof.attention == "unfused" else 0.0
    ops.append(operation(ATTENTION, AttentionShape(b, n, s + n, q_heads, kv_heads, d), layers,
                         activation_bytes=scores_live))
    o_in = m.q_dim // setup.tp
    ops.append(operation(O_PROJ, GemmShape(tokens, h, o_in), layers, o_in * h * wb))
    ops += _mlp(setup, tokens, num_layers, routed * tokens * 2 * width * act)
    per_token_layer = (prof.elementwise_hidden_passes * h + prof.elementwise_qkv_passes * sum(qkv_widths)
                       + prof.elementwise_intermediate_passes * width * routed)
    elements = tokens * (num_layers * per_token_layer + prof.elementwise_final_passes * h)
    kernels = num_layers * prof.elementwise_kernels_per_layer + (1 if prof.elementwise_final_passes else 0)
    norms = (2 * num_layers + 1) * h * setup.weight_bytes  # two RMSNorms per layer and the final one
    ops.append(operation(ELEMENTWISE, ElementwiseShape(elements, float(kernels)), 1.0, norms, 2 * tokens * h * act))
    if setup.tp > 1:  # after attention and after the MLP
        ops.append(operation(ALLREDUCE, AllreduceShape(tokens * h, setup.tp), 2 * layers))
    vocab = -(-m.vocab_size // setup.tp)
    head_weights = 0.0 if m.tie_word_embeddings else vocab * h * setup.weight_bytes  # tied: the embedding table
    ops.append(operation(LM_HEAD, GemmShape(tokens, vocab, h), 1.0, head_weights,
                         tokens * m.vocab_size * LOGITS_BYTES))
    return ops


def _mlp(setup: StepSetup, tokens: ArrayLike, num_layers: int, live: ArrayLike) -> list[Operation]:
    """The MLP's operations: a gated MLP, or a router and the experts tokens route to."""
    m = setup.model
    h, width = m.hidden_size, setup.mlp_width
    layers = float(num_layers)
    wb = setup.weight_bytes * num_layers  # per-layer weights, all layers resident
    if m.is_moe:
        e, k = m.num_experts, m.experts_per_token
        return [
            operation(MOE_ROUTER, GemmShape(tokens, e, h), layers, e * h * wb),
            operation(GATE_UP_PROJ, MoEShape(tokens, e, k, 2 * width, h), layers, e * 2 * width * h * wb, live),
            operation(DOWN_PROJ, MoEShape(tokens, e, k, h, width), layers, e * width * h * wb),
        ]
    if setup.profile.fuse_gate_up:
        gate_up = [operation(GATE_UP_PROJ, GemmShape(tokens, 2 * width, h), layers, 2 * width * h * wb, live)]
    else:
        gate_up = [operation(GATE_UP_PROJ, GemmShape(tokens, width, h), layers, width * h * wb, live / 2)
                   for _ in range(2)]
    return gate_up + [operation(DOWN_PROJ, GemmShape(tokens, h, width), layers, width * h * wb)]


def embedding_bytes(setup: StepSetup) -> float:
    """The token embedding table on one device: resident, though a step gathers only T of its rows
    (no operation prices that gather; the measured harness starts from hidden states)."""
    m = setup.model
    return m.vocab_size * m.hidden_size * setup.weight_bytes / setup.tp
