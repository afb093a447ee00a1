"""The layout of a step over its ``tp`` devices, checked once: expert parallelism (``ep``),
data-parallel attention (``dp_attention``) and the drafter's own tensor parallelism
(``draft_tp``). What each means and how it is priced: :mod:`specroof.cost.parallel`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from specroof.cost.allreduce import check_domain
from specroof.errors import SpecroofError

if TYPE_CHECKING:
    from specroof.hardware.accelerator import Accelerator
    from specroof.models.architecture import ModelConfig


def _positive(value: Any, flag: str, least: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < least:
        kind = "a positive integer" if least == 1 else "a non-negative integer"
        raise SpecroofError(f"{flag} must be {kind}, got {value!r}")
    return int(value)


def check_layout(model: "ModelConfig", accel: "Accelerator", tp: int, ep: Any = 1, dp_attention: Any = 1,
                 draft_tp: Any = 0, experts_touched: float | None = None) -> dict[str, int]:
    """The layout fields of a StepSetup, each checked with one error line naming its option.
    ``experts_touched``: a given count of experts per layer (--moe-experts-touched)."""
    ep, dp = _positive(ep, "--ep"), _positive(dp_attention, "--dp-attention")
    if ep > 1 and experts_touched is not None:
        raise SpecroofError(f"--moe-experts-touched counts the experts a step reads over the whole layer; under --ep "
                            f"{ep} each GPU's share follows from --moe-routing (the busiest rank's load): give one "
                            "of the two")
    draft_tp = _positive(draft_tp, "--draft-tp", least=0)
    if ep > 1:
        if not model.is_moe:
            raise SpecroofError(f"--ep {ep}: {model.name} has no experts to split (expert parallelism needs a "
                                "mixture-of-experts model)")
        if model.num_experts % ep:
            raise SpecroofError(f"--ep {ep} does not divide {model.name}'s {model.num_experts} routed experts; "
                                "each rank must hold the same number of experts")
        if tp % ep:
            raise SpecroofError(f"--ep {ep} must divide --tp {tp}: the experts are spread over the {tp} devices, "
                                "each expert split over tp / ep of them (give --tp the GPU count)")
        check_domain(ep, accel, "--ep: all-to-all over")
    if dp > 1 and not model.is_moe:
        raise SpecroofError(f"--dp-attention {dp}: {model.name} is dense, and data-parallel attention shares an MLP "
                            f"across the groups only in mixture-of-experts models; a dense model in {dp} data-parallel "
                            f"groups is {dp} replicas: price one with --tp {max(tp // dp, 1)} and 1/{dp} of the batch")
    if tp % dp:
        raise SpecroofError(f"--dp-attention {dp} must divide the --tp {tp} devices (each attention group runs on "
                            "tp / dp of them)")
    if dp > 1 and 1 < ep != tp:
        raise SpecroofError(f"--ep {ep} with --dp-attention {dp}: tokens are sent to their experts by an "
                            f"all-to-all over every device, so --ep must equal --tp {tp}")
    if draft_tp and (draft_tp > tp or tp % draft_tp):
        raise SpecroofError(f"--draft-tp {draft_tp} must divide the --tp {tp} devices")
    return {"ep": ep, "dp_attention": dp, "draft_tp": draft_tp}


def drafter_layout(target: Any, model: "ModelConfig") -> dict[str, int]:
    """The layout a drafter of ``target`` runs under: its own ``draft_tp`` (plain tensor
    parallelism, as vLLM runs a draft at ``draft_tensor_parallel_size``), else the target's."""
    if target.draft_tp:
        model.check_tensor_parallel(target.draft_tp)
        return {"tp": target.draft_tp, "ep": 1, "dp_attention": 1}
    if target.ep > 1 and (not model.is_moe or model.num_experts % target.ep):
        if model.is_moe:
            raise SpecroofError(f"--ep {target.ep} does not divide the draft {model.name}'s {model.num_experts} "
                                "experts; give the draft its own --draft-tp")
        return {"ep": 1}
    return {}


def rank_sequences(batch: np.ndarray, dp_attention: int) -> np.ndarray:
    """Sequences the busiest attention group serves: ``ceil(batch / dp)``."""
    return np.ceil(np.asarray(batch) / dp_attention).astype(np.asarray(batch).dtype)
