"""Pricing of a linear-attention scan: :class:`specroof.cost.operation.LinearScanShape`.

The recurrence (Gated DeltaNet, KDA; Mamba-2 counted alike) runs per (sequence, value head)
over a state ``S`` of ``dk x dv``. Token by token (the recurrent kernels engines run for decode
and speculative verification: fla's ``fused_recurrent_gated_delta_rule``, vendored by vLLM and
SGLang), each token reads ``S k`` (``2 dk dv`` FLOPs), adds the rank-one delta update
(``2 dk dv``) and reads the output ``S q`` (``2 dk dv``): ``6 dk dv`` per token. The chunked
form run for prefill (Yang et al., "Parallelizing Linear Transformers with the Delta Rule over
Sequence Length", arXiv 2406.06484, and Gated DeltaNet, arXiv 2412.06464) does the same state
work per token as matrix products, plus, inside each chunk of ``L`` tokens, ``Q K^T``,
``K K^T`` and ``W = T K`` (``2 L^2 dk`` each) and ``U = T V`` and the masked ``A U``
(``2 L^2 dv`` each): ``2 L^2 (3 dk + 2 dv)`` per chunk. So for ``n`` tokens::

    recurrent: FLOPs = heads x 6 n dk dv
    chunked:   FLOPs = heads x (6 n dk dv + 2 (3 dk + 2 dv) (floor(n / c) c^2 + (n mod c)^2))

(the triangular solve, ``L^3 / 3``, is left out: under 2% at L = 64, dk = 128). Each sequence
reads its state and writes it back, reads q and k (per key head) and v, writes the output,
and writes ``checkpoints`` more states (the recurrent kernel's per-token states kept for
rollback, :mod:`specroof.cost.architectures.linear`)::

    bytes = batch x (heads (2 dk dv s_b + n dv 2 a) + key_heads n 2 dk a + checkpoints (heads dk dv s_b + window))

and the chunked kernel adds what it stages in memory between its passes (fla's ``chunk_fwd_h``
writes each chunk's starting state, ``chunk_fwd_o`` reads it; the WY pass writes ``u`` and
``w`` per token): ``2 heads (ceil(n / c) dk dv + n (dk + dv)) a`` per sequence; ``s_b`` is the state's bytes
per element and ``a`` the activation's. The time is a fixed call cost (``linear_scan_call_us``, or ``linear_scan_chunk_call_us`` for the chunked kernel)
plus the largest of the two roofline terms at the profile's scan efficiencies (the two kernels
reach different shares of the bandwidth: ``linear_scan_bandwidth_efficiency`` for the
recurrent one, ``linear_scan_chunk_bandwidth_efficiency`` for the chunked one) and, for the
chunked kernel, its serial state pass: each (sequence, head) walks its chunks in order (fla's
``chunk_fwd_h``), ``ceil(batch heads / SMs) x ceil(n / c) x linear_scan_chunk_step_us``
(few sequences and heads leave most SMs idle on a long prompt). These are the fields fitted
to NVIDIA's measured GDN kernels (``tools/kernels/fit_physics.py``, section ``recurrent_scan``).
An operation of ``queries`` 0 (the rollback checkpoints on their own) has no call and no FLOPs.
"""

from __future__ import annotations

import numpy as np

from specroof.cost.opcost import OpCost
from specroof.cost.operation import LinearScanShape
from specroof.cost.setup import DeviceSetup


def scan_flops(shape: LinearScanShape) -> np.ndarray:
    """FLOPs of one scan over every sequence of the batch (see the module docstring)."""
    n = np.asarray(shape.queries, dtype=float)
    dk, dv, c = float(shape.key_dim), float(shape.value_dim), float(shape.chunk)
    full = np.floor(n / c)
    tail = n - full * c
    intra = np.where(shape.chunked, 2.0 * (3.0 * dk + 2.0 * dv) * (full * c * c + tail * tail), 0.0)
    return np.asarray(shape.batch, dtype=float) * shape.heads * (6.0 * n * dk * dv + intra)


def scan_bytes(shape: LinearScanShape, activation_bytes: float) -> np.ndarray:
    """Bytes one scan moves: each sequence's state in and out, q/k/v in, the output out, and
    its checkpoints."""
    n = np.asarray(shape.queries, dtype=float)
    key_heads = shape.key_heads or shape.heads
    state = shape.heads * shape.key_dim * shape.value_dim * shape.state_bytes
    per_seq = np.where(n > 0, 2.0 * state, 0.0) + 2.0 * n * activation_bytes * (
        shape.heads * shape.value_dim + key_heads * shape.key_dim)
    # the chunked kernel stores each chunk's starting state and the per-token u and w, then reads them back
    per_chunk_state = shape.heads * shape.key_dim * shape.value_dim * activation_bytes
    staged = 2.0 * (np.ceil(n / shape.chunk) * per_chunk_state + n * shape.heads * (shape.key_dim + shape.value_dim)
                    * activation_bytes)
    per_seq = per_seq + np.where(shape.chunked, staged, 0.0)
    return np.asarray(shape.batch, dtype=float) * (per_seq + np.asarray(shape.checkpoints) * (state + shape.window_bytes))


def price_linear_scan(shape: LinearScanShape, setup: DeviceSetup) -> OpCost:
    """One scan: its call (none without queries) + max(FLOPs at the scan's share of the tensor
    peak, bytes at its share of the bandwidth)."""
    hw, prof = setup.hardware, setup.profile
    flops = scan_flops(shape)
    moved = scan_bytes(shape, setup.activation_bytes)
    compute_eff = prof.linear_scan_compute_efficiency or prof.compute_efficiency
    bandwidth_eff = np.where(shape.chunked, prof.linear_scan_chunk_bandwidth_efficiency or prof.bandwidth_efficiency,
                             prof.linear_scan_bandwidth_efficiency or prof.bandwidth_efficiency)
    rate_dtype = setup.activation_dtype if setup.activation_dtype in ("fp16", "bf16") else setup.compute_dtype
    compute_s = flops / (hw.peak_flops(rate_dtype) * compute_eff)
    memory_s = moved / (hw.memory_bandwidth * bandwidth_eff)
    n = np.asarray(shape.queries, dtype=float)
    runs = n > 0
    call_us = np.where(shape.chunked, prof.linear_scan_chunk_call_us, prof.linear_scan_call_us)
    # the chunked kernel's state pass walks the chunks in order, one program per (sequence, head)
    programs = np.ceil(np.asarray(shape.batch, dtype=float) * shape.heads / hw.sm_count)
    serial_s = np.where(shape.chunked, programs * np.ceil(n / shape.chunk) * prof.linear_scan_chunk_step_us * 1e-6, 0.0)
    seconds = np.where(runs, call_us * 1e-6, 0.0) + np.maximum(np.maximum(compute_s, memory_s), serial_s)
    return OpCost(flops, moved, seconds, np.where(runs, 1.0, 0.0), compute_s, memory_s)
