"""FLOPs and bytes of every operator of a step, against values computed by hand.

The expected numbers come from the cost model (README.md, "How a step is costed") and from the
definition of the bytes a GEMM moves in ``roofline.gemm_time``: the weights it reads plus
its activations, ``m * (k + n)`` elements of the activation dtype (rows in, rows out).
Nothing here is copied from the code under test's output.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import specroof
from specroof.cost.routing import expected_active_experts
from specroof.models.architecture import load_model

# llama-7b shapes (huggyllama/llama-7b config.json)
H_SIZE, INTER, LAYERS, HEADS, VOCAB = 4096, 11008, 32, 32, 32000
HEAD_DIM = H_SIZE // HEADS
KV_HEADS = HEADS
FP16 = 2  # bytes per element

B, N, S = 2, 3, 100
T = B * N


@pytest.fixture(scope="module")
def llama7b():
    return specroof.latency("llama-7b", "h200", batch=B, candidates=N, seq_len=S, dtype="fp16")


def one(array) -> float:
    """The single value of a 1x1x1 result array."""
    values = np.asarray(array).ravel()
    assert values.size == 1
    return float(values[0])


def gemm_bytes(tokens, k_in, n_out, weight_elements, weight_bytes=FP16, act_bytes=FP16):
    """Weights read once, plus activations in (tokens x k_in) and out (tokens x n_out)."""
    return weight_elements * weight_bytes + act_bytes * tokens * (k_in + n_out)


# --------------------------------------------------------------------------- llama-7b, dense MHA


def test_llama7b_shapes_as_expected():
    m = load_model("llama-7b")
    assert (m.hidden_size, m.intermediate_size, m.num_layers, m.num_heads, m.num_kv_heads, m.vocab_size) == (
        H_SIZE, INTER, LAYERS, HEADS, KV_HEADS, VOCAB)
    assert m.head_dim == HEAD_DIM == 128


def test_qkv_projection(llama7b):
    width = H_SIZE + 2 * KV_HEADS * HEAD_DIM  # q, k, v outputs
    assert one(llama7b.flops["qkv_proj"]) == 2 * T * H_SIZE * width * LAYERS
    assert one(llama7b.bytes["qkv_proj"]) == LAYERS * gemm_bytes(T, H_SIZE, width, H_SIZE * width)


def test_o_projection(llama7b):
    assert one(llama7b.flops["o_proj"]) == 2 * T * H_SIZE * H_SIZE * LAYERS
    assert one(llama7b.bytes["o_proj"]) == LAYERS * gemm_bytes(T, H_SIZE, H_SIZE, H_SIZE * H_SIZE)


def test_gate_up_projection(llama7b):
    assert one(llama7b.flops["gate_up_proj"]) == 2 * T * H_SIZE * (2 * INTER) * LAYERS
    assert one(llama7b.bytes["gate_up_proj"]) == LAYERS * gemm_bytes(T, H_SIZE, 2 * INTER, H_SIZE * 2 * INTER)


def test_down_projection(llama7b):
    assert one(llama7b.flops["down_proj"]) == 2 * T * INTER * H_SIZE * LAYERS
    assert one(llama7b.bytes["down_proj"]) == LAYERS * gemm_bytes(T, INTER, H_SIZE, INTER * H_SIZE)


def test_mlp_weights_are_three_h_i(llama7b):
    """Gate+up and down read 3 h i weights per layer."""
    act = FP16 * T * ((H_SIZE + 2 * INTER) + (INTER + H_SIZE))
    weights = one(llama7b.bytes["gate_up_proj"]) + one(llama7b.bytes["down_proj"]) - LAYERS * act
    assert weights == LAYERS * 3 * H_SIZE * INTER * FP16


def test_lm_head_once_per_step(llama7b):
    assert one(llama7b.flops["lm_head"]) == 2 * T * H_SIZE * VOCAB
    assert one(llama7b.bytes["lm_head"]) == gemm_bytes(T, H_SIZE, VOCAB, H_SIZE * VOCAB)


def test_fused_attention(llama7b):
    keys = S + N
    assert one(llama7b.flops["attention"]) == 4 * B * HEADS * N * keys * HEAD_DIM * LAYERS
    kv_read = 2 * B * KV_HEADS * keys * HEAD_DIM * FP16  # K and V of every cached + new token
    queries_in_out = 2 * B * N * HEADS * HEAD_DIM * FP16  # q read, output written
    assert one(llama7b.bytes["attention"]) == LAYERS * (kv_read + queries_in_out)


def test_unfused_attention_moves_the_score_matrix():
    r = specroof.latency("llama-7b", "h200", batch=B, candidates=N, seq_len=S, attention="unfused")
    prof = r.profile
    keys = S + N
    groups = B * HEADS  # one (sequence, query head) problem each; K, V read per query head
    kv_read = 2 * groups * keys * HEAD_DIM * FP16
    scores = groups * N * keys  # the b H n (s+n) score matrix
    # Q K^T: Q in (n x d), scores out (n x keys); P V: P in (n x keys), output out (n x d)
    gemm_activations = 2 * FP16 * groups * N * (HEAD_DIM + keys)
    softmax = 2 * prof.softmax_passes * scores * FP16  # each pass reads and writes the scores
    assert one(r.bytes["attention"]) == LAYERS * (kv_read + gemm_activations + softmax)
    math_flops = 4 * B * HEADS * N * keys * HEAD_DIM * LAYERS
    flops = one(r.flops["attention"])
    assert math_flops <= flops <= math_flops * 1.05  # softmax adds a few FLOPs per score


def test_unfused_attention_moves_more_than_fused(llama7b):
    r = specroof.latency("llama-7b", "h200", batch=B, candidates=N, seq_len=S, attention="unfused")
    assert one(r.bytes["attention"]) > one(llama7b.bytes["attention"])


def test_elementwise_and_operator_set(llama7b):
    assert set(llama7b.ops_ms) == {"qkv_proj", "attention", "o_proj", "gate_up_proj", "down_proj",
                                   "elementwise", "lm_head"}
    assert "moe_router" not in llama7b.flops  # dense model
    assert "allreduce" not in llama7b.flops  # tp = 1


def test_unfused_qkv_and_gate_up_split_same_totals(llama7b):
    """Separate q/k/v (gate/up) GEMMs do the same FLOPs and read the same weights."""
    r = specroof.latency("llama-7b", "h200", batch=B, candidates=N, seq_len=S, fuse_qkv=False, fuse_gate_up=False)
    for op in ("qkv_proj", "gate_up_proj"):
        assert one(r.flops[op]) == one(llama7b.flops[op])
    width = H_SIZE + 2 * KV_HEADS * HEAD_DIM
    # three GEMMs each read the T x h input once
    assert one(r.bytes["qkv_proj"]) == LAYERS * (H_SIZE * width * FP16 + FP16 * T * (3 * H_SIZE + width))


@settings(max_examples=30, deadline=None)
@given(b=st.integers(1, 64), n=st.integers(1, 64), s=st.integers(1, 8192))
def test_dense_formulas_hold_over_grid(b, n, s):
    r = specroof.latency("llama-7b", "h200", batch=b, candidates=n, seq_len=s)
    tokens = b * n
    width = H_SIZE + 2 * KV_HEADS * HEAD_DIM
    assert one(r.flops["qkv_proj"]) == 2 * tokens * H_SIZE * width * LAYERS
    assert one(r.flops["gate_up_proj"]) == 2 * tokens * H_SIZE * 2 * INTER * LAYERS
    assert one(r.flops["attention"]) == 4 * b * HEADS * n * (s + n) * HEAD_DIM * LAYERS
    assert one(r.bytes["down_proj"]) == LAYERS * gemm_bytes(tokens, INTER, H_SIZE, INTER * H_SIZE)


# --------------------------------------------------------------------------- GQA: llama-3-8b


@pytest.fixture(scope="module")
def llama3():
    return load_model("llama-3-8b")


def test_llama3_is_gqa(llama3):
    assert (llama3.num_heads, llama3.num_kv_heads, llama3.head_dim) == (32, 8, 128)


def test_gqa_qkv_weight_width(llama3):
    h, L = llama3.hidden_size, llama3.num_layers
    width = (32 + 2 * 8) * 128
    assert width == 6144
    r = specroof.latency(llama3, "h200", batch=B, candidates=N, seq_len=S)
    assert one(r.flops["qkv_proj"]) == 2 * T * h * width * L
    assert one(r.bytes["qkv_proj"]) == L * gemm_bytes(T, h, width, h * width)


def test_gqa_kv_bytes_quarter_of_mha(llama3):
    mha = replace(llama3, num_kv_heads=32)
    L, d = llama3.num_layers, llama3.head_dim
    gqa_r = specroof.latency(llama3, "h200", batch=B, candidates=N, seq_len=S)
    mha_r = specroof.latency(mha, "h200", batch=B, candidates=N, seq_len=S)
    queries = L * 2 * B * N * 32 * d * FP16  # same for both: query heads do not change
    gqa_kv = one(gqa_r.bytes["attention"]) - queries
    mha_kv = one(mha_r.bytes["attention"]) - queries
    assert gqa_kv == L * 2 * B * 8 * (S + N) * d * FP16
    assert gqa_kv * 4 == mha_kv
    # FLOPs follow the query heads, not the KV heads
    assert one(gqa_r.flops["attention"]) == one(mha_r.flops["attention"])


@settings(max_examples=20, deadline=None)
@given(b=st.integers(1, 32), n=st.integers(1, 32), s=st.integers(1, 32768))
def test_gqa_kv_quarter_over_grid(b, n, s):
    model = load_model("llama-3-8b")
    mha = replace(model, num_kv_heads=32)
    L, d = model.num_layers, model.head_dim
    queries = L * 2 * b * n * 32 * d * FP16
    gqa_kv = one(specroof.latency(model, "h200", batch=b, candidates=n, seq_len=s).bytes["attention"]) - queries
    mha_kv = one(specroof.latency(mha, "h200", batch=b, candidates=n, seq_len=s).bytes["attention"]) - queries
    assert gqa_kv * 4 == pytest.approx(mha_kv, rel=1e-12)


# --------------------------------------------------------------------------- mixture of experts


def _monte_carlo_active(num_experts, per_token, tokens, trials, rng):
    """Mean number of distinct experts hit when each token picks ``per_token`` distinct ones."""
    # a random permutation per (trial, token); its first k entries are the token's experts
    keys = rng.random((trials, tokens, num_experts))
    chosen = np.argsort(keys, axis=2)[:, :, :per_token]
    hit = np.zeros((trials, num_experts), dtype=bool)
    for j in range(per_token):
        np.put_along_axis(hit, chosen[:, :, j], True, axis=1)
    return hit.sum(axis=1).mean(), hit.sum(axis=1).std()


@pytest.mark.parametrize("num_experts,per_token", [(8, 2), (64, 6), (16, 1), (4, 4)])
@pytest.mark.parametrize("tokens", [1, 2, 3, 7, 16, 64])
def test_expected_active_experts_matches_monte_carlo(num_experts, per_token, tokens):
    rng = np.random.default_rng(1234 + num_experts * 100 + tokens)
    trials = 4000
    mean, std = _monte_carlo_active(num_experts, per_token, tokens, trials, rng)
    got = float(expected_active_experts(num_experts, per_token, np.array(tokens)))
    assert got == pytest.approx(mean, abs=6 * std / math.sqrt(trials) + 1e-3)


@pytest.mark.parametrize("tokens", [1, 2, 5, 64, 1000])
def test_expected_active_experts_exact(tokens):
    # An expert is missed by one token with probability C(E-1, k) / C(E, k) = 1 - k/E.
    E, k = 8, 2
    miss = math.comb(E - 1, k) / math.comb(E, k)
    assert float(expected_active_experts(E, k, np.array(tokens))) == pytest.approx(E * (1 - miss ** tokens), rel=1e-12)


def test_expected_active_experts_limits():
    t = np.array([1.0, 2.0, 4.0, 16.0, 256.0])
    got = expected_active_experts(8, 2, t)
    assert got[0] == pytest.approx(2.0)  # one token: exactly its k experts
    assert np.all(np.diff(got) > 0)
    assert got[-1] == pytest.approx(8.0)
    assert np.all(got <= 8.0)


@pytest.fixture(scope="module")
def mixtral():
    return load_model("mixtral-8x7b")


def test_mixtral_shapes(mixtral):
    assert (mixtral.num_experts, mixtral.experts_per_token, mixtral.mlp_width) == (8, 2, 14336)


def _moe_weight_bytes(result, op, model, tokens):
    """Bytes of expert weights read: total minus activations (each token through k experts)."""
    h, w, k = model.hidden_size, model.mlp_width, model.experts_per_token
    per_row = (h + 2 * w) if op == "gate_up_proj" else (w + h)
    act = FP16 * tokens * k * per_row
    return np.asarray(result.bytes[op]).ravel() - model.num_layers * act


def test_moe_bytes_follow_active_experts(mixtral):
    batches = [1, 2, 4, 8, 16, 64]
    r = specroof.latency(mixtral, "h200", batch=batches, candidates=1, seq_len=S)
    h, w, L = mixtral.hidden_size, mixtral.mlp_width, mixtral.num_layers
    expert_gate_up = 2 * w * h * FP16  # one expert's gate+up weights
    expert_down = w * h * FP16
    tokens = np.array(batches, dtype=float)
    active = 8 * (1 - (1 - 2 / 8) ** tokens)
    gate_up = _moe_weight_bytes(r, "gate_up_proj", mixtral, tokens)
    down = _moe_weight_bytes(r, "down_proj", mixtral, tokens)
    np.testing.assert_allclose(gate_up, L * active * expert_gate_up, rtol=1e-9)
    np.testing.assert_allclose(down, L * active * expert_down, rtol=1e-9)
    # batch 1, one candidate: about 2 experts; batch 64: about all 8
    assert gate_up[0] / (L * expert_gate_up) == pytest.approx(2.0, rel=1e-6)
    assert gate_up[-1] / (L * expert_gate_up) == pytest.approx(8.0, rel=1e-3)
    total = np.asarray(r.bytes["gate_up_proj"]).ravel()
    assert np.all(np.diff(total) > 0)


def test_moe_verification_not_free_at_batch_one(mixtral):
    """Verifying 4 candidates at batch 1 reads more expert weights than decoding 1."""
    r = specroof.latency(mixtral, "h200", batch=1, candidates=[1, 4], seq_len=S)
    gate_up = np.asarray(r.bytes["gate_up_proj"]).ravel()
    assert gate_up[1] > 1.5 * gate_up[0]


@pytest.mark.parametrize("b,n", [(1, 1), (1, 4), (8, 3), (64, 1)])
def test_moe_flops_use_k_experts_per_token(mixtral, b, n):
    r = specroof.latency(mixtral, "h200", batch=b, candidates=n, seq_len=S)
    h, w, L, k, E = mixtral.hidden_size, mixtral.mlp_width, mixtral.num_layers, 2, 8
    tokens = b * n
    assert one(r.flops["gate_up_proj"]) == pytest.approx(2 * tokens * k * h * 2 * w * L, rel=1e-12)
    assert one(r.flops["down_proj"]) == pytest.approx(2 * tokens * k * w * h * L, rel=1e-12)
    assert one(r.flops["moe_router"]) == 2 * tokens * h * E * L


def test_moe_gqa_attention(mixtral):
    r = specroof.latency(mixtral, "h200", batch=B, candidates=N, seq_len=S)
    L, d = mixtral.num_layers, mixtral.head_dim
    assert one(r.bytes["attention"]) == L * (2 * B * 8 * (S + N) * d * FP16 + 2 * B * N * 32 * d * FP16)


def test_gqa_kv_expansion_for_kernels_without_gqa():
    """pytorch-sdpa's tree kernel gets K/V copied to one head per query head (repeat_kv)."""
    b, n, s = 4, 16, 1000
    grid = dict(batch=b, candidates=[1, n], seq_len=s, profile="pytorch-sdpa")
    expanded = specroof.latency("llama-3-8b", "h200", gqa_kv_expand=True, **grid)
    native = specroof.latency("llama-3-8b", "h200", gqa_kv_expand=False, **grid)
    extra = expanded.bytes["attention"].ravel() - native.bytes["attention"].ravel()
    copy = b * (s + n) * 128 * 2 * 2 * (8 + 32) * 32  # read 8 KV heads, write 32, K and V, 32 layers
    assert extra[0] == 0  # one query: flash with native GQA, no copy
    assert extra[1] == pytest.approx(copy, rel=1e-12)
    assert expanded.ops_ms["attention"][0, 1, 0] > native.ops_ms["attention"][0, 1, 0]
    mha = specroof.latency("llama-7b", "h200", gqa_kv_expand=True, **grid)
    mha_native = specroof.latency("llama-7b", "h200", gqa_kv_expand=False, **grid)
    np.testing.assert_array_equal(mha.bytes["attention"], mha_native.bytes["attention"])  # no GQA, no copy


def test_pytorch_sdpa_runs_gqa_without_a_kv_copy():
    """The harness calls SDPA with enable_gqa=True, mask included: no repeat_kv copy, and the
    memory-efficient kernel still runs one block per (sequence, query head)."""
    b, n, s = 4, 16, 1000
    grid = dict(batch=b, candidates=n, seq_len=s, profile="pytorch-sdpa")
    harness = specroof.latency("llama-3-8b", "h200", **grid)
    native = specroof.latency("llama-3-8b", "h200", gqa_kv_expand=False, **grid)
    np.testing.assert_array_equal(harness.latency_ms, native.latency_ms)
    kv = 2 * b * 8 * (s + n) * 128 * 2 + 2 * b * n * 32 * 128 * 2  # 8 KV heads read once, q and out
    kv += 2 * n * (s + n) * 3  # the boolean tree mask made additive (logical_not, where)
    assert harness.bytes["attention"][0, 0, 0] == pytest.approx(32 * kv, rel=1e-12)
    # Blocks per query head: 4 x 32 = 128 blocks, one wave on 132 SMs; 4 x 33 would be two.
    setup = specroof.cost.setup.setup_step("llama-3-8b", "h200", profile="pytorch-sdpa")
    assert setup.profile.attention_ctas_per_sm == 1 and setup.hardware.sm_count == 132
    five = specroof.latency("llama-3-8b", "h200", batch=5, candidates=n, seq_len=s, profile="pytorch-sdpa")
    assert five.ops_ms["attention"][0, 0, 0] > 1.7 * harness.ops_ms["attention"][0, 0, 0]  # 160 blocks: 2 waves


@pytest.mark.parametrize("batch, kv_heads, keys, splits", [
    (1, 32, 1025, 3),   # 32 blocks: 3 splits (4 and 8 would not change the 9 KV blocks per split)
    (2, 32, 1025, 2),   # 64 blocks: 2 splits = 128 blocks, 97% of one wave
    (4, 32, 1025, 1),   # 128 blocks >= 0.8 x 132: no split
    (1, 8, 1025, 9),    # GQA, one query: 8 KV heads x 4 regrouped queries = 8 blocks
    (16, 8, 8193, 1),   # 128 blocks
])
def test_fa2_num_splits_follows_flash_attention_2(batch, kv_heads, keys, splits):
    from specroof.cost.operation import AttentionShape
    from specroof.cost.pricing import fa2_num_splits

    shape = AttentionShape(np.array(batch), np.array(1), np.array(keys), 32, kv_heads, 128)
    assert float(fa2_num_splits(shape, 132)) == splits


def test_split_kv_combine_kernel_only_when_split():
    """pytorch-sdpa's decode attention: a second (combine) kernel at batch 1, none at batch 64."""
    r = specroof.latency("llama-7b", "h200", batch=[1, 64], candidates=1, seq_len=1024, profile="pytorch-sdpa")
    off = specroof.latency("llama-7b", "h200", batch=[1, 64], candidates=1, seq_len=1024, profile="pytorch-sdpa",
                           split_kv_combine=False)
    att = next(op for op in r.operations if op.name == "attention")
    assert att.kernels[:, 0, 0].tolist() == [64.0, 32.0]  # 32 layers x (split + combine), x 1
    gap = r.ops_ms["attention"] - off.ops_ms["attention"]
    assert gap[0, 0, 0] > 32 * 1.5e-3 and gap[1, 0, 0] == 0.0
