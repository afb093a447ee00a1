"""The dense decoder (Llama, Mistral, Qwen, Vicuna): a gated MLP in every layer.

    gate_up_proj  [T, h] x [h, 2i]                   one GEMM, or two (profile fuse_gate_up)
    down_proj     [T, i] x [i, h]
"""

from __future__ import annotations

from specroof.cost.architectures.base import ARCHITECTURES, Architecture
from specroof.cost.architectures.decoder import MlpBlock, decoder_step
from specroof.cost.grid import Grid
from specroof.cost.operation import DOWN_PROJ, GATE_UP_PROJ, ArrayLike, GemmShape, Operation, OpInfo, operation
from specroof.cost.setup import StepSetup
from specroof.models.architecture import ModelConfig


def gated_mlp(setup: StepSetup, tokens: ArrayLike, num_layers: int) -> MlpBlock:
    """Gate and up projections (SiLU and the multiply are elementwise work), then down."""
    return MlpBlock(gated_mlp_operations(setup, tokens, num_layers, setup.mlp_width))


def gated_mlp_operations(setup: StepSetup, tokens: ArrayLike, num_layers: int, width: int,
                         infos: tuple[OpInfo, OpInfo] = (GATE_UP_PROJ, DOWN_PROJ)) -> list[Operation]:
    """``num_layers`` gated MLPs of ``width`` (on one device) as GEMMs named ``infos`` (gate-up,
    down): also an MoE model's dense layers and shared experts (:mod:`.moe`)."""
    h = setup.model.hidden_size
    layers, wb = float(num_layers), setup.weight_bytes * num_layers  # per-layer weights, all layers resident
    live = tokens * 2 * width * setup.activation_bytes
    gate_up, down = infos
    if setup.profile.fuse_gate_up:
        ops = [operation(gate_up, GemmShape(tokens, 2 * width, h), layers, 2 * width * h * wb, live)]
    else:
        ops = [operation(gate_up, GemmShape(tokens, width, h), layers, width * h * wb, live / 2)
               for _ in range(2)]
    ops.append(operation(down, GemmShape(tokens, h, width), layers, width * h * wb))
    return ops


def dense_operations(setup: StepSetup, grid: Grid, tokens: ArrayLike | None = None,
                     layers: int | None = None) -> list[Operation]:
    return decoder_step(setup, grid, tokens, layers, gated_mlp)


def _dense(model: ModelConfig) -> bool:
    return not model.is_moe


DENSE = ARCHITECTURES.register(Architecture(
    "dense", "decoder with a gated MLP per layer (Llama-style)", _dense, dense_operations))
