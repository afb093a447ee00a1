"""Operation lists of drafting: Medusa heads, draft-model, EAGLE and MTP passes.

Drafting is priced like verification: its operations go through the same pricing functions
with the same profile (tiles, efficiencies, per-kernel gaps, CUDA-graph padding), and show up
in ``ops_ms``, ``specroof ops``, ``explain`` and the charts under the ``drafting`` group.

- Medusa heads run on the verification step's ``T = batch x candidates`` hidden states, in
  the same forward: each head is a residual SiLU block ``x + SiLU([T, h] x [h, h])`` and its
  own vocabulary projection ``[T, h] x [h, V]`` (as Medusa's implementation and the shared
  H200 measurements run them).
- A draft model runs its own decoder, one pass per draft token of a chain (or per tree
  level), with the target's dtypes, profile and parallelism.
- EAGLE (EAGLE-1/2, arXiv 2401.15077 / 2406.16858) drafts with ONE decoder layer at the
  target's width that reads the target's hidden states: each pass fuses ``[T, 2h]`` (token
  embedding and feature) to ``h``, runs the layer, and projects with the target's own LM
  head (shared: no weights of its own). EAGLE-3 (arXiv 2503.01840) fuses three of the
  target's hidden states ``[T, 3h] -> h`` once per step, its layer's q/k/v read ``[T, 2h]``
  (embedding and hidden state), and it has its own LM head over a reduced draft vocabulary
  (32000 tokens in the released heads).
- MTP modules (DeepSeek-V3, GLM-4.5, Qwen3-Next) are a full decoder layer of the target
  (its MoE and shared experts included, never a dense-MLP layer) behind a projection
  ``[T, 2h] -> h`` of the normed embedding and hidden state, predicting with the target's
  shared LM head (:func:`mtp_operations`).

A pass processes ``width`` tokens per sequence: 1 for a chain's later passes, the tree's
branching for a tree's, and for the first EAGLE/MTP pass every token the target just
verified (vLLM's ``EagleProposer.propose`` runs its first forward over all target tokens,
``vllm/v1/spec_decode/eagle.py``). The lists price what a drafter runs on the tokens given;
how many passes a step runs is the speculative step's rule (:mod:`specroof.speculation.drafting`).
"""

from __future__ import annotations

from dataclasses import fields, replace

import numpy as np

from specroof.cost.architectures import model_operations
from specroof.cost.architectures.decoder import LOGITS_BYTES
from specroof.cost.engine_ops import padded_tokens
from specroof.cost.grid import Grid
from specroof.cost.operation import (
    ALLREDUCE,
    EAGLE_FC,
    EMBEDDING,
    HOST_DRAFT_PASS,
    LM_HEAD,
    MEDUSA_BLOCK,
    MEDUSA_ELEMENTWISE,
    MEDUSA_VOCAB,
    MTP_INPUT,
    MTP_PROJ,
    QKV_PROJ,
    AllreduceShape,
    ArrayLike,
    ElementwiseShape,
    GemmShape,
    HostShape,
    Operation,
    OpInfo,
    operation,
)
from specroof.cost.setup import StepSetup
from specroof.models.architecture import ModelConfig
from specroof.models.windows import FULL_ATTENTION

MEDUSA_ELEMENTWISE_PASSES = 5.0
"""Per head, over its [T, h] activations: SiLU reads the block's GEMM output and writes its
activation (2 passes), the residual add reads the input and the activation and writes the sum
(3 passes)."""
MEDUSA_ELEMENTWISE_KERNELS = 2.0
"""SiLU and the residual add, one kernel each (unfused, as Medusa's PyTorch heads run)."""
EAGLE3_DRAFT_VOCAB = 32000
"""The draft vocabulary of the released EAGLE-3 heads (``draft_vocab_size`` in their configs)."""


def medusa_head_operations(setup: StepSetup, grid: Grid, heads: int) -> list[Operation]:
    """``heads`` Medusa heads over the verification step's ``batch x candidates`` hidden states."""
    m = setup.model
    h, v = m.hidden_size, m.vocab_size
    tokens = grid.tokens
    count = float(heads)
    wb = setup.weight_bytes * heads  # every head's weights stay loaded, at n = 1 too
    return [
        operation(MEDUSA_BLOCK, GemmShape(tokens, h, h), count, h * h * wb),
        operation(MEDUSA_ELEMENTWISE, ElementwiseShape(MEDUSA_ELEMENTWISE_PASSES * tokens * h,
                                                       MEDUSA_ELEMENTWISE_KERNELS), count),
        operation(MEDUSA_VOCAB, GemmShape(tokens, v, h), count, h * v * wb),
    ]


def _pass_grid(grid: Grid, width: ArrayLike) -> Grid:
    """The grid of a drafting pass: ``width`` tokens per sequence instead of the candidates
    (one width per candidates column, or one for all)."""
    per_column = np.broadcast_to(np.asarray(width, dtype=float), grid.candidates.shape)
    return Grid(grid.batch, per_column, grid.seq_len)


def _host(setup: StepSetup) -> list[Operation]:
    us = setup.profile.host_draft_pass_us
    return [operation(HOST_DRAFT_PASS, HostShape(us))] if us else []


def input_projection(setup: StepSetup, info: OpInfo, tokens: ArrayLike, width_in: int,
                     weight_bytes: float) -> list[Operation]:
    """A drafter's input projection ``[T, width_in] x [width_in, h]`` (EAGLE's fc, MTP's eh_proj),
    ``weight_bytes`` per weight.

    The engines build it replicated: every tensor-parallel rank holds the whole matrix and
    runs the whole GEMM (SGLang ``torch.nn.Linear``, python/sglang/srt/models/llama_eagle3.py and
    deepseek_nextn.py; vLLM ``ReplicatedLinear``, vllm/model_executor/models/llama_eagle3.py;
    TensorRT-LLM ``Linear`` without a mapping, tensorrt_llm/_torch/models/modeling_speculative.py).
    With the profile's ``drafter_fc_sharded`` it is row-parallel instead: each of the ``tp`` ranks
    reads ``width_in / tp`` of the input columns and weights, and one all-reduce of ``T x h``
    sums the partial outputs.
    """
    h, tp = setup.model.hidden_size, setup.tp
    if not setup.profile.drafter_fc_sharded or tp == 1:
        return [operation(info, GemmShape(tokens, h, width_in), 1.0, width_in * h * weight_bytes)]
    shard = -(-width_in // tp)
    return [operation(info, GemmShape(tokens, h, shard), 1.0, shard * h * weight_bytes),
            operation(ALLREDUCE, AllreduceShape(np.asarray(tokens, dtype=float) * h, tp), 1.0)]


def _without_embedding(ops: list[Operation]) -> list[Operation]:
    """A drafter that reads the target's token embedding (EAGLE heads, MTP modules) holds no
    table of its own."""
    return [op for op in ops if op.info is not EMBEDDING]


def _first_pass_logits(setup: StepSetup, ops: list[Operation], pass_grid: Grid, first: bool) -> list[Operation]:
    """The first EAGLE / MTP pass runs its layer over every verified token but projects only each
    sequence's last row to logits (vLLM ``EagleProposer.propose`` gathers ``last_token_indices``
    before ``compute_logits``; SGLang's draft extend and TensorRT-LLM's one-model drafter likewise):
    its LM head multiplies ``batch`` rows, unless the profile projects every row
    (``draft_logits_every_row``, TensorRT-LLM's two-model draft engine)."""
    if not first or setup.profile.draft_logits_every_row:
        return ops
    rows = pass_grid.b * np.ones_like(pass_grid.n)
    vocab = setup.model.vocab_size
    return [replace(op, shape=replace(op.shape, m=rows), activation_bytes=rows * vocab * LOGITS_BYTES)
            if op.info is LM_HEAD else op for op in ops]


def draft_model_operations(target: StepSetup, draft: ModelConfig, grid: Grid,
                           width: ArrayLike = 1.0) -> tuple[StepSetup, list[Operation]]:
    """The draft model's setup and the operations of ONE of its passes over ``width`` tokens
    per sequence."""
    setup = target.for_model(draft)
    pass_grid = _pass_grid(grid, width)
    tokens = padded_tokens(setup.profile, pass_grid.b, pass_grid.n)
    ops = model_operations(setup, pass_grid, tokens=tokens)
    return setup, [op.drafting(1.0) for op in ops + _host(setup)]


DENSE_LAYOUT = dict(shared_experts=0, shared_expert_intermediate_size=0, dense_layers=0, expert_groups=1,
                    expert_groups_per_token=1)
"""The MoE layout fields of a dense model (an EAGLE head of an MoE target is one dense layer)."""


EAGLE_HEAD_PLAIN = ("q_lora_rank", "kv_lora_rank", "qk_rope_head_dim", "qk_nope_head_dim", "v_head_dim",
                    "index_topk", "index_n_heads", "index_head_dim", "linear_layers", "linear_kind",
                    "linear_key_heads", "linear_value_heads", "linear_key_head_dim", "linear_value_head_dim",
                    "linear_conv_kernel", "linear_state_dtype", "attention_output_gate")
"""Fields an EAGLE head does not take from its target, set to their declared defaults: the
published heads (EAGLE, SpecForge) are one Llama decoder layer, with plain attention whatever
the target runs (latent, sparse, linear or gated attention)."""


def eagle_model(target: ModelConfig, version: str, draft_vocab: int | None = None) -> ModelConfig:
    """The draft decoder of an EAGLE head: one dense Llama layer at the target's width."""
    vocab = target.vocab_size if version == "eagle" else (draft_vocab or EAGLE3_DRAFT_VOCAB)
    intermediate = target.intermediate_size if not target.is_moe else target.moe_intermediate_size
    plain = {f.name: f.default for f in fields(target) if f.name in EAGLE_HEAD_PLAIN}
    return replace(target, name=f"{target.name} {version.upper()} head", num_layers=1, vocab_size=vocab,
                   tie_word_embeddings=False, num_experts=0, experts_per_token=0, moe_intermediate_size=0,
                   intermediate_size=intermediate, mtp_layers=0, **DENSE_LAYOUT, **FULL_ATTENTION, **plain,
                   quantization="", quantization_kept=(), quantization_kv="")  # its own 16-bit checkpoint


def eagle_operations(target: StepSetup, version: str, grid: Grid, width: ArrayLike, first: bool,
                     draft_vocab: int | None = None) -> tuple[StepSetup, list[Operation]]:
    """One EAGLE / EAGLE-3 pass over ``width`` tokens per sequence (``first``: the pass that
    reads the target's hidden states)."""
    model = eagle_model(target.model, version, draft_vocab)
    setup = target.for_model(model)
    pass_grid = _pass_grid(grid, width)
    tokens = padded_tokens(setup.profile, pass_grid.b, pass_grid.n)
    h = model.hidden_size
    ops = _first_pass_logits(setup, _without_embedding(model_operations(setup, pass_grid, tokens=tokens)), pass_grid,
                             first)
    if version == "eagle3":
        # q, k, v read the embedding and the hidden state side by side: [T, 2h]
        ops = [replace(op, shape=replace(op.shape, k=2 * h), weight_bytes=op.weight_bytes * 2)
               if op.info is QKV_PROJ else op for op in ops]
    else:  # EAGLE-1/2 predicts with the target's LM head: no weights of its own
        ops = [replace(op, weight_bytes=0.0) if op.info is LM_HEAD else op for op in ops]
    fused = 3 if version == "eagle3" else 2
    fc = []
    if first or version == "eagle":
        fc = input_projection(setup, EAGLE_FC, tokens, fused * h, setup.weight_bytes)
    return setup, [op.drafting(1.0) for op in fc + ops + _host(setup)]


MTP_INPUT_PASSES = 8.0
"""Per token, passes over a hidden-width row at the MTP module's input (vLLM
``DeepSeekMultiTokenPredictorLayer.forward``, v0.10; SGLang ``deepseek_nextn.py`` likewise): enorm
and hnorm each read and write one row (4), ``torch.cat`` reads both and writes the pair (4)."""
MTP_INPUT_KERNELS = 3.0
"""enorm, hnorm and the concatenation: one kernel each."""
MODULE_LAYER_COUNTS = ("dense_layers", "window_layers", "linear_layers")
"""Layer-kind counts of a target that its MTP module does not inherit: the module is one
full-attention MoE layer (DeepSeek-V3's layer 61, GLM-4.5's layer 92, Qwen3-Next's
full-attention MTP layer). Those of them a ModelConfig declares are set to 0."""


def mtp_model(target: ModelConfig) -> ModelConfig:
    """The MTP module as a model: one decoder layer of the target's kind (its MoE, never a
    dense MLP layer; full attention), no MTP layers of its own."""
    declared = {f.name for f in fields(target)}
    zero = {name: 0 for name in MODULE_LAYER_COUNTS if name in declared}
    return replace(target, name=f"{target.name} MTP module", num_layers=1, mtp_layers=0, **zero)


def mtp_operations(target: StepSetup, grid: Grid, width: ArrayLike,
                   first: bool) -> tuple[StepSetup, list[Operation]]:
    """One pass of a multi-token-prediction module over ``width`` tokens per sequence.

    DeepSeek-V3 (arXiv 2412.19437, section 2.2), GLM-4.5 and Qwen3-Next ship modules alike: the
    token embedding and the target's hidden state, each RMS-normed (enorm, hnorm), concatenated
    and projected ``[T, 2h] x [2h, h]`` (eh_proj), then one decoder layer of the target
    (:func:`mtp_model`), a final norm and the LM head. Embedding and LM head are the target's
    ("shared with the main model", the report's words; vLLM's ``EagleProposer.load_model`` shares
    them when the checkpoint's copies are equal): no weights of their own. One module reused
    K times is K passes of this list (:mod:`specroof.speculation.methods.mtp`). A model that ships
    several modules (``num_nextn_predict_layers`` > 1) holds every one of them, each with its own
    KV cache (vLLM's ``DeepSeekMultiTokenPredictor`` loads them all and runs module ``i mod n`` at
    pass ``i``): weights and cache are those of ``n`` modules, each pass the time of one. ``first``:
    the pass over every verified token, which projects only each sequence's last row
    (:func:`_first_pass_logits`)."""
    modules = max(target.model.mtp_layers, 1)
    model = mtp_model(target.model)
    setup = target.for_model(model)
    pass_grid = _pass_grid(grid, width)
    tokens = padded_tokens(setup.profile, pass_grid.b, pass_grid.n)
    h, wb = model.hidden_size, setup.weight_bytes * modules  # every module's weights are held
    ops = _first_pass_logits(setup, _without_embedding(model_operations(setup, pass_grid, tokens=tokens)), pass_grid,
                             first)
    ops = [replace(op, weight_bytes=0.0 if op.info is LM_HEAD else op.weight_bytes * modules,  # the shared head
                   cache_bytes_per_token=op.cache_bytes_per_token * modules) for op in ops]
    inputs = operation(MTP_INPUT, ElementwiseShape(MTP_INPUT_PASSES * tokens * h, MTP_INPUT_KERNELS), 1.0,
                       2 * h * wb, 2 * tokens * h * setup.activation_bytes)
    proj = input_projection(setup, MTP_PROJ, tokens, 2 * h, wb)
    return setup, [op.drafting(1.0) for op in [inputs, *proj] + ops + _host(setup)]
