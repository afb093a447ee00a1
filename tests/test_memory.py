"""Device memory of a speculative step: weights, KV cache, activations, reserve; fits().

Expected sizes are worked out by hand from the model shapes (Hugging Face config values),
not copied from the code's output.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from specroof import SpecroofError
from specroof.cost.memory import RUNTIME_RESERVE_BYTES
from specroof.cost.step import setup_step
from specroof.models.architecture import load_model
from specroof.speculation.footprint import fits, memory_footprint

GIB = 2**30


def test_llama2_70b_fp16_needs_two_a100_80gb():
    # 68.98e9 parameters x 2 bytes = ~138 GB of weights: more than one 80 GB A100 holds.
    one = memory_footprint("llama-2-70b", "a100-80gb-sxm", 1, 1, 1024)
    assert one.weights_bytes / 1e9 == pytest.approx(137.95, abs=0.05)
    assert one.capacity_gb == 80.0
    assert not one.fits.any()
    assert not fits("llama-2-70b", "a100-80gb-sxm", 1, 1, 1024).any()
    # tp=2 splits the weights (~69 GB each); a short batch then fits with room to spare.
    two = memory_footprint("llama-2-70b", "a100-80gb-sxm", [1, 4], [1, 8], 1024, tp=2)
    # every matrix splits over the two devices; the RMSNorm weights (2 per layer + the final one)
    # are replicated on each
    m = load_model("llama-2-70b")
    norms = (2 * m.num_layers + 1) * m.hidden_size * 2.0
    assert two.weights_bytes == pytest.approx((one.weights_bytes - norms) / 2 + norms, rel=1e-12)
    assert two.fits.all()
    assert fits("llama-2-70b", "a100-80gb-sxm", 1, 1, 1024, tp=2).all()
    # ...but not a large batch at a long context: 64 x 8k tokens of KV cache is ~86 GB per device.
    assert not fits("llama-2-70b", "a100-80gb-sxm", 64, 1, 8192, tp=2).any()


def test_kv_cache_by_hand():
    # Llama-3-8B: 32 layers, 8 KV heads of 128 -> 2*32*8*128 values = 131072 bytes/token in fp16.
    fp = memory_footprint("llama-3-8b", "h200", 4, 24, 1000)
    assert fp.kv_cache_bytes[0, 0, 0] == 4 * (1000 + 24) * 131072
    fp8 = memory_footprint("llama-3-8b", "h200", 4, 24, 1000, kv_dtype="fp8")
    assert fp8.kv_cache_bytes[0, 0, 0] == fp.kv_cache_bytes[0, 0, 0] / 2
    # tp=4: 2 KV heads per device; tp=16: fewer KV heads than devices, each device keeps one.
    assert memory_footprint("llama-3-8b", "h200", 4, 24, 1000, tp=4).kv_cache_bytes[0, 0, 0] == 4 * 1024 * 131072 / 4
    # (16 devices: past one HGX board, so on a GB200 NVL72 rack, whose NVLink domain holds 72)
    assert memory_footprint("llama-3-8b", "gb200", 4, 24, 1000, tp=16).kv_cache_bytes[0, 0, 0] == 4 * 1024 * 131072 / 8


def test_activations_by_hand_and_unfused_scores():
    # Llama-3-8B, T = 2 x 8 = 16 tokens in fp16: residual + normed input 2*4096, q/k/v 6144,
    # gate+up 2*14336, all 2 bytes; fp32 logits over 128256 tokens.
    per_token = (2 * 4096 + 6144 + 2 * 14336) * 2 + 128256 * 4
    fused = memory_footprint("llama-3-8b", "h200", 2, 8, 1000)
    assert fused.activation_bytes[0, 0, 0] == 16 * per_token
    unfused = memory_footprint("llama-3-8b", "h200", 2, 8, 1000, attention="unfused")
    # Scores and probabilities: 2 x b x H x n x (s + n) in fp16.
    assert unfused.activation_bytes[0, 0, 0] - fused.activation_bytes[0, 0, 0] == 2 * 2 * 32 * 8 * 1008 * 2


def test_total_reserve_and_capacity():
    fp = memory_footprint("llama-3-8b", "h200", 1, 1, 1024)
    assert fp.reserve_bytes == RUNTIME_RESERVE_BYTES == GIB
    expected = fp.weights_bytes + fp.kv_cache_bytes + fp.activation_bytes + GIB
    np.testing.assert_allclose(fp.total_bytes, expected)
    assert fp.capacity_bytes == 141e9
    bigger = memory_footprint("llama-3-8b", "h200", 1, 1, 1024, reserve_bytes=10 * GIB)
    np.testing.assert_allclose(bigger.total_bytes - fp.total_bytes, 9 * GIB)
    # A reserve as large as the device leaves no room at all.
    assert not memory_footprint("llama-3-8b", "h200", 1, 1, 1024, reserve_bytes=141e9).fits.any()


def test_drafting_memory():
    plain = memory_footprint("llama-3-8b", "h200", 2, 5, 1024)
    draft = memory_footprint("llama-3-8b", "h200", 2, 5, 1024, method="draft", draft_model="llama-3.2-1b")
    small = load_model("llama-3.2-1b")
    assert draft.draft_weights_bytes == small.parameter_count() * 2
    # The draft keeps its own cache: 16 layers x 8 KV heads x 64 -> 2*16*8*64*2 = 32768 bytes/token.
    assert draft.kv_cache_bytes[0, 0, 0] - plain.kv_cache_bytes[0, 0, 0] == 2 * (1024 + 5) * 32768
    heads = memory_footprint("llama-3-8b", "h200", 2, 5, 1024, method="heads", heads=5)
    assert heads.draft_weights_bytes == 5 * (4096 * 4096 + 4096 * 128256) * 2
    with pytest.raises(SpecroofError, match="draft model"):
        memory_footprint("llama-3-8b", "h200", 1, 1, 1024, method="draft")


def test_setup_input_matches_model_input():
    setup = setup_step("llama-2-7b", "a100-80gb-sxm", weight_dtype="int4", tp=2)
    a = memory_footprint(setup, None, [1, 8], [1, 16], [512, 4096])
    b = memory_footprint("llama-2-7b", "a100-80gb-sxm", [1, 8], [1, 16], [512, 4096], weight_dtype="int4", tp=2)
    np.testing.assert_array_equal(a.total_bytes, b.total_bytes)
    m = load_model("llama-2-7b")
    norms = (2 * m.num_layers + 1) * m.hidden_size * 0.5  # replicated on both devices
    assert a.weights_bytes == pytest.approx((m.parameter_count() * 0.5 - norms) / 2 + norms, rel=1e-12)
    with pytest.raises(SpecroofError, match="either a StepSetup"):
        memory_footprint(setup, "h200")
    with pytest.raises(SpecroofError, match="needs the hardware"):
        memory_footprint("llama-2-7b")


@pytest.mark.parametrize("reserve", [-1.0, float("nan"), float("inf")])
def test_bad_reserve(reserve):
    with pytest.raises(SpecroofError, match="reserve"):
        memory_footprint("llama-3-8b", "h200", reserve_bytes=reserve)


def test_records():
    [rec] = memory_footprint("llama-3-8b", "h200", 1, 1, 1024).to_records()
    assert rec["fits"] is True and rec["capacity_gb"] == 141.0
    assert rec["total_gb"] == pytest.approx(rec["weights_gb"] + rec["kv_cache_gb"] + rec["activations_gb"]
                                            + rec["reserve_gb"])


@settings(max_examples=40, deadline=None)
@given(batch=st.lists(st.integers(1, 512), min_size=1, max_size=4, unique=True),
       candidates=st.lists(st.integers(1, 128), min_size=1, max_size=4, unique=True),
       seq_len=st.lists(st.integers(1, 32768), min_size=1, max_size=3, unique=True),
       attention=st.sampled_from(["fused", "unfused"]))
def test_footprint_grows_with_every_axis(batch, candidates, seq_len, attention):
    b, n, s = sorted(batch), sorted(candidates), sorted(seq_len)
    # Mistral's 4,096-token sliding window: its cache and (unfused) scores stop growing with the
    # context once it passes the window (tests/test_windows.py), so strictly only below it.
    total = memory_footprint("mistral-7b", "a100-80gb-sxm", b, n, s, attention=attention).total_bytes
    assert np.all(np.diff(total, axis=0) > 0)
    assert np.all(np.diff(total, axis=1) > 0)
    within = np.asarray(s) < 4096
    assert np.all(np.diff(total[:, :, within], axis=2) > 0)
    assert np.all(np.diff(total, axis=2) >= 0)
