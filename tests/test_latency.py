"""``specroof.latency``: properties over grids, dtypes, parallelism, and input validation.

Expectations are derived by hand from the cost model (README.md, "How a step is costed") and the profile's
documented parameters, never copied from the code's output.
"""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import specroof
from specroof import SpecroofError
from specroof.cost.profile import get_profile
from specroof.cost.roofline import Machine, gemm_compute_time
from specroof.cost.step import MAX_GRID_POINTS
from specroof.hardware.accelerator import catalog_names as hardware_names
from specroof.hardware.accelerator import load_hardware
from specroof.models.architecture import ModelConfig, load_model
from tests.support import assert_non_decreasing_unless_a_kernel_drops

GEMM_OPS = ("qkv_proj", "o_proj", "gate_up_proj", "down_proj", "lm_head")
RECORD_KEYS = {"model", "hardware", "dtype", "batch", "candidates", "seq_len", "latency_ms", "ops_ms", "fits",
               "footprint_gb", "latency_ms_low", "latency_ms_high", "validated", "validation_note"}  # docs/error-bands.md
TINY_CONFIG = {
    "hidden_size": 256, "intermediate_size": 688, "num_hidden_layers": 2,
    "num_attention_heads": 4, "vocab_size": 1000,
}


def one(array) -> float:
    values = np.asarray(array).ravel()
    assert values.size == 1
    return float(values[0])


def write_config(tmp_path, config, name="config.json"):
    folder = tmp_path / "tiny-model"
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(json.dumps(config), encoding="utf-8")
    return path


# --------------------------------------------------------------------------- strategies


@st.composite
def models(draw, allow_moe=True):
    heads = draw(st.sampled_from([1, 2, 4, 8, 12, 16, 32, 40, 64]))
    kv_heads = draw(st.sampled_from([k for k in range(1, heads + 1) if heads % k == 0]))
    head_dim = draw(st.sampled_from([32, 64, 80, 128]))
    moe = allow_moe and draw(st.booleans())
    experts = draw(st.sampled_from([4, 8, 16])) if moe else 0
    per_token = draw(st.integers(1, min(experts, 4))) if moe else 0
    intermediate = draw(st.integers(64, 30000))
    return ModelConfig(
        name="random", hidden_size=heads * head_dim, intermediate_size=intermediate,
        num_layers=draw(st.integers(1, 8)), num_heads=heads, num_kv_heads=kv_heads, head_dim=head_dim,
        vocab_size=draw(st.integers(100, 160000)), num_experts=experts, experts_per_token=per_token,
        moe_intermediate_size=intermediate if moe else 0,
    )


def axis(low, high, max_size=6):
    return st.lists(st.integers(low, high), min_size=1, max_size=max_size, unique=True).map(sorted)


hardware = st.sampled_from(sorted(hardware_names()))
serving_profiles = st.sampled_from(["serving", "pytorch-sdpa", "medusa-appendix-g"])


def assert_non_decreasing(latency_ms, tolerance=1e-9):
    scale = float(np.max(latency_ms))
    for ax in range(3):
        steps = np.diff(latency_ms, axis=ax)
        if steps.size:
            assert steps.min() >= -tolerance * scale, f"latency decreases along axis {ax}"


# --------------------------------------------------------------------------- monotonicity


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(model=models(), hw=hardware, profile=serving_profiles, b=axis(1, 128), n=axis(1, 128),
       s=axis(1, 32768), graph=st.booleans())
def test_latency_non_decreasing_fused(model, hw, profile, b, n, s, graph):
    """More work never costs less unless the step launches fewer kernels for it (per operation);
    the work itself (FLOPs) never decreases.

    Latency is *not* monotone in batch everywhere, and that is the kernel, not the model: under
    ``pytorch-sdpa`` one query splits the KV as FlashAttention-2's ``num_splits_heuristic``
    does (``flash_api.cpp``): once ``batch x heads x m_blocks`` reaches 80% of the SMs it
    returns one split, and with one split ``run_mha_fwd`` runs the plain kernel, without the
    combine kernel (launched only when ``num_splits > 1``). A launch-bound eager step then
    loses a kernel and its launch as the batch grows: a one-layer model with 8 heads of 32 on
    an A10G at seq_len 256 costs 0.42 ms at batch 5 (two splits) and 0.41 ms at batch 6 (one).
    So the invariant is stated where it holds: between neighbouring grid points where no
    operation launches fewer kernels (more experts or mask kernels only add).
    """
    r = specroof.latency(model, hw, b, n, s, profile=profile, attention="fused", cuda_graph=graph)
    assert_non_decreasing_unless_a_kernel_drops(r)
    assert_non_decreasing(sum(r.flops.values()))


def test_split_kv_combine_kernel_drops_as_batch_fills_the_gpu():
    """The case above, pinned. Head dim 32 reads 256 keys per block, so 257 keys are 2 blocks:
    one or two splits. On the A10G's 80 SMs, batch 5 has 40 (sequence, head) blocks: one split
    fills half the SMs, two fill them all, so two. Batch 6 has 48: one split is 0.6 of a wave,
    two are 1.2 waves (efficiency 0.6 as well), and the first split within 85% of the best is
    one. The combine kernel is gone, and the eager step is launch-bound: one launch fewer."""
    model = ModelConfig(name="tiny", hidden_size=256, intermediate_size=64, num_layers=1, num_heads=8,
                        num_kv_heads=8, head_dim=32, vocab_size=100)
    r = specroof.latency(model, "a10g", [5, 6, 7, 8], 1, 256, profile="pytorch-sdpa", cuda_graph=False)
    attention = [op for op in r.operations if op.name == "attention"][0]
    per_batch = attention.kernels[:, 0, 0] / attention.instances[:, 0, 0]
    assert list(per_batch) == [2.0, 1.0, 1.0, 1.0]  # split + combine at batch 5, one kernel from 6
    assert r.latency_ms[1, 0, 0] < r.latency_ms[0, 0, 0]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(model=models(), hw=hardware, b=axis(1, 64), n=axis(1, 128), s=axis(1, 16384))
def test_latency_non_decreasing_unfused_without_split_k(model, hw, b, n, s):
    r = specroof.latency(model, hw, b, n, s, attention="unfused", gemm_split_k=False)
    assert_non_decreasing(r.latency_ms)


def test_unfused_latency_non_decreasing_in_seq_len():
    r = specroof.latency("llama-7b", "h200", batch=1, candidates=[1, 4], seq_len=np.arange(500, 520),
                         attention="unfused")
    assert_non_decreasing(r.latency_ms)


def test_gemm_compute_time_non_decreasing_in_depth():
    machine = Machine(sm_count=108, flops_per_sm=2e12, bandwidth=1e12, fixed_s=0.0)
    k = np.arange(256.0, 1100.0)
    t = gemm_compute_time(np.ones_like(k), 128, k, 1, ((128, 128),), machine, True)
    assert np.all(np.diff(t) >= 0)


def test_latency_grows_over_dense_grid():
    r = specroof.latency("llama-7b", "h200", batch=[1, 2, 3, 4, 8, 16, 32, 64],
                         candidates=list(range(1, 130)), seq_len=[1, 128, 1024, 4096, 32768])
    assert_non_decreasing(r.latency_ms)
    # a step with 64 x 128 tokens costs clearly more than one with 1 token
    assert r.latency_ms[-1, -1, 0] > 2 * r.latency_ms[0, 0, 0]


# --------------------------------------------------------------------------- result shape


@settings(max_examples=25, deadline=None)
@given(model=models(), hw=hardware, b=axis(1, 64, 4), n=axis(1, 64, 4), s=axis(1, 8192, 4),
       graph=st.booleans(), profile=serving_profiles)
def test_ops_sum_to_latency_and_shape(model, hw, b, n, s, graph, profile):
    r = specroof.latency(model, hw, b, n, s, cuda_graph=graph, profile=profile)
    shape = (len(b), len(n), len(s))
    assert r.shape == shape
    assert r.latency_ms.shape == shape
    total = np.zeros(shape)
    for name, values in r.ops_ms.items():
        assert values.shape == shape, name
        assert np.all(values >= 0), name
        total = total + values
    np.testing.assert_allclose(total, r.latency_ms, rtol=1e-12)
    for table in (r.flops, r.bytes):
        for values in table.values():
            assert values.shape == shape
    assert np.all(np.isfinite(r.latency_ms)) and np.all(r.latency_ms > 0)


def test_to_records():
    b, n, s = [1, 4], [1, 2, 8], [128, 1024]
    r = specroof.latency("llama-7b", "h200", b, n, s)
    records = r.to_records()
    assert len(records) == 2 * 3 * 2
    for rec in records:
        assert set(rec) == RECORD_KEYS
        assert set(rec["ops_ms"]) == set(r.ops_ms)
        assert rec["model"] == "llama-7b" and rec["hardware"] == "h200" and rec["dtype"] == "fp16"
        i, j, k = b.index(rec["batch"]), n.index(rec["candidates"]), s.index(rec["seq_len"])
        assert rec["latency_ms"] == pytest.approx(float(r.latency_ms[i, j, k]))
        assert sum(rec["ops_ms"].values()) == pytest.approx(rec["latency_ms"])
    coords = [(rec["batch"], rec["candidates"], rec["seq_len"]) for rec in records]
    assert len(set(coords)) == len(coords)
    json.dumps(records)  # plain Python values


def test_scalar_and_list_grid_equivalent():
    a = specroof.latency("llama-7b", "h200", 4, 8, 512)
    b = specroof.latency("llama-7b", "h200", [4], (8,), np.array([512]))
    assert a.shape == b.shape == (1, 1, 1)
    assert one(a.latency_ms) == one(b.latency_ms)


# --------------------------------------------------------------------------- tile quantization


def _gate_up_hand(tokens, hw_name="a100-80gb-pcie", tile=(128, 128)):
    """Per-step gate_up time of llama-7b, by hand, under a single-tile profile (ms)."""
    prof = get_profile("serving")
    hw = load_hardware(hw_name)
    h, i, layers = 4096, 11008, 32
    n_out = 2 * i
    flops_per_sm = hw.peak_flops("fp16") / hw.sm_count * prof.compute_efficiency
    tiles = math.ceil(tokens / tile[0]) * math.ceil(n_out / tile[1])
    assert tiles >= hw.sm_count  # every SM busy: no split-K
    waves = math.ceil(tiles / hw.sm_count)
    compute = waves * 2 * tile[0] * tile[1] * h / flops_per_sm
    memory = (h * n_out * 2 + 2 * tokens * (h + n_out)) / (hw.memory_bandwidth * prof.bandwidth_efficiency)
    assert compute > memory  # compute-bound: the regime where tiles show
    per_layer = compute + (prof.gemm_fixed_us + prof.kernel_overhead_us) * 1e-6
    return layers * per_layer * 1e3


def test_tile_quantization_steps():
    cands = [128, 129, 150, 200, 250, 256]
    r = specroof.latency("llama-7b", "a100-80gb-pcie", batch=1, candidates=cands, seq_len=100,
                         gemm_tiles=[[128, 128]])
    gate_up = r.ops_ms["gate_up_proj"].ravel()
    expected = [_gate_up_hand(t) for t in cands]
    np.testing.assert_allclose(gate_up, expected, rtol=1e-9)
    assert gate_up[1] > 1.5 * gate_up[0]  # 129 tokens need a second row of tiles
    assert len(set(gate_up[1:].tolist())) == 1  # 129..256 tokens: the same tiles, the same time
    # the whole step steps too: 200 and 250 candidates differ only by memory-bound parts
    assert r.ops_ms["qkv_proj"].ravel()[3] == r.ops_ms["qkv_proj"].ravel()[4]


def test_tile_quantization_batch_times_candidates():
    """Tiles count tokens b*n, whatever the split between batch and candidates."""
    a = specroof.latency("llama-7b", "a100-80gb-pcie", batch=2, candidates=100, seq_len=100, gemm_tiles=[[128, 128]])
    b = specroof.latency("llama-7b", "a100-80gb-pcie", batch=1, candidates=250, seq_len=100, gemm_tiles=[[128, 128]])
    assert one(a.ops_ms["gate_up_proj"]) == one(b.ops_ms["gate_up_proj"]) == pytest.approx(_gate_up_hand(200))


@settings(max_examples=200, deadline=None)
@given(m=st.integers(1, 5000), n=st.integers(1, 30000), k=st.integers(1, 30000), sms=st.integers(1, 200),
       tm=st.sampled_from([16, 64, 128, 256]), tn=st.sampled_from([64, 128, 256]), split=st.booleans())
def test_gemm_compute_time_piecewise_constant(m, n, k, sms, tm, tn, split):
    machine = Machine(sm_count=sms, flops_per_sm=1e12, bandwidth=1e12, fixed_s=0.0)
    padded = math.ceil(m / tm) * tm
    times = gemm_compute_time(np.array([float(m), float(padded), float(padded + 1)]), n, k, 1,
                              ((tm, tn),), machine, split)
    assert times[0] == times[1]  # rows are padded to the tile
    assert times[2] >= times[1]
    if not split:
        tiles = math.ceil(m / tm) * math.ceil(n / tn)
        assert times[0] == pytest.approx(math.ceil(tiles / sms) * 2 * tm * tn * k / 1e12, rel=1e-12)


# --------------------------------------------------------------------------- implementation choices


@pytest.mark.parametrize("hw", ["h200", "a100-80gb-pcie"])
def test_unfused_attention_costs_more_and_grows_faster(hw):
    kw = dict(batch=[1, 2, 4, 8, 16, 32, 64], candidates=[1, 2, 4, 8, 16, 32, 64],
              seq_len=[1024, 2048, 4096, 8192, 16384])
    fused = specroof.latency("llama-7b", hw, attention="fused", **kw)
    unfused = specroof.latency("llama-7b", hw, attention="unfused", **kw)
    assert np.all(unfused.ops_ms["attention"] > fused.ops_ms["attention"])
    assert np.all(unfused.latency_ms > fused.latency_ms)
    assert np.all(np.diff(unfused.ops_ms["attention"], axis=2) > np.diff(fused.ops_ms["attention"], axis=2))


@settings(max_examples=40, deadline=None)
@given(model=models(), hw=hardware, profile=serving_profiles, b=axis(1, 128), n=axis(1, 128), s=axis(1, 32768))
def test_eager_never_faster_than_graph(model, hw, profile, b, n, s):
    graph = specroof.latency(model, hw, b, n, s, profile=profile, cuda_graph=True)
    eager = specroof.latency(model, hw, b, n, s, profile=profile, cuda_graph=False)
    assert np.all(eager.latency_ms >= graph.latency_ms)
    assert "launch" not in graph.ops_ms


def test_eager_small_model_is_launch_bound():
    """A tiny model's eager step takes at least kernels x host launch time."""
    r = specroof.latency("llama-68m", "h200", batch=1, candidates=1, seq_len=128, cuda_graph=False)
    host_ms = r.kernels * r.profile.launch_overhead_us * 1e-3
    assert one(r.latency_ms) >= host_ms - 1e-12
    assert "launch" in r.ops_ms


def _weight_bytes(result, model, op, act_bytes=2.0, tp=1):
    """Bytes of ``op`` minus its activations (tokens x (in + out) elements): the weights read."""
    h, i, V = model.hidden_size, model.intermediate_size, model.vocab_size
    q = model.num_heads * model.head_dim // tp
    kv = model.num_kv_heads * model.head_dim // tp
    shapes = {"qkv_proj": (h, q + 2 * kv), "o_proj": (q, h), "gate_up_proj": (h, 2 * i // tp),
              "down_proj": (i // tp, h), "lm_head": (h, V // tp)}
    k_in, n_out = shapes[op]
    layers = 1 if op == "lm_head" else model.num_layers
    tokens = np.asarray(result.batch)[:, None, None] * np.asarray(result.candidates)[None, :, None]
    act = layers * act_bytes * tokens * (k_in + n_out)
    return result.bytes[op] - act, k_in * n_out * layers


def test_fp8_on_h200_lowers_memory_bound_latency():
    model = load_model("llama-7b")
    kw = dict(batch=1, candidates=1, seq_len=1024)
    fp16 = specroof.latency(model, "h200", dtype="fp16", **kw)
    fp8 = specroof.latency(model, "h200", dtype="fp8", **kw)
    fp8_weights = specroof.latency(model, "h200", dtype="fp16", weight_dtype="fp8", **kw)
    assert one(fp8.latency_ms) < one(fp16.latency_ms)
    assert one(fp8_weights.latency_ms) < one(fp16.latency_ms)
    for op in GEMM_OPS:
        w16, elements = _weight_bytes(fp16, model, op)
        w8, _ = _weight_bytes(fp8_weights, model, op)
        assert one(w16) == elements * 2
        assert one(w8) == elements * 1
        # memory-bound at batch 1: halving the weights nearly halves the GEMM time
        assert one(fp8_weights.ops_ms[op]) < 0.75 * one(fp16.ops_ms[op])


@pytest.mark.parametrize("b,n", [(1, 1), (8, 4), (64, 16)])
def test_int4_weights_half_of_int8(b, n):
    model = load_model("llama-7b")
    int8 = specroof.latency(model, "h200", batch=b, candidates=n, seq_len=512, weight_dtype="int8")
    int4 = specroof.latency(model, "h200", batch=b, candidates=n, seq_len=512, weight_dtype="int4")
    for op in GEMM_OPS:
        w8, elements = _weight_bytes(int8, model, op)
        w4, _ = _weight_bytes(int4, model, op)
        assert one(w8) == elements * 1.0
        assert one(w4) == elements * 0.5
        assert one(int8.flops[op]) == one(int4.flops[op])  # weight-only: same math
    assert one(int4.latency_ms) <= one(int8.latency_ms)


@pytest.mark.parametrize("b,n", [(1, 1), (4, 8)])
def test_tensor_parallel_halves_weights_and_adds_allreduce(b, n):
    model = load_model("llama-7b")
    tp1 = specroof.latency(model, "h200", batch=b, candidates=n, seq_len=1024, tp=1)
    tp2 = specroof.latency(model, "h200", batch=b, candidates=n, seq_len=1024, tp=2)
    assert "allreduce" not in tp1.ops_ms
    assert "allreduce" in tp2.ops_ms and one(tp2.ops_ms["allreduce"]) > 0
    for op in GEMM_OPS:
        w1, elements = _weight_bytes(tp1, model, op, tp=1)
        w2, half = _weight_bytes(tp2, model, op, tp=2)
        assert one(w1) == elements * 2
        assert one(w2) == half * 2 == one(w1) / 2
        assert one(tp2.flops[op]) == one(tp1.flops[op]) / 2
    # two all-reduces of the T x h activations per layer
    tokens = b * n
    assert one(tp2.bytes["allreduce"]) == model.num_layers * 2 * tokens * model.hidden_size * 2
    # KV cache split over the devices too
    assert one(tp2.flops["attention"]) == one(tp1.flops["attention"]) / 2


def test_tensor_parallel_faster_when_memory_bound():
    tp1 = specroof.latency("llama-2-70b", "h200", batch=1, candidates=1, seq_len=1024, tp=1)
    tp2 = specroof.latency("llama-2-70b", "h200", batch=1, candidates=1, seq_len=1024, tp=2)
    assert one(tp2.latency_ms) < one(tp1.latency_ms)


def test_fp8_on_a100_is_an_error():
    with pytest.raises(SpecroofError, match="fp8"):
        specroof.latency("llama-7b", "a100-80gb-pcie", dtype="fp8")


def test_medusa_profile_has_only_its_operators():
    r = specroof.latency("llama-7b", "a100-80gb-pcie", profile="medusa-appendix-g")
    assert set(r.ops_ms) == {"qkv_proj", "attention", "gate_up_proj", "down_proj"}


def test_config_path_works(tmp_path):
    path = write_config(tmp_path, TINY_CONFIG)
    r = specroof.latency(path, "h200", batch=2, candidates=3, seq_len=10)
    h, i, L = 256, 688, 2
    assert r.model.name == "tiny-model"
    assert one(r.flops["gate_up_proj"]) == 2 * 6 * h * 2 * i * L
    same = specroof.latency(str(path), "h200", batch=2, candidates=3, seq_len=10)
    assert one(same.latency_ms) == one(r.latency_ms)


# --------------------------------------------------------------------------- bad inputs


@pytest.mark.parametrize("name,close", [("llama-7", "llama-7b"), ("lama-7b", "llama-7b"), ("mixtral-8x7", "mixtral-8x7b")])
def test_unknown_model_suggests(name, close):
    with pytest.raises(SpecroofError, match="unknown model") as info:
        specroof.latency(name, "h200")
    assert close in str(info.value)


@pytest.mark.parametrize("name,close", [("h20", "h200"), ("a100-80gb-pci", "a100-80gb-pcie"), ("h100sxm", "h100-sxm")])
def test_unknown_hardware_suggests(name, close):
    with pytest.raises(SpecroofError, match="unknown hardware") as info:
        specroof.latency("llama-7b", name)
    assert close in str(info.value)


@pytest.mark.parametrize("missing", ["hidden_size", "num_hidden_layers", "num_attention_heads", "vocab_size",
                                     "intermediate_size"])
def test_config_missing_key(tmp_path, missing):
    config = {k: v for k, v in TINY_CONFIG.items() if k != missing}
    path = write_config(tmp_path, config)
    with pytest.raises(SpecroofError, match=missing):
        specroof.latency(path, "h200")


def test_config_heads_do_not_divide_hidden(tmp_path):
    path = write_config(tmp_path, {**TINY_CONFIG, "num_attention_heads": 3})
    with pytest.raises(SpecroofError, match="divisible"):
        specroof.latency(path, "h200")


def test_config_kv_heads_do_not_divide_heads(tmp_path):
    path = write_config(tmp_path, {**TINY_CONFIG, "num_key_value_heads": 3})
    with pytest.raises(SpecroofError, match="divisible"):
        specroof.latency(path, "h200")


@pytest.mark.parametrize("value", [0, -4, 2.5, "256"])
def test_config_bad_values(tmp_path, value):
    path = write_config(tmp_path, {**TINY_CONFIG, "hidden_size": value})
    with pytest.raises(SpecroofError, match="hidden_size"):
        specroof.latency(path, "h200")


@pytest.mark.parametrize("value", ["NaN", "Infinity"])
def test_config_non_finite_values(tmp_path, value):
    folder = tmp_path / "m"
    folder.mkdir()
    text = json.dumps(TINY_CONFIG).replace('"hidden_size": 256', f'"hidden_size": {value}')
    (folder / "config.json").write_text(text, encoding="utf-8")
    with pytest.raises(SpecroofError):
        specroof.latency(folder / "config.json", "h200")


def test_config_not_json(tmp_path):
    path = tmp_path / "config.json"
    path.write_text("{ not json", encoding="utf-8")
    with pytest.raises(SpecroofError, match="JSON"):
        specroof.latency(path, "h200")


def test_config_not_found(tmp_path):
    with pytest.raises(SpecroofError, match="not found"):
        specroof.latency(tmp_path / "absent" / "config.json", "h200")


def test_config_unreadable(tmp_path):
    folder = tmp_path / "dir.json"  # a directory where a file is expected, without config.json in it
    folder.mkdir()
    with pytest.raises(SpecroofError, match="not found|is a directory"):
        specroof.latency(folder, "h200")


def test_config_not_utf8(tmp_path):
    path = tmp_path / "config.json"
    path.write_bytes(b"\xff\xfe\x00{binary")
    with pytest.raises(SpecroofError):
        specroof.latency(path, "h200")


@pytest.mark.parametrize("what", ["batch", "candidates", "seq_len"])
@pytest.mark.parametrize("value", [0, -1, 1.5, [1, 0], [4, 2.5], "abc", [], [[1, 2]], True, float("nan")])
def test_bad_grid_values(what, value):
    with pytest.raises(SpecroofError, match=what):
        specroof.latency("llama-7b", "h200", **{what: value})


@pytest.mark.parametrize("value", [float("inf"), 1e30])
def test_non_finite_or_huge_grid_values(value):
    with pytest.raises(SpecroofError, match="batch"):
        specroof.latency("llama-7b", "h200", batch=value)


@pytest.mark.parametrize("option,value", [("dtype", "fp7"), ("dtype", "int4"), ("weight_dtype", "int3"),
                                          ("kv_dtype", "int4"), ("dtype", "")])
def test_unknown_dtype(option, value):
    with pytest.raises(SpecroofError, match="dtype"):
        specroof.latency("llama-7b", "h200", **{option: value})


@pytest.mark.parametrize("tp", [0, -2, 1.5, True])
def test_bad_tensor_parallel(tp):
    with pytest.raises(SpecroofError, match="tensor parallelism"):
        specroof.latency("llama-7b", "h200", tp=tp)


def test_unknown_profile_and_field():
    with pytest.raises(SpecroofError, match="serving"):
        specroof.latency("llama-7b", "h200", profile="servng")
    with pytest.raises(SpecroofError, match="gemm_tiles"):
        specroof.latency("llama-7b", "h200", gemm_tile=[[128, 128]])
    with pytest.raises(SpecroofError, match="gemm_tiles"):
        specroof.latency("llama-7b", "h200", gemm_tiles=[])
    with pytest.raises(SpecroofError, match="attention"):
        specroof.latency("llama-7b", "h200", attention="flash")


def test_grid_too_large_says_how_large():
    nb, nn = 1000, 1000
    ns = MAX_GRID_POINTS // (nb * nn) + 1
    points = nb * nn * ns
    assert points > MAX_GRID_POINTS
    with pytest.raises(SpecroofError) as info:
        specroof.latency("llama-7b", "h200", batch=range(1, nb + 1), candidates=range(1, nn + 1),
                         seq_len=range(1, ns + 1))
    digits = re.sub(r"[,_ ]", "", str(info.value))
    assert str(points) in digits
    assert str(MAX_GRID_POINTS) in digits


def test_hardware_file_invalid_toml(tmp_path):
    path = tmp_path / "gpu.toml"
    path.write_text("name = = broken\n[peak_tflops\n", encoding="utf-8")
    with pytest.raises(SpecroofError, match="TOML"):
        specroof.latency("llama-7b", path)


def test_hardware_file_missing_fields(tmp_path):
    path = tmp_path / "gpu.toml"
    path.write_text('name = "gpu"\nmemory_gb = 80\n', encoding="utf-8")
    with pytest.raises(SpecroofError, match="memory_bandwidth_gbps"):
        specroof.latency("llama-7b", path)


def test_hardware_file_not_found(tmp_path):
    with pytest.raises(SpecroofError, match="not found"):
        specroof.latency("llama-7b", tmp_path / "absent.toml")


def test_hardware_file_unreadable(tmp_path):
    folder = tmp_path / "gpu.toml"
    folder.mkdir()
    with pytest.raises(SpecroofError, match="not found|is a directory"):
        specroof.latency("llama-7b", folder)


def test_hardware_file_not_utf8(tmp_path):
    path = tmp_path / "gpu.toml"
    path.write_bytes(b"\xff\xfe\x00name")
    with pytest.raises(SpecroofError):
        specroof.latency("llama-7b", path)


def test_hardware_file_works(tmp_path):
    """A catalog-style TOML of a made-up device: the roofline uses its figures."""
    path = tmp_path / "gpu.toml"
    path.write_text('name = "toy"\nmemory_gb = 80\nmemory_bandwidth_gbps = 1000.0\nsm_count = 100\n'
                    '[peak_tflops]\nfp16 = 100.0\n', encoding="utf-8")
    slow = specroof.latency("llama-7b", path, batch=1, candidates=1, seq_len=128)
    fast = specroof.latency("llama-7b", "h200", batch=1, candidates=1, seq_len=128)
    assert slow.hardware.name == "toy"
    assert one(slow.latency_ms) > 3 * one(fast.latency_ms)  # 1000 vs 4800 GB/s, memory-bound


@given(bad=st.one_of(st.integers(max_value=0), st.floats(0.01, 1000).filter(lambda x: x != int(x))))
@settings(max_examples=30, deadline=None)
def test_any_non_positive_or_fractional_candidates_rejected(bad):
    assume(not (isinstance(bad, float) and bad.is_integer()))
    with pytest.raises(SpecroofError, match="candidates"):
        specroof.latency("llama-7b", "h200", candidates=[1, bad])
