"""Physics that may not go backwards, and the guards behind the hostile suite: zipf routing equal
to its definition, all-reduce cost non-decreasing in GPU count, tensor-parallel degrees engines
accept, finite results, implausible calibration data."""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from specroof.calibration.measurements import load_measurements
from specroof.calibration.plausibility import step_floor_ms, warn_implausible
from specroof.cost.finite import require_finite
from specroof.cost.kernel_latency import kernel_latency
from specroof.cost.routing import zipf_inclusion
from specroof.errors import SpecroofError, SpecroofWarning
from specroof.hardware.accelerator import catalog_names, load_hardware
from specroof.models.architecture import ModelConfig, load_model
from specroof.models.tensor_parallel import padded_vocab, tp_conflicts

ROOT = Path(__file__).resolve().parents[1]


def zipf_by_definition(num_experts: int, top_k: int, skew: float, points: int = 1000) -> np.ndarray:
    """The exponential-race integral computed directly: for every expert e, the count of the other
    experts arrived by t is built by adding them one at a time (O(E^2 x times x k))."""
    w = np.arange(1, num_experts + 1, dtype=float) ** -skew
    w = w / w.sum()
    t = np.concatenate(([0.0], np.geomspace(1e-6 / w.max(), 60.0 * top_k / w.min(), points)))
    arrived = 1.0 - np.exp(-np.outer(w, t))
    fewer = np.empty((num_experts, t.size))
    for e in range(num_experts):
        count = np.zeros((t.size, top_k))
        count[:, 0] = 1.0
        for j in range(num_experts):
            if j != e:
                q = arrived[j][:, None]
                count = np.concatenate((count[:, :1] * (1 - q), count[:, 1:] * (1 - q) + count[:, :-1] * q), axis=1)
        fewer[e] = count.sum(axis=1)
    density = w[:, None] * np.exp(-np.outer(w, t))
    return np.clip(np.trapezoid(density * fewer, t, axis=1), 0.0, 1.0)


@pytest.mark.parametrize("num_experts, top_k, skew", [(2, 1, 1.0), (8, 2, 1.0), (16, 4, 0.5), (12, 3, 2.5),
                                                      (30, 1, 1.2), (24, 6, 7.0), (10, 9, 0.3)])
def test_zipf_inclusion_equals_its_definition(num_experts, top_k, skew):
    fast = np.array(zipf_inclusion(num_experts, top_k, skew))
    slow = zipf_by_definition(num_experts, top_k, skew)
    np.testing.assert_allclose(fast, slow, rtol=1e-10, atol=1e-13)
    assert fast.sum() == pytest.approx(top_k, rel=2e-3)  # k experts are picked per token
    assert np.all(np.diff(fast) <= 1e-12)  # a heavier expert is never picked less often


def test_zipf_beyond_float_range_is_refused_naming_the_input():
    with pytest.raises(SpecroofError, match=r"zipf:400 over 64 experts.*S <= 166"):
        zipf_inclusion(64, 4, 400.0)


def test_thousand_experts_sum_to_k():
    pi = np.array(zipf_inclusion(1024, 8, 1.2))
    assert pi.size == 1024 and np.all(np.isfinite(pi))
    assert pi.sum() == pytest.approx(8, rel=2e-3)


# ------------------------------------------------------------------ all-reduce


DEVICES = tuple(catalog_names())
PROFILES = (None, "vllm", "sglang", "trtllm")


@settings(deadline=None, max_examples=60)
@given(device=st.sampled_from(DEVICES), profile=st.sampled_from(PROFILES),
       message_bytes=st.floats(min_value=1.0, max_value=1e10))
def test_allreduce_cost_never_falls_with_more_gpus_unless_measured_so(device, profile, message_bytes):
    """One more GPU never makes an all-reduce cheaper, except where the engine's own measured
    kernels do (a falling pair of measured group sizes around it, kept as measured)."""
    from specroof.cost.kernel_latency import kernel_setup

    accel = load_hardware(device)
    gpus = list(range(2, min(accel.domain_gpus, 72) + 1))
    us = {p: float(kernel_latency("allreduce", accel, profile=profile, num_gpus=p, message_bytes=message_bytes))
          for p in gpus}
    assert all(np.isfinite(v) and v > 0 for v in us.values())
    measured = sorted(int(row[0]) for row in kernel_setup(accel, profile).profile.allreduce_fits)
    for p in gpus[:-1]:
        if us[p + 1] >= us[p] * (1 - 1e-6):  # interpolation rounding
            continue
        low = [q for q in measured if q <= p]
        high = [q for q in measured if q >= p + 1]
        assert low and high and us[high[0]] < us[low[-1]], (device, profile, p, us)


def test_allreduce_without_measured_kernels_never_falls():
    for device in DEVICES:
        accel = load_hardware(device)
        top = min(accel.domain_gpus, 72)
        for profile in ("serving", "pytorch-sdpa"):
            us = kernel_latency("allreduce", accel, profile=profile, num_gpus=np.arange(2, top + 1),
                                message_bytes=np.full(top - 1, 3e6))
            assert np.all(np.diff(us) >= 0), (device, profile, us)


def test_allreduce_between_and_beyond_measured_sizes():
    """h200 vllm measures 2, 4 and 8 GPUs: 3 lies between 2 and 4, 16 is refused (one HGX board)."""
    us = {p: float(kernel_latency("allreduce", "h200", profile="vllm", num_gpus=p, message_bytes=1e6))
          for p in (2, 3, 4, 8)}
    assert min(us[2], us[4]) <= us[3] <= max(us[2], us[4])
    with pytest.raises(SpecroofError, match="joins 8"):
        kernel_latency("allreduce", "h200", profile="vllm", num_gpus=16, message_bytes=1e6)


def test_allreduce_beyond_one_domain_is_refused_not_priced():
    for device in DEVICES:
        accel = load_hardware(device)
        with pytest.raises(SpecroofError, match=f"joins {accel.domain_gpus}"):
            kernel_latency("allreduce", accel, num_gpus=accel.domain_gpus + 1, message_bytes=1e6)


def test_every_catalog_device_states_its_domain_with_a_source():
    for device in DEVICES:
        accel = load_hardware(device)
        assert accel.interconnect_domain_gpus >= 2, device
        assert "interconnect_domain_gpus" in accel.sources, device


def test_an_unstated_domain_is_named_in_the_refusal():
    accel = dataclasses.replace(load_hardware("h200"), interconnect_domain_gpus=0)
    with pytest.raises(SpecroofError, match="states no interconnect_domain_gpus"):
        kernel_latency("allreduce", accel, num_gpus=9, message_bytes=1e6)


# ------------------------------------------------------------------ tensor parallelism


def test_tp_rules_are_the_engines():
    model = ModelConfig("m", hidden_size=3584, intermediate_size=11008, num_layers=2, num_heads=28, num_kv_heads=28,
                        head_dim=128, vocab_size=32000)
    conflicts = " ".join(tp_conflicts(model, 7))
    assert "intermediate size 11008" in conflicts and "vocabulary 32000" in conflicts
    assert "attention heads" not in conflicts and "KV heads" not in conflicts
    assert tp_conflicts(model, 4) == []
    gqa = dataclasses.replace(model, num_heads=32, num_kv_heads=4, hidden_size=4096)
    assert tp_conflicts(gqa, 8) == []  # 8 devices replicate 4 KV heads twice: vLLM accepts it
    odd_kv = dataclasses.replace(model, num_heads=24, num_kv_heads=6, hidden_size=3072)
    assert any("KV heads" in c for c in tp_conflicts(odd_kv, 4))  # neither 6 % 4 nor 4 % 6


def test_the_vocabulary_is_padded_to_64_before_it_is_split():
    assert padded_vocab(32000) == 32000 and padded_vocab(32001) == 32064 and padded_vocab(151936) == 151936
    model = ModelConfig("m", hidden_size=4096, intermediate_size=11008, num_layers=2, num_heads=32, num_kv_heads=32,
                        head_dim=128, vocab_size=32001)  # odd vocabulary: padded to 32064, which 8 divides
    assert tp_conflicts(model, 8) == []


@pytest.mark.parametrize("name", ["llama-7b", "llama-3-8b", "mixtral-8x7b", "qwen3-8b", "llama-2-70b", "glm-4.5-air"])
def test_power_of_two_tp_still_runs_where_heads_divide(name):
    model = load_model(name)
    for tp in (1, 2, 4, 8):
        if model.num_heads % tp == 0:
            assert tp_conflicts(model, tp) == [], (name, tp)


# ------------------------------------------------------------------ finiteness at the boundary


def test_a_non_finite_result_names_its_grid_point():
    values = np.ones((2, 3, 1))
    values[1, 2, 0] = np.nan
    axes = {"batch": np.array([1, 64]), "candidates": np.array([1, 8, 16]), "seq_len": np.array([1024])}
    with pytest.raises(SpecroofError, match="batch=64, candidates=16, seq_len=1024"):
        require_finite(values, "speedup", axes)
    with pytest.raises(SpecroofError, match="came out -1"):
        require_finite(-values[:1], "step latency (ms)", positive=False)
    require_finite(np.zeros(3), "step latency (ms)", positive=False)  # a step of absent operations: 0 ms


# ------------------------------------------------------------------ implausible calibration data


def _rows():
    return [m for m in load_measurements(ROOT / "data" / "measurements" / "h200-llama-7b-calibration.jsonl")
            if m.heads is None]


def _warnings(rows) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warn_implausible(rows, load_hardware("h200"))
    assert all(issubclass(w.category, SpecroofWarning) for w in caught)
    return [str(w.message) for w in caught]


@pytest.mark.parametrize("name", ["h200-llama-7b-calibration.jsonl", "h200-mixtral-8x7b-moe.jsonl"])
def test_real_measurements_raise_no_warning(name):
    rows = [m for m in load_measurements(ROOT / "data" / "measurements" / name) if m.heads is None]
    assert _warnings(rows) == []
    assert min(m.latency_ms / step_floor_ms(m, load_hardware("h200")) for m in rows) > 1.5


def test_constant_timings_warn():
    messages = _warnings([dataclasses.replace(m, latency_ms=300.0, ops_ms={}) for m in _rows()])
    assert len(messages) == 1 and "timer may not be measuring the step" in messages[0]


def test_timings_faster_than_the_datasheet_warn():
    rows = [dataclasses.replace(m, latency_ms=m.latency_ms / 4, ops_ms={k: v / 4 for k, v in m.ops_ms.items()})
            for m in _rows()]
    messages = _warnings(rows)
    assert len(messages) == 1 and "faster than h200's datasheet allows" in messages[0]


def test_operations_summing_above_the_step_warn():
    rows = [dataclasses.replace(m, ops_ms={k: 2 * v for k, v in m.ops_ms.items()}) for m in _rows()]
    messages = _warnings(rows)
    assert len(messages) == 1 and "sum to more than the whole step" in messages[0]


def test_latency_falling_with_more_tokens_warns():
    rows = _rows()
    small = min(range(len(rows)), key=lambda i: rows[i].tokens)
    large = max(range(len(rows)), key=lambda i: rows[i].tokens)
    rows[large] = dataclasses.replace(rows[large], latency_ms=rows[small].latency_ms * 0.9, ops_ms={})
    messages = _warnings(rows)
    assert any("latency falls as the work grows" in m for m in messages), messages


def test_calibrate_cli_prints_one_warning_line(tmp_path, monkeypatch):
    import json

    from hostile.harness import run_cli

    lines = [json.loads(line) for line in
             (ROOT / "data" / "measurements" / "h200-llama-7b-calibration.jsonl").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    (tmp_path / "m.jsonl").write_text("".join(json.dumps({**r, "ops_ms": {k: 2 * v for k, v in r.get("ops_ms", {})
                                                                          .items()}}) + "\n" for r in lines))
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli(["calibrate", "m.jsonl", "-o", "p.toml"])
    assert code == 0, err
    assert [line for line in err.splitlines() if line] == [err.splitlines()[0]]
    assert err.startswith("warning: ") and "sum to more than the whole step" in err
