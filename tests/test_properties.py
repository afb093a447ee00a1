"""Invariants that must hold for every valid input, checked with generated inputs (hypothesis).

- speculation with one candidate is plain decoding: speedup(n = 1) = 1, whatever the model,
  device, acceptance model and drafting method;
- the latency of a step is finite and positive, and never falls when the batch, the
  candidates or the context grow; its operators sum to it;
- every acceptance model has tau(1) = 1, tau(n) <= n and tau non-decreasing in n;
- engine exports are contiguous ranges covering every batch size from 1 to the largest;
- every command-line error is one line on stderr with exit code 2.
"""

from __future__ import annotations

import math
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import specroof
from hostile.harness import hang_guard, run_cli
from specroof.errors import SpecroofError
from specroof.hardware.accelerator import catalog_names as hardware_names
from specroof.models.architecture import ModelConfig
from specroof.models.architecture import catalog_names as model_names
from specroof.speculation.acceptance import ChainAcceptance, CurveAcceptance, LogAcceptance
from specroof.speculation.plan import batch_ranges, plan
from specroof.speculation.trees import MedusaTreeAcceptance, PositionalAcceptance
from tests.support import assert_non_decreasing_unless_a_kernel_drops

SLOW = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FAST = settings(max_examples=300, deadline=None)

hardware = st.sampled_from(sorted(hardware_names()))
dense_models = st.sampled_from([m for m in sorted(model_names()) if "mixtral" not in m and "70b" not in m
                                and "65b" not in m and "72b" not in m])


@st.composite
def small_models(draw) -> ModelConfig:
    """Random Llama-style shapes (GQA included); sizes kept small so a grid prices fast."""
    head_dim = draw(st.sampled_from([32, 64, 128]))
    kv_heads = draw(st.sampled_from([1, 2, 4, 8]))
    heads = kv_heads * draw(st.integers(1, 8))
    return ModelConfig(name="generated", hidden_size=heads * head_dim,
                       intermediate_size=draw(st.integers(64, 20000)), num_layers=draw(st.integers(1, 6)),
                       num_heads=heads, num_kv_heads=kv_heads, head_dim=head_dim,
                       vocab_size=draw(st.integers(100, 130000)))


def axis(low: int, high: int, size: int = 5):
    return st.lists(st.integers(low, high), min_size=1, max_size=size, unique=True).map(sorted)


# --------------------------------------------------------------------------- acceptance models


@st.composite
def acceptance_models(draw):
    kind = draw(st.sampled_from(["log", "chain", "positional", "medusa", "curve"]))
    if kind == "log":
        return LogAcceptance(draw(st.floats(0, 1 / math.log(2))))
    if kind == "chain":
        return ChainAcceptance(draw(st.floats(0, 1)))
    if kind == "positional":
        raw = draw(st.lists(st.floats(0, 1), min_size=1, max_size=6))
        total = sum(raw)
        probs = [p / total * draw(st.floats(0, 1)) for p in raw] if total > 1 else raw
        depth = draw(st.none() | st.integers(1, 8))
        return PositionalAcceptance(probs, max_depth=depth)
    if kind == "medusa":
        heads = draw(st.integers(1, 5))
        ranks = draw(st.integers(1, 6))
        rows = [np.sort(draw(st.lists(st.floats(0, 1), min_size=ranks, max_size=ranks))) for _ in range(heads)]
        return MedusaTreeAcceptance(rows, max_depth=draw(st.none() | st.integers(1, 5)))
    count = draw(st.integers(1, 8))
    cands = sorted(draw(st.lists(st.integers(2, 200), min_size=count, max_size=count, unique=True)))
    taus, level = [], 1.0
    for c in cands:
        level = draw(st.floats(level, float(c)))
        taus.append(level)
    return CurveAcceptance(list(zip(cands, taus)))


@FAST
@given(model=acceptance_models(), data=st.data())
def test_tau_is_at_most_n_and_non_decreasing(model, data):
    top = model.max_candidates or 300
    n = np.arange(1, min(top, 300) + 1)
    tau = model.tau(n)
    assert tau[0] == 1.0
    assert np.all(np.isfinite(tau))
    assert np.all(tau <= n + 1e-9)
    assert np.all(np.diff(tau) >= -1e-12)
    single = data.draw(st.integers(1, int(n[-1])))
    assert model.tau(single) == tau[single - 1]


# --------------------------------------------------------------------------- latency


@SLOW
@given(model=small_models() | dense_models, hw=hardware, b=axis(1, 96), n=axis(1, 96), s=axis(1, 16384),
       profile=st.sampled_from(["serving", "pytorch-sdpa", "medusa-appendix-g"]), graph=st.booleans(),
       dtype=st.sampled_from(["fp16", "bf16"]))
@example(model="llama-7b", hw="a100-40gb-sxm", b=[1, 2], n=[1], s=[128], profile="pytorch-sdpa", graph=False,
         dtype="fp16")  # eager, launch-bound: the split-KV combine kernel goes at batch 2
def test_latency_is_finite_positive_monotone_and_the_sum_of_its_operators(model, hw, b, n, s, profile, graph, dtype):
    # allow_unmodelled: mistral-7b past its 4,096-token window is priced over the whole context
    result = specroof.latency(model, hw, b, n, s, profile=profile, cuda_graph=graph, dtype=dtype, allow_unmodelled=True)
    lat = result.latency_ms
    assert lat.shape == (len(b), len(n), len(s))
    assert np.all(np.isfinite(lat)) and np.all(lat > 0)
    # Latency may fall where an eager step launches fewer kernels (FlashAttention-2's split-KV
    # combine kernel goes once the batch fills the SMs: tests/test_latency.py pins the case);
    # elsewhere it never falls, and the work never does.
    assert_non_decreasing_unless_a_kernel_drops(result)
    flops = sum(result.flops.values())
    for ax in range(3):
        assert np.diff(flops, axis=ax).min(initial=0.0) >= 0, f"FLOPs fall along axis {ax}"
    total = sum(result.ops_ms.values())
    np.testing.assert_allclose(total, lat, rtol=1e-9, atol=0)


@SLOW
@given(hw=hardware, tp=st.sampled_from([1, 2, 4, 8]), b=axis(1, 64, 3), n=axis(1, 64, 3))
def test_latency_with_tensor_parallelism_is_finite_and_positive(hw, tp, b, n):
    if tp > specroof.load_hardware(hw).domain_gpus:  # beyond one NVLink domain: refused, tested elsewhere
        with pytest.raises(SpecroofError, match="interconnect domain"):
            specroof.latency("llama-2-7b", hw, b, n, 2048, tp=tp)
        return
    result = specroof.latency("llama-2-7b", hw, b, n, 2048, tp=tp)
    assert np.all(np.isfinite(result.latency_ms)) and np.all(result.latency_ms > 0)


# --------------------------------------------------------------------------- speedup


@SLOW
@given(model=st.sampled_from(["llama-7b", "vicuna-7b", "llama-3-8b"]), hw=hardware, b=axis(1, 64, 3),
       s=axis(1, 8192, 3), method=st.sampled_from(["none", "heads", "draft"]),
       acceptance=st.sampled_from(["log:0.477", "chain:0.8", "positional:0.6,0.2", "medusa:vicuna-7b"]))
def test_speedup_of_one_candidate_is_one(model, hw, b, s, method, acceptance):
    options = {"draft_model": "llama-68m"} if method == "draft" else {}
    result = specroof.speedup(model, hw, b, [1], s, acceptance=acceptance, method=method, **options)
    np.testing.assert_allclose(result.speedup, 1.0, rtol=1e-12)
    assert np.all(result.acceptance_length == 1.0)


# --------------------------------------------------------------------------- exports


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batch=axis(1, 256, 6), hw=st.sampled_from(["h200", "a100-80gb-sxm", "l4"]),
       acceptance=st.sampled_from(["log:0.477", "chain:0.7", "medusa:vicuna-7b"]))
def test_export_ranges_are_contiguous_and_cover_the_batch_range(batch, hw, acceptance):
    result = plan("llama-7b", hw, batch, 1024, acceptance=acceptance, max_candidates=32)
    if not result.fits[int(np.argmin(result.batch)), 0]:  # not even the smallest batch fits: nothing to export
        with pytest.raises(SpecroofError, match="nothing in this plan fits"):
            batch_ranges(result)
        return
    ranges = batch_ranges(result)
    assert ranges[0][0] == 1
    assert ranges[-1][1] == max(b for b, ok in zip(result.batch.tolist(), result.fits[:, 0]) if ok)
    for (start, end, k), following in zip(ranges, ranges[1:] + [None]):
        assert start <= end and k >= 0
        if following is not None:
            assert following[0] == end + 1
            assert following[2] != k  # neighbours with the same k are merged


# --------------------------------------------------------------------------- command-line errors

_VALUES = st.one_of(
    st.sampled_from(["0", "-1", "1.5", "nan", "inf", "1e400", "", ",", "1:0:1", "1..", "..", "9" * 60,
                     "llama-7b", "h200", "log:9", "chain:2", "positional:", "medusa:", "curve:/dev/zero",
                     "/dev/zero", "/dev/null", "nowhere.json", "x.toml", "x.gif", "/proc/x.png", "fp3",
                     "1:1000000000:1", "10000000", "\x00", "é", "{}", "[[[", "true", "--batch"]),
    st.text(min_size=0, max_size=12),
)
_OPTIONS = ["--model", "--hardware", "--batch", "--candidates", "--seq-len", "--tp", "--ops", "--dtype",
            "--profile", "--acceptance", "--max-depth", "--method", "--heads", "--draft-model", "--scenario",
            "--plot", "--max-candidates", "--format", "--current"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(command=st.sampled_from(["latency", "speedup", "plan", "explain", "acceptance"]),
       pairs=st.lists(st.tuples(st.sampled_from(_OPTIONS), _VALUES), min_size=1, max_size=4))
def test_every_command_line_error_is_one_line_with_exit_2(command, pairs, tmp_path_factory):
    argv = [command, "-m", "llama-7b", "-H", "h200"] if command != "acceptance" else [command]
    for option, value in pairs:
        argv += [option, value]
    folder = tmp_path_factory.mktemp("cli")
    here = os.getcwd()
    os.chdir(folder)  # a chart the junk happens to ask for lands here, not in the repository
    try:
        with hang_guard():
            code, _, err = run_cli(argv)
    finally:
        os.chdir(here)
    assert "Traceback" not in err
    if code != 0:
        assert code == 2, (argv, code, err)
        lines = err.splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), (argv, err)
