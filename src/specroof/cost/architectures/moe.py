"""The mixture-of-experts decoder (Mixtral, Qwen-MoE): a router and experts in every layer.

    moe_router    [T, h] x [h, E]
    moe_dispatch  softmax, top-k, gather, scale,     run per expert only (profile moe_kernel)
                  index_add_ of the routed tokens
    gate_up_proj  [T, h] x [h, 2i]                   each touched expert, its tokens
    down_proj     [T, i] x [i, h]                    likewise
"""

from __future__ import annotations

from specroof.cost.architectures.base import ARCHITECTURES, Architecture
from specroof.cost.architectures.decoder import MlpBlock, decoder_step
from specroof.cost.architectures.expert_parallel import expert_parallel
from specroof.cost.grid import Grid
from specroof.cost.operation import (
    DOWN_PROJ,
    GATE_UP_PROJ,
    MOE_DISPATCH,
    MOE_ROUTER,
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
    """The router, the routing work when experts run one by one, and the experts' GEMMs."""
    m = setup.model
    h, width, e, k = m.hidden_size, setup.mlp_width, m.num_experts, m.experts_per_token
    layers, wb = float(num_layers), setup.weight_bytes * num_layers  # per-layer weights, all layers resident
    live = k * tokens * 2 * width * setup.activation_bytes
    per_expert = setup.profile.moe_kernel == "per_expert"
    ops = [operation(MOE_ROUTER, GemmShape(tokens, e, h), layers, e * h * wb)]
    if per_expert:
        ops.append(_moe_dispatch(setup, tokens, layers))
    ops += [operation(GATE_UP_PROJ, MoEShape(tokens, e, k, 2 * width, h), layers, e * 2 * width * h * wb, live),
            operation(DOWN_PROJ, MoEShape(tokens, e, k, h, width), layers, e * width * h * wb)]
    ops = expert_parallel(setup, tokens, num_layers, ops)  # --- parallel: experts split over --ep ranks
    return MlpBlock(ops, routed=k, own_kernels=MLP_ACTIVATION_KERNELS if per_expert else 0)


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
