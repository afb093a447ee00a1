"""``specroof.speedup`` and ``specroof speedup``: the speedup identity, drafting costs, CLI output.

Expectations come from the speedup identity ("speedup = tau * T_plain / T_spec", drafting adds to the
speculative step) and are computed here from ``specroof.latency`` and hand-written formulas,
never from speedup()'s own output.
"""

from __future__ import annotations

import json
import math
import subprocess

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import specroof
from specroof import SpecroofError
from specroof.cli import cli
from tests.support import run_cli, run_specroof

RECORD_KEYS = {"model", "hardware", "dtype", "batch", "candidates", "seq_len", "latency_ms", "ops_ms",
               "ar_latency_ms", "acceptance_length", "speedup"}
SETUPS = [
    ("llama-7b", "h200", {}),
    ("llama-7b", "a100-80gb-pcie", {"profile": "medusa-appendix-g"}),
    ("mixtral-8x7b", "h200", {}),
    ("llama-2-70b", "h100-sxm", {"tp": 4, "cuda_graph": False}),
    ("qwen2.5-7b", "mi300x", {"dtype": "fp8"}),
]
METHODS = [("none", {}), ("heads", {"heads": 3}), ("draft", {"draft_model": "llama-68m"})]


def invoke(*args: str) -> list[dict]:
    """Run ``specroof speedup ... --format json`` in-process and parse the records."""
    return run_cli("speedup", *args, "--format", "json").json()


# --------------------------------------------------------------------------- the identity


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    setup=st.sampled_from(SETUPS),
    method=st.sampled_from(METHODS),
    batch=st.lists(st.integers(1, 256), min_size=1, max_size=4, unique=True),
    candidates=st.lists(st.integers(2, 128), min_size=0, max_size=4, unique=True),
    seq_len=st.lists(st.integers(1, 32768), min_size=1, max_size=3, unique=True),
)
def test_speedup_is_exactly_one_at_one_candidate(setup, method, batch, candidates, seq_len):
    model, hardware, options = setup
    name, extra = method
    result = specroof.speedup(model, hardware, batch, [1, *candidates], seq_len, method=name, **extra, **options)
    plain = result.speedup[:, 0, :]
    assert np.all(plain == 1.0), plain
    assert np.all(result.draft_ms[:, 0, :] == 0.0)
    assert np.all(result.latency_ms[:, 0, :] == result.ar_latency_ms[:, 0, :])


@pytest.mark.parametrize("model,hardware,options", SETUPS)
def test_speedup_is_tau_times_plain_over_speculative_step(model, hardware, options):
    batch, candidates, seq_len = [1, 4, 32], [1, 2, 16, 64, 112], [128, 4096]
    result = specroof.speedup(model, hardware, batch, candidates, seq_len, acceptance="log:0.477", **options)
    spec = specroof.latency(model, hardware, batch, candidates, seq_len, **options).latency_ms
    plain = specroof.latency(model, hardware, batch, 1, seq_len, **options).latency_ms  # (B, 1, S)
    tau = np.array([1 + 0.477 * math.log(n) for n in candidates])[None, :, None]
    np.testing.assert_allclose(result.speedup, tau * plain / spec, rtol=1e-12)
    np.testing.assert_allclose(result.acceptance_length, np.broadcast_to(tau, spec.shape), rtol=1e-12)
    np.testing.assert_allclose(result.ar_latency_ms, np.broadcast_to(plain, spec.shape), rtol=1e-12)
    np.testing.assert_allclose(result.latency_ms, spec, rtol=1e-12)
    assert np.all(result.draft_ms == 0.0)


def test_draft_model_adds_n_minus_one_draft_steps():
    batch, candidates, seq_len = [1, 8], [1, 3, 5, 8], [512, 2048]
    options = {"dtype": "bf16"}
    result = specroof.speedup("llama-2-7b", "h200", batch, candidates, seq_len, acceptance="chain:0.7",
                              draft_model="llama-68m", **options)
    assert result.method == "draft"
    verify = specroof.latency("llama-2-7b", "h200", batch, candidates, seq_len, **options).latency_ms
    plain = specroof.latency("llama-2-7b", "h200", batch, 1, seq_len, **options).latency_ms
    draft_step = specroof.latency("llama-68m", "h200", batch, 1, seq_len, **options).latency_ms
    gamma = np.array(candidates, dtype=float)[None, :, None] - 1
    spec = verify + gamma * draft_step
    tau = np.array([(1 - 0.7 ** n) / (1 - 0.7) for n in candidates])[None, :, None]
    np.testing.assert_allclose(result.draft_ms, gamma * draft_step, rtol=1e-12)
    np.testing.assert_allclose(result.latency_ms, spec, rtol=1e-12)
    np.testing.assert_allclose(result.speedup, tau * plain / spec, rtol=1e-12)


@pytest.mark.parametrize("model,hardware,options", SETUPS[:3])
def test_drafting_makes_the_speculative_step_slower(model, hardware, options):
    grid = ([1, 16], [1, 8, 64], [1024])
    same = {"acceptance": "log:0.477", **options}  # one acceptance: only the drafting cost differs
    free = specroof.speedup(model, hardware, *grid, **same)
    heads = specroof.speedup(model, hardware, *grid, method="heads", **same)
    draft = specroof.speedup(model, hardware, *grid, method="draft", draft_model="llama-68m", **same)
    for slower in (heads, draft):
        assert np.all(slower.latency_ms[:, 1:] > free.latency_ms[:, 1:])
        assert np.all(slower.speedup[:, 1:] < free.speedup[:, 1:])
        np.testing.assert_allclose(slower.verify_ms, free.latency_ms, rtol=1e-12)
        np.testing.assert_allclose(slower.latency_ms, slower.verify_ms + slower.draft_ms, rtol=1e-12)
    # More heads cost more.
    two = specroof.speedup(model, hardware, *grid, method="heads", heads=2, **options)
    six = specroof.speedup(model, hardware, *grid, method="heads", heads=6, **options)
    assert np.all(six.draft_ms[:, 1:] > two.draft_ms[:, 1:])


def test_draft_method_needs_a_draft_model():
    with pytest.raises(SpecroofError, match="draft model"):
        specroof.speedup("llama-7b", "h200", 1, [1, 4], method="draft")


def test_unknown_method_and_bad_heads_are_errors():
    with pytest.raises(SpecroofError, match="unknown drafting method"):
        specroof.speedup("llama-7b", "h200", 1, [1, 4], method="medusa2")
    with pytest.raises(SpecroofError, match="heads"):
        specroof.speedup("llama-7b", "h200", 1, [1, 4], method="heads", heads=0)


def test_records_carry_the_required_keys():
    result = specroof.speedup("llama-7b", "h200", [1, 2], [1, 16], [1024])
    records = result.to_records()
    assert len(records) == 4
    for record in records:
        assert RECORD_KEYS <= set(record)


# --------------------------------------------------------------------------- CLI


def test_cli_json_matches_the_library():
    rows = invoke("-m", "llama-7b", "-H", "h200", "--batch", "1,8", "--candidates", "1,16,64", "--seq-len", "2048")
    result = specroof.speedup("llama-7b", "h200", [1, 8], [1, 16, 64], [2048])
    assert len(rows) == 6
    for row, expected in zip(rows, result.to_records()):
        assert RECORD_KEYS <= set(row)
        assert row["acceptance_length"] == pytest.approx(1 + 0.477 * math.log(row["candidates"]))
        assert row["speedup"] == pytest.approx(expected["speedup"], rel=1e-12)
        assert (row["batch"], row["candidates"], row["seq_len"]) == (expected["batch"], expected["candidates"], 2048)


def test_cli_method_and_draft_options():
    rows = invoke("-m", "llama-2-7b", "-H", "h200", "--candidates", "1,4", "--acceptance", "chain:0.8",
                  "--draft-model", "llama-68m")
    assert rows[1]["draft_ms"] > 0 and rows[0]["draft_ms"] == 0
    heads = invoke("-m", "llama-7b", "-H", "h200", "--candidates", "1,16", "--method", "heads", "--heads", "2")
    more = invoke("-m", "llama-7b", "-H", "h200", "--candidates", "1,16", "--method", "heads", "--heads", "4")
    assert 0 < heads[1]["draft_ms"] < more[1]["draft_ms"]


def test_cli_table_has_title_and_columns():
    result = CliRunner().invoke(cli, ["speedup", "-m", "llama-2-7b", "-H", "h200", "--candidates", "1,4",
                                      "--acceptance", "chain:0.8", "--draft-model", "llama-68m"])
    assert result.exit_code == 0, result.output
    title, _, header = result.stdout.splitlines()[:3]
    for word in ("llama-2-7b", "H200", "chain:0.8", "seq_len 1024"):
        assert word in title
    for column in ("batch", "candidates", "seq len", "acceptance length", "latency ms", "draft ms",
                   "ar latency ms", "speedup"):
        assert column in header
    plain = CliRunner().invoke(cli, ["speedup", "-m", "llama-7b", "-H", "h200", "--candidates", "1,4"])
    assert "draft ms" not in plain.stdout and "log:0.477" in plain.stdout.splitlines()[0]


def test_cli_csv_has_one_row_per_point():
    result = CliRunner().invoke(cli, ["speedup", "-m", "llama-7b", "-H", "h200", "--batch", "1,2",
                                      "--candidates", "1,8", "--format", "csv"])
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 5
    assert {"speedup", "acceptance_length", "ar_latency_ms"} <= set(lines[0].split(","))


@pytest.mark.parametrize("args,message", [
    (["-m", "llama-7b"], "--model and --hardware"),
    (["-m", "llama-7b", "-H", "h200", "--method", "draft"], "--draft-model"),
    (["-m", "llama-7b", "-H", "h200", "--heads", "3"], "(--heads) applies only"),
    (["-m", "llama-7b", "-H", "h200", "--method", "heads", "--draft-model", "llama-68m"], "(--draft-model) applies"),
    (["-m", "llama-7b", "-H", "h200", "--acceptance", "log:0.5", "--max-depth", "3"], "max depth"),
    (["-m", "llama-7b", "-H", "h200", "--reference", "x.csv"], "--plot"),
])
def test_cli_user_errors_raise_specroof_error(args, message):
    result = CliRunner().invoke(cli, ["speedup", *args])
    assert isinstance(result.exception, SpecroofError), result.output
    assert message in str(result.exception)


def test_console_script_medusa_scenario_gives_56_points():
    proc = run_specroof("speedup", "--scenario", "medusa-appendix-g", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    assert len(rows) == 56
    for row in rows:
        assert RECORD_KEYS <= set(row)
        assert row["model"] == "llama-7b" and row["hardware"] == "a100-80gb-pcie" and row["seq_len"] == 1024
    assert {(r["batch"], r["candidates"]) for r in rows} == {
        (b, n) for b in (1, 2, 4, 8, 16, 32, 64) for n in (1, 16, 32, 48, 64, 80, 96, 112)}


def _one_error_line(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    return lines[0]


def test_bad_inputs_exit_2_with_one_line(tmp_path):
    line = _one_error_line(run_specroof("speedup", "--scenario", "medusa-appendix-g-typo"))
    assert "medusa-appendix-g" in line and "medusa-appendix-g-seq" in line

    empty = tmp_path / "empty.csv"
    empty.write_text("")
    _one_error_line(run_specroof("speedup", "-m", "llama-7b", "-H", "h200", "--candidates", "1,4",
                            "--acceptance", f"curve:{empty}"))

    accuracies = tmp_path / "heads.csv"
    accuracies.write_text("model,head,top1,top2\nmine,0,0.6,1.3\nmine,1,0.3,0.4\n")
    line = _one_error_line(run_specroof("speedup", "-m", "llama-7b", "-H", "h200", "--candidates", "1,4",
                                   "--acceptance", f"medusa:{accuracies}"))
    assert "1.3" in line

    _one_error_line(run_specroof("speedup", "-m", "llama-7b", "-H", "h200", "--candidates", "1,4", "--method", "draft"))


def test_drafting_records_sum_to_latency():
    result = specroof.speedup("llama-7b", "h200", [1, 8], [1, 4], [512], acceptance="chain:0.8",
                              method="draft", draft_model="llama-68m")
    for record in result.to_records():
        assert sum(record["ops_ms"].values()) == pytest.approx(record["latency_ms"], rel=1e-9)
        drafting = sum(v for k, v in record["ops_ms"].items() if k.startswith("draft:"))
        assert drafting == pytest.approx(record["draft_ms"], rel=1e-12)
        assert (drafting > 0) == (record["candidates"] > 1)


def test_draft_model_with_another_method_is_an_error():
    with pytest.raises(SpecroofError, match="draft model"):
        specroof.speedup("llama-7b", "h200", 1, [1, 4], 512, method="heads", draft_model="llama-68m")


def test_scenario_reference_is_packaged():
    from specroof.scenarios import load_scenario

    reference = load_scenario("medusa-appendix-g").reference_file()
    assert reference is not None and reference.is_file()
    assert "batch,candidates,speedup" in reference.read_text()
