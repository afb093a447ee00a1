"""``latency()``: the time of one decoding / verification step over a grid.

A step feeds ``batch x candidates`` tokens through the model with ``seq_len`` tokens already
in each sequence's KV cache. The result holds the per-operator split on the full
(batch, candidates, seq_len) grid.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from specroof.cost.dtypes import ACTIVATION_DTYPES, BYTES, KV_DTYPES, check_dtype, compute_dtype
from specroof.cost.operators import StepSetup, step_operators
from specroof.cost.profile import ImplementationProfile, get_profile
from specroof.errors import SpecroofError
from specroof.hardware.accelerator import Accelerator, load_hardware
from specroof.models.architecture import ModelConfig, load_model

MAX_GRID_POINTS = 20_000_000
MAX_AXIS_VALUE = 100_000_000  # no batch, candidate count or context is larger


@dataclass
class StepLatency:
    """Latency of one step at every grid point, with its per-operator split.

    Arrays have shape ``(len(batch), len(candidates), len(seq_len))``; ``ops_ms`` values sum
    to ``latency_ms`` (the ``launch`` entry, present for eager steps, is the time the GPU
    waits for the host to launch kernels).
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
    flops: dict[str, np.ndarray] = field(repr=False)
    bytes: dict[str, np.ndarray] = field(repr=False)
    kernels: float = 0.0

    @property
    def shape(self) -> tuple[int, int, int]:
        return (len(self.batch), len(self.candidates), len(self.seq_len))

    def describe(self) -> dict[str, Any]:
        """The fixed settings of this result, as they appear in every record."""
        return {"model": self.model.name, "hardware": self.hardware.name, "dtype": self.dtype}

    def to_records(self) -> list[dict[str, Any]]:
        """One dict per grid point: settings, grid coordinates, latency_ms and ops_ms."""
        head = self.describe()
        records = []
        for i, b in enumerate(self.batch):
            for j, n in enumerate(self.candidates):
                for k, s in enumerate(self.seq_len):
                    records.append({
                        **head, "batch": int(b), "candidates": int(n), "seq_len": int(s),
                        "latency_ms": float(self.latency_ms[i, j, k]),
                        "ops_ms": {op: float(v[i, j, k]) for op, v in self.ops_ms.items()},
                    })
        return records


def as_grid(values: int | Iterable[int], what: str) -> np.ndarray:
    """A 1-D array of positive integers; SpecroofError naming the bad value."""
    array = np.atleast_1d(np.asarray(list(values) if not np.isscalar(values) else [values]))
    if array.size == 0:
        raise SpecroofError(f"{what} needs at least one value")
    if array.ndim != 1:
        raise SpecroofError(f"{what} must be a flat list of integers")
    if not np.issubdtype(array.dtype, np.number) or np.issubdtype(array.dtype, np.bool_):
        raise SpecroofError(f"{what} must be positive integers, got {values!r}")
    with np.errstate(invalid="ignore"):
        bad = array[~np.isfinite(array) | (array <= 0) | (array != np.floor(array)) | (array > MAX_AXIS_VALUE)]
    if bad.size:
        raise SpecroofError(f"{what} must be positive integers up to {MAX_AXIS_VALUE:,}, got {bad[0]!r}")
    return array.astype(np.int64)


def setup_step(model: str | Path | ModelConfig, hardware: str | Path | Accelerator, *, dtype: str = "fp16",
               weight_dtype: str | None = None, kv_dtype: str | None = None, attention: str | None = None,
               cuda_graph: bool | None = None, profile: str | ImplementationProfile | None = None,
               tp: int = 1, operators: Sequence[str] | None = None,
               **profile_overrides: Any) -> StepSetup:
    """Resolve names, dtypes and the implementation profile into a StepSetup.

    Profile precedence: the named ``profile`` (else the calibrated file's base, else
    ``serving``), then the calibrated hardware file's fitted fields, then explicit options.
    """
    model_cfg = load_model(model)
    accel = load_hardware(hardware)
    act = check_dtype(dtype, ACTIVATION_DTYPES, "dtype")
    weights = check_dtype(weight_dtype or act, tuple(BYTES), "weight dtype")
    kv = check_dtype(kv_dtype or (act if act in KV_DTYPES else "fp16"), KV_DTYPES, "KV-cache dtype")
    if isinstance(tp, bool) or not isinstance(tp, (int, np.integer)) or tp < 1:
        raise SpecroofError(f"tensor parallelism must be a positive integer, got {tp!r}")
    base = get_profile(profile if profile is not None else accel.profile_base)
    if accel.profile_overrides and (profile is None or profile == accel.profile_base):
        base = base.with_overrides(**accel.profile_overrides)
    overrides = dict(profile_overrides)
    if attention is not None:
        overrides["attention"] = attention
    if cuda_graph is not None:
        overrides["cuda_graph"] = cuda_graph
    if operators is not None:
        overrides["operators"] = tuple(operators)
    prof = base.with_overrides(**overrides) if overrides else base
    comp = compute_dtype(weights, act)
    accel.peak_flops(comp)  # fail early, with the device's dtypes in the message
    return StepSetup(model_cfg, accel, prof, weights, act, kv, comp, int(tp))


def latency(model: str | Path | ModelConfig, hardware: str | Path | Accelerator,
            batch: int | Iterable[int] = 1, candidates: int | Iterable[int] = 1,
            seq_len: int | Iterable[int] = 1024, **options: Any) -> StepLatency:
    """Latency of one decoding (candidates = 1) or verification step, per operator.

    ``model``: catalog name, path to a Hugging Face config.json, or a ModelConfig.
    ``hardware``: catalog name, path to a device/calibrated .toml, or an Accelerator.
    Options: ``dtype`` (activations: fp16, bf16, fp8), ``weight_dtype`` (fp16, bf16, fp8,
    int8, int4), ``kv_dtype``, ``attention`` (fused/unfused), ``cuda_graph``, ``profile``
    (name or ImplementationProfile), ``tp`` (tensor-parallel devices), ``operators``, and any
    ImplementationProfile field as a keyword override.
    """
    setup = setup_step(model, hardware, **options)
    return latency_for_setup(setup, batch, candidates, seq_len)


def latency_for_setup(setup: StepSetup, batch: int | Iterable[int], candidates: int | Iterable[int],
                      seq_len: int | Iterable[int]) -> StepLatency:
    b_axis = as_grid(batch, "batch")
    n_axis = as_grid(candidates, "candidates")
    s_axis = as_grid(seq_len, "seq_len")
    points = b_axis.size * n_axis.size * s_axis.size
    if points > MAX_GRID_POINTS:
        raise SpecroofError(
            f"grid of {points:,} points ({b_axis.size} x {n_axis.size} x {s_axis.size}) is larger "
            f"than the {MAX_GRID_POINTS:,} computed at once; split it into smaller sweeps"
        )
    b = b_axis.astype(float)[:, None, None]
    n = n_axis.astype(float)[None, :, None]
    s = s_axis.astype(float)[None, None, :]
    shape = (b_axis.size, n_axis.size, s_axis.size)
    costs = step_operators(setup, b, n, s)
    ops_ms = {name: np.broadcast_to(c.seconds * 1e3, shape) for name, c in costs.items()}
    total = np.zeros(shape)
    for v in ops_ms.values():
        total = total + v
    kernels = sum(c.kernels for c in costs.values())
    if not setup.profile.cuda_graph:
        host_ms = kernels * setup.profile.launch_overhead_us * 1e-3
        ops_ms["launch"] = np.maximum(host_ms - total, 0.0)
        total = np.maximum(total, host_ms)
    return StepLatency(
        model=setup.model, hardware=setup.hardware, profile=setup.profile, dtype=setup.activation_dtype,
        weight_dtype=setup.weight_dtype, kv_dtype=setup.kv_dtype, tp=setup.tp,
        batch=b_axis, candidates=n_axis, seq_len=s_axis, latency_ms=total, ops_ms=ops_ms,
        flops={k: np.broadcast_to(c.flops, shape) for k, c in costs.items()},
        bytes={k: np.broadcast_to(c.bytes, shape) for k, c in costs.items()},
        kernels=kernels,
    )
