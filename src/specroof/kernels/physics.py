"""Few-parameter physical models of measured kernel times, fitted in benchmarks/kernels/fit_physics.py.

Each ``predict_<model>(params, rows)`` takes a dict of fitted parameters (the keys stored in
``data/kernels/fitted-params.toml``) and a structured array in the normalized schema, and
returns microseconds. They are numpy only and have no notion of engines: the parameters carry
that. They document the physics the core cost model can adopt; they are not wired into it.

Units: FLOP/s in TFLOP/s, bandwidths in GB/s (1e9 B/s), times in us.
"""

from __future__ import annotations

import numpy as np

# bytes per element of weights / activations for each GEMM precision; activations of
# fp8 GEMMs are quantized from bf16 by a separate kernel (read 2 B, write 1 B, read 1 B).
GEMM_WEIGHT_BYTES = {"bf16": 2.0, "fp16": 2.0, "fp8": 1.0, "fp8_block": 1.0, "int8_wo": 1.0,
                     "int4_wo": 0.5, "sq": 1.0, "nvfp4": 0.5625}
GEMM_ACT_BYTES = {"bf16": 2.0, "fp16": 2.0, "fp8": 4.0, "fp8_block": 4.0, "int8_wo": 2.0,
                  "int4_wo": 2.0, "sq": 4.0, "nvfp4": 3.5}
KV_BYTES = {"bf16": 2.0, "fp16": 2.0, "fp8": 1.0}
MOE_WEIGHT_BYTES = {"bf16": 2.0, "fp16": 2.0, "fp8": 1.0, "fp8_block": 1.0}


def _pad(x, tile):
    tile = max(float(tile), 1.0)
    return np.ceil(np.asarray(x, float) / tile) * tile


def gemm_flops(rows):
    return 2.0 * rows["m"].astype(float) * rows["n"] * rows["k"]


def gemm_bytes(rows, dtype):
    m, n, k = (rows[f].astype(float) for f in ("m", "n", "k"))
    return k * n * GEMM_WEIGHT_BYTES[dtype] + m * k * GEMM_ACT_BYTES[dtype] + 2.0 * m * n


def overlap(a, b, q):
    """(a^q + b^q)^(1/q): q -> infinity is max(a, b) (perfect overlap), q = 1 is a + b (none)."""
    if q is None or q >= 50:
        return np.maximum(a, b)
    hi = np.maximum(a, b)
    return hi * ((a / hi) ** q + (b / hi) ** q) ** (1.0 / q)


def predict_gemm(p, rows, dtype):
    """t = t0 + overlap(2 * ceil(m/tile_m)*tile_m * n * k / F, bytes / BW; q).

    ``bytes`` = weights + activations (+ the fp8 quantize pass) + bf16 output. ``tile_m`` is the
    M granularity the library pads to (1 = none); ``overlap_q`` how sharply the compute and
    memory times overlap near the ridge (see :func:`overlap`).
    """
    m_pad = _pad(rows["m"], p["tile_m"])
    compute = 2.0 * m_pad * rows["n"] * rows["k"] / (p["flops_tflops"] * 1e6)
    memory = gemm_bytes(rows, dtype) / (p["bandwidth_gbps"] * 1e3)
    return p["t0_us"] + overlap(compute, memory, p.get("overlap_q"))


def kv_bytes(rows):
    kvb = np.array([KV_BYTES.get(str(d), 2.0) for d in rows["kv_dtype"]])
    return 2.0 * rows["batch"].astype(float) * rows["kv_len"] * rows["num_kv_heads"] * rows["head_dim"] * kvb


def predict_decode_attention(p, rows):
    """t = c0 + batch * (c_seq + c_kv_head * num_kv_heads + c_q_head * num_heads) + kv_bytes / BW.

    c0: the per-call cost (launch, split-KV reduction); the per-sequence terms: per sequence,
    per (sequence, KV head) work unit (a thread block in GQA-packed kernels) and per query head
    (softmax, output write). kv_bytes = K and V of every cached token, read once.
    """
    b = rows["batch"].astype(float)
    per_seq = p["c_seq_us"] + p["c_kv_head_us"] * rows["num_kv_heads"] + p["c_q_head_us"] * rows["num_heads"]
    return p["c0_us"] + b * per_seq + kv_bytes(rows) / (p["bandwidth_gbps"] * 1e3)


def context_flops(rows, causal=True):
    s = rows["seq_len"].astype(float)
    pairs = s * (s + 1) / 2.0 if causal else s * s
    return 4.0 * rows["batch"] * rows["num_heads"] * rows["head_dim"] * pairs


def context_bytes(rows):
    return 2.0 * rows["batch"].astype(float) * rows["seq_len"] * rows["head_dim"] * \
        (2 * rows["num_heads"] + 2 * rows["num_kv_heads"])


def predict_context_attention(p, rows):
    """t = c0 + max(causal FLOPs / F, (Q, K, V, O bytes) / BW), causal = s(s+1)/2 score pairs."""
    causal = bool(p.get("causal", 1))
    compute = context_flops(rows, causal) / (p["flops_tflops"] * 1e6)
    memory = context_bytes(rows) / (p["bandwidth_gbps"] * 1e3)
    return p["c0_us"] + np.maximum(compute, memory)


def predict_allreduce(p, rows):
    """Per GPU count g, the faster of the two custom all-reduce algorithms (the library switches
    between them by message size):

    - one-shot: every GPU reads the whole buffer of each of its g-1 peers and reduces locally,
      t = latency_g + (g-1) * bytes / oneshot_g;
    - two-shot: reduce-scatter then all-gather, one more synchronization,
      t = latency_g + twoshot_g + 2 (g-1)/g * bytes / busbw_g (ring-equivalent bus bytes).
    Without one-shot/two-shot parameters it is the plain two-shot line.
    """
    g = rows["num_gpus"].astype(int)
    out = np.full(len(rows), np.nan)
    for n in np.unique(g):
        sel = g == n
        lat, bw = p.get(f"latency_us_{n}gpu"), p.get(f"busbw_gbps_{n}gpu")
        if lat is None or bw is None:
            continue
        size = rows["message_bytes"][sel].astype(float)
        two = p.get(f"twoshot_us_{n}gpu", 0.0) + 2.0 * (n - 1) / n * size / (bw * 1e3)
        one_bw = p.get(f"oneshot_gbps_{n}gpu")
        one = (n - 1) * size / (one_bw * 1e3) if one_bw else np.inf
        out[sel] = lat + np.minimum(one, two)
    return out


def expert_loads(rows):
    """Expected tokens routed to each local expert, one row per shape: list of arrays.

    Balanced routing spreads ``num_tokens * topk`` assignments evenly over ``num_experts``;
    ``power_law_a`` gives expert r (1-based) a share proportional to r^-a, capped at one
    assignment per token. With expert parallelism ``ep`` the local rank holds the hottest
    ``num_experts / ep`` experts (the slowest rank sets the layer time).
    """
    loads = []
    for r in rows:
        e, t, k = int(r["num_experts"]), float(r["num_tokens"]), float(r["topk"])
        dist = str(r["distribution"])
        if dist.startswith("power_law_"):
            a = float(dist.rsplit("_", 1)[1])
            w = np.arange(1, e + 1, dtype=float) ** -a
            n = np.minimum(t * k * w / w.sum(), t)
        else:
            n = np.full(e, t * k / e)
        loads.append(n[: max(e // max(int(r["ep"]), 1), 1)])
    return loads


def predict_moe(p, rows, dtype):
    """t = t0 + max(6 h i_local * sum_e pad(n_e) / F, touched experts' weight bytes / BW).

    ``n_e`` are the expected tokens of each local expert, padded to ``tile_m`` (grouped GEMMs
    compute whole tiles per expert; an expert expecting n < 1 tokens costs a tile with probability
    1 - exp(-n)); an expert is read if it gets a token (expected
    1 - exp(-n_e)). Gated MLP: 3 matrices of hidden x inter_local.
    """
    h = rows["hidden"].astype(float)
    i_loc = rows["inter"].astype(float) / np.maximum(rows["tp"], 1)
    tiles, touched = [], []
    for n in expert_loads(rows):
        tiles.append(np.sum(np.where(n >= 1, _pad(n, p["tile_m"]), (1.0 - np.exp(-n)) * p["tile_m"])))
        touched.append(np.sum(1.0 - np.exp(-n)))
    tiles, touched = np.array(tiles), np.array(touched)
    compute = 6.0 * h * i_loc * tiles / (p["flops_tflops"] * 1e6)
    memory = touched * 3.0 * h * i_loc * MOE_WEIGHT_BYTES.get(dtype, 2.0) / (p["bandwidth_gbps"] * 1e3)
    return p["t0_us"] + np.maximum(compute, memory)


def mape(pred, meas):
    """Mean absolute percentage error, percent."""
    pred, meas = np.asarray(pred, float), np.asarray(meas, float)
    return float(np.mean(np.abs(pred - meas) / meas) * 100.0)
