"""What is fixed across a grid: model, device, dtypes, implementation profile, parallelism.

:func:`setup_step` resolves names and options once into a :class:`StepSetup`; every list
builder and pricing function then reads it.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from specroof.cost.a2a_data import warn_unmeasured
from specroof.cost.allreduce import check_domain, check_p2p, warn_unmeasured_nccl
from specroof.cost.dtypes import ACTIVATION_DTYPES, BYTES, KV_DTYPES, check_dtype, compute_dtype, format_compute_dtype
from specroof.cost.engine_kernels import fitted_overrides, stand_in
from specroof.cost.layout import check_layout, drafter_layout
from specroof.cost.precision import (
    EVERY_GROUP,
    Precision,
    WeightVariant,
    group_compute_dtype,
    resolve_precision,
    weight_variants,
)
from specroof.cost.profile import ImplementationProfile
from specroof.cost.profile_device import device_base, with_device_fields
from specroof.cost.roofline import Machine
from specroof.cost.routing import MoERouting
from specroof.errors import SpecroofError, SpecroofWarning, shown
from specroof.hardware.accelerator import Accelerator, load_hardware
from specroof.models.architecture import ModelConfig, load_model
from specroof.models.unmodelled import check_unmodelled


@dataclass(frozen=True)
class DeviceSetup:
    """What pricing reads: device, dtypes, implementation profile, parallelism, and for MoE
    layers how the router spreads tokens (``routing``). No model: a kernel of given shapes
    (:mod:`specroof.cost.kernel_latency`) is priced with this alone."""

    hardware: Accelerator
    profile: ImplementationProfile
    weight_dtype: str
    activation_dtype: str
    kv_dtype: str
    compute_dtype: str
    tp: int = 1
    routing: MoERouting = MoERouting()
    weight_variants: tuple[WeightVariant, ...] = field(default=(), kw_only=True)

    def for_weights(self, dtype: str | None) -> "DeviceSetup":
        """This setup for GEMMs whose weights are ``dtype`` (a tensor group's precision,
        :mod:`specroof.cost.precision`): that format's bytes, tensor-core rate and fitted kernels."""
        if dtype is None or dtype == self.weight_dtype:
            return self
        for variant in self.weight_variants:
            if variant.dtype == dtype:
                return replace(self, weight_dtype=dtype, profile=variant.profile, compute_dtype=variant.compute_dtype)
        raise ValueError(f"no weight variant {dtype!r} in this setup (have: {[v.dtype for v in self.weight_variants]})")

    @property
    def machine(self) -> Machine:
        """The GEMM machine: the device's rates after the profile's efficiencies."""
        hw, prof = self.hardware, self.profile
        return Machine(
            sm_count=hw.sm_count,
            flops_per_sm=hw.peak_flops(self.compute_dtype) / hw.sm_count * prof.compute_efficiency,
            bandwidth=hw.memory_bandwidth * prof.bandwidth_efficiency,
            fixed_s=prof.gemm_fixed_us * 1e-6,
            l2_bytes=hw.l2_cache_mb * 1e6,
            l2_spill_penalty=prof.gemm_l2_spill_penalty,
        )

    @property
    def weight_bytes(self) -> float:
        """Bytes of one weight element."""
        return BYTES[self.weight_dtype]

    @property
    def activation_bytes(self) -> float:
        """Bytes of one activation element."""
        return BYTES[self.activation_dtype]


@dataclass(frozen=True)
class StepSetup(DeviceSetup):
    """Everything fixed across the grid: the device setup and the ``model`` (a keyword) whose
    step the list builders describe. ``allow_unmodelled``: price config keys that are not
    modelled yet, with a warning each (:mod:`specroof.models.unmodelled`), instead of refusing
    them."""

    model: ModelConfig = field(kw_only=True)
    allow_unmodelled: bool = field(default=False, kw_only=True)
    # --- parallel: expert parallelism, data-parallel attention, the drafter's own TP (cost/parallel.py)
    ep: int = field(default=1, kw_only=True)
    dp_attention: int = field(default=1, kw_only=True)
    draft_tp: int = field(default=0, kw_only=True)
    precision: Precision | None = field(default=None, kw_only=True)

    @property
    def q_heads(self) -> int:
        """Query heads on one device under tensor parallelism."""
        return max(1, math.ceil(self.model.num_heads / self.tp))

    @property
    def kv_heads(self) -> int:
        """KV heads on one device: split over ``tp``, replicated when there are fewer than ``tp``."""
        return max(1, math.ceil(self.model.num_kv_heads / self.tp))

    @property
    def mlp_width(self) -> int:
        """Intermediate width of one MLP (one expert's) on one device."""
        return max(1, math.ceil(self.model.mlp_width / self.tp))

    def for_model(self, model: ModelConfig) -> "StepSetup":
        """The same device, dtypes, profile and parallelism for another model (a draft model),
        its weights at the same ``--weight-dtype`` over its own checkpoint's groups."""
        if model.unmodelled != self.model.unmodelled:  # a module of the target (MTP) was checked with it
            check_unmodelled(f"model config {model.name!r}", model.unmodelled, self.allow_unmodelled)
        precision = self.precision and self.precision.for_checkpoint(
            model.checkpoint_precision, (self.weight_dtype, *(v.dtype for v in self.weight_variants)))
        return replace(self, model=model, routing=self.routing.for_other_model(), precision=precision,
                       **drafter_layout(self, model))

    def experts_touched(self, tokens) -> np.ndarray:
        """Distinct experts per layer that ``tokens`` tokens read (MoE models)."""
        m = self.model
        return self.routing.experts(m.num_experts, m.experts_per_token, tokens,
                                    (m.expert_groups, m.expert_groups_per_token))


def gemm_compute_dtype(profile: ImplementationProfile, weights: str, activations: str,
                       device_rates: tuple[str, ...] = ()) -> str:
    """The tensor-core rate of the step's GEMMs: an engine that runs fp8 weights as fp8 x fp8
    (``gemm_w8a8``) computes at the fp8 rate with 16-bit activations too; a block-scaled format
    at its own kernels' rate on a device with ``device_rates`` (:func:`format_compute_dtype`)."""
    block = format_compute_dtype(weights, activations, device_rates) if device_rates else None
    if block is not None:
        return block
    if profile.gemm_w8a8 and weights == "fp8" and activations in ("fp16", "bf16"):
        return "fp8"
    return compute_dtype(weights, activations)


def engine_kernel_profile(profile: ImplementationProfile, accel: Accelerator, weights: str,
                          variant: str | None = None) -> ImplementationProfile:
    """An engine profile with the kernel parameters fitted for (device, engine) applied, when
    NVIDIA's kernel database has that pair (src/specroof/cost/engine_kernels.toml); else
    unchanged (its caveat says it keeps the priors)."""
    if not profile.engine or accel.is_calibrated:
        return profile

    overrides = fitted_overrides(accel.name, profile.engine, variant or weights)
    if not overrides:
        return profile
    return profile.with_overrides(**overrides)


def setup_step(model: str | Path | ModelConfig, hardware: str | Path | Accelerator, *, dtype: str = "fp16",
               weight_dtype: str | None = None, kv_dtype: str | None = None, attention: str | None = None,
               cuda_graph: bool | None = None, profile: str | ImplementationProfile | None = None,
               tp: int = 1, operators: Sequence[str] | None = None,
               moe_experts_touched: float | None = None, moe_routing: str | MoERouting | None = None,
               allow_unmodelled: bool = False, ep: int = 1, dp_attention: int = 1, draft_tp: int = 0,
               **profile_overrides: Any) -> StepSetup:
    """Resolve names, dtypes and the implementation profile into a StepSetup.

    Profile precedence: the named ``profile`` (else the calibrated file's base, else
    ``serving``), then the calibrated hardware file's fitted fields, then explicit options.
    ``moe_experts_touched`` (distinct experts per layer a step reads) and ``moe_routing``
    (``uniform`` or ``zipf:S``) describe the router of an MoE model (:mod:`specroof.cost.routing`).
    ``allow_unmodelled``: price a config whose keys are not all modelled (one warning per key)
    instead of refusing it. ``ep``, ``dp_attention``, ``draft_tp``: the layout over the ``tp``
    devices (:mod:`specroof.cost.parallel`).
    """
    model_cfg = load_model(model)
    if not isinstance(allow_unmodelled, bool):
        raise SpecroofError(f"allow_unmodelled must be true or false, got {allow_unmodelled!r}")

    accel = load_hardware(hardware)
    act = check_dtype(dtype, ACTIVATION_DTYPES, "dtype")
    precision = resolve_precision(weight_dtype, model_cfg.checkpoint_precision, act)
    weights = precision.default
    kv = check_dtype(kv_dtype or model_cfg.quantization_kv or (act if act in KV_DTYPES else "fp16"), KV_DTYPES,
                     "KV-cache dtype")
    if isinstance(tp, bool) or not isinstance(tp, (int, np.integer)) or tp < 1:
        raise SpecroofError(f"tensor parallelism must be a positive integer, got {tp!r}")
    model_cfg.check_tensor_parallel(int(tp))
    if tp > 1:
        check_domain(int(tp), accel, "--tp: all-reduce over")
    base = with_device_fields(engine_kernel_profile(device_base(accel, profile), accel, weights), accel, profile)
    overrides = _explicit_overrides(profile_overrides, attention, cuda_graph, operators)
    prof = base.with_overrides(**overrides) if overrides else base
    comp = group_compute_dtype(weights, act, accel, EVERY_GROUP,
                               lambda d: gemm_compute_dtype(prof, d, act))  # fail early, naming the device
    variants = weight_variants(precision, accel, act, lambda d: _weight_profile(accel, profile, d, overrides),
                               gemm_compute_dtype)
    prof = _with_variant_caveats(prof, accel, variants)
    routing = MoERouting.of(moe_routing, moe_experts_touched)
    skewed = routing.kind != "uniform" and routing.experts_touched is None
    check_unmodelled(f"model config {model_cfg.name!r}", model_cfg.unmodelled, allow_unmodelled, skewed)
    if model_cfg.is_moe:
        routing.check(model_cfg.name, model_cfg.num_experts, model_cfg.experts_per_token)
        if routing.experts_touched is not None and prof.moe_kernel == "fused":
            warnings.warn(SpecroofWarning(
                f"--moe-experts-touched {routing.experts_touched:g} is not used under profile {prof.name!r}: its "
                f"fused MoE kernel is priced from per-expert loads under --moe-routing {routing.kind}"), stacklevel=3)
    elif routing.experts_touched is not None:
        raise SpecroofError(f"--moe-experts-touched given, but {model_cfg.name} is not a mixture-of-experts model")
    layout = check_layout(model_cfg, accel, int(tp), ep, dp_attention, draft_tp, routing.experts_touched)
    warn_unmeasured(accel.name, prof.engine, layout["ep"] > 1 and layout["dp_attention"] > 1)
    warn_unmeasured_nccl(accel.name, prof.allreduce_nccl and prof.gpu_p2p, int(tp))
    check_p2p(prof.gpu_p2p, int(tp), layout["ep"])
    return StepSetup(accel, prof, weights, act, kv, comp, int(tp), routing, model=model_cfg,
                     allow_unmodelled=allow_unmodelled, weight_variants=variants, precision=precision, **layout)


def _with_variant_caveats(prof: ImplementationProfile, accel: Accelerator, variants: Any) -> ImplementationProfile:
    """The step's profile, its caveat extended with what a tensor group's own format adds: a
    format whose kernels stand in from another engine's fit (engine_kernels.stand_in)."""
    if not prof.engine or accel.is_calibrated:
        return prof
    notes = [found[1] for v in variants if (found := stand_in(accel.name, prof.engine, v.dtype))]
    return prof.with_overrides(kernels_caveat="; ".join([prof.kernels_caveat, *notes]).lstrip("; ")) if notes else prof


def _weight_profile(accel: Accelerator, profile: str | ImplementationProfile | None, weights: str,
                    overrides: dict[str, Any]) -> ImplementationProfile:
    """The step's profile for GEMMs of ``weights``: that format's fitted kernels, then the
    caller's explicit fields."""
    base = with_device_fields(engine_kernel_profile(device_base(accel, profile), accel, weights), accel, profile)
    return base.with_overrides(**overrides) if overrides else base


def _explicit_overrides(profile_overrides: dict[str, Any], attention: str | None, cuda_graph: bool | None,
                        operators: Sequence[str] | None) -> dict[str, Any]:
    """The profile fields the caller set: keyword overrides and the named options."""
    overrides = dict(profile_overrides)
    if attention is not None:
        overrides["attention"] = attention
    if cuda_graph is not None:
        overrides["cuda_graph"] = cuda_graph
    if operators is not None:
        if isinstance(operators, (str, bytes, dict)) or not hasattr(operators, "__iter__"):
            raise SpecroofError(f"operators must be a list of operation names, got {shown(operators)}")
        overrides["operators"] = tuple(operators)
        if not overrides["operators"]:
            raise SpecroofError("operators needs at least one operation name (e.g. qkv_proj,attention)")
    return overrides
