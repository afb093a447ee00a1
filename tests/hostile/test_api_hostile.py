"""Hostile library calls: every one raises SpecroofError (never TypeError, ValueError from numpy,
AttributeError, OverflowError, MemoryError or RecursionError), saying what was wrong, and leaves
files untouched."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

import specroof
from hostile.harness import ApiCase, hang_guard, make_workspace, snapshot
from specroof.calibration.measurements import Measurement, load_measurements, write_measurements
from specroof.cost.profile import ImplementationProfile, get_profile
from specroof.errors import SpecroofError
from specroof.hardware.accelerator import Accelerator, load_hardware
from specroof.models.architecture import ModelConfig, load_model
from specroof.scenarios import load_scenario
from specroof.speculation.acceptance import ChainAcceptance, CurveAcceptance, LogAcceptance
from specroof.speculation.acceptance_spec import parse_acceptance
from specroof.speculation.trees import MedusaTreeAcceptance, PositionalAcceptance

LLAMA = dict(name="m", hidden_size=4096, intermediate_size=11008, num_layers=32, num_heads=32, num_kv_heads=32,
             head_dim=128, vocab_size=32000)
DEVICE = dict(name="g", display_name="G", memory_gb=80.0, memory_bandwidth_gbps=2000.0, sm_count=108,
              peak_tflops={"fp16": 312.0})


def model(**changes: Any) -> ModelConfig:
    return ModelConfig(**{**LLAMA, **changes})


def device(**changes: Any) -> Accelerator:
    return Accelerator(**{**DEVICE, **changes})


def priced_on(accel: Accelerator) -> Any:
    return specroof.latency("llama-7b", accel)


def lat(**options: Any) -> Any:
    return specroof.latency("llama-7b", "h200", **options)


API_CASES: list[ApiCase] = [
    # ModelConfig built by hand
    ApiCase("model-heads-fraction", lambda d: model(num_heads=2.5), "num_heads"),
    ApiCase("model-hidden-zero", lambda d: model(hidden_size=0), "hidden_size"),
    ApiCase("model-hidden-negative", lambda d: model(hidden_size=-1), "hidden_size"),
    ApiCase("model-layers-string", lambda d: model(num_layers="32"), "num_layers"),
    ApiCase("model-kv-zero", lambda d: model(num_kv_heads=0), "num_kv_heads"),
    ApiCase("model-kv-not-dividing", lambda d: model(num_kv_heads=5), "divisible"),
    ApiCase("model-vocab-nan", lambda d: model(vocab_size=float("nan")), "vocab_size"),
    ApiCase("model-vocab-huge", lambda d: model(vocab_size=10**400), "vocab_size"),
    ApiCase("model-tie-string", lambda d: model(tie_word_embeddings="false"), "tie_word_embeddings"),
    ApiCase("model-experts-without-routing", lambda d: model(num_experts=8), "num_experts_per_tok"),
    ApiCase("model-routing-without-experts", lambda d: model(experts_per_token=2), "num_experts"),
    ApiCase("model-name-number", lambda d: model(name=5), "name"),
    ApiCase("model-replace-bad", lambda d: dataclasses.replace(model(), head_dim=-128), "head_dim"),
    ApiCase("model-hf-not-dict", lambda d: ModelConfig.from_hf_config([1, 2], "x"), "JSON object"),
    ApiCase("model-hf-kv-zero", lambda d: ModelConfig.from_hf_config(
        {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4,
         "vocab_size": 100, "num_key_value_heads": 0}, "x"), "num_key_value_heads"),
    # Accelerator built by hand
    ApiCase("device-bandwidth-negative", lambda d: device(memory_bandwidth_gbps=-1.0), "memory_bandwidth_gbps"),
    ApiCase("device-bandwidth-nan", lambda d: device(memory_bandwidth_gbps=float("nan")), "memory_bandwidth_gbps"),
    ApiCase("device-bandwidth-inf", lambda d: device(memory_bandwidth_gbps=float("inf")), "memory_bandwidth_gbps"),
    ApiCase("device-memory-zero", lambda d: device(memory_gb=0), "memory_gb"),
    ApiCase("device-sm-fraction", lambda d: device(sm_count=108.5), "sm_count"),
    ApiCase("device-sm-string", lambda d: device(sm_count="108"), "sm_count"),
    ApiCase("device-peaks-empty", lambda d: device(peak_tflops={}), "peak_tflops"),
    ApiCase("device-peaks-none", lambda d: device(peak_tflops=None), "peak_tflops"),
    ApiCase("device-peak-negative", lambda d: device(peak_tflops={"fp16": -1.0}), "peak_tflops"),
    ApiCase("device-interconnect-negative", lambda d: device(interconnect_gbps=-5.0), "interconnect_gbps"),
    # a device's [profile] fields are checked when a step is priced with it (profiles sit above devices)
    ApiCase("device-overrides-bad", lambda d: priced_on(device(profile_overrides={"compute_efficiency": 7})),
            "compute_efficiency"),
    ApiCase("device-overrides-unknown", lambda d: priced_on(device(profile_overrides={"speed": 7})), "speed"),
    ApiCase("device-replace-bad", lambda d: dataclasses.replace(load_hardware("h200"), tdp_w=float("-inf")), "tdp_w"),
    # loaders given the wrong types
    ApiCase("load-model-none", lambda d: load_model(None), "model"),
    ApiCase("load-model-float", lambda d: load_model(3.5), "model"),
    ApiCase("load-model-list", lambda d: load_model(["llama-7b"]), "model"),
    ApiCase("load-hardware-list", lambda d: load_hardware(["h200"]), "hardware"),
    ApiCase("load-hardware-none", lambda d: load_hardware(None), "hardware"),
    ApiCase("load-scenario-number", lambda d: load_scenario(5), "scenario"),
    ApiCase("load-measurements-number", lambda d: load_measurements(5), "measurement"),
    ApiCase("load-measurements-dev-zero", lambda d: load_measurements("/dev/zero"), "regular file"),
    ApiCase("measurement-none", lambda d: Measurement.from_dict(None), "object"),
    ApiCase("measurement-latency-huge", lambda d: Measurement.from_dict(
        {"model": "m", "hardware": "h", "dtype": "fp16", "batch": 1, "candidates": 1, "seq_len": 1,
         "latency_ms": 10**400}), "latency_ms"),
    # latency() options
    ApiCase("latency-model-number", lambda d: specroof.latency(123, "h200"), "model"),
    ApiCase("latency-batch-text", lambda d: lat(batch="abc"), "batch"),
    ApiCase("latency-batch-fraction", lambda d: lat(batch=[1.5]), "batch"),
    ApiCase("latency-batch-empty", lambda d: lat(batch=[]), "batch"),
    ApiCase("latency-batch-nested", lambda d: lat(batch=[[1, 2]]), "batch"),
    ApiCase("latency-batch-huge", lambda d: lat(batch=[10**30]), "batch"),
    ApiCase("latency-seq-negative", lambda d: lat(seq_len=-5), "seq_len"),
    ApiCase("latency-grid-too-big", lambda d: lat(batch=range(1, 5001), candidates=range(1, 5001)), "points"),
    ApiCase("latency-tp-fraction", lambda d: lat(tp=2.5), "tensor parallelism"),
    ApiCase("latency-tp-string", lambda d: lat(tp="2"), "tensor parallelism"),
    ApiCase("latency-tp-not-dividing", lambda d: lat(tp=3), "--tp 3"),
    ApiCase("latency-dtype-number", lambda d: lat(dtype=5), "dtype"),
    ApiCase("latency-profile-number", lambda d: lat(profile=5), "profile"),
    ApiCase("latency-operators-empty", lambda d: lat(operators=[]), "operators"),
    ApiCase("latency-operators-unknown", lambda d: lat(operators=["mlp"]), "operators"),
    ApiCase("latency-cuda-graph-string", lambda d: lat(cuda_graph="false"), "cuda_graph"),
    ApiCase("latency-override-string", lambda d: lat(compute_efficiency="0.5"), "compute_efficiency"),
    ApiCase("latency-override-nan", lambda d: lat(bandwidth_efficiency=float("nan")), "bandwidth_efficiency"),
    ApiCase("latency-override-unknown", lambda d: lat(compute_eficiency=0.5), "compute_eficiency"),
    ApiCase("latency-tiles-garbage", lambda d: lat(gemm_tiles="abc"), "gemm_tiles"),
    ApiCase("latency-tiles-strings", lambda d: lat(gemm_tiles=[["a", "b"]]), "gemm_tiles"),
    # profiles
    ApiCase("profile-efficiency-above-one", lambda d: ImplementationProfile(compute_efficiency=2.0).validated(),
            "compute_efficiency"),
    ApiCase("profile-overhead-negative", lambda d: get_profile().with_overrides(kernel_overhead_us=-1.0),
            "kernel_overhead_us"),
    ApiCase("profile-name-number", lambda d: get_profile(5), "profile"),
    ApiCase("profile-object-unchecked", lambda d: lat(profile=ImplementationProfile(compute_efficiency=5.0)),
            "compute_efficiency"),
    ApiCase("profile-object-bad-tiles", lambda d: get_profile(ImplementationProfile(gemm_tiles="x")), "gemm_tiles"),
    # acceptance models
    ApiCase("acceptance-spec-none", lambda d: parse_acceptance(None), "acceptance"),
    ApiCase("acceptance-log-huge", lambda d: parse_acceptance("log:1e400"), "finite"),
    ApiCase("acceptance-log-text", lambda d: LogAcceptance("x"), "not a number"),
    ApiCase("acceptance-log-above-n", lambda d: LogAcceptance(5).tau([1, 2, 4]), "tau"),
    ApiCase("acceptance-chain-none", lambda d: ChainAcceptance(None), "not a number"),
    ApiCase("acceptance-curve-nan", lambda d: CurveAcceptance([[1, 1], [2, float("nan")]]), "finite"),
    ApiCase("acceptance-curve-text", lambda d: CurveAcceptance("abc"), "pairs"),
    ApiCase("acceptance-positional-depth-huge", lambda d: PositionalAcceptance([0.5], max_depth=10**9), "max depth"),
    ApiCase("acceptance-positional-text", lambda d: PositionalAcceptance("abc"), "positional"),
    ApiCase("acceptance-positional-ten-million", lambda d: PositionalAcceptance([0.6, 0.2]).tau(10**7), "65,536"),
    ApiCase("acceptance-positional-tree-huge", lambda d: PositionalAcceptance([0.6, 0.2]).tree(10**7), "65,536"),
    ApiCase("acceptance-medusa-accuracy", lambda d: MedusaTreeAcceptance([[2.0]]), "top1"),
    ApiCase("acceptance-tau-fraction", lambda d: LogAcceptance(0.4).tau([1, 2.5]), "integers"),
    ApiCase("acceptance-tau-text", lambda d: LogAcceptance(0.4).tau("x"), "integers"),
    ApiCase("acceptance-tau-huge", lambda d: LogAcceptance(0.4).tau(10**30), "integers"),
    # speedup, plan, explain
    ApiCase("speedup-acceptance-number", lambda d: specroof.speedup("llama-7b", "h200", acceptance=5), "acceptance"),
    ApiCase("speedup-log-above-n", lambda d: specroof.speedup("llama-7b", "h200", candidates=[2],
                                                             acceptance="log:5"), "log:5"),
    ApiCase("speedup-heads-zero", lambda d: specroof.speedup("llama-7b", "h200", method="heads", heads=0), "heads"),
    ApiCase("speedup-method-unknown", lambda d: specroof.speedup("llama-7b", "h200", method="lookahead"), "method"),
    ApiCase("plan-max-candidates-huge", lambda d: specroof.plan("llama-7b", "h200", max_candidates=10**12),
            "max candidates"),
    ApiCase("plan-batch-empty", lambda d: specroof.plan("llama-7b", "h200", batch=[]), "batch"),
    ApiCase("plan-too-many-points", lambda d: specroof.plan("llama-7b", "h200", batch=range(1, 10001),
                                                            max_candidates=1000), "points"),
    ApiCase("plan-objective-unknown", lambda d: specroof.plan("llama-7b", "h200", objective="fast"), "objective"),
    # calibration
    ApiCase("calibrate-empty", lambda d: specroof.calibrate([], "h200"), "measurements"),
    ApiCase("calibrate-one-point", lambda d: specroof.calibrate(load_measurements("meas.jsonl")[:1], "h200"),
            "distinct"),
    ApiCase("calibrate-identical-points", lambda d: specroof.calibrate(load_measurements("meas.jsonl")[:1] * 9,
                                                                      "h200"), "distinct"),
    ApiCase("calibrate-not-measurements", lambda d: specroof.calibrate([1, 2, 3], "h200"), "Measurement"),
    ApiCase("calibrate-none", lambda d: specroof.calibrate(None), "measurements"),
    ApiCase("validate-not-measurements", lambda d: specroof.validate([{"batch": 1}], "h200"), "Measurement"),
    ApiCase("validate-none", lambda d: specroof.validate(None, "h200"), "measurements"),
    ApiCase("plan-reserve-text", lambda d: specroof.plan("llama-7b", "h200", reserve_bytes="x"), "reserve"),
    ApiCase("plan-reserve-nan", lambda d: specroof.plan("llama-7b", "h200", reserve_bytes=float("nan")), "reserve"),
    ApiCase("acceptance-depth-text", lambda d: parse_acceptance("positional:0.5", max_depth="3"), "max depth"),
    ApiCase("acceptance-depth-nan", lambda d: parse_acceptance("positional:0.5", max_depth=float("nan")),
            "max depth"),
    ApiCase("validate-hardware-number", lambda d: specroof.validate("meas.jsonl", 5), "hardware"),
    # writers
    ApiCase("write-measurements-into-missing-root", lambda d: write_measurements(
        "/proc/x/y.jsonl", load_measurements("meas.jsonl")), "cannot write"),
    ApiCase("write-measurements-to-directory", lambda d: write_measurements(
        d, load_measurements("meas.jsonl")), "directory"),
    # None or absurd values where a grid axis, an operator list or a head count belongs: refused
    ApiCase("latency-batch-none", lambda d: lat(batch=None), "batch"),
    ApiCase("plan-seq-len-none", lambda d: specroof.plan("llama-7b", "h200", seq_len=None), "seq_len"),
    ApiCase("latency-operators-number", lambda d: lat(operators=5), "operators"),
    ApiCase("speedup-heads-billion", lambda d: specroof.speedup("llama-7b", "h200", method="heads", heads=10**9),
            "heads"),
]




def test_api_suite_size():
    assert len({c.id for c in API_CASES}) == len(API_CASES) >= 80


@pytest.mark.parametrize("case", API_CASES, ids=lambda c: c.id)
def test_hostile_api_call(case: ApiCase, workspace: Path):
    make_workspace(workspace, case.files)
    before = snapshot(workspace)
    with hang_guard():
        with pytest.raises(SpecroofError) as info:
            case.call(workspace)
    message = str(info.value)
    assert "\n" not in message
    assert case.expect.lower() in message.lower(), message
    assert snapshot(workspace) == before
