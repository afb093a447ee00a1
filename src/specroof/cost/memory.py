"""Device memory of a speculative step: does this (batch, candidates, context) fit on the GPU?

The footprint on **one** device (tensor parallelism splits weights and heads over ``tp``
devices) is the sum of four parts, each computed on the whole (batch, candidates, seq_len)
grid:

weights
    ``parameter_count x weight bytes / tp`` (embeddings and LM head included, tied weights
    counted once; every matrix, embeddings too, is assumed split over the ``tp`` devices as
    vocabulary-parallel serving engines do). Drafting adds its own weights: the draft model's
    (``method = "draft"``) or ``heads`` Medusa heads of ``h x h + h x V`` each
    (``method = "heads"``, the residual block and vocabulary projection that
    :mod:`specroof.speculation.drafting` prices).
KV cache
    ``batch x (seq_len + candidates)`` tokens per sequence, each holding
    ``2 x layers x kv_heads x head_dim`` values of the KV-cache dtype (``kv_heads`` per device:
    ``ceil(K / tp)``, replicated when there are fewer KV heads than devices). A draft model
    keeps its own cache of the same number of tokens.
activations
    An estimate of the largest tensors alive during the verification step of ``T = b x n``
    tokens, summed (a conservative bound, since not all of them are alive at once):
    the residual stream and the normed input (``2 x T x h``), the q, k, v projections
    (``T x (q + 2 kv)`` width), the gated MLP's gate and up outputs (``T x 2i``), and the
    logits of every candidate in fp32 (``T x V x 4`` bytes, as verification needs all of them),
    all in the activation dtype except the logits. With ``attention = "unfused"`` the score
    matrix and its softmax (``2 x b x H x n x (s + n)``) are added: they go through memory.
reserve
    A fixed allowance for what no shape predicts: the CUDA context, cuBLAS/attention
    workspaces, CUDA-graph pools and allocator fragmentation. ``RUNTIME_RESERVE_BYTES``
    (1 GiB) by default; serving engines reserve more (vLLM's default
    ``gpu_memory_utilization`` of 0.9 leaves 10 % of the device unused), so pass
    ``reserve_bytes`` to match your engine.

A point fits when the total is at most the accelerator's ``memory_gb`` (decimal GB, as data
sheets state it).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from specroof.cost.dtypes import BYTES
from specroof.cost.operators import StepSetup
from specroof.cost.step import as_grid, setup_step
from specroof.errors import SpecroofError
from specroof.hardware.accelerator import Accelerator
from specroof.models.architecture import ModelConfig, load_model

RUNTIME_RESERVE_BYTES = float(2**30)
"""Default allowance for the CUDA context, workspaces and allocator slack: 1 GiB."""

LOGITS_BYTES = 4.0  # logits are computed / upcast in fp32 for sampling and verification


@dataclass
class MemoryFootprint:
    """Bytes on one device at every (batch, candidates, seq_len) grid point.

    Array fields have shape ``(len(batch), len(candidates), len(seq_len))``; ``weights_bytes``,
    ``draft_weights_bytes`` and ``reserve_bytes`` do not depend on the grid.
    """

    batch: np.ndarray
    candidates: np.ndarray
    seq_len: np.ndarray
    weights_bytes: float
    draft_weights_bytes: float
    kv_cache_bytes: np.ndarray
    activation_bytes: np.ndarray
    reserve_bytes: float
    capacity_bytes: float

    @property
    def total_bytes(self) -> np.ndarray:
        return (self.weights_bytes + self.draft_weights_bytes + self.reserve_bytes
                + self.kv_cache_bytes + self.activation_bytes)

    @property
    def total_gb(self) -> np.ndarray:
        return self.total_bytes / 1e9

    @property
    def capacity_gb(self) -> float:
        return self.capacity_bytes / 1e9

    @property
    def fits(self) -> np.ndarray:
        """True where the footprint is within the device's memory."""
        return self.total_bytes <= self.capacity_bytes

    def to_records(self) -> list[dict[str, Any]]:
        """One dict per grid point, sizes in GB."""
        records = []
        total, fits = self.total_bytes, self.fits
        for i, b in enumerate(self.batch):
            for j, n in enumerate(self.candidates):
                for k, s in enumerate(self.seq_len):
                    records.append({
                        "batch": int(b), "candidates": int(n), "seq_len": int(s),
                        "weights_gb": (self.weights_bytes + self.draft_weights_bytes) / 1e9,
                        "kv_cache_gb": float(self.kv_cache_bytes[i, j, k]) / 1e9,
                        "activations_gb": float(self.activation_bytes[i, j, k]) / 1e9,
                        "reserve_gb": self.reserve_bytes / 1e9,
                        "total_gb": float(total[i, j, k]) / 1e9,
                        "capacity_gb": self.capacity_gb, "fits": bool(fits[i, j, k]),
                    })
        return records


def memory_footprint(model: str | Path | ModelConfig | StepSetup, hardware: str | Path | Accelerator | None = None,
                     batch: int | Iterable[int] = 1, candidates: int | Iterable[int] = 1,
                     seq_len: int | Iterable[int] = 1024, *, method: str = "none",
                     draft_model: str | Path | ModelConfig | None = None, heads: int = 0,
                     reserve_bytes: float = RUNTIME_RESERVE_BYTES, **options: Any) -> MemoryFootprint:
    """Memory on one device over the grid (see the module docstring for what is counted).

    ``model`` is a model (name, config.json path or ModelConfig, with ``hardware`` and the
    cost-model ``options`` of :func:`specroof.latency`: ``dtype``, ``weight_dtype``,
    ``kv_dtype``, ``attention``, ``tp``, ...) or an already resolved ``StepSetup`` (then
    ``hardware`` and ``options`` must be left out). ``method``, ``draft_model`` and ``heads``
    add the drafting's own memory, as in :func:`specroof.speedup`.
    """
    if isinstance(model, StepSetup):
        if hardware is not None or options:
            raise SpecroofError("memory_footprint: give either a StepSetup or a model with hardware and options")
        setup = model
    else:
        if hardware is None:
            raise SpecroofError("memory_footprint needs the hardware (e.g. 'h200')")
        setup = setup_step(model, hardware, **options)
    reserve = float(reserve_bytes)
    if not math.isfinite(reserve) or reserve < 0:
        raise SpecroofError(f"memory reserve must be a non-negative number of bytes, got {reserve_bytes!r}")
    b_axis = as_grid(batch, "batch")
    n_axis = as_grid(candidates, "candidates")
    s_axis = as_grid(seq_len, "seq_len")
    b = b_axis.astype(float)[:, None, None]
    n = n_axis.astype(float)[None, :, None]
    s = s_axis.astype(float)[None, None, :]
    shape = (b_axis.size, n_axis.size, s_axis.size)

    weights = weight_bytes(setup.model, setup.weight_dtype, setup.tp)
    kv = kv_cache_bytes(setup, b, n, s)
    activations = activation_bytes(setup, b, n, s)
    draft_weights = 0.0
    if method == "draft" or (draft_model is not None and method == "none"):
        if draft_model is None:
            raise SpecroofError("method 'draft' needs a draft model to size its memory")
        draft = load_model(draft_model)
        draft_weights = weight_bytes(draft, setup.weight_dtype, setup.tp)
        kv = kv + kv_cache_bytes(replace(setup, model=draft), b, n, s)
    elif method == "heads":
        if isinstance(heads, bool) or int(heads) != heads or heads < 0:
            raise SpecroofError(f"number of heads must be a non-negative integer, got {heads!r}")
        m = setup.model
        per_head = m.hidden_size * m.hidden_size + m.hidden_size * m.vocab_size
        draft_weights = int(heads) * per_head * BYTES[setup.weight_dtype] / setup.tp
    return MemoryFootprint(
        batch=b_axis, candidates=n_axis, seq_len=s_axis, weights_bytes=weights,
        draft_weights_bytes=draft_weights, kv_cache_bytes=np.broadcast_to(kv, shape).astype(float),
        activation_bytes=np.broadcast_to(activations, shape).astype(float), reserve_bytes=reserve,
        capacity_bytes=setup.hardware.memory_bytes,
    )


def fits(model: str | Path | ModelConfig | StepSetup, hardware: str | Path | Accelerator | None = None,
         batch: int | Iterable[int] = 1, candidates: int | Iterable[int] = 1,
         seq_len: int | Iterable[int] = 1024, **kwargs: Any) -> np.ndarray:
    """Boolean (batch, candidates, seq_len) array: does the step fit in the device's memory?

    Same arguments as :func:`memory_footprint`.
    """
    return memory_footprint(model, hardware, batch, candidates, seq_len, **kwargs).fits


def weight_bytes(model: ModelConfig, weight_dtype: str, tp: int = 1) -> float:
    """Bytes of a model's weights on one of ``tp`` devices."""
    return model.parameter_count() * BYTES[weight_dtype] / tp


def kv_heads_per_device(model: ModelConfig, tp: int) -> int:
    """KV heads one device holds: split over ``tp``, replicated when there are fewer than ``tp``."""
    return max(1, math.ceil(model.num_kv_heads / tp))


def kv_cache_bytes(setup: StepSetup, b: np.ndarray, n: np.ndarray, s: np.ndarray) -> np.ndarray:
    """KV cache of ``b`` sequences of ``s + n`` tokens on one device."""
    m = setup.model
    per_token = 2 * m.num_layers * kv_heads_per_device(m, setup.tp) * m.head_dim * BYTES[setup.kv_dtype]
    return b * (s + n) * per_token


def activation_bytes(setup: StepSetup, b: np.ndarray, n: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Largest live activations of a verification step of ``b x n`` tokens (conservative sum)."""
    m, tp = setup.model, setup.tp
    act = BYTES[setup.activation_dtype]
    tokens = b * n
    q_heads = max(1, math.ceil(m.num_heads / tp))
    qkv_width = (q_heads + 2 * kv_heads_per_device(m, tp)) * m.head_dim
    mlp_width = max(1, math.ceil(m.mlp_width / tp)) * (m.experts_per_token if m.is_moe else 1)
    per_token = (2 * m.hidden_size + qkv_width + 2 * mlp_width) * act + m.vocab_size * LOGITS_BYTES
    total = tokens * per_token
    if setup.profile.attention == "unfused":
        total = total + 2 * b * q_heads * n * (s + n) * act
    return total
