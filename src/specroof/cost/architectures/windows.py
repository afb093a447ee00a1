"""Attention within a window (sliding or chunked layers), and attention sinks.

A windowed layer runs the same projections as a full-attention layer; only its attention
kernel reads fewer keys and its cache holds fewer tokens. A verification step feeds ``n`` new
tokens at positions ``s .. s + n - 1`` of each sequence (``s`` cached). With window ``W``:

sliding (query ``p`` sees ``(p - W, p]``)
    the ``n`` queries read the union of their windows, ``min(s + n, W + n - 1)`` keys: exactly
    the whole context while ``s < W``, and flat beyond. Each query near the window's edge sees
    ``W`` keys; the kernel's tile on that trailing edge is computed whole, like the causal
    tile on the diagonal, so the score FLOPs are priced as a causal block over those keys.
chunked (query ``p`` sees its chunk, ``floor(p / W) W .. p``)
    the queries read from the first query's chunk start, ``(s mod W) + n`` keys: a sawtooth
    between ``n`` and ``W + n - 1`` as a generation crosses chunks. Priced at its top,
    ``min(s + n, W + n - 1)`` as for a sliding window: exact within the first chunk, and
    beyond it the most a step reads (a generation's steps read about half of that on average).
    The exact value at one ``s`` would make round contexts (16,384 = 2 chunks) look cheapest,
    and latency fall with context, which no plan over a generation sees.

KV cache: engines free what falls out of the window. vLLM v1's ``SlidingWindowManager``
(``vllm/v1/core/single_type_kv_cache_manager.py``, ``get_num_skipped_tokens`` /
``remove_skipped_blocks``: blocks wholly before ``num_computed_tokens - sliding_window + 1``
go back to the pool) and ``ChunkedLocalAttentionManager`` (blocks before the current chunk);
SGLang keeps windowed layers in a separate, smaller pool (``SWAKVPool``,
``--swa-full-tokens-ratio``) and evicts tokens outside the window. So a windowed layer holds
at most ``W + n - 1`` tokens per sequence (``cache_tokens_max``): the window of the first
verified token plus the ``n`` being verified. For chunked layers that is the peak, at a
chunk's end (memory must hold the worst step). Partly filled paged blocks at the window's
trailing edge (up to one block, 16 tokens in vLLM) are not counted.

Attention sinks (gpt-oss): one learned logit per query head joins each softmax's denominator.
The kernels start the online softmax's running maximum and sum from it (FlashAttention-3's
and FlashInfer's ``sinks`` argument), so it adds one exponential per (query, head): no
memory traffic, far below the score FLOPs, and not priced in time. Its weights (one value per
head and layer) are held with the attention operation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields, replace

import numpy as np

from specroof.cost.grid import Grid
from specroof.cost.operation import ATTENTION, WINDOW_ATTENTION, ArrayLike, AttentionShape, Operation
from specroof.cost.setup import StepSetup

Builder = Callable[[StepSetup, Grid, ArrayLike, int], list[Operation]]
"""(setup, grid, tokens, layers) -> an attention block (decoder.AttentionBuilder)."""


def window_layer_count(setup: StepSetup, num_layers: int) -> int:
    """The model's windowed layers, when the step runs all of its layers; a drafter built with
    its own layer count (an MTP module) is full attention."""
    model = setup.model
    return model.window_layers if num_layers == model.num_layers else 0


def window_keys(window: int, s: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Keys the ``n`` queries of a sequence read in one windowed layer at context ``s``
    (chunked: the most, at a chunk's last step; :func:`chunk_keys` is the exact sawtooth)."""
    return np.minimum(s + n, window + n - 1.0)


def chunk_keys(window: int, s: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Keys the ``n`` queries at context ``s`` read in a chunked layer, exactly: from the first
    query's chunk start (explain reports it next to the priced bound)."""
    return np.mod(s, window) + n


def cache_tokens_max(window: int, n: np.ndarray) -> np.ndarray:
    """The most tokens a windowed layer's cache holds per sequence: the window of the first
    verified token and the ``n`` being verified."""
    return window + n - 1.0


def full_block(full: Builder) -> Builder:
    """``full``'s attention block, with the model's sinks (if any) held by its attention."""
    def build(setup: StepSetup, grid: Grid, tokens: ArrayLike, layers: int) -> list[Operation]:
        return [with_sinks(op, setup, layers) for op in full(setup, grid, tokens, layers)]
    return build


def window_block(full: Builder) -> Builder:
    """The attention block of ``layers`` windowed layers: ``full``'s projections, and its
    attention reading at most the window (:data:`WINDOW_ATTENTION`, cache capped)."""
    def build(setup: StepSetup, grid: Grid, tokens: ArrayLike, layers: int) -> list[Operation]:
        return [with_sinks(windowed(op, setup, grid), setup, layers) for op in full(setup, grid, tokens, layers)]
    return build


def windowed(op: Operation, setup: StepSetup, grid: Grid) -> Operation:
    """An attention operation over the model's window; any other operation unchanged."""
    if op.info is not ATTENTION or not isinstance(op.shape, AttentionShape):
        return op
    m = setup.model
    keys = window_keys(m.attention_window, grid.s, grid.n)
    full_keys = np.asarray(op.shape.keys, dtype=float)
    scores = np.asarray(op.activation_bytes, dtype=float) * keys / full_keys  # unfused scores: [n x keys]
    return replace(op, info=WINDOW_ATTENTION, shape=replace(op.shape, keys=keys), activation_bytes=scores,
                   cache_tokens_max=cache_tokens_max(m.attention_window, grid.n))


def with_sinks(op: Operation, setup: StepSetup, layers: int) -> Operation:
    """The attention operation holding its layers' sink logits (one per query head on this
    device, in the weight dtype); unchanged without sinks."""
    if not setup.model.attention_sinks or op.info not in (ATTENTION, WINDOW_ATTENTION):
        return op
    return replace(op, weight_bytes=op.weight_bytes + layers * setup.q_heads * setup.weight_bytes)


def combine(blocks: list[list[Operation]]) -> list[Operation]:
    """The attention blocks of all kinds of layer as one list: an operation of a later block
    that an earlier one already runs on the same shape (a windowed layer's q/k/v and output
    projections) is added to it (instances and weights), so ``ops`` shows it once."""
    out = list(blocks[0]) if blocks else []
    for block in blocks[1:]:
        for op in block:
            same = next((i for i, have in enumerate(out) if _alike(have, op)), None)
            if same is None:
                out.append(op)
            else:
                have = out[same]
                out[same] = replace(have, count=have.count + op.count, weight_bytes=have.weight_bytes + op.weight_bytes)
    return out


def _alike(a: Operation, b: Operation) -> bool:
    """The same operation on the same shape, holding the same bytes per instance."""
    if a.info is not b.info or type(a.shape) is not type(b.shape):
        return False
    values = [(getattr(a.shape, f.name), getattr(b.shape, f.name)) for f in fields(a.shape)]
    values += [(a.activation_bytes, b.activation_bytes), (a.cache_bytes_per_token, b.cache_bytes_per_token)]
    return (a.cache_tokens_max is None and b.cache_tokens_max is None
            and all(np.array_equal(x, y) for x, y in values))
