"""``explain()``: why one configuration's speedup falls short of tau, split into causes.

If verifying n candidates cost no more than decoding one token, the speedup would be the
acceptance length tau. It is lower because a speculative step takes longer than a plain
one::

    speedup = tau * T_plain / T_spec   =>   ln(tau) - ln(speedup) = ln(T_spec / T_plain)

and ``T_spec - T_plain`` is a sum of parts: each operator's growth from the plain step to the
verification step (``op_spec - op_plain``), the drafting time, and, for eager steps, the change
in host launch wait. The log gap ``ln(T_spec / T_plain)`` is attributed to each part in
proportion to its added milliseconds, so the shares add up to the gap exactly; a part that
got faster (negative ms) gets a negative share. For each cause:

- ``log_share``: its part of the log gap ln(tau / speedup);
- ``speedup_lost_factor = exp(log_share)``: the speedup is divided by it (the factors multiply
  to ``tau / speedup``);
- ``speedup_lost_points``: ``(tau - speedup) * log_share / gap``, points of speedup in the same
  proportions, so they add up to ``tau - speedup`` (the waterfall chart draws these).

GEMM and MoE operations are also classified as compute- or memory-bound at the verification
step: their arithmetic intensity (FLOPs / bytes moved) against the device's ridge point (peak
FLOP/s / memory bandwidth, datasheet figures, for the step's compute dtype). Causes are the
step's operations (drafting ones included), each in the group its operation list gives it.

For a mixture-of-experts model, ``moe_tax`` is the MoE verification tax: the ``b x n`` tokens
of a verification step wake more experts per layer than the ``b`` tokens of a plain step, and
each extra expert's weights are read. It is the growth of the target's expert operations from
the plain step to the verification step (the expert GEMMs, of kind ``moe``, and the per-expert
dispatch work when experts run one by one): the sum of their ``added_ms`` in the causes, so
the line and the table always agree, whichever kernel (fused, grouped, per expert) prices them.
In decoding, where expert layers are bound by reading weights, that growth is the extra
experts' weights.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from specroof.cost.operation import (
    DRAFTING,
    GROUP_ORDER,
    LINEAR_GROUP,
    MOE_DISPATCH,
    op_info,
)
from specroof.cost.setup import StepSetup
from specroof.cost.step import StepLatency, latency_for_setup
from specroof.errors import SpecroofError
from specroof.hardware.accelerator import Accelerator
from specroof.models.architecture import ModelConfig
from specroof.speculation.acceptance import AcceptanceModel
from specroof.speculation.drafting import Drafting
from specroof.speculation.explain_mla import mla_path
from specroof.speculation.explain_parallel import all_to_all_growth
from specroof.speculation.linear_rollback import linear_rollback
from specroof.speculation.speedup import speedup_of
from specroof.speculation.study import Study
from specroof.speculation.window_cap import window_cap


@dataclass
class Explanation:
    """One configuration's speedup gap, split into causes (see the module docstring)."""

    model: str
    hardware: str
    hardware_display: str
    method: str
    drafting: str
    acceptance: str
    batch: int
    candidates: int
    seq_len: int
    tau: float
    speedup: float
    t_plain_ms: float
    t_spec_ms: float
    verify_ms: float
    draft_ms: float
    ridge_flops_per_byte: float
    causes: list[dict[str, Any]] = field(default_factory=list)
    moe_tax: dict[str, Any] | None = None
    window_cap: dict[str, Any] | None = None  # --- windows: speculation/window_cap.py
    linear_rollback: dict[str, Any] | None = None  # --- linear attention (speculation/linear_rollback.py)
    mla: dict[str, Any] | None = None  # --- MLA: the absorbed path at verification (explain_mla.py)
    acceptance_bound: str = ""  # "drafting shape" where the shape cut the model's tau (bounds.py)
    model_tau: float | None = None  # the acceptance model's own claim at these candidates
    fit: dict[str, Any] = field(default_factory=dict)  # fits, footprint_gb (specroof.cost.capacity)
    profile: Any = field(default=None, repr=False)  # the ImplementationProfile the point was priced with
    all_to_all: dict[str, Any] | None = None  # --- parallel: expert-parallel growth (explain_parallel.py)

    @property
    def log_gap(self) -> float:
        """ln(T_spec / T_plain) = ln(tau) - ln(speedup)."""
        return math.log(self.t_spec_ms / self.t_plain_ms)

    def groups(self) -> list[dict[str, Any]]:
        """The causes summed by group (linear layers, attention, ...), in display order."""
        totals: dict[str, dict[str, float]] = {}
        for cause in self.causes:
            g = totals.setdefault(cause["group"], {"added_ms": 0.0, "log_share": 0.0, "speedup_lost_points": 0.0})
            for key in g:
                g[key] += cause[key]
        return [{"group": name, **totals[name], "speedup_lost_factor": math.exp(totals[name]["log_share"])}
                for name in GROUP_ORDER if name in totals]

    def summary(self) -> dict[str, Any]:
        return {
            "model": self.model, "hardware": self.hardware, "method": self.method, "acceptance": self.acceptance,
            "batch": self.batch, "candidates": self.candidates, "seq_len": self.seq_len,
            "tau": self.tau, "speedup": self.speedup, "t_plain_ms": self.t_plain_ms, "t_spec_ms": self.t_spec_ms,
            "verify_ms": self.verify_ms, "draft_ms": self.draft_ms, "log_gap": self.log_gap,
            "ridge_flops_per_byte": self.ridge_flops_per_byte, "moe_tax": self.moe_tax, "window_cap": self.window_cap,
            "linear_rollback": self.linear_rollback, "mla": self.mla,
            "acceptance_bound": self.acceptance_bound, "model_tau": self.model_tau, **self.fit,
            "all_to_all": self.all_to_all,
        }

    def to_dict(self) -> dict[str, Any]:
        return {"summary": self.summary(), "causes": list(self.causes), "groups": self.groups()}


def explain(model: str | Path | ModelConfig, hardware: str | Path | Accelerator, batch: int = 1,
            candidates: int = 16, seq_len: int = 1024, acceptance: str | AcceptanceModel | None = None,
            method: str | None = None, draft_model: str | Path | ModelConfig | None = None, heads: int | None = None,
            max_depth: int | None = None, drafting: Drafting | None = None, **options: Any) -> Explanation:
    """Split ``ln(tau) - ln(speedup)`` of one (batch, candidates, seq_len) point into causes.

    Arguments as for :func:`specroof.speedup`, with single grid values. The predicted
    speedup is speedup()'s own.
    """
    for value, what in ((batch, "batch"), (candidates, "candidates"), (seq_len, "seq_len")):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise SpecroofError(f"explain needs one positive integer {what}, got {value!r}")
    study = Study.of(model, hardware, [batch], [candidates], [seq_len], acceptance=acceptance, method=method,
                     draft_model=draft_model, heads=heads, max_depth=max_depth, drafting=drafting, **options)
    return explain_of(study)


def explain_of(study: Study) -> Explanation:
    """:func:`explain` of a built one-point :class:`~specroof.speculation.study.Study`."""
    if study.grid.points != 1:
        raise SpecroofError(f"explain looks at one point; the study's grid has {study.grid.points:,}")
    result = speedup_of(study)
    spec_step, setup = result.step, result.setup
    plain = latency_for_setup(setup, study.grid.with_candidates([1]))
    t_spec, t_plain = _at(result.latency_ms), _at(result.ar_latency_ms)
    tau, predicted = _at(result.acceptance_length), _at(result.speedup)
    hw = spec_step.hardware
    ridge = hw.peak_flops(setup.compute_dtype) / hw.memory_bandwidth
    batch, candidates, seq_len = (int(axis[0]) for axis in (study.grid.batch, study.grid.candidates,
                                                            study.grid.seq_len))
    return Explanation(
        model=spec_step.model.name, hardware=hw.name, hardware_display=hw.display_name, method=result.method,
        drafting=result.drafting.describe(),
        acceptance=result.acceptance.describe(), batch=batch, candidates=candidates,
        seq_len=seq_len, tau=tau, speedup=predicted, t_plain_ms=t_plain, t_spec_ms=t_spec,
        verify_ms=_at(result.verify_ms), draft_ms=_at(result.draft_ms), ridge_flops_per_byte=ridge,
        causes=_causes(_added(spec_step, plain, ridge), t_spec, t_plain, tau, predicted),
        moe_tax=moe_tax(setup, spec_step, plain, _at(result.verify_ms)),
        window_cap=window_cap(setup, spec_step, plain),
        linear_rollback=linear_rollback(setup, spec_step, plain, _at(result.verify_ms)),
        mla=mla_path(setup, spec_step, plain),
        acceptance_bound=str(result.bound.labels()[0]),
        model_tau=float(result.drafting.tokens_per_step(result.bound.claimed)[0]),
        fit=spec_step.fit.record((0, 0, 0)), profile=setup.profile,
        all_to_all=all_to_all_growth(setup, spec_step, plain, _at(result.verify_ms)),
    )


def _at(array: Any) -> float:
    """The value of a one-point grid array."""
    return float(np.asarray(array)[0, 0, 0])


def _added(spec_step: StepLatency, plain: StepLatency, ridge: float) -> list[tuple[str, float, dict[str, Any]]]:
    """(operation, milliseconds it adds from the plain to the speculative step, its details:
    both times, and for a linear-layer GEMM its intensity and bound at verification)."""
    matmuls = {op.name for op in spec_step.operations if op.operation.kind in ("gemm", "moe")}
    added: list[tuple[str, float, dict[str, Any]]] = []
    for op in dict.fromkeys([*spec_step.ops_ms, *plain.ops_ms]):
        spec_ms = _at(spec_step.ops_ms[op]) if op in spec_step.ops_ms else 0.0
        plain_ms = _at(plain.ops_ms[op]) if op in plain.ops_ms else 0.0
        extra: dict[str, Any] = {"plain_ms": plain_ms, "spec_ms": spec_ms}
        if op in matmuls and op_info(op).group == LINEAR_GROUP:
            flops, moved = _at(spec_step.flops[op]), _at(spec_step.bytes[op])
            intensity = flops / moved if moved > 0 else math.inf
            extra.update(intensity=intensity, bound="compute" if intensity > ridge else "memory")
        added.append((op, spec_ms - plain_ms, extra))
    return added


def _causes(added: list[tuple[str, float, dict[str, Any]]], t_spec: float, t_plain: float, tau: float,
            predicted: float) -> list[dict[str, Any]]:
    """Each part's share of the log gap ln(T_spec / T_plain), in proportion to its added ms."""
    gap = math.log(t_spec / t_plain)
    total_added = sum(ms for _, ms, _ in added)
    points_total = tau - predicted
    causes = []
    for name, ms, extra in added:
        share = gap * ms / total_added if total_added != 0 else 0.0
        points = points_total * share / gap if gap != 0 else 0.0
        causes.append({
            "cause": name, "group": op_info(name).group, "added_ms": ms, "log_share": share,
            "speedup_lost_factor": math.exp(share), "speedup_lost_points": points,
            "plain_ms": extra["plain_ms"], "spec_ms": extra["spec_ms"],
            "intensity": extra.get("intensity"), "bound": extra.get("bound"),
        })
    return causes


def moe_tax(setup: StepSetup, spec_step: StepLatency, plain_step: StepLatency,
            verify_ms: float) -> dict[str, Any] | None:
    """The MoE verification tax of one point (None for a dense model): routed experts per MoE
    layer at the plain step (``batch`` tokens) and at verification (``batch x candidates``), the
    MoE layers they are woken in, the shared experts every token runs anyway (no tax), the expert
    operations, and the milliseconds they grow by from ``plain_step`` to ``spec_step`` (one
    grid point each), also as a share of the verification step's ``verify_ms``."""
    if not setup.model.is_moe:
        return None
    batch, candidates = int(spec_step.batch[0]), int(spec_step.candidates[0])
    names = list(dict.fromkeys(
        op.name for op in spec_step.operations
        if op.operation.group != DRAFTING and (op.operation.kind == "moe" or op.name == MOE_DISPATCH.name)))

    def ms(step: StepLatency, name: str) -> float:
        return float(np.asarray(step.ops_ms[name])[0, 0, 0]) if name in step.ops_ms else 0.0

    tax_ms = sum(ms(spec_step, name) - ms(plain_step, name) for name in names)
    m = setup.model
    return {"experts_plain": float(setup.experts_touched(batch)),
            "experts_verify": float(setup.experts_touched(batch * candidates)),
            "moe_layers": m.moe_layers, "routed_experts": m.num_experts, "shared_experts": m.shared_experts,
            "expert_ops": names, "tax_ms": tax_ms, "tax_share_of_verify": tax_ms / verify_ms}
