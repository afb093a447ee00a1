"""``mtp``: the model's own multi-token-prediction module (DeepSeek-V3, GLM-4.5, Qwen3-Next),
chained; it needs a target that ships MTP layers.

One module reused for every draft token (DeepSeek-V3's one module drafts K tokens by K passes,
as vLLM and SGLang run it): each pass is :func:`specroof.cost.drafting_ops.mtp_operations`,
the enorm/hnorm input, eh_proj and one decoder layer of the target's kind (an MoE layer with
its shared experts for an MoE target, never one of its dense-MLP layers), with the target's
embedding and LM head."""

from __future__ import annotations

from dataclasses import dataclass

from specroof.cost.drafting_ops import mtp_operations
from specroof.cost.grid import Grid
from specroof.cost.operation import ArrayLike, Operation
from specroof.cost.setup import StepSetup
from specroof.errors import SpecroofError
from specroof.models.architecture import ModelConfig
from specroof.speculation.methods.base import METHODS, Choice, PassMethod
from specroof.speculation.methods.checkpoints import mtp_layers


@dataclass(frozen=True)
class MtpModule(PassMethod):
    """One decoder layer of the target (its MoE and shared experts included) behind the normed
    ``[T, 2h] -> h`` projection."""

    def check_target(self, choice: Choice, target: ModelConfig) -> None:
        if mtp_layers(target) < 1:  # the config's count, or checkpoints.toml's where the config has none
            raise SpecroofError(f"method 'mtp' needs a model with MTP layers; {target.name} has none "
                                "(its config.json has no num_nextn_predict_layers)")

    def draft_pass(self, choice: Choice, setup: StepSetup, grid: Grid, width: ArrayLike,
                   first: bool) -> tuple[StepSetup, list[Operation]]:
        return mtp_operations(setup, grid, width, first)


MTP = METHODS.register(MtpModule(
    name="mtp",
    description="the model's own multi-token-prediction module, chained",
    label="MTP module",
    parameters=("tree",),
))
