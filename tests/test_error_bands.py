"""Error bands and ``validated`` on latency, speedup and plan records (docs/error-bands.md).

The shipped band file is recomputed here from the validations themselves (calibration splits,
end-to-end check, kernel database held out by shape, Medusa appendix), so it cannot drift from
them; the records' bands are checked to contain the prediction, and the validated flag to
follow the domains the evidence covers.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import specroof
from specroof.bands import apply, stats
from specroof.bands.apply import Domain, find, parse_bands, shipped_bands
from specroof.web.figures import speedup_figure
from tests.support import tool_json

REPO = Path(__file__).resolve().parents[1]
TOOL = REPO / "tools" / "make_error_bands.py"
CLI = str(Path(sys.executable).parent / "specroof")


@pytest.fixture(scope="module")
def tool() -> dict:
    """The tool's own output (``--json``): every validation's residuals, their coverage, the doc."""
    return tool_json(TOOL, timeout_s=900)


@pytest.fixture(scope="module")
def recomputed(tool):
    residuals = [stats.Residual(**r) for r in tool["residuals"]]
    return residuals, stats.bands(residuals)


def test_shipped_bands_are_what_the_validations_give(recomputed):
    """Recomputed from the validations' own code: a changed model or validation fails here
    until ``python tools/make_error_bands.py`` is re-run."""
    _, bands = recomputed
    shipped = shipped_bands()
    fresh = {(b.quantity, b.key): b for b in bands}
    assert sorted(fresh) == sorted(shipped)
    for key, band in fresh.items():
        old = shipped[key]
        assert (old.n, old.level, old.rule, old.held_out, old.evidence, old.sources) == \
            (band.n, band.level, band.rule, band.held_out, band.evidence, band.sources), key
        assert old.q_low == pytest.approx(band.q_low, abs=2e-6) and old.q_high == pytest.approx(band.q_high, abs=2e-6)
        assert old.coverage == pytest.approx(band.coverage, abs=1e-4)


def test_the_doc_is_the_tools_output(tool):
    assert (REPO / "docs" / "error-bands.md").read_text(encoding="utf-8") == tool["doc"], \
        "docs/error-bands.md is stale: run python tools/make_error_bands.py"


def test_every_validation_contributes(recomputed):
    residuals, _ = recomputed
    families = {(r.source.split(":")[0], r.quantity, r.held_out) for r in residuals}
    assert {("calibration", "latency", True), ("calibration", "speedup", True), ("e2e", "speedup", True),
            ("kernels", "latency", True), ("medusa appendix G figure 22 (in-sample)", "speedup", False)} <= families
    assert all(np.isfinite(r.value) and r.value > -1 for r in residuals)


def test_leave_one_validation_out_coverage_is_measured(tool, recomputed):
    """The coverage the docs report is computed on residuals the bands never saw."""
    residuals, _ = recomputed
    cov = tool["coverage_by_source"]  # [quantity, validation, inside, points, median width]
    points = sum(row[3] for row in cov if row[0] == "speedup")
    assert points == sum(r.held_out and r.quantity == "speedup" for r in residuals)
    assert all(0 <= inside <= total for _, _, inside, total, _ in cov)


@given(st.lists(st.floats(-0.9, 3.0), min_size=0, max_size=60))
def test_interval_rule(values):
    got = stats.interval(values)
    if len(values) < stats.MIN_RESIDUALS:
        assert got is None
        return
    low, high, coverage, _ = got
    assert low <= 0 <= high and coverage >= stats.TARGET_COVERAGE
    inside = sum(low <= v <= high for v in values)
    assert inside >= coverage * len(values) - 1  # the interval holds its share of its own residuals


def test_in_sample_residuals_never_enter_a_pool():
    r = [stats.Residual("speedup", "step", False, "fit", "p", "none", "dense", "g", 1, 4, 0.5)] * 5
    held = [stats.Residual("speedup", "step", True, f"v{i}", "q", "none", "dense", "g", 1, 4, 0.01 * i) for i in range(5)]
    bands = {(b.key, b.level): b for b in stats.bands(r + held)}
    assert bands[(("*",) * 6, 6)].n == 5 and bands[(("*",) * 6, 6)].held_out
    assert not bands[(("p", "none", "dense", "g", "1", "2-8"), 0)].held_out


def test_fallback_takes_the_most_specific_band():
    residuals = [stats.Residual("speedup", "step", True, f"v{i}", "vllm", "eagle3", "dense", "h100-sxm", 1, b, v)
                 for i, (b, v) in enumerate([(1, 0.1), (1, 0.05), (1, -0.02), (1, 0.03), (64, 0.2), (64, 0.3)])]
    table = {(b.quantity, b.key): b for b in stats.bands(residuals)}
    at_one = find("speedup", Domain("vllm", "eagle3", "dense", "h100-sxm", 1), "1", table)
    assert at_one.level == 0 and apply.is_validated(at_one)
    at_64 = find("speedup", Domain("vllm", "eagle3", "dense", "h100-sxm", 1), "33-128", table)
    assert at_64.level == 1 and at_64.n == 6 and not apply.is_validated(at_64)  # 2 residuals: too few alone
    other = find("speedup", Domain("trtllm", "eagle3", "moe", "l40s", 1), "129+", table)
    assert other.level == 6
    assert "trtllm" in apply.note("speedup", Domain("trtllm", "eagle3", "moe", "l40s", 1), "129+", other)


def test_validated_domain():
    """llama-7b on the H200 under pytorch-sdpa at batch 16: the calibration splits held it out."""
    result = specroof.speedup("llama-7b", "h200", [16], [1, 16, 64], 1024, profile="pytorch-sdpa")
    for r in result.to_records():
        assert r["validated"] is True and r["validation_note"] is None
        assert r["speedup_low"] <= r["speedup"] <= r["speedup_high"]
        assert r["latency_ms_low"] <= r["latency_ms"] <= r["latency_ms_high"]
    plain, wide = result.to_records()[0], result.to_records()[2]
    assert plain["speedup_low"] == plain["speedup_high"] == 1.0  # n = 1 is plain decoding
    assert wide["speedup_high"] > wide["speedup_low"]


def test_outside_every_validated_domain():
    result = specroof.speedup("mixtral-8x7b", "l40s", [256], [1, 4], 1024, profile="trtllm", method="eagle3",
                              acceptance="chain:0.7")
    for r in result.to_records():
        assert r["validated"] is False
        assert r["validation_note"].startswith("not validated") and "\n" not in r["validation_note"]
        assert r["speedup_low"] <= r["speedup"] <= r["speedup_high"]


def test_cli_warns_once_and_prints_the_band(tmp_path):
    proc = subprocess.run([CLI, "speedup", "-m", "mixtral-8x7b", "-H", "l40s", "--profile", "trtllm", "--method",
                           "eagle3", "--batch", "64,256", "--candidates", "1,4", "--acceptance", "chain:0.7",
                           "--format", "json"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    warnings = [line for line in proc.stderr.splitlines() if line.startswith("warning:")]
    assert len([w for w in warnings if "validated domain" in w]) == 1
    rows = json.loads(proc.stdout)
    assert {"speedup_low", "speedup_high", "validated", "validation_note"} <= set(rows[0])
    table = subprocess.run([CLI, "speedup", "-m", "llama-7b", "-H", "h200", "--profile", "pytorch-sdpa", "--batch",
                            "16", "--candidates", "1,16"], capture_output=True, text=True)
    assert table.returncode == 0 and "speedup low" in table.stdout and "validated" in table.stdout
    assert "warning:" not in table.stderr


def test_latency_and_plan_records_carry_bands():
    step = specroof.latency("llama-7b", "h200", [1, 16, 300], [1, 8], 1024, profile="pytorch-sdpa")
    records = step.to_records()
    assert [r["validated"] for r in records] == [True, True, True, True, False, False]  # batch 300: never measured
    for r in records:
        assert r["latency_ms_low"] <= r["latency_ms"] <= r["latency_ms_high"]
    result = specroof.plan("llama-3-8b", "h100-sxm", [1, 16, 64], 1024, method="eagle3", acceptance="chain:0.7",
                           profile="vllm", max_candidates=6)
    for r in result.to_records():
        assert r["validated"] in (True, False) and "speedup_low" in r
        if r["speedup"] is not None:
            assert r["speedup_low"] <= r["speedup"] <= r["speedup_high"]


def test_bands_are_applied_per_batch_range_not_per_point(monkeypatch):
    """A large grid costs one band lookup per batch range and quantity, never one per point."""
    calls = []
    real = apply.find
    monkeypatch.setattr(apply, "find", lambda *a, **k: calls.append(a) or real(*a, **k))
    result = specroof.speedup("llama-3-8b", "h200", list(range(1, 513)), list(range(1, 33)), [512, 2048])
    arrays = result.bands()
    assert arrays["speedup_low"].shape == result.speedup.shape
    assert len(calls) <= 2 * len(stats.BATCH_RANGES)
    assert np.all(arrays["speedup_low"] <= result.speedup + 1e-12)
    assert np.all(result.speedup <= arrays["speedup_high"] + 1e-12)


def test_explorer_shades_the_band():
    result = specroof.speedup("llama-7b", "h200", [1, 16], [1, 16, 64], 1024, profile="pytorch-sdpa")
    figure = speedup_figure(result)
    bands = [t for t in figure["data"] if t["name"].startswith("band: ")]
    assert [t["name"] for t in bands] == ["band: batch 1", "band: batch 16"]
    arrays = result.bands()
    first = bands[0]
    assert first["fill"] == "toself" and first["x"] == [1, 16, 64, 64, 16, 1]
    assert first["y"] == pytest.approx(list(arrays["speedup_high"][0, :, 0]) + list(arrays["speedup_low"][0, ::-1, 0]))


def test_shipped_file_parses_and_is_in_the_package():
    text = (REPO / "src" / "specroof" / "bands" / "error_bands.csv").read_text(encoding="utf-8")
    assert parse_bands(text) == shipped_bands()
    assert "bands/error_bands.csv" in (REPO / "pyproject.toml").read_text(encoding="utf-8")
