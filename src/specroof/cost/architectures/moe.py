"""The mixture-of-experts decoder (Mixtral, Qwen-MoE, DeepSeek-V3, GLM-4.5, Llama-4): a router
and experts in every MoE layer, shared experts beside them, and dense-MLP layers.

Per MoE layer (``moe_layers = num_layers - dense_layers`` of them), with ``E`` routed experts
of width ``i``, top-``k``, and ``S`` shared experts of width ``i_s`` (per device under TP)::

    moe_router           [T, h] x [h, E]
    moe_dispatch         softmax, top-k, gather, scale,     run per expert only (profile moe_kernel)
                         index_add_ of the routed tokens
    gate_up_proj         [T, h] x [h, 2i]                   each touched expert, its tokens
    down_proj            [T, i] x [i, h]                    likewise
    shared_gate_up_proj  [T, h] x [h, 2 S i_s]              every token: the shared experts run as
    shared_down_proj     [T, S i_s] x [S i_s, h]            one gated MLP (SGLang/vLLM DeepseekV2MLP)

and per dense layer (``dense_layers``: DeepSeek's first_k_dense_replace, Qwen's mlp_only_layers,
Llama-4's interleave_moe_layer_step; :mod:`specroof.models.moe_layout`)::

    dense_gate_up_proj   [T, h] x [h, 2 i_d]                i_d = intermediate_size (Llama-4:
    dense_down_proj      [T, i_d] x [i_d, h]                intermediate_size_mlp)

Router scaling (``routed_scaling_factor``) multiplies the experts' combined output by a
constant inside the combine: no weights, no extra kernel, so no operation changes. The router
of a grouped model (``n_group``/``topk_group``) costs the same GEMM; the grouping changes which
experts a batch touches (:mod:`specroof.cost.routing`), priced through the expert operations.
Some engines fuse the shared experts into the routed kernel as experts every token picks (SGLang
PR #4918, vLLM PR #15502): the same bytes and FLOPs in one launch fewer; priced unfused here.
Qwen's shared experts also have a one-column sigmoid gate ``[h, 1]`` (h weights per layer,
under 0.01% of the layer): not priced.
"""

from __future__ import annotations

from specroof.cost.architectures.base import ARCHITECTURES, Architecture
from specroof.cost.architectures.decoder import MlpBlock, decoder_step
from specroof.cost.architectures.dense import gated_mlp_operations
from specroof.cost.architectures.expert_parallel import expert_parallel
from specroof.cost.grid import Grid
from specroof.cost.operation import (
    DENSE_DOWN_PROJ,
    DENSE_GATE_UP_PROJ,
    DOWN_PROJ,
    GATE_UP_PROJ,
    MOE_DISPATCH,
    MOE_ROUTER,
    SHARED_DOWN_PROJ,
    SHARED_GATE_UP_PROJ,
    ArrayLike,
    ElementwiseShape,
    GemmShape,
    MoEShape,
    Operation,
    operation,
)
from specroof.cost.setup import StepSetup
from specroof.models.architecture import ModelConfig

MLP_ACTIVATION_KERNELS = 2
"""SiLU and the multiply by ``up``: counted once per layer in the profile's elementwise kernels;
an MoE layer run per expert launches them per expert, in ``moe_dispatch`` instead."""

DISPATCH_HIDDEN_PASSES = 7.0
"""Per routed token (each of its top-k copies), passes over a hidden-width row: the gather
(read, write), the scale by the router weight (read, write) and ``index_add_`` (read the
expert output, read and write the sum)."""

DISPATCH_TOKEN_PASSES = 1.0
"""Per token, the zeroed output the experts add into (one write of a hidden-width row)."""

ROUTER_PASSES = 4.0
"""Per token, passes over its E router logits: fp32 cast (read, write), softmax (read, write)."""


def moe_mlp(setup: StepSetup, tokens: ArrayLike, num_layers: int) -> MlpBlock:
    """The MLPs of ``num_layers`` layers: the MoE layers' router, routing work, routed and shared
    experts, and the dense layers' gated MLPs. A drafter that runs fewer layers than the model
    keeps the model's dense layers first (DeepSeek, GLM and Kimi place them first)."""
    m = setup.model
    dense = min(m.dense_layers, num_layers)
    moe = num_layers - dense
    ops = routed_experts(setup, tokens, moe) if moe else []
    shared_width = _per_device(setup, m.shared_experts * m.shared_expert_intermediate_size)
    if moe and shared_width:
        ops += gated_mlp_operations(setup, tokens, moe, shared_width, (SHARED_GATE_UP_PROJ, SHARED_DOWN_PROJ))
    dense_width = _per_device(setup, m.intermediate_size)
    if dense:
        ops += gated_mlp_operations(setup, tokens, dense, dense_width, (DENSE_GATE_UP_PROJ, DENSE_DOWN_PROJ))
    k = m.experts_per_token
    per_expert = setup.profile.moe_kernel == "per_expert"
    width = (moe * (k * setup.mlp_width + shared_width) + dense * dense_width) / num_layers
    own = MLP_ACTIVATION_KERNELS * moe / num_layers if per_expert else 0  # MoE layers only, averaged
    return MlpBlock(ops, routed=k, own_kernels=own, intermediate_width=width)


def _per_device(setup: StepSetup, width: int) -> int:
    """One device's share of an MLP width under tensor parallelism (0 stays 0)."""
    return -(-width // setup.tp)


def routed_experts(setup: StepSetup, tokens: ArrayLike, num_layers: int) -> list[Operation]:
    """The router, the routing work when experts run one by one, and the routed experts' GEMMs
    of ``num_layers`` MoE layers."""
    m = setup.model
    h, width, e, k = m.hidden_size, setup.mlp_width, m.num_experts, m.experts_per_token
    layers, wb = float(num_layers), setup.weight_bytes * num_layers  # per-layer weights, all layers resident
    live = k * tokens * 2 * width * setup.activation_bytes
    ops = [operation(MOE_ROUTER, GemmShape(tokens, e, h), layers, e * h * wb)]
    if setup.profile.moe_kernel == "per_expert":
        ops.append(_moe_dispatch(setup, tokens, layers))
    groups = (m.expert_groups, m.expert_groups_per_token)
    ops += [operation(GATE_UP_PROJ, MoEShape(tokens, e, k, 2 * width, h, groups), layers, e * 2 * width * h * wb,
                      live),
            operation(DOWN_PROJ, MoEShape(tokens, e, k, h, width, groups), layers, e * width * h * wb)]
    return expert_parallel(setup, tokens, num_layers, ops)  # --- parallel: experts split over --ep ranks


def _moe_dispatch(setup: StepSetup, tokens: ArrayLike, layers: float) -> Operation:
    """One layer's routing work outside the GEMMs when experts run one by one: kernels per
    touched expert (gather, SiLU, multiply, router-weight gather and cast, scale, index_add_)
    and per layer (router cast, softmax, top-k, zeroed output), traffic per routed token."""
    m, prof = setup.model, setup.profile
    h, e, k = m.hidden_size, m.num_experts, m.experts_per_token
    elements = tokens * (k * DISPATCH_HIDDEN_PASSES * h + DISPATCH_TOKEN_PASSES * h + ROUTER_PASSES * e)
    kernels = (prof.moe_dispatch_kernels_per_expert * setup.experts_touched(tokens)
               + prof.moe_dispatch_kernels_per_layer)
    return operation(MOE_DISPATCH, ElementwiseShape(elements, kernels), layers,
                     activation_bytes=tokens * h * setup.activation_bytes)


def moe_operations(setup: StepSetup, grid: Grid, tokens: ArrayLike | None = None,
                   layers: int | None = None) -> list[Operation]:
    return decoder_step(setup, grid, tokens, layers, moe_mlp)


def _moe(model: ModelConfig) -> bool:
    return model.is_moe


MOE = ARCHITECTURES.register(Architecture(
    "moe", "decoder with a routed mixture of experts per layer (Mixtral-style)", _moe, moe_operations))
