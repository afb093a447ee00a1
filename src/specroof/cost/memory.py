"""Device memory of a speculative step: does this (batch, candidates, context) fit on the GPU?

The footprint on **one** device (tensor parallelism splits weights and heads over ``tp``
devices) is the sum of four parts, each computed on the whole (batch, candidates, seq_len)
grid:

weights
    ``parameter_count x weight bytes / tp`` (embeddings and LM head included, tied weights
    counted once; every matrix, embeddings too, is assumed split over the ``tp`` devices as
    vocabulary-parallel serving engines do). Read off the step's operation list: each
    operation's resident weights times its count, plus the token embedding table of every
    model in the step. Drafting adds its own: the draft model's operations and embeddings
    (``method = "draft"``), or ``heads`` Medusa heads of ``h x h + h x V`` each
    (``method = "heads"``, the operations of :mod:`specroof.cost.drafting_ops`).
KV cache
    ``batch x (seq_len + candidates)`` tokens per sequence, each holding
    ``2 x layers x kv_heads x head_dim`` values of the KV-cache dtype (``kv_heads`` per device:
    ``ceil(K / tp)``, replicated when there are fewer KV heads than devices). A draft model
    keeps its own cache of the same number of tokens.
activations
    An estimate of the largest tensors alive during the verification step of ``T = b x n``
    tokens, summed over the operations of one layer and the LM head (a conservative bound,
    since not all of them are alive at once), each operation stating what it leaves alive
    (:mod:`specroof.cost.decoder_ops`): the residual stream and the normed input
    (``2 x T x h``, elementwise), the q, k, v projections (``T x (q + 2 kv)`` width), the gated
    MLP's gate and up outputs (``T x 2i``), and the logits of every candidate in fp32
    (``T x V x 4`` bytes, as verification needs all of them), all in the activation dtype
    except the logits. With ``attention = "unfused"`` the score matrix and its softmax
    (``2 x b x H x n x (s + n)``) are added: they go through memory. The outputs of o_proj and
    down_proj are added into the residual stream, and drafting's own activations are not
    counted (they are small next to the verification step's).
reserve
    A fixed allowance for what no shape predicts: the CUDA context, cuBLAS/attention
    workspaces, CUDA-graph pools and allocator fragmentation. ``RUNTIME_RESERVE_BYTES``
    (1 GiB) by default; serving engines reserve more (vLLM's default
    ``gpu_memory_utilization`` of 0.9 leaves 10 % of the device unused), so pass
    ``reserve_bytes`` to match your engine.

A point fits when the total is at most the accelerator's ``memory_gb`` (decimal GB, as data
sheets state it). Every priced result applies this check, with the context against the model's
maximum, through :mod:`specroof.cost.capacity`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from specroof.cost.decoder_ops import embedding_bytes
from specroof.cost.dtypes import BYTES
from specroof.cost.grid import Grid
from specroof.cost.operation import DRAFTING
from specroof.cost.setup import StepSetup
from specroof.cost.step import Pass
from specroof.models.architecture import ModelConfig

RUNTIME_RESERVE_BYTES = float(2**30)
"""Default allowance for the CUDA context, workspaces and allocator slack: 1 GiB."""


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


def footprint(passes: list[Pass], grid: Grid, reserve_bytes: float = RUNTIME_RESERVE_BYTES) -> MemoryFootprint:
    """The memory of a step's passes: their operations' weights and activations, and the KV cache
    and embeddings of every model in them (the first pass is the target's verification)."""
    weights, draft_weights = 0.0, 0.0
    kv = np.zeros(grid.shape)
    models: list[ModelConfig] = []
    for one in passes:
        if one.setup.model in models:  # another pass of a model already counted
            continue
        models.append(one.setup.model)
        resident = sum(op.weight_bytes for op in one.operations)
        table = 0.0 if one.shares_embedding else embedding_bytes(one.setup)
        if one is passes[0]:
            weights += sum(op.weight_bytes for op in one.operations if op.group != DRAFTING) + table
            draft_weights += sum(op.weight_bytes for op in one.operations if op.group == DRAFTING)
        else:
            draft_weights += resident + table
        kv = kv + kv_cache_bytes(one.setup, grid.b, grid.n, grid.s)
    activations = sum(op.activation_bytes for op in passes[0].operations if op.group != DRAFTING)
    return MemoryFootprint(
        batch=grid.batch, candidates=grid.candidates, seq_len=grid.seq_len, weights_bytes=weights,
        draft_weights_bytes=draft_weights, kv_cache_bytes=grid.full(kv).astype(float),
        activation_bytes=grid.full(activations).astype(float), reserve_bytes=float(reserve_bytes),
        capacity_bytes=passes[0].setup.hardware.memory_bytes,
    )


def kv_cache_bytes(setup: StepSetup, b: np.ndarray, n: np.ndarray, s: np.ndarray) -> np.ndarray:
    """KV cache of ``b`` sequences of ``s + n`` tokens on one device."""
    m = setup.model
    per_token = 2 * m.num_layers * setup.kv_heads * m.head_dim * BYTES[setup.kv_dtype]
    return b * (s + n) * per_token
