"""The blocks every Llama-style decoder step shares; an architecture adds its MLP.

A step feeds ``T = batch x candidates`` tokens through every layer over a KV cache of
``seq_len`` tokens. Per layer, with hidden ``h``, ``H`` query and ``K`` KV heads of width
``d`` (per device under tensor parallelism ``p``)::

    qkv_proj      [T, h] x [h, (H + 2K) d]          one GEMM, or three (profile fuse_qkv)
    attention     T queries over s + n keys per sequence; keeps K and V of every token
    o_proj        [T, H d] x [H d, h]
    (the MLP)     the architecture's: dense.py, moe.py
    allreduce     2 x [T, h]                         p > 1 only

and once per step the elementwise work of all layers (norms, RoPE, residual adds, SiLU, KV
writes), the LM head ``[T, h] x [h, V]`` over every token (verification needs every
candidate's logits) and the token embedding table (held, not timed). The list holds every
operation of the architecture; the profile's ``operators`` chooses which are priced (the
Medusa appendix priced a subset).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from specroof.cost.architectures.linear import linear_attention_operations, linear_layer_count
from specroof.cost.architectures.mla import mla_attention_operations
from specroof.cost.architectures.windows import combine, full_block, window_block, window_layer_count
from specroof.cost.dtypes import kv_token_bytes
from specroof.cost.grid import Grid
from specroof.cost.operation import (
    ATTENTION,
    ELEMENTWISE,
    EMBEDDING,
    LM_HEAD,
    O_PROJ,
    QKV_PROJ,
    ArrayLike,
    AttentionShape,
    ElementwiseShape,
    GemmShape,
    Operation,
    ResidentShape,
    operation,
)
from specroof.cost.parallel import attention_rank, attention_tp, layer_communication
from specroof.cost.setup import StepSetup

LOGITS_BYTES = 4.0
"""Logits are computed or upcast in fp32 for sampling and verification."""


@dataclass(frozen=True)
class MlpBlock:
    """An architecture's MLP in one step: its operations (all layers), and what the layer's
    elementwise work needs from it. ``routed``: copies of each token the MLP runs (1; an MoE
    layer's top-k). ``own_kernels``: per-layer elementwise kernels the MLP launches itself (an
    MoE run per expert launches SiLU and the multiply per expert), taken off the profile's
    per-layer count. ``intermediate_width``: intermediate elements per token and layer that SiLU
    and the multiply touch, averaged over the layers (None: the setup's MLP width x ``routed``;
    an MoE model with shared experts or dense layers gives its own)."""

    operations: list[Operation]
    routed: int = 1
    own_kernels: float = 0
    intermediate_width: float | None = None


MlpBuilder = Callable[[StepSetup, ArrayLike, int], MlpBlock]
"""(setup, tokens, layers) -> the MLP block of that many layers."""

AttentionBuilder = Callable[[StepSetup, Grid, ArrayLike, int], list[Operation]]
"""(setup, grid, tokens, layers) -> the attention block (projections, attention, output
projection) of that many layers."""


def layer_attention(setup: StepSetup, num_layers: int) -> list[tuple[AttentionBuilder, int]]:
    """Which attention block the model's layers run: (builder, layer count) pairs that add up
    to ``num_layers``. One entry per kind of layer (full attention, a window, a linear
    recurrence); a model whose layers are all alike has one."""
    full: AttentionBuilder = mla_attention_operations if setup.model.is_mla else attention_operations  # --- MLA
    windowed = window_layer_count(setup, num_layers)  # --- windows: sliding / chunked layers
    linear = linear_layer_count(setup, num_layers)  # --- linear attention
    return [(full_block(full), num_layers - windowed - linear), (window_block(full), windowed),
            (linear_attention_operations, linear)]


def decoder_step(setup: StepSetup, grid: Grid, tokens: ArrayLike | None, layers: int | None,
                 mlp: MlpBuilder) -> list[Operation]:
    """Every operation of one step of ``setup.model`` over ``grid``, in step order, with the
    MLP ``mlp`` builds. ``tokens``: rows the linear layers and elementwise kernels process when
    an engine pads the step (default ``batch x candidates``; attention always sees the real
    queries). ``layers``: decoder layers, when a draft runs fewer than the model has."""
    num_layers = setup.model.num_layers if layers is None else layers
    tokens = grid.tokens if tokens is None else tokens
    block = mlp(setup, tokens, num_layers)
    attention = combine([build(*attention_rank(setup, grid, tokens), count)  # --- parallel: DP attention
                         for build, count in layer_attention(setup, num_layers) if count])  # one row per operation and shape
    return ([embedding_operation(setup)] + attention + block.operations
            + closing_operations(setup, tokens, num_layers, block))


def embedding_operation(setup: StepSetup) -> Operation:
    """The token embedding table on one device: resident, though a step gathers only T of its
    rows (no operation prices that gather; the measured harness starts from hidden states)."""
    m = setup.model
    return operation(EMBEDDING, ResidentShape(), 1.0, m.vocab_size * m.hidden_size * setup.weight_bytes / attention_tp(setup))


def attention_operations(setup: StepSetup, grid: Grid, tokens: ArrayLike, num_layers: int) -> list[Operation]:
    """q, k, v projections, attention over the cache (which holds its keys and values), o_proj."""
    m, prof = setup.model, setup.profile
    layers, wb = float(num_layers), setup.weight_bytes * num_layers  # per-layer weights, all layers resident
    b, n, s = grid.b, grid.n, grid.s
    h, d, act = m.hidden_size, m.head_dim, setup.activation_bytes
    q_heads, kv_heads = setup.q_heads, setup.kv_heads
    gate = 2 if m.attention_output_gate else 1  # --- linear attention: Qwen3-Next's q_proj also yields the gate
    qkv_widths = [gate * q_heads * d, kv_heads * d, kv_heads * d]
    qkv_live = tokens * sum(qkv_widths) * act
    if prof.fuse_qkv:
        ops = [operation(QKV_PROJ, GemmShape(tokens, sum(qkv_widths), h), layers, h * sum(qkv_widths) * wb, qkv_live)]
    else:
        ops = [operation(QKV_PROJ, GemmShape(tokens, w, h), layers, h * w * wb, qkv_live if i == 0 else 0.0)
               for i, w in enumerate(qkv_widths)]
    scores_live = 2 * b * q_heads * n * (s + n) * act if prof.attention == "unfused" else 0.0
    ops.append(operation(ATTENTION, AttentionShape(b, n, s + n, q_heads, kv_heads, d), layers,
                         activation_bytes=scores_live, cache_bytes_per_token=kv_token_bytes(kv_heads, d, setup.kv_dtype)))
    o_in = m.q_dim // setup.tp
    ops.append(operation(O_PROJ, GemmShape(tokens, h, o_in), layers, o_in * h * wb))
    return ops


def closing_operations(setup: StepSetup, tokens: ArrayLike, num_layers: int, block: MlpBlock) -> list[Operation]:
    """The elementwise work of all layers, the all-reduces (tp > 1) and the LM head."""
    m, prof = setup.model, setup.profile
    h = m.hidden_size
    qkv_width = (setup.q_heads + 2 * setup.kv_heads) * m.head_dim
    width = setup.mlp_width * block.routed if block.intermediate_width is None else block.intermediate_width
    per_token_layer = (prof.elementwise_hidden_passes * h + prof.elementwise_qkv_passes * qkv_width
                       + prof.elementwise_intermediate_passes * width)
    elements = tokens * (num_layers * per_token_layer + prof.elementwise_final_passes * h)
    per_layer_kernels = prof.elementwise_kernels_per_layer
    if block.own_kernels and per_layer_kernels >= block.own_kernels:
        per_layer_kernels -= block.own_kernels
    kernels = num_layers * per_layer_kernels + (1 if prof.elementwise_final_passes else 0)
    norms = (2 * num_layers + 1) * h * setup.weight_bytes  # two RMSNorms per layer and the final one
    act = setup.activation_bytes
    ops = [operation(ELEMENTWISE, ElementwiseShape(elements, float(kernels)), 1.0, norms, 2 * tokens * h * act)]
    ops += layer_communication(setup, tokens, num_layers, block.operations)  # after attention and after the MLP
    vocab = -(-m.vocab_size // setup.tp)
    head_weights = 0.0 if m.tie_word_embeddings else vocab * h * setup.weight_bytes  # tied: the embedding table
    ops.append(operation(LM_HEAD, GemmShape(tokens, vocab, h), 1.0, head_weights,
                         tokens * m.vocab_size * LOGITS_BYTES))
    return ops
