"""Fuzzing the file parsers with generated junk: every input either loads into valid values or
raises SpecroofError with a one-line message; nothing else escapes (no TypeError, KeyError,
OverflowError, RecursionError...), and nothing hangs.

Two kinds of junk: raw bytes and text (syntax, encodings), and valid files with one value
swapped for a random JSON/TOML value (types, ranges, NaN, huge integers, nesting).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from hostile.harness import CALIBRATED, H200_FILE, LLAMA_CONFIG, MEASUREMENTS, hang_guard
from specroof.calibration.measurements import Measurement, load_measurements
from specroof.cli.common import parse_int_list
from specroof.errors import SpecroofError
from specroof.hardware.accelerator import Accelerator, load_hardware
from specroof.models.architecture import ModelConfig, load_model
from specroof.scenarios import load_scenario
from specroof.speculation.acceptance import CurveAcceptance
from specroof.speculation.acceptance_spec import parse_acceptance
from specroof.speculation.trees import MedusaTreeAcceptance

FUZZ = settings(max_examples=150, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=10**300, max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=20),
    st.sampled_from(["false", "no", "0", "nan", "inf", "-1", "1e400", ""]),
)
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)
toml_scalars = st.one_of(st.booleans(), st.integers(min_value=-(2**63), max_value=2**63 - 1),
                         st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=20))
toml_values = st.recursive(toml_scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(min_size=1, max_size=8), inner, max_size=4), max_leaves=12)
junk_bytes = st.one_of(st.binary(max_size=400), st.text(max_size=400).map(lambda t: t.encode("utf-8")))


def outcome(call) -> Any:
    """The value, or None after a one-line SpecroofError; anything else fails the test."""
    with hang_guard():
        try:
            return call()
        except SpecroofError as exc:
            assert "\n" not in str(exc), str(exc)
            return None


def write(folder: Path, name: str, content: bytes | str) -> Path:
    path = folder / name
    if isinstance(content, str):
        content = content.encode("utf-8")
    path.write_bytes(content)
    return path


# --------------------------------------------------------------------------- raw junk


@FUZZ
@given(content=junk_bytes)
def test_junk_model_config(tmp_path, content):
    outcome(lambda: load_model(write(tmp_path, "config.json", content)))


@FUZZ
@given(content=junk_bytes)
def test_junk_hardware_file(tmp_path, content):
    outcome(lambda: load_hardware(write(tmp_path, "device.toml", content)))


@FUZZ
@given(content=junk_bytes)
def test_junk_scenario_file(tmp_path, content):
    outcome(lambda: load_scenario(write(tmp_path, "scenario.toml", content)))


@FUZZ
@given(content=junk_bytes)
def test_junk_measurement_file(tmp_path, content):
    outcome(lambda: load_measurements(write(tmp_path, "m.jsonl", content)))


@FUZZ
@given(content=junk_bytes, header=st.sampled_from(["", "candidates,acceptance_length\n"]))
def test_junk_curve_csv(tmp_path, content, header):
    outcome(lambda: CurveAcceptance.from_csv(write(tmp_path, "c.csv", header.encode() + content)))


@FUZZ
@given(content=junk_bytes, header=st.sampled_from(["", "model,head,top1,top2\n", "head,top1\n"]))
def test_junk_medusa_csv(tmp_path, content, header):
    outcome(lambda: MedusaTreeAcceptance.from_csv(write(tmp_path, "a.csv", header.encode() + content)))


@FUZZ
@given(spec=st.one_of(st.text(max_size=40), st.sampled_from(["log", "chain", "positional", "medusa", "curve"])
                      .flatmap(lambda k: st.text(max_size=30).map(lambda a: f"{k}:{a}"))),
       depth=st.none() | st.integers(-5, 10**7))
def test_junk_acceptance_spec(spec, depth):
    model = outcome(lambda: parse_acceptance(spec, max_depth=depth))
    if model is not None:
        outcome(lambda: model.tau([1, 2, 8]))


@FUZZ
@given(text=st.text(alphabet="0123456789.:,-e+ninfa ", max_size=30))
def test_junk_grid_list(text):
    values = outcome(lambda: parse_int_list(text, "batch"))
    if values is not None:
        assert values and all(isinstance(v, int) and v >= 1 for v in values)
        assert len(values) <= 100_000


# --------------------------------------------------------------------------- one value swapped


def test_fuzz_base_files_are_valid():
    assert load_model(LLAMA_CONFIG).num_heads == 32
    assert load_hardware(H200_FILE).sm_count == 132
    assert load_hardware(CALIBRATED).is_calibrated
    assert load_measurements(MEASUREMENTS)


BASE_CONFIG = json.loads(LLAMA_CONFIG.read_text())
CONFIG_KEYS = ["hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads", "vocab_size",
               "num_key_value_heads", "head_dim", "tie_word_embeddings", "num_local_experts", "num_experts_per_tok",
               "moe_intermediate_size", "text_config", "_source"]


@FUZZ
@given(key=st.sampled_from(CONFIG_KEYS), value=json_values)
def test_model_config_with_one_value_swapped(tmp_path, key, value):
    config = {**BASE_CONFIG, key: value}
    model = outcome(lambda: load_model(write(tmp_path, "config.json", json.dumps(config))))
    if model is not None:
        assert isinstance(model, ModelConfig)
        for name in ("hidden_size", "num_layers", "num_heads", "num_kv_heads", "head_dim", "vocab_size"):
            value = getattr(model, name)
            assert isinstance(value, int) and not isinstance(value, bool) and value >= 1
        assert model.num_heads % model.num_kv_heads == 0
        assert isinstance(model.tie_word_embeddings, bool)


BASE_DEVICE = {"name": "fuzz", "display_name": "Fuzz", "memory_gb": 80.0, "memory_bandwidth_gbps": 2000.0,
               "sm_count": 108, "l2_cache_mb": 40.0, "interconnect_gbps": 300.0, "tdp_w": 400,
               "peak_tflops": {"fp16": 312.0}, "sources": {"memory_gb": "datasheet"}}
DEVICE_KEYS = [*BASE_DEVICE, "vendor", "interconnect", "base", "profile_base", "profile", "fit", "bogus"]


@FUZZ
@given(key=st.sampled_from(DEVICE_KEYS), value=toml_values)
def test_hardware_file_with_one_value_swapped(tmp_path, key, value):
    data = {**BASE_DEVICE, key: value}
    accel = outcome(lambda: load_hardware(write(tmp_path, "device.toml", tomli_w.dumps(data))))
    if accel is not None:
        assert isinstance(accel, Accelerator)
        for name in ("memory_gb", "memory_bandwidth_gbps", "l2_cache_mb", "interconnect_gbps", "tdp_w"):
            assert math.isfinite(getattr(accel, name)) and getattr(accel, name) >= 0
        assert accel.memory_bandwidth_gbps > 0 and isinstance(accel.sm_count, int) and accel.sm_count >= 1
        assert accel.peak_tflops and all(math.isfinite(v) and v > 0 for v in accel.peak_tflops.values())


PROFILE_KEYS = ["compute_efficiency", "bandwidth_efficiency", "gemm_tiles", "operators", "cuda_graph", "attention",
                "kernel_overhead_us", "attention_ctas_per_sm", "gemm_tile_policy", "softmax_passes", "made_up"]


@FUZZ
@given(key=st.sampled_from(PROFILE_KEYS), value=toml_values)
def test_calibrated_profile_with_one_value_swapped(tmp_path, key, value):
    data = {"base": "h200", "profile_base": "pytorch-sdpa", "profile": {key: value}}
    accel = outcome(lambda: load_hardware(write(tmp_path, "p.toml", tomli_w.dumps(data))))
    if accel is not None:
        import specroof

        result = outcome(lambda: specroof.latency("llama-7b", accel, [1, 8], [1, 16], 1024))
        if result is not None:
            assert (result.latency_ms > 0).all() and math.isfinite(float(result.latency_ms.max()))


SCENARIO_KEYS = ["model", "hardware", "cuda_graph", "tp", "acceptance", "method", "heads", "max_depth", "grid",
                 "profile_overrides", "description", "reference", "other"]


@FUZZ
@given(key=st.sampled_from(SCENARIO_KEYS), value=toml_values)
@example(key="profile_overrides", value={"\n": False})  # a key with a newline once made a two-line error
def test_scenario_with_one_value_swapped(tmp_path, key, value):
    data = {"model": "llama-7b", "hardware": "h200", "grid": {"batch": [1, 2]}, key: value}
    scenario = outcome(lambda: load_scenario(write(tmp_path, "s.toml", tomli_w.dumps(data))))
    if scenario is not None:
        for axis in scenario.grid.values():
            assert axis and all(isinstance(v, int) and v >= 1 for v in axis)
        if "cuda_graph" in scenario.settings:
            assert isinstance(scenario.settings["cuda_graph"], bool)


ROW = {"model": "llama-7b", "hardware": "h200", "dtype": "fp16", "batch": 1, "candidates": 16, "seq_len": 1024,
       "latency_ms": 8.3, "cuda_graph": True, "ops_ms": {"qkv_proj": 0.9}}


@FUZZ
@given(key=st.sampled_from([*ROW, "heads", "eager_latency_ms", "extra_key"]), value=json_values)
def test_measurement_with_one_value_swapped(key, value):
    row = outcome(lambda: Measurement.from_dict({**ROW, key: value}, "m.jsonl:1"))
    if row is not None:
        assert math.isfinite(row.latency_ms) and row.latency_ms > 0
        assert isinstance(row.batch, int) and row.batch >= 1
        assert all(math.isfinite(v) and v > 0 for v in row.ops_ms.values())
        assert row.cuda_graph in (None, True, False)


@pytest.mark.parametrize("depth", [1_000, 100_000])
def test_deep_nesting_in_every_format(tmp_path, depth):
    deep_json = "[" * depth + "]" * depth
    deep_toml = "a = " + "[" * depth + "]" * depth + "\n"
    assert outcome(lambda: load_model(write(tmp_path, "config.json", deep_json))) is None
    assert outcome(lambda: load_hardware(write(tmp_path, "d.toml", deep_toml))) is None
    assert outcome(lambda: load_scenario(write(tmp_path, "s.toml", deep_toml))) is None
    assert outcome(lambda: load_measurements(write(tmp_path, "m.jsonl", deep_json))) is None
