"""Device memory of a speculative step: does this (batch, candidates, context) fit on the GPU?

The footprint on **one** device (tensor parallelism splits weights and heads over ``tp``
devices) is the sum of four parts, each computed on the whole (batch, candidates, seq_len)
grid:

weights
    ``parameter_count x weight bytes / tp`` (embeddings and LM head included, tied weights
    counted once; every matrix, embeddings too, is assumed split over the ``tp`` devices as
    vocabulary-parallel serving engines do). Read off the step's operation lists: each
    operation's resident weights, the token embedding table (an operation that is held, not
    timed) included. Drafting adds its own: the draft model's operations and embeddings
    (``method = "draft"``), or ``heads`` Medusa heads of ``h x h + h x V`` each
    (``method = "heads"``, the operations of :mod:`specroof.cost.drafting_ops`).
KV cache
    ``batch x (seq_len + candidates)`` tokens per sequence, each holding
    ``2 x layers x kv_heads x head_dim`` values of the KV-cache dtype (``kv_heads`` per device:
    ``ceil(K / tp)``, replicated when there are fewer KV heads than devices): the sum of the
    operations' ``cache_bytes_per_token`` (each layer's attention). A draft model keeps its
    own cache of the same number of tokens. A windowed layer's cache holds at most its
    operation's ``cache_tokens_max`` tokens (:mod:`specroof.cost.architectures.windows`: the
    window and the tokens being verified), as engines free what falls out of the window.
    A linear-attention layer keeps no KV cache but a
    fixed state per sequence (its recurrent state, its conv window and, verifying n
    candidates, n - 1 rollback checkpoints: :mod:`specroof.cost.architectures.linear`), the
    operations' ``state_bytes_per_sequence``, whatever the context.
activations
    An estimate of the largest tensors alive during the verification step of ``T = b x n``
    tokens, summed over the operations of one layer and the LM head (a conservative bound,
    since not all of them are alive at once), each operation stating what it leaves alive
    (:mod:`specroof.cost.architectures`): the residual stream and the normed input
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
from functools import cached_property
from typing import Any

import numpy as np

from specroof.cost.grid import Grid, compact
from specroof.cost.layout import rank_sequences
from specroof.cost.operation import DRAFTING, Operation
from specroof.cost.passes import Pass
from specroof.models.architecture import ModelConfig

RUNTIME_RESERVE_BYTES = float(2**30)
"""Default allowance for the CUDA context, workspaces and allocator slack: 1 GiB."""


@dataclass
class MemoryFootprint:
    """Bytes on one device at every (batch, candidates, seq_len) grid point.

    Array fields have shape ``(len(batch), len(candidates), len(seq_len))``; ``weights_bytes``,
    ``draft_weights_bytes`` and ``reserve_bytes`` do not depend on the grid, and the KV cache is
    held per sequence, ``(1, len(candidates), len(seq_len))``: ``kv_cache_bytes`` multiplies
    it by the batch when read.
    """

    batch: np.ndarray
    candidates: np.ndarray
    seq_len: np.ndarray
    weights_bytes: float
    draft_weights_bytes: float
    kv_cache_per_sequence: np.ndarray
    activation_bytes: np.ndarray
    reserve_bytes: float
    capacity_bytes: float
    kv_sequences: np.ndarray | None = None  # --- parallel: sequences one device caches (None: the batch)

    @property
    def sequences(self) -> np.ndarray:
        """Sequences whose KV cache one device holds: the batch, or under data-parallel attention
        the busiest group's ``ceil(batch / dp)`` (:mod:`specroof.cost.parallel`)."""
        return self.batch if self.kv_sequences is None else self.kv_sequences

    @property
    def shape(self) -> tuple[int, int, int]:
        return (self.batch.size, self.candidates.size, self.seq_len.size)

    @cached_property
    def kv_cache_bytes(self) -> np.ndarray:
        """KV cache of the whole batch at each grid point (built on first read)."""
        return self.sequences.astype(float)[:, None, None] * self.kv_cache_per_sequence

    @property
    def fixed_bytes(self) -> float:
        """What no grid axis changes: weights (the drafting's too) and the reserve."""
        return self.weights_bytes + self.draft_weights_bytes + self.reserve_bytes

    @cached_property
    def total_bytes(self) -> np.ndarray:
        total = self.kv_cache_bytes + self.activation_bytes
        total += self.fixed_bytes
        return total

    def total_at(self, index: tuple[int, int, int]) -> float:
        """The total at one grid point (without building the whole grid's)."""
        i, j, k = index
        kv = float(self.sequences[i]) * float(self.kv_cache_per_sequence[0, j, k])
        return kv + float(self.activation_bytes[index]) + self.fixed_bytes

    @property
    def capacity_gb(self) -> float:
        return self.capacity_bytes / 1e9

    @cached_property
    def fits(self) -> np.ndarray:
        """True where the footprint is within the device's memory (the KV cache against what
        the rest leaves: one grid-sized comparison)."""
        room = (self.capacity_bytes - self.fixed_bytes) - compact(self.activation_bytes)
        per_sequence = room / self.sequences.astype(float)[:, None, None]
        return np.broadcast_to(self.kv_cache_per_sequence <= per_sequence, self.shape)

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
    """The memory of a step's passes, read off their operation lists: resident weights (the
    embedding tables included), the KV cache (each operation's bytes per token of context) and
    the verification's activations. The first pass is the target's verification; a model run
    by several passes (a drafter's first and later passes) is counted once."""
    weights, draft_weights = 0.0, 0.0
    kv_per_sequence: np.ndarray | float = 0.0
    models: list[ModelConfig] = []
    for one in passes:
        if one.setup.model in models:  # another pass of a model already counted
            continue
        models.append(one.setup.model)
        if one is passes[0]:
            weights += sum(op.weight_bytes for op in one.operations if op.group != DRAFTING)
            draft_weights += sum(op.weight_bytes for op in one.operations if op.group == DRAFTING)
        else:
            draft_weights += sum(op.weight_bytes for op in one.operations)
        kv_per_sequence = kv_per_sequence + cache_bytes_per_sequence(one.operations, grid)
        kv_per_sequence = kv_per_sequence + state_bytes_per_sequence(one.operations)  # --- linear attention
    kv_per_sequence = np.broadcast_to(kv_per_sequence, (1,) + grid.shape[1:])
    activations = sum(op.activation_bytes for op in passes[0].operations if op.group != DRAFTING)
    return MemoryFootprint(
        batch=grid.batch, candidates=grid.candidates, seq_len=grid.seq_len, weights_bytes=weights,
        draft_weights_bytes=draft_weights, kv_cache_per_sequence=kv_per_sequence,
        activation_bytes=grid.full(np.asarray(activations, dtype=float)), reserve_bytes=float(reserve_bytes),
        capacity_bytes=passes[0].setup.hardware.memory_bytes,
        kv_sequences=rank_sequences(grid.batch, passes[0].setup.dp_attention),
    )


def cache_bytes_per_sequence(operations: list[Operation], grid: Grid) -> np.ndarray:
    """Bytes one sequence's cache holds on one device at each (candidates, seq_len) point: the
    ``seq_len + n`` tokens of context, or at most an operation's ``cache_tokens_max``."""
    context = grid.s + grid.n
    capped: np.ndarray | float = 0.0
    for op in operations:
        if op.cache_tokens_max is not None and op.cache_bytes_per_token:
            capped = capped + np.minimum(context, op.cache_tokens_max) * cache_bytes_per_token([op])
    uncapped = cache_bytes_per_token([op for op in operations if op.cache_tokens_max is None])
    return context * uncapped + capped
def state_bytes_per_sequence(operations: list[Operation]) -> np.ndarray | float:
    """Bytes one sequence keeps on one device whatever its context: linear-attention layers'
    recurrent states and their rollback checkpoints (an array over the grid's candidates)."""
    return sum((np.asarray(op.state_bytes_per_sequence, dtype=float) * np.asarray(op.count, dtype=float)
                for op in operations), np.zeros(()))


def cache_bytes_per_token(operations: list[Operation]) -> float:
    """Bytes one token of context keeps on one device over a pass's operations (its KV cache;
    an operation's instances at the grid point that runs the most)."""
    return float(sum(np.max(op.cache_bytes_per_token * np.asarray(op.count, dtype=float)) for op in operations))
