"""``latency()``: the time of one decoding / verification step over a grid.

A step is one or more *passes*, each an ordered list of operations priced by one setup: the
target's forward (verification, with any Medusa heads it carries) and, when a draft model
proposes the candidates, ``n - 1`` passes of the draft model. Every operation is priced by
:func:`specroof.cost.pricing.price`; the result keeps each operation priced on the full
(batch, candidates, seq_len) grid, and ``ops_ms`` sums them by name.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from specroof.bands import band_arrays, record_fields, step_domain
from specroof.cost.capacity import check_fit, warn_unfit
from specroof.cost.engine_ops import verification_operations
from specroof.cost.finite import require_finite
from specroof.cost.grid import MAX_AXIS_VALUE, MAX_GRID_POINTS, Grid, grid_axis
from specroof.cost.operation import DRAFTING, LAUNCH, STEP_OPERATIONS, ArrayLike, LaunchShape, Operation, selector
from specroof.cost.passes import Pass
from specroof.cost.pricing import OpCost, price, price_launch
from specroof.cost.profile import ImplementationProfile
from specroof.cost.setup import StepSetup, setup_step
from specroof.hardware.accelerator import Accelerator
from specroof.models.architecture import ModelConfig

if TYPE_CHECKING:
    from specroof.cost.capacity import FitCheck

__all__ = ["MAX_AXIS_VALUE", "MAX_GRID_POINTS", "Pass", "PricedOperation", "StepLatency", "grid_axis",
           "latency", "latency_for_setup", "price_step", "setup_step"]


@dataclass(eq=False)
class PricedOperation:
    """One operation priced on the whole grid: totals over its instances and passes per step.

    The cost of one instance keeps the shape it was priced on (a GEMM's (B, N, 1), attention's
    full grid) and ``scale`` is its instances per step (count x pass repeats); each total is that
    product, computed on first use and handed out as a read-only view of the whole grid. A sweep
    therefore multiplies out only the arrays something reads (latency: the seconds).
    """

    operation: Operation
    cost: OpCost = field(repr=False)
    scale: np.ndarray = field(repr=False)
    grid_shape: tuple[int, int, int] = field(repr=False)

    def _total(self, per_instance: ArrayLike) -> np.ndarray:
        return np.broadcast_to(np.asarray(per_instance, dtype=float) * self.scale, self.grid_shape)

    @property
    def name(self) -> str:
        return self.operation.name

    @cached_property
    def seconds_ms(self) -> np.ndarray:
        """Milliseconds per step in the shape it was priced on (broadcastable to the grid)."""
        return np.asarray(self.cost.seconds, dtype=float) * (self.scale * 1e3)

    @cached_property
    def flops(self) -> np.ndarray:
        return self._total(self.cost.flops)

    @cached_property
    def bytes(self) -> np.ndarray:
        return self._total(self.cost.bytes)

    @cached_property
    def seconds(self) -> np.ndarray:
        return self._total(self.cost.seconds)

    @cached_property
    def kernels(self) -> np.ndarray:
        return self._total(self.cost.kernels)

    @cached_property
    def compute_s(self) -> np.ndarray:
        return self._total(self.cost.compute_s)

    @cached_property
    def memory_s(self) -> np.ndarray:
        return self._total(self.cost.memory_s)

    @cached_property
    def instances(self) -> np.ndarray:
        return np.broadcast_to(self.scale, self.grid_shape)

    @property
    def most_kernels(self) -> float:
        """The most kernels it launches at any grid point (read off the priced shape)."""
        return float(np.max(np.asarray(self.cost.kernels, dtype=float) * self.scale))

    @property
    def bound(self) -> np.ndarray:
        """``compute``, ``memory`` or ``overhead``: which share of the time is largest."""
        overhead = self.seconds - np.maximum(self.compute_s, self.memory_s)
        return np.where(overhead >= np.maximum(self.compute_s, self.memory_s), "overhead",
                        np.where(self.compute_s >= self.memory_s, "compute", "memory"))


@dataclass
class StepLatency:
    """Latency of one step at every grid point, with its per-operation split.

    Arrays have shape ``(len(batch), len(candidates), len(seq_len))``; ``ops_ms`` values sum
    to ``latency_ms`` (the ``launch`` entry, present for eager steps, is the time the GPU
    waits for the host to launch kernels). ``operations`` holds every priced operation;
    ``ops_ms``, ``flops`` and ``bytes`` sum them by name.
    """

    model: ModelConfig
    hardware: Accelerator
    profile: ImplementationProfile
    dtype: str
    weight_dtype: str
    kv_dtype: str
    tp: int
    batch: np.ndarray
    candidates: np.ndarray
    seq_len: np.ndarray
    latency_ms: np.ndarray
    ops_ms: dict[str, np.ndarray]
    kernels: float = 0.0
    operations: list[PricedOperation] = field(default_factory=list, repr=False)
    passes: list[Pass] = field(default_factory=list, repr=False)

    @cached_property
    def fit(self) -> "FitCheck":
        """Does each grid point fit (memory per device, context)? See :mod:`specroof.cost.capacity`."""
        return check_fit(self.passes, Grid(self.batch, self.candidates, self.seq_len))

    @property
    def shape(self) -> tuple[int, int, int]:
        return (len(self.batch), len(self.candidates), len(self.seq_len))

    @property
    def dtypes_label(self) -> str:
        """What titles say of the dtypes: ``bf16``, or ``bf16, weights experts=mxfp4, rest bf16``
        when tensor groups run at their own precision (:mod:`specroof.cost.precision`)."""
        precision = self.passes[0].setup.precision if self.passes else None
        return self.dtype if precision is None or not precision.dtypes else f"{self.dtype}, weights {precision.describe()}"

    @cached_property
    def flops(self) -> dict[str, np.ndarray]:
        """FLOPs per step by operation name (summed when it is not needed: on first use)."""
        return _by_name(self.operations, "flops")

    @cached_property
    def bytes(self) -> dict[str, np.ndarray]:
        """Bytes moved per step by operation name."""
        return _by_name(self.operations, "bytes")

    @property
    def drafting_ms(self) -> np.ndarray:
        """The drafting operations' share of ``latency_ms`` (0 for a plain step)."""
        total = np.zeros(self.shape)
        for op in self.operations:
            if op.operation.group == DRAFTING:
                total = total + op.seconds * 1e3
        return total

    def describe(self) -> dict[str, Any]:
        """The fixed settings of this result, as they appear in every record."""
        return {"model": self.model.name, "hardware": self.hardware.name, "dtype": self.dtype}

    def to_records(self) -> list[dict[str, Any]]:
        """One dict per grid point: settings, grid coordinates, latency_ms and ops_ms, and the
        error band of latency_ms with ``validated`` (:mod:`specroof.bands`)."""
        head = self.describe()
        bands = iter(record_fields(band_arrays(step_domain(self), self.batch, {"latency": self.latency_ms}, "latency")))
        records = []
        for i, b in enumerate(self.batch):
            for j, n in enumerate(self.candidates):
                for k, s in enumerate(self.seq_len):
                    records.append({
                        **head, "batch": int(b), "candidates": int(n), "seq_len": int(s),
                        "latency_ms": float(self.latency_ms[i, j, k]), **next(bands),
                        "ops_ms": {op: float(v[i, j, k]) for op, v in self.ops_ms.items()},
                        **self.fit.record((i, j, k)),
                    })
        return records


def priced_operations(setup: StepSetup, operations: list[Operation]) -> list[Operation]:
    """The operations the profile prices: decoder operations outside its ``operators`` are left
    out, and so are those that only hold bytes (the embedding table)."""
    chosen = setup.profile.operators
    return [op for op in operations
            if op.timed and (selector(op.info.base_name) not in STEP_OPERATIONS
                             or selector(op.info.base_name) in chosen)]


def _price_pass(one: Pass, grid: Grid) -> list[PricedOperation]:
    """Every operation of one pass, and its launch wait when eager, scaled by its repeats.

    Each is priced once on its own shape (no loop over grid points); the totals broadcast
    to the grid only where read."""
    repeats = np.asarray(one.repeats, dtype=float)
    priced: list[PricedOperation] = []
    for op in priced_operations(one.setup, one.operations):
        scale = np.asarray(op.count, dtype=float) * repeats
        priced.append(PricedOperation(op, price(op, one.setup), scale, grid.shape))
    if not one.setup.profile.cuda_graph:
        gpu: ArrayLike = 0.0
        kernels: ArrayLike = 0.0
        for op in priced:
            if op.operation.kind == "host":  # host time the GPU waits for: it hides no launch
                continue
            count = np.asarray(op.operation.count, dtype=float)
            gpu = gpu + np.asarray(op.cost.seconds, dtype=float) * count
            kernels = kernels + np.asarray(op.cost.kernels, dtype=float) * count
        wait = price_launch(one.setup, kernels, np.asarray(gpu, dtype=float))
        launch = LAUNCH.drafting() if priced and priced[0].operation.group == DRAFTING else LAUNCH
        priced.append(PricedOperation(Operation(launch, LaunchShape()), OpCost(0.0, 0.0, wait, 0.0), repeats,
                                      grid.shape))
    return priced


def _by_name(operations: list[PricedOperation], what: str) -> dict[str, np.ndarray]:
    """Totals of ``what`` summed over the operations of each name, in step order."""
    out: dict[str, np.ndarray] = {}
    for op in operations:
        value = getattr(op, what)
        out[op.name] = out[op.name] + value if op.name in out else value
    return out


def _sum_ms(operations: list[PricedOperation], grid: Grid) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Milliseconds by name and in total. Sums run on the shapes the operations were priced on
    (smallest first), so only the operations that vary over the whole grid cost a full pass."""
    by_name: dict[str, np.ndarray] = {}
    for op in operations:
        ms = op.seconds_ms
        by_name[op.name] = by_name[op.name] + ms if op.name in by_name else ms
    total: np.ndarray = np.zeros((1, 1, 1))
    for ms in sorted(by_name.values(), key=np.size):
        total = total + ms
    full = total if total.shape == grid.shape else np.broadcast_to(total, grid.shape).copy()
    return {name: grid.full(ms) for name, ms in by_name.items()}, full


def price_step(passes: list[Pass], grid: Grid) -> StepLatency:
    """Price every pass of a step over ``grid``; the first pass's setup describes the result."""
    first = passes[0].setup
    operations = [op for one in passes for op in _price_pass(one, grid)]
    ops_ms, total = _sum_ms(operations, grid)
    kernels = float(sum(op.most_kernels for op in operations if op.operation.group != DRAFTING))
    require_finite(total, "step latency (ms)", {"batch": grid.batch, "candidates": grid.candidates,
                                                "seq_len": grid.seq_len}, positive=False)
    return StepLatency(
        model=first.model, hardware=first.hardware, profile=first.profile, dtype=first.activation_dtype,
        weight_dtype=first.weight_dtype, kv_dtype=first.kv_dtype, tp=first.tp,
        batch=grid.batch, candidates=grid.candidates, seq_len=grid.seq_len, latency_ms=total, ops_ms=ops_ms,
        kernels=kernels, operations=operations, passes=passes,
    )


def latency(model: str | Path | ModelConfig, hardware: str | Path | Accelerator,
            batch: int | Iterable[int] = 1, candidates: int | Iterable[int] = 1,
            seq_len: int | Iterable[int] = 1024, **options: Any) -> StepLatency:
    """Latency of one decoding (candidates = 1) or verification step, per operator.

    ``model``: catalog name, path to a Hugging Face config.json, or a ModelConfig.
    ``hardware``: catalog name, path to a device/calibrated .toml, or an Accelerator.
    Options: ``dtype`` (activations: fp16, bf16, fp8), ``weight_dtype`` (fp16, bf16, fp8,
    int8, int4), ``kv_dtype``, ``attention`` (fused/unfused), ``cuda_graph``, ``profile``
    (name or ImplementationProfile), ``tp`` (tensor-parallel devices), ``operators``, and any
    ImplementationProfile field as a keyword override. A ``warning:`` (SpecroofWarning) names
    the first grid point that does not fit (memory per device, or context beyond the model's
    maximum); ``result.fit`` holds the check at every point.
    """
    setup = setup_step(model, hardware, **options)
    result = latency_for_setup(setup, batch, candidates, seq_len)
    warn_unfit(result.fit)
    return result


def latency_for_setup(setup: StepSetup, batch: int | Iterable[int] | Grid, candidates: int | Iterable[int] = 1,
                      seq_len: int | Iterable[int] = 1024) -> StepLatency:
    """The plain step of ``setup`` over a grid (or over the axes given): the model's operations
    and what the engine adds (:mod:`specroof.cost.engine_ops`), no drafting."""
    grid = batch if isinstance(batch, Grid) else Grid.of(batch, candidates, seq_len)
    return price_step([Pass(setup, verification_operations(setup, grid))], grid)
