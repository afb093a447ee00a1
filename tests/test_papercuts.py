"""What a new user tripped over, checked so it stays fixed."""

from __future__ import annotations

import json
import re

import pytest

import specroof
from specroof.report.formats import signed, to_table
from tests.support import run_specroof


def test_speedup_without_candidates_uses_the_api_grid():
    out = run_specroof("speedup", "-m", "llama-7b", "-H", "h200", "--format", "json")
    assert out.returncode == 0, out.stderr
    assert [r["candidates"] for r in json.loads(out.stdout)] == [1, 16, 32, 64]


def test_explain_says_when_the_acceptance_is_assumed():
    assumed = run_specroof("explain", "-m", "llama-3-8b", "-H", "h200", "--candidates", "8")
    assert assumed.returncode == 0
    assert "ASSUMED" in assumed.stdout and "default for none = log:0.477 (NOT measured)" in assumed.stdout
    assert "no --acceptance given: the default for none is" in assumed.stdout
    given = run_specroof("explain", "-m", "llama-3-8b", "-H", "h200", "--candidates", "8", "--acceptance", "log:0.477")
    assert "ASSUMED" not in given.stdout and "assumed" not in given.stdout + given.stderr
    machine = run_specroof("explain", "-m", "llama-3-8b", "-H", "h200", "--candidates", "8", "--format", "json")
    json.loads(machine.stdout)  # stdout stays JSON, the note goes to stderr
    assert "no --acceptance given: the default for none is" in machine.stderr


def test_one_precision_per_column():
    rows = [{"latency_ms": 33.738, "speedup": 0.7569, "tiny": 0.000123}, {"latency_ms": 102.9, "speedup": 1.7, "tiny": 0.0}]
    lines = to_table(rows).splitlines()[2:]
    cells = [line.split() for line in lines]
    assert [c[0] for c in cells] == ["33.7", "102.9"]
    assert [c[1] for c in cells] == ["0.757", "1.700"]
    assert [c[2] for c in cells] == ["0.000123", "0.000000"]
    assert to_table([{"x": -0.00001}, {"x": 2.0}]).split()[2:] == ["0.000", "2.000"]


def test_model_sizes_read_as_sizes():
    out = run_specroof("models").stdout
    assert re.search(r"llama-68m\s+68\.0M\s", out)
    assert re.search(r"llama-7b\s+6\.74B\s", out)
    assert "0.0700" not in out
    machine = {r["name"]: r["params_b"] for r in json.loads(run_specroof("models", "--format", "json").stdout)}
    assert machine["llama-68m"] == pytest.approx(0.068, rel=0.01)


def test_calibrate_checks_its_input_before_announcing_the_fit(tmp_path):
    out = run_specroof("calibrate", str(tmp_path / "missing.jsonl"), "-o", str(tmp_path / "x.toml"))
    assert out.returncode == 2
    assert "fitting" not in out.stderr and out.stderr.startswith("error:")


def test_show_tree_is_readable():
    out = run_specroof("acceptance", "--acceptance", "medusa:vicuna-7b", "--candidates", "16,64", "--show-tree")
    assert out.returncode == 0, out.stderr
    assert max(len(line) for line in out.stdout.splitlines()) <= 100
    assert "rank paths" in out.stdout and "n = 64:" in out.stdout
    paths = " ".join(out.stdout.split("n = 64:")[1].split())
    assert len(paths.split()) == 63  # every node but the root


def test_signed_labels_never_show_negative_zero():
    assert signed(-0.001, 2) == "0.00"
    assert signed(0.004, 2) == "0.00"
    assert signed(0.00607, 3) == "+0.006"
    assert signed(-1.25, 2) == "-1.25"


def test_validate_chart_names_model_device_and_profile(tmp_path):
    from pathlib import Path

    import matplotlib

    from specroof.calibration.validate import validate
    from specroof.report.charts import plot_validation

    data = Path(__file__).resolve().parents[1] / "data/measurements/h200-llama-7b-calibration.jsonl"
    if not data.exists():
        pytest.skip("measurement file not in this checkout")
    result = validate(data, "h200")
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        plot_validation(result, tmp_path / "v.svg", hardware="NVIDIA H200", profile="pytorch-sdpa")
    svg = (tmp_path / "v.svg").read_text()
    assert "llama-7b" in svg and "NVIDIA H200" in svg and "profile pytorch-sdpa" in svg


def test_plan_result_repr_is_short():
    result = specroof.plan("llama-7b", "h200", batch=range(1, 200), seq_len=[512, 1024])
    text = repr(result)
    assert "\n" not in text and len(text) < 400
    assert "llama-7b" in text and "b=1: n=" in text


def test_tables_under_a_non_physical_profile_show_ratios():
    out = run_specroof("speedup", "--scenario", "medusa-appendix-g", "--batch", "1,4", "--candidates", "1,64")
    assert out.returncode == 0
    header = out.stdout.splitlines()[2]
    assert "normalized latency" in header and "latency ms" not in header
    plan = run_specroof("plan", "--scenario", "medusa-appendix-g", "--batch", "1,4")
    assert "normalized latency" in plan.stdout and "latency ms" not in plan.stdout
    machine = json.loads(run_specroof("speedup", "--scenario", "medusa-appendix-g", "--batch", "1",
                                      "--candidates", "1,64", "--format", "json").stdout)
    assert "latency_ms" in machine[0]  # machines still get the model's milliseconds


def test_latency_and_explain_tables_under_a_non_physical_profile_show_ratios():
    out = run_specroof("latency", "-m", "llama-7b", "-H", "a100-80gb-pcie", "--profile", "medusa-appendix-g",
                       "--batch", "1,8", "--candidates", "1,64")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert "latency x plain" in lines[2] and " ms" not in lines[2]
    assert [line.split()[3] for line in lines[4:]][0::2] == ["1.000", "1.000"]  # n = 1 is the plain step
    why = run_specroof("explain", "--scenario", "medusa-appendix-g", "--batch", "4", "--candidates", "32")
    assert "multiples of the plain step" in why.stdout and " ms" not in why.stdout.split("\n\n", 1)[1]
