"""The operators of one step: FLOPs, bytes and seconds of each, over a whole grid.

Shapes follow DESIGN.md's table. ``b``, ``n``, ``s`` arrive as broadcastable arrays
(batch on axis 0, candidates on axis 1, seq_len on axis 2), so one call prices every grid
point; operators that do not depend on the context length (all GEMMs) are computed on the
small (batch x candidates) plane and broadcast.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from specroof.cost.dtypes import BYTES
from specroof.cost.profile import ImplementationProfile
from specroof.cost.roofline import Machine, gemm_time
from specroof.hardware.accelerator import Accelerator
from specroof.models.architecture import ModelConfig


@dataclass
class OperatorCost:
    """Totals over the whole step (all layers) for one operator class."""

    flops: np.ndarray
    bytes: np.ndarray
    seconds: np.ndarray
    kernels: float


@dataclass(frozen=True)
class StepSetup:
    """Everything fixed across the grid: model, device, dtypes, profile, parallelism."""

    model: ModelConfig
    hardware: Accelerator
    profile: ImplementationProfile
    weight_dtype: str
    activation_dtype: str
    kv_dtype: str
    compute_dtype: str
    tp: int

    @property
    def machine(self) -> Machine:
        hw, prof = self.hardware, self.profile
        return Machine(
            sm_count=hw.sm_count,
            flops_per_sm=hw.peak_flops(self.compute_dtype) / hw.sm_count * prof.compute_efficiency,
            bandwidth=hw.memory_bandwidth * prof.bandwidth_efficiency,
            fixed_s=prof.gemm_fixed_us * 1e-6,
            l2_bytes=hw.l2_cache_mb * 1e6,
            l2_spill_penalty=prof.gemm_l2_spill_penalty,
        )


def step_operators(setup: StepSetup, b: np.ndarray, n: np.ndarray, s: np.ndarray) -> dict[str, OperatorCost]:
    """Cost of every operator the profile includes, keyed by operator name."""
    model, prof = setup.model, setup.profile
    tokens = b * n
    layers = model.num_layers
    builders = {
        "qkv_proj": lambda: _qkv(setup, tokens),
        "attention": lambda: _attention(setup, b, n, s),
        "o_proj": lambda: _gemm(setup, tokens, model.hidden_size, model.q_dim // setup.tp),
        "moe_router": lambda: _router(setup, tokens),
        "gate_up_proj": lambda: _gate_up(setup, tokens),
        "down_proj": lambda: _down(setup, tokens),
        "elementwise": lambda: _elementwise(setup, tokens),
        "allreduce": lambda: _allreduce(setup, tokens),
        "lm_head": lambda: _lm_head(setup, tokens),
    }
    per_step = {"elementwise", "lm_head"}  # already whole-step totals
    costs: dict[str, OperatorCost] = {}
    for name in prof.operators:
        if name == "moe_router" and not model.is_moe:
            continue
        if name == "allreduce" and setup.tp == 1:
            continue
        cost = builders[name]()
        if name not in per_step:
            cost = OperatorCost(cost.flops * layers, cost.bytes * layers, cost.seconds * layers, cost.kernels * layers)
        overhead = cost.kernels * prof.kernel_overhead_us * 1e-6
        costs[name] = OperatorCost(cost.flops, cost.bytes, cost.seconds + overhead, cost.kernels)
    return costs


def _gemm(setup: StepSetup, m: np.ndarray, n_out: int, k_in: int, groups: np.ndarray | float = 1.0,
          weight_count: np.ndarray | float | None = None) -> OperatorCost:
    """One GEMM kernel whose weights are [k_in x n_out] (times ``weight_count`` matrices)."""
    count = groups if weight_count is None else weight_count
    weight_bytes = count * n_out * k_in * BYTES[setup.weight_dtype]
    flops, moved, seconds = gemm_time(
        m, n_out, k_in, groups, weight_bytes, BYTES[setup.activation_dtype],
        setup.profile.gemm_tiles, setup.machine, setup.profile.gemm_split_k, setup.profile.gemm_tile_policy,
    )
    return OperatorCost(flops, moved, seconds, 1.0)


def _sum(parts: list[OperatorCost]) -> OperatorCost:
    return OperatorCost(
        sum(p.flops for p in parts), sum(p.bytes for p in parts),
        sum(p.seconds for p in parts), sum(p.kernels for p in parts),
    )


def _heads(setup: StepSetup) -> tuple[int, int]:
    """Query and KV heads on one device under tensor parallelism (KV heads replicate)."""
    m = setup.model
    return max(1, math.ceil(m.num_heads / setup.tp)), max(1, math.ceil(m.num_kv_heads / setup.tp))


def _qkv(setup: StepSetup, tokens: np.ndarray) -> OperatorCost:
    m = setup.model
    q_heads, kv_heads = _heads(setup)
    widths = [q_heads * m.head_dim, kv_heads * m.head_dim, kv_heads * m.head_dim]
    if setup.profile.fuse_qkv:
        return _gemm(setup, tokens, sum(widths), m.hidden_size)
    return _sum([_gemm(setup, tokens, w, m.hidden_size) for w in widths])


def _mlp_widths(setup: StepSetup) -> int:
    return max(1, math.ceil(setup.model.mlp_width / setup.tp))


def expected_active_experts(num_experts: int, per_token: int, tokens: np.ndarray) -> np.ndarray:
    """Experts hit by at least one of ``tokens`` tokens under uniform top-k routing.

    Each token picks ``per_token`` of ``num_experts`` experts; an expert is missed by one token
    with probability 1 - k/E, by all T tokens with (1 - k/E)^T.
    """
    return num_experts * (1.0 - (1.0 - per_token / num_experts) ** np.asarray(tokens, dtype=float))


def _moe_shape(setup: StepSetup, tokens: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    m = setup.model
    active = expected_active_experts(m.num_experts, m.experts_per_token, tokens)
    rows = tokens * m.experts_per_token / active
    return active, rows


def _gate_up(setup: StepSetup, tokens: np.ndarray) -> OperatorCost:
    m = setup.model
    width = _mlp_widths(setup)
    if m.is_moe:
        active, rows = _moe_shape(setup, tokens)
        return _gemm(setup, rows, 2 * width, m.hidden_size, groups=active)
    if setup.profile.fuse_gate_up:
        return _gemm(setup, tokens, 2 * width, m.hidden_size)
    return _sum([_gemm(setup, tokens, width, m.hidden_size) for _ in range(2)])


def _down(setup: StepSetup, tokens: np.ndarray) -> OperatorCost:
    m = setup.model
    width = _mlp_widths(setup)
    if m.is_moe:
        active, rows = _moe_shape(setup, tokens)
        return _gemm(setup, rows, m.hidden_size, width, groups=active)
    return _gemm(setup, tokens, m.hidden_size, width)


def _router(setup: StepSetup, tokens: np.ndarray) -> OperatorCost:
    return _gemm(setup, tokens, setup.model.num_experts, setup.model.hidden_size)


def _lm_head(setup: StepSetup, tokens: np.ndarray) -> OperatorCost:
    m = setup.model
    return _gemm(setup, tokens, max(1, math.ceil(m.vocab_size / setup.tp)), m.hidden_size)


def _attention(setup: StepSetup, b: np.ndarray, n: np.ndarray, s: np.ndarray) -> OperatorCost:
    if setup.profile.attention == "unfused":
        return _attention_unfused(setup, b, n, s)
    return _attention_fused(setup, b, n, s)


def _attention_fused(setup: StepSetup, b: np.ndarray, n: np.ndarray, s: np.ndarray) -> OperatorCost:
    """Flash-style attention: KV read once, scores never leave the chip."""
    m, hw, prof = setup.model, setup.hardware, setup.profile
    q_heads, kv_heads = _heads(setup)
    d = m.head_dim
    keys = s + n
    kv_bytes = BYTES[setup.kv_dtype]
    act = BYTES[setup.activation_dtype]
    moved = b * kv_heads * keys * d * 2 * kv_bytes + 2 * b * n * q_heads * d * act
    flops = 4.0 * b * q_heads * n * keys * d
    peak_sm = hw.peak_flops(setup.compute_dtype) / hw.sm_count * prof.attention_compute_efficiency
    bandwidth = hw.memory_bandwidth * prof.bandwidth_efficiency
    split_kv = np.maximum(moved / bandwidth, flops / (peak_sm * hw.sm_count))
    kernel = np.where(n > 1, prof.tree_attention_kernel == "per_head", prof.decode_attention_kernel == "per_head")
    if not kernel.any():  # every point runs split-KV: skip pricing the other kernel
        return OperatorCost(flops, moved, split_kv + prof.gemm_fixed_us * 1e-6, 1.0)
    # per_head: one block per (sequence, query head, query block), no split of the KV sequence.
    q_block = prof.attention_q_block
    blocks = b * q_heads * np.ceil(n / q_block)
    block_bytes = keys * d * 2 * kv_bytes
    block_flops = 4.0 * np.minimum(n, q_block) * keys * d
    # A block loads a KV tile, then computes on it: little overlap at one block per SM, so the
    # two times add.
    block_time = block_bytes / (prof.attention_cta_bandwidth_gbps * 1e9) + block_flops / peak_sm
    waves = np.ceil(blocks / (hw.sm_count * prof.attention_ctas_per_sm))
    per_head = np.maximum(waves * block_time, moved / bandwidth)
    # GQA into a kernel without GQA support: K and V are first copied out to one head per
    # query head (repeat_kv), reading the cache and writing H heads' worth of it.
    expand_bytes, expand_s = 0.0, 0.0
    if prof.gqa_kv_expand and q_heads != kv_heads:
        expand_bytes = np.where(kernel, b * keys * d * 2 * kv_bytes * (kv_heads + q_heads), 0.0)
        expand_s = expand_bytes / bandwidth + np.where(kernel, 2 * prof.kernel_overhead_us * 1e-6, 0.0)
    seconds = np.where(kernel, per_head, split_kv) + expand_s + prof.gemm_fixed_us * 1e-6
    return OperatorCost(flops, moved + expand_bytes, seconds, 1.0)


def _attention_unfused(setup: StepSetup, b: np.ndarray, n: np.ndarray, s: np.ndarray) -> OperatorCost:
    """Q K^T and P V as batched GEMMs with the score matrix in memory, softmax in between.

    Each (sequence, query head) is one problem of the batch: [n x d] x [d x (s+n)] then
    [n x (s+n)] x [(s+n) x d]; keys and values are read per query head (repeat_kv for GQA).
    """
    m, hw, prof = setup.model, setup.hardware, setup.profile
    q_heads, _ = _heads(setup)
    d = m.head_dim
    keys = s + n
    groups = b * q_heads
    kv_elem = BYTES[setup.kv_dtype]
    act = BYTES[setup.activation_dtype]
    machine = Machine(
        sm_count=hw.sm_count,
        flops_per_sm=hw.peak_flops(setup.compute_dtype) / hw.sm_count * prof.attention_compute_efficiency,
        bandwidth=hw.memory_bandwidth * prof.bandwidth_efficiency,
        fixed_s=prof.gemm_fixed_us * 1e-6,
    )
    qk = gemm_time(n, keys, d, groups, groups * keys * d * kv_elem, act, prof.gemm_tiles, machine, prof.gemm_split_k, prof.gemm_tile_policy)
    pv = gemm_time(n, d, keys, groups, groups * keys * d * kv_elem, act, prof.gemm_tiles, machine, prof.gemm_split_k, prof.gemm_tile_policy)
    # One query per sequence (plain decoding) makes both products batched GEMVs: no tiles of
    # padded rows, just a stream over K and V at the bandwidth roofline.
    gemv = np.maximum((qk[1] + pv[1]) / machine.bandwidth,
                      (qk[0] + pv[0]) / (machine.flops_per_sm * machine.sm_count)) + 2 * machine.fixed_s
    products = np.where(n == 1, gemv, qk[2] + pv[2])
    scores = groups * n * keys * act
    softmax_bytes = 2 * prof.softmax_passes * scores
    softmax_seconds = softmax_bytes / machine.bandwidth + prof.softmax_passes * prof.gemm_fixed_us * 1e-6
    return OperatorCost(
        qk[0] + pv[0] + 5.0 * groups * n * keys,
        qk[1] + pv[1] + softmax_bytes,
        products + softmax_seconds,
        2.0 + prof.softmax_passes,
    )


def _elementwise(setup: StepSetup, tokens: np.ndarray) -> OperatorCost:
    """Norms, RoPE, residual adds, SiLU, KV writes, copies: whole-step totals."""
    m, prof = setup.model, setup.profile
    q_heads, kv_heads = _heads(setup)
    qkv_width = (q_heads + 2 * kv_heads) * m.head_dim
    mlp_width = _mlp_widths(setup) * (m.experts_per_token if m.is_moe else 1)
    per_token_layer = (prof.elementwise_hidden_passes * m.hidden_size
                       + prof.elementwise_qkv_passes * qkv_width
                       + prof.elementwise_intermediate_passes * mlp_width)
    elements = tokens * (m.num_layers * per_token_layer + prof.elementwise_final_passes * m.hidden_size)
    moved = elements * BYTES[setup.activation_dtype]
    bandwidth = setup.hardware.memory_bandwidth * prof.elementwise_efficiency
    kernels = m.num_layers * prof.elementwise_kernels_per_layer + (1 if prof.elementwise_final_passes else 0)
    seconds = moved / bandwidth
    return OperatorCost(elements, moved, seconds, float(kernels))


def _allreduce(setup: StepSetup, tokens: np.ndarray) -> OperatorCost:
    """Two ring all-reduces of the [T x h] activations per layer (after attention and MLP)."""
    p = setup.tp
    hw, prof = setup.hardware, setup.profile
    payload = tokens * setup.model.hidden_size * BYTES[setup.activation_dtype]
    link = max(hw.interconnect_gbps, 1.0) * 1e9 * prof.interconnect_efficiency
    seconds = 2 * (2 * (p - 1) / p * payload / link + prof.allreduce_latency_us * 1e-6)
    return OperatorCost(np.zeros_like(payload), 2 * payload, seconds, 2.0)
