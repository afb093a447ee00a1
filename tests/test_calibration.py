"""Calibration: recover known parameters, and predict held-out H200 measurements.

The held-out tests are the accuracy gate (in the spirit of AIConfigurator's CI): each split
fits on some batch sizes or models and validates on another, and fails if the error grows
past the level reached when it was written.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from gates import failures, gates
from specroof.calibration.fit import calibrate
from specroof.calibration.holdout import SPLITS, run_split
from specroof.calibration.measurements import Measurement, load_measurements
from specroof.calibration.validate import validate
from specroof.cost.step import latency
from specroof.errors import SpecroofError
from specroof.hardware.accelerator import load_hardware

SHARED = Path(__file__).resolve().parents[1] / "data" / "measurements" / "h200-llama-7b-calibration.jsonl"
CLI = str(Path(sys.executable).parent / "specroof")

TRUE = {
    "bandwidth_efficiency": 0.8, "compute_efficiency": 0.6, "gemm_fixed_us": 5.0, "kernel_overhead_us": 2.0,
    "elementwise_efficiency": 0.4, "attention_cta_bandwidth_gbps": 25.0, "attention_compute_efficiency": 0.3,
    "gemm_l2_spill_penalty": 0.1,
}
OPS = ("qkv_proj", "o_proj", "gate_up_proj", "down_proj", "attention", "lm_head")


def _synthetic() -> list[Measurement]:
    batch, cands, seqs = [1, 8, 64], [1, 16, 64, 112], [512, 2048]
    result = latency("llama-7b", "h200", batch, cands, seqs, profile="pytorch-sdpa", **TRUE)
    rows = []
    for i, b in enumerate(batch):
        for j, n in enumerate(cands):
            for k, s in enumerate(seqs):
                rows.append(Measurement(
                    model="llama-7b", hardware="h200", dtype="fp16", batch=b, candidates=n, seq_len=s,
                    latency_ms=float(result.latency_ms[i, j, k]), cuda_graph=True,
                    ops_ms={op: float(result.ops_ms[op][i, j, k]) for op in OPS}))
    return rows


def test_round_trip_recovers_known_parameters():
    fitted = calibrate(_synthetic(), "h200", "pytorch-sdpa")
    assert fitted.mape_latency < 1e-6
    for name, value in TRUE.items():
        assert fitted.fitted[name] == pytest.approx(value, rel=0.01), name


def test_profile_file_round_trips_through_load_hardware(tmp_path):
    fitted = calibrate(_synthetic(), "h200", "pytorch-sdpa")
    path = tmp_path / "h200-fit.toml"
    fitted.write(path)
    accel = load_hardware(path)
    assert accel.name == "h200" and accel.profile_base == "pytorch-sdpa"
    assert accel.profile_overrides["compute_efficiency"] == pytest.approx(fitted.fitted["compute_efficiency"], rel=1e-4)
    again = latency("llama-7b", path, 16, 64, 1024)
    direct = latency("llama-7b", "h200", 16, 64, 1024, profile="pytorch-sdpa", **fitted.fitted)
    assert again.latency_ms[0, 0, 0] == pytest.approx(direct.latency_ms[0, 0, 0], rel=1e-4)


# The accuracy gate: every held-out split of specroof.calibration.holdout.SPLITS (the README
# table). Levels, the levels reached, what each split fits on and why each level is where it
# is: tests/gates.toml (group "calibration").
GATE = gates("calibration")
METRICS = {"mape_pct": "mape_latency_pct", "worst_pct": "max_error_pct", "normalized_pct": "mape_normalized_pct"}


def test_gate_covers_every_split():
    assert sorted(GATE) == sorted(split.name for split in SPLITS)


@pytest.mark.parametrize("split", SPLITS, ids=lambda s: s.name)
def test_holdout_accuracy_gate(split, measurements):
    """Calibrate on the split's rows, predict rows the fit never saw (accuracy regression gate)."""
    overall = run_split(split, measurements).overall
    values = {name: overall.get(key) for name, key in METRICS.items()}
    assert not failures(GATE[split.name], values), values


def test_cli_calibrate_then_validate(tmp_path):
    out = tmp_path / "h200.toml"
    fit = subprocess.run([CLI, "calibrate", str(SHARED), "--hardware", "h200", "-o", str(out)],
                         capture_output=True, text=True)
    assert fit.returncode == 0, fit.stderr
    assert "bandwidth_efficiency" in fit.stdout and out.exists()
    chart = tmp_path / "val.png"
    check = subprocess.run([CLI, "validate", str(SHARED), "-H", str(out), "--format", "json", "--plot", str(chart)],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    import json

    report = json.loads(check.stdout)
    overall = report["summary"][-1]
    assert overall["model"] == "all" and overall["points"] == 24
    assert overall["mape_latency_pct"] < 5.0
    assert chart.stat().st_size > 10_000


def test_validate_reports_normalized_error():
    rows = load_measurements(SHARED)
    report = validate(rows, "h200", profile="pytorch-sdpa")
    with_norm = [p for p in report.points if p["normalized_error_pct"] is not None]
    assert len(with_norm) == 21  # every candidates > 1 row has its n = 1 anchor
    assert report.overall["mape_latency_pct"] > report.overall["mape_normalized_pct"] > 0


def test_cli_bad_measurement_file_exits_2(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"model": "llama-7b"}\n')
    proc = subprocess.run([CLI, "validate", str(bad), "-H", "h200"], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "line 1" in proc.stderr or ":1:" in proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_validate_reports_medusa_heads_rows():
    heads = Path(SHARED).parent / "h200-medusa-heads.jsonl"
    report = validate(heads, Path(__file__).resolve().parents[1] / "data" / "profiles" / "h200-pytorch-sdpa.toml")
    assert len(report.points) == 12
    assert report.summary[0]["model"] == "llama-7b + 5 Medusa heads"
    # never fitted on these rows: out-of-sample check of the drafting cost (8.6% when written)
    assert report.overall["mape_latency_pct"] < 10.0


def test_calibrate_refuses_a_heads_only_file():
    heads = Path(SHARED).parent / "h200-medusa-heads.jsonl"
    with pytest.raises(SpecroofError, match="decoder-step"):
        calibrate(heads, "h200")


MOE = Path(SHARED).parent / "h200-mixtral-8x7b-moe.jsonl"


def test_calibrate_refuses_files_from_different_gpus(tmp_path):
    other = tmp_path / "a100.jsonl"
    rows = [m.to_dict() for m in load_measurements(MOE)]
    other.write_text("".join(json.dumps({**r, "hardware": "a100-80gb-sxm"}) + "\n" for r in rows))
    with pytest.raises(SpecroofError, match="several devices"):
        calibrate([SHARED, other], "h200")
    proc = subprocess.run([CLI, "calibrate", str(SHARED), str(other), "-o", str(tmp_path / "x.toml")],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "several devices" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1  # refused before the "fitting..." notice


def test_measurement_file_of_an_unknown_model_is_one_line(tmp_path):
    bad = tmp_path / "mine.jsonl"
    bad.write_text(json.dumps({**load_measurements(MOE)[0].to_dict(), "model": "my-secret-moe"}) + "\n")
    proc = subprocess.run([CLI, "validate", str(bad), "-H", "h200"], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "mine.jsonl" in proc.stderr and "my-secret-moe" in proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_validate_splits_the_error_per_operation_and_file():
    report = validate([SHARED, MOE], "h200", profile="pytorch-sdpa")
    assert [f["file"] for f in report.by_file] == sorted([str(SHARED), str(MOE)])
    ops = [r for r in report.by_operation if r["model"] == "llama-7b"]
    assert {r["operation"] for r in ops} >= set(OPS)
    # The operations' signed shares add up to the step's mean signed error.
    step_bias = np.mean([p["error_pct"] for p in report.points if p["model"] == "llama-7b"])
    assert sum(r["step_error_pct"] for r in ops) == pytest.approx(step_bias, abs=1e-9)
    assert not [r for r in report.by_operation if r["model"] == "mixtral-8x7b"]  # no ops_ms in the MoE file


def test_cli_calibrates_dense_and_moe_files_together(tmp_path):
    out = tmp_path / "both.toml"
    proc = subprocess.run([CLI, "calibrate", str(SHARED), str(MOE), "-o", str(out), "--format", "json"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    scopes = {(r["scope"], r["name"]): r for r in report["in_sample"]}
    assert ("file", str(SHARED)) in scopes and ("file", str(MOE)) in scopes
    assert scopes[("model", "mixtral-8x7b")]["points"] == 12 and scopes[("model", "all")]["points"] == 36
    # In-sample error of each model (2.4% and 2.5% when written).
    assert scopes[("model", "llama-7b")]["mape_latency_pct"] < 3.0
    assert scopes[("model", "mixtral-8x7b")]["mape_latency_pct"] < 3.0
    assert str(MOE) in out.read_text()
