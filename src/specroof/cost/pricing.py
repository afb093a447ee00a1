"""Pricing: exactly one function per kind of operation, all reading the same profile.

Each function prices ONE instance of an operation (one layer's, one head's) on the whole
grid and returns an :class:`OpCost`; :func:`price` dispatches on the shape's kind. The
profile's per-kernel gap (``kernel_overhead_us``) is added here once for every kind, so a
drafting GEMM and a verification GEMM of the same shape cost the same.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from specroof.cost.allreduce import allreduce_seconds, check_domain  # noqa: F401 (check_domain re-exported)
from specroof.cost.dtypes import BYTES, kv_token_bytes, quantized_activation_bytes
from specroof.cost.opcost import OpCost
from specroof.cost.operation import (
    AllreduceShape,
    AllToAllShape,
    AttentionShape,
    ElementwiseShape,
    GemmShape,
    HostShape,
    IndexerShape,
    LatentAttentionShape,
    MoEShape,
    Operation,
)
from specroof.cost.pricing_comm import price_all_to_all
from specroof.cost.pricing_linear import LinearScanShape, price_linear_scan
from specroof.cost.pricing_mla import price_indexer, price_latent_attention
from specroof.cost.roofline import Machine, gemm_time
from specroof.cost.setup import DeviceSetup

MASK_BYTES_PER_ELEMENT = 3.0
"""Per mask kernel and (query, key) element: a one-byte boolean read and a two-byte value written."""

SOFTMAX_FLOPS_PER_SCORE = 5.0
"""Unfused softmax over one score: the running max (1 comparison), subtracting it (1), exp (1),
the running sum (1) and the normalizing division (1)."""


def price(op: Operation, setup: DeviceSetup) -> OpCost:
    """One instance of ``op``, with the profile's per-kernel gap added (under its weights' own
    format when its tensor group's precision is not the step's default)."""
    setup = setup.for_weights(op.weight_dtype)
    cost = _PRICERS[type(op.shape)](op.shape, setup)
    cost.add_seconds(cost.kernels * (setup.profile.kernel_overhead_us * 1e-6))
    return cost


def price_launch(setup: DeviceSetup, kernels: float, gpu_seconds: np.ndarray) -> np.ndarray:
    """Seconds the GPU waits for an eager host to launch ``kernels`` kernels (0 under CUDA graphs).

    An eager pass takes at least kernels x ``launch_overhead_us``: what exceeds the GPU's own
    time is idle waiting.
    """
    if setup.profile.cuda_graph:
        return np.zeros_like(gpu_seconds)
    return np.maximum(kernels * setup.profile.launch_overhead_us * 1e-6 - gpu_seconds, 0.0)


def price_gemm(shape: GemmShape, setup: DeviceSetup) -> OpCost:
    """Tiles in waves over the SMs, split-K, roofline against the weights' and activations' bytes.

    Under ``gemm_w8a8`` an fp8-weight GEMM runs fp8 x fp8: a separate kernel first quantizes
    the activations (reads them, writes an fp8 copy: ``gemm_quantize_us`` plus that traffic at
    the streaming bandwidth), which is why small-M fp8 GEMMs take 0.65-0.9 of the bf16 time,
    not 0.5 (docs/kernels-data.md 4.2).
    """
    prof = setup.profile
    matrices = shape.groups if shape.weight_matrices is None else shape.weight_matrices
    weight_bytes = matrices * shape.n * shape.k * setup.weight_bytes
    machine = setup.machine
    t = gemm_time(shape.m, shape.n, shape.k, shape.groups, weight_bytes, setup.activation_bytes,
                  prof.gemm_tiles, machine, prof.gemm_split_k, prof.gemm_tile_policy, prof.gemm_overlap_q)
    if not quantizes_activations(setup):
        return OpCost(t.flops, t.bytes, t.seconds, 1.0, t.compute_s, t.memory_s)
    quant_bytes = np.asarray(shape.m, dtype=float) * shape.groups * shape.k * (
        setup.activation_bytes + quantized_activation_bytes(setup.compute_dtype))
    quant_s = quant_bytes / machine.bandwidth + prof.gemm_quantize_us * 1e-6
    return OpCost(t.flops, t.bytes + quant_bytes, t.seconds + quant_s, 2.0, t.compute_s, t.memory_s + quant_s)


def quantizes_activations(setup: DeviceSetup) -> bool:
    """An fp8 x fp8 (or NVFP4 x NVFP4) GEMM fed by wider activations: a quantize kernel runs
    before it. Block-scaled formats always quantize their activations where they run at the
    low-precision rate (per-group scales computed on the fly); per-tensor fp8 under
    ``gemm_w8a8``."""
    if setup.weight_dtype in ("fp8_block", "nvfp4"):
        return setup.compute_dtype in ("fp8", "fp4") and setup.activation_dtype != setup.compute_dtype
    return (setup.profile.gemm_w8a8 and setup.weight_dtype == "fp8" and setup.compute_dtype == "fp8"
            and setup.activation_dtype != "fp8")


EXPERT_LOAD_QUANTILES = tuple(float(z) for z in (-1.5341, -0.8871, -0.4888, -0.1573, 0.1573, 0.4888, 0.8871, 1.5341))
"""Standard-normal midpoints of eight equally likely bins (quantiles 1/16, 3/16, ..., 15/16):
the per-expert token counts an MoE layer's experts get, in standard deviations from the mean."""


def price_moe(shape: MoEShape, setup: DeviceSetup) -> OpCost:
    """The experts some token routes to (``setup.routing``), each over its share of the routed tokens.

    ``grouped`` (a grouped GEMM kernel): one kernel whose tiles cover every touched expert.
    ``per_expert`` (a loop over experts): one GEMM kernel per touched expert, each with its own
    waves, fixed latency and kernel gap. ``fused`` (serving engines' fused MoE layer, fitted to
    their measured kernels): :func:`price_moe_fused`.
    """
    if setup.profile.moe_kernel == "fused":
        return price_moe_fused(shape, setup)
    active = setup.routing.experts(shape.num_experts, shape.top_k, shape.tokens, shape.groups)  # the shape's own
    rows = shape.tokens * shape.top_k / active
    if setup.profile.moe_kernel == "grouped":
        return price_gemm(GemmShape(rows, shape.n, shape.k, groups=active), setup)
    # Each expert gets Binomial(T, k / touched) tokens, not the mean: its rows are padded to
    # tiles and its tiles run in waves, so the expected time is the mean over that spread.
    p = np.minimum(shape.top_k / active, 1.0)
    spread = np.sqrt(shape.tokens * p * (1.0 - p))
    parts = [price_gemm(GemmShape(np.clip(rows + z * spread, 1.0, shape.tokens), shape.n, shape.k), setup)
             for z in EXPERT_LOAD_QUANTILES]
    total = {key: sum(np.asarray(getattr(c, key)) for c in parts) / len(parts) * active
             for key in ("flops", "bytes", "seconds", "compute_s", "memory_s")}
    return OpCost(total["flops"], total["bytes"], total["seconds"], active, total["compute_s"], total["memory_s"])


def price_moe_fused(shape: MoEShape, setup: DeviceSetup) -> OpCost:
    """One half of a fused MoE layer (gate-up or down) as serving engines run it.

    Tokens are routed and permuted so each expert's rows are contiguous, then one grouped GEMM
    computes every expert's rows padded to ``moe_tile_m`` (an expert expecting n < 1 tokens
    costs a tile with probability 1 - e^-n); the weights of every expert some token reaches
    (expected 1 - e^-n) are read once. Compute and memory overlap (the larger wins). The
    layer's fixed cost (routing, permute, un-permute, launches: ``moe_fixed_us``) is split
    evenly between its two halves.
    """
    hw, prof = setup.hardware, setup.profile
    loads = setup.routing.expert_loads(shape.num_experts, shape.top_k, shape.tokens, shape.groups)
    tile = float(prof.moe_tile_m)
    rows = np.sum(np.where(loads >= 1, np.ceil(loads / tile) * tile, (1.0 - np.exp(-loads)) * tile), axis=-1)
    touched = np.sum(1.0 - np.exp(-loads), axis=-1)
    flops = 2.0 * np.sum(loads, axis=-1) * shape.n * shape.k
    moved = touched * shape.n * shape.k * setup.weight_bytes + 2.0 * np.asarray(shape.tokens, float) * shape.top_k * (
        shape.n + shape.k) * setup.activation_bytes
    compute_s = 2.0 * rows * shape.n * shape.k / (hw.peak_flops(setup.compute_dtype) * prof.moe_compute_efficiency)
    memory_s = touched * shape.n * shape.k * setup.weight_bytes / (hw.memory_bandwidth * prof.moe_bandwidth_efficiency)
    seconds = np.maximum(compute_s, memory_s) + 0.5 * prof.moe_fixed_us * 1e-6
    return OpCost(flops, moved, seconds, 1.0, compute_s, memory_s)


def price_attention(shape: AttentionShape, setup: DeviceSetup) -> OpCost:
    if setup.profile.attention == "unfused":
        return _attention_unfused(shape, setup)
    prof = setup.profile
    if "paged" not in (prof.decode_attention_kernel, prof.tree_attention_kernel):
        return _attention_fused(shape, setup)
    paged = _attention_paged(shape, setup)
    if prof.decode_attention_kernel == prof.tree_attention_kernel:
        return paged
    other = _attention_fused(shape, setup)
    use = np.where(np.asarray(shape.queries) > 1, prof.tree_attention_kernel == "paged",
                   prof.decode_attention_kernel == "paged")
    return OpCost(paged.flops, np.where(use, paged.bytes, other.bytes), np.where(use, paged.seconds, other.seconds),
                  1.0, np.where(use, paged.compute_s, other.compute_s), np.where(use, paged.memory_s, other.memory_s))


def causal_pairs(queries: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """(query, key) pairs a causal kernel computes: query i of n sees the s = keys - n cached
    keys and the new keys up to itself, n s + n (n + 1) / 2 (half the square for a prefill)."""
    n, k = np.asarray(queries, float), np.asarray(keys, float)
    return n * (k - n) + n * (n + 1) / 2.0


def _attention_paged(a: AttentionShape, setup: DeviceSetup) -> OpCost:
    """A serving engine's paged attention kernel (FlashInfer, FlashAttention, TRT-LLM XQA/FMHA).

    t = call + batch x (seq + kv_heads x kv_head + q_heads x q_head) + max(compute, memory):
    a fixed cost per call (launch, split-KV reduction; ``attention_call_us`` with one query
    per sequence, ``attention_prefill_call_us`` with more), work per sequence and per
    (sequence, head) thread block that decode kernels pay even on an empty cache (measured
    8-12 us per call and 0.15-0.3 us per sequence on Hopper, docs/kernels-data.md), and the
    roofline of streaming the cached K and V, writing the new tokens' K and V into the cache
    and reading Q / writing O, against the (causal, if ``attention_causal``) score FLOPs.
    """
    hw, prof = setup.hardware, setup.profile
    d, token_bytes = a.head_dim, kv_token_bytes(a.kv_heads, a.head_dim, setup.kv_dtype)
    b = np.asarray(a.batch, dtype=float)
    n = np.asarray(a.queries, dtype=float)
    kv_read = b * a.keys * token_bytes
    kv_write = b * n * token_bytes
    moved = kv_read + kv_write + 2 * b * n * a.q_heads * d * setup.activation_bytes
    pairs = causal_pairs(n, a.keys) if prof.attention_causal else n * np.asarray(a.keys, float)
    flops = 4.0 * b * a.q_heads * pairs * d
    computed = pairs
    if prof.attention_causal:
        # A prefill (no cached prefix) runs the context kernel: tiles of B queries x B keys per
        # (sequence, head), every tile on or below the diagonal computed whole, and one thread
        # block per (sequence, head, B queries) with a fixed cost spread over the SMs. Measured:
        # without these terms the held-out prefill error on Hopper was 18-28%, with them 9-12%
        # (the plain causal FLOP count is right at long prompts, too fast at 64-1536 tokens).
        tile = float(prof.attention_q_block)
        q = np.ceil(n / tile)
        tiles = q * (q + 1) / 2.0
        prefill = np.asarray(a.keys, float) == n
        computed = np.where(prefill, tiles * tile * tile, pairs)
        blocks_us = np.where(prefill, b * a.q_heads * q * prof.attention_prefill_block_us / setup.hardware.sm_count, 0.0)
    else:
        blocks_us = 0.0
    compute_flops = 4.0 * b * a.q_heads * computed * d
    rate_dtype = setup.activation_dtype if setup.activation_dtype in ("fp16", "bf16") else setup.compute_dtype
    compute_s = compute_flops / (hw.peak_flops(rate_dtype) * prof.attention_compute_efficiency)
    bw = prof.attention_bandwidth_efficiency or prof.bandwidth_efficiency
    memory_s = moved / (hw.memory_bandwidth * bw)
    call = np.where(n > 1, prof.attention_prefill_call_us, prof.attention_call_us)
    per_seq = b * (prof.attention_seq_us + a.kv_heads * prof.attention_kv_head_us + a.q_heads * prof.attention_q_head_us)
    seconds = (call + per_seq + blocks_us) * 1e-6 + np.maximum(compute_s, memory_s)
    return OpCost(flops, moved, seconds, 1.0, compute_s, memory_s)


def _attention_fused(a: AttentionShape, setup: DeviceSetup) -> OpCost:
    """Flash-style attention: KV read once, scores never leave the chip."""
    hw, prof = setup.hardware, setup.profile
    d = a.head_dim
    # Per sequence first (no batch axis), then times the batch once: the grid-sized arrays are
    # the few the result holds.
    batch = np.asarray(a.batch, dtype=float)
    seq_bytes = a.keys * kv_token_bytes(a.kv_heads, d, setup.kv_dtype) + a.queries * (
        2 * a.q_heads * d * setup.activation_bytes)
    seq_flops = a.queries * a.keys * (4.0 * a.q_heads * d)
    peak_sm = hw.peak_flops(setup.compute_dtype) / hw.sm_count * prof.attention_compute_efficiency
    bandwidth = hw.memory_bandwidth * prof.bandwidth_efficiency
    fixed = prof.gemm_fixed_us * 1e-6
    split_kv = batch * np.maximum(seq_bytes / bandwidth, seq_flops / (peak_sm * hw.sm_count))
    kernel = np.where(a.queries > 1, prof.tree_attention_kernel == "per_head", prof.decode_attention_kernel == "per_head")
    kernels: np.ndarray | float = 1.0
    extra_bytes: np.ndarray | float = 0.0
    if prof.split_kv_combine:  # the splits' partial outputs, written then combined by a second kernel
        combine_bytes = np.where(kernel, 0.0, _combine_bytes(a, hw.sm_count))
        split_kv = split_kv + combine_bytes / bandwidth
        extra_bytes, kernels = combine_bytes, 1.0 + (combine_bytes > 0)
    if prof.attention_mask_kernels:  # the tree mask of n > 1 queries, converted before the call
        mask = np.where(a.queries > 1, prof.attention_mask_kernels, 0.0)
        extra_bytes, kernels = extra_bytes + mask * a.queries * a.keys * MASK_BYTES_PER_ELEMENT, kernels + mask

    def detail() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        flops, moved = batch * seq_flops, batch * seq_bytes
        return flops, moved + extra_bytes, flops / (peak_sm * hw.sm_count), moved / bandwidth

    if not kernel.any():  # every point runs split-KV: skip pricing the other kernel
        split_kv += fixed
        return OpCost.deferred(split_kv, kernels, detail)
    flops, moved, compute_s, memory_s = detail()
    # per_head: one block per (sequence, query head, query block), no split of the KV sequence.
    q_block = prof.attention_q_block
    blocks = a.batch * a.q_heads * np.ceil(a.queries / q_block)
    block_bytes = a.keys * kv_token_bytes(1, d, setup.kv_dtype)
    block_flops = 4.0 * np.minimum(a.queries, q_block) * a.keys * d
    # A block loads a KV tile, then computes on it: little overlap at one block per SM, so the
    # two times add.
    block_time = block_bytes / (prof.attention_cta_bandwidth_gbps * 1e9) + block_flops / peak_sm
    waves = np.ceil(blocks / (hw.sm_count * prof.attention_ctas_per_sm))
    per_head = np.maximum(waves * block_time, memory_s)
    # GQA into a kernel without GQA support: K and V are first copied out to one head per
    # query head (repeat_kv), reading the cache and writing H heads' worth of it.
    expand_bytes, expand_s = 0.0, 0.0
    if prof.gqa_kv_expand and a.q_heads != a.kv_heads:
        expand_bytes = np.where(kernel, a.batch * a.keys * kv_token_bytes(a.kv_heads + a.q_heads, d, setup.kv_dtype), 0.0)
        expand_s = expand_bytes / bandwidth + np.where(kernel, 2 * prof.kernel_overhead_us * 1e-6, 0.0)
    seconds = np.where(kernel, per_head, split_kv) + expand_s + fixed
    return OpCost(flops, moved + expand_bytes, seconds, kernels, compute_s, memory_s + expand_s)


def _combine_bytes(a: AttentionShape, sm_count: int) -> np.ndarray:
    """fp32 partial outputs and log-sum-exps of every split, written and read back (0: no split)."""
    splits = fa2_num_splits(a, sm_count)
    return np.where(splits > 1, 2 * a.batch * a.q_heads * a.queries * (a.head_dim + 1) * 4.0 * splits, 0.0)


def fa2_num_splits(a: AttentionShape, sm_count: int, max_splits: int = 128) -> np.ndarray:
    """Splits of the KV sequence FlashAttention-2 picks (``num_splits_heuristic`` in its
    ``flash_api.cpp``, vendored by PyTorch's flash SDPA), per grid point.

    Work comes in blocks of (sequence, head, 64 queries); one query per sequence of a GQA model
    is regrouped as H/K queries of each KV head. If the blocks fill 80% of the SMs, one split;
    else, among the splits s that change the KV blocks per split (128 keys each for head dim
    <= 128), the first whose wave efficiency ``w / ceil(w)``, ``w = blocks x s / SMs``, is
    within 85% of the best.
    """
    grouped = (a.queries == 1) & (a.q_heads > a.kv_heads)
    heads = np.where(grouped, a.kv_heads, a.q_heads)
    queries = np.where(grouped, a.q_heads // a.kv_heads, a.queries)
    blocks = a.batch * heads * np.ceil(queries / 64.0)
    block_n = 256 if a.head_dim <= 64 else (128 if a.head_dim <= 128 else 64)
    n_blocks = np.ceil(a.keys / block_n)
    limit = np.minimum(np.minimum(max_splits, sm_count), n_blocks)
    trials = np.arange(1, max_splits + 1, dtype=float).reshape((-1,) + (1,) * np.ndim(blocks))
    waves = blocks * trials / sm_count
    eligible = (trials == 1) | (np.ceil(n_blocks / trials) != np.ceil(n_blocks / np.maximum(trials - 1, 1)))
    eligible = eligible & (trials <= limit)
    efficiency = np.where(eligible, waves / np.ceil(waves), 0.0)
    good = efficiency >= 0.85 * efficiency.max(axis=0)
    splits = np.argmax(good, axis=0) + 1.0
    return np.where(blocks >= 0.8 * sm_count, 1.0, splits)


def _attention_unfused(a: AttentionShape, setup: DeviceSetup) -> OpCost:
    """Q K^T and P V as batched GEMMs with the score matrix in memory, softmax in between.

    Each (sequence, query head) is one problem of the batch: [n x d] x [d x (s+n)] then
    [n x (s+n)] x [(s+n) x d]; keys and values are read per query head (repeat_kv for GQA).
    """
    hw, prof = setup.hardware, setup.profile
    d, keys, n = a.head_dim, a.keys, a.queries
    groups = a.batch * a.q_heads
    kv_elem = BYTES[setup.kv_dtype]
    act = setup.activation_bytes
    machine = Machine(
        sm_count=hw.sm_count,
        flops_per_sm=hw.peak_flops(setup.compute_dtype) / hw.sm_count * prof.attention_compute_efficiency,
        bandwidth=hw.memory_bandwidth * prof.bandwidth_efficiency,
        fixed_s=prof.gemm_fixed_us * 1e-6,
    )
    kv_read = groups * keys * d * kv_elem
    qk = gemm_time(n, keys, d, groups, kv_read, act, prof.gemm_tiles, machine, prof.gemm_split_k, prof.gemm_tile_policy)
    pv = gemm_time(n, d, keys, groups, kv_read, act, prof.gemm_tiles, machine, prof.gemm_split_k, prof.gemm_tile_policy)
    # One query per sequence (plain decoding) makes both products batched GEMVs: no tiles of
    # padded rows, just a stream over K and V at the bandwidth roofline.
    gemv = np.maximum((qk.bytes + pv.bytes) / machine.bandwidth,
                      (qk.flops + pv.flops) / (machine.flops_per_sm * machine.sm_count)) + 2 * machine.fixed_s
    products = np.where(n == 1, gemv, qk.seconds + pv.seconds)
    scores = groups * n * keys * act
    softmax_bytes = 2 * prof.softmax_passes * scores
    softmax_memory_s = softmax_bytes / machine.bandwidth
    softmax_seconds = softmax_memory_s + prof.softmax_passes * prof.gemm_fixed_us * 1e-6
    return OpCost(
        qk.flops + pv.flops + SOFTMAX_FLOPS_PER_SCORE * groups * n * keys,
        qk.bytes + pv.bytes + softmax_bytes,
        products + softmax_seconds,
        2.0 + prof.softmax_passes,
        qk.compute_s + pv.compute_s,
        qk.memory_s + pv.memory_s + softmax_memory_s,
    )


def price_elementwise(shape: ElementwiseShape, setup: DeviceSetup) -> OpCost:
    """Streams of activations at the elementwise kernels' share of bandwidth."""
    width = setup.activation_bytes if shape.bytes_per_element is None else shape.bytes_per_element
    moved = shape.elements * width
    memory_s = moved / (setup.hardware.memory_bandwidth * setup.profile.elementwise_efficiency)
    return OpCost(shape.elements, moved, memory_s, np.asarray(shape.kernels, dtype=float), 0.0, memory_s)


def price_allreduce(shape: AllreduceShape, setup: DeviceSetup) -> OpCost:
    """An all-reduce over ``shape.devices`` within one interconnect domain (:mod:`specroof.cost.allreduce`)."""
    payload = np.asarray(shape.elements, dtype=float) * setup.activation_bytes
    seconds, transfer_s = allreduce_seconds(int(shape.devices), payload, setup)
    return OpCost(np.zeros_like(payload), payload, seconds, 1.0, 0.0, transfer_s)


def price_host(shape: HostShape, setup: DeviceSetup) -> OpCost:
    """Host time the GPU waits for: no kernels, no traffic."""
    return OpCost(0.0, 0.0, shape.microseconds * 1e-6, 0.0)


_PRICERS: dict[type, Callable[..., OpCost]] = {
    GemmShape: price_gemm, MoEShape: price_moe, AttentionShape: price_attention,
    ElementwiseShape: price_elementwise, AllreduceShape: price_allreduce, HostShape: price_host,
    AllToAllShape: price_all_to_all,
    LinearScanShape: price_linear_scan,  # --- linear attention
    LatentAttentionShape: price_latent_attention, IndexerShape: price_indexer,
}
"""A launch wait (LaunchShape) is not here: it depends on its whole pass (price_launch)."""
