"""Scenarios: loading, validation, and command-line flags overriding what a scenario sets."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

import specroof
from specroof import SpecroofError
from specroof.scenarios import Scenario, load_scenario, scenario_names
from tests.support import run_cli

SHIPPED = ("medusa-appendix-g", "medusa-appendix-g-seq")


def speedup_json(*args: str) -> list[dict]:
    return run_cli("speedup", *args, "--format", "json").json()


def write(tmp_path: Path, text: str, name: str = "study.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- loading


def test_shipped_scenarios_are_listed_and_load():
    assert set(SHIPPED) <= set(scenario_names())
    for name in scenario_names():
        scenario = load_scenario(name)
        assert isinstance(scenario, Scenario) and scenario.description
        assert scenario.settings["model"] and scenario.settings["hardware"]


def test_medusa_scenario_is_the_appendix_setup():
    scenario = load_scenario("medusa-appendix-g")
    assert scenario.settings["model"] == "llama-7b"
    assert scenario.settings["hardware"] == "a100-80gb-pcie"
    assert scenario.settings["acceptance"] == "log:0.477"
    assert scenario.grid == {"batch": [1, 2, 4, 8, 16, 32, 64], "candidates": [1, 16, 32, 48, 64, 80, 96, 112],
                             "seq_len": [1024]}
    seq = load_scenario("medusa-appendix-g-seq")
    assert seq.grid["batch"] == [4] and len(seq.grid["seq_len"]) > 1
    assert "model" not in scenario.options() and scenario.options()["profile"] == "medusa-appendix-g"


def test_scenario_loads_from_a_path(tmp_path):
    path = write(tmp_path, 'model = "llama-7b"\nhardware = "h200"\nacceptance = "chain:0.7"\n'
                           '[grid]\nbatch = [1, 8]\n[profile_overrides]\ncompute_efficiency = 0.5\n')
    scenario = load_scenario(path)
    assert scenario.name == "study"
    assert scenario.grid == {"batch": [1, 8]}
    assert scenario.options() == {"compute_efficiency": 0.5, "acceptance": "chain:0.7"}
    assert load_scenario(str(path)).settings == scenario.settings


def test_unknown_scenario_lists_the_shipped_ones():
    with pytest.raises(SpecroofError) as info:
        load_scenario("medusa-appendix")
    message = str(info.value)
    for name in SHIPPED:
        assert name in message


@pytest.mark.parametrize("text,message", [
    ('model = "llama-7b"\nhardwar = "h200"\n', "unknown key"),
    ('model = "llama-7b"\n[grid]\nbatch = [0, 2]\n', "grid.batch"),
    ('model = "llama-7b"\n[grid]\ncandidates = []\n', "grid.candidates"),
    ('model = "llama-7b"\n[grid]\nseq_len = "1024"\n', "grid.seq_len"),
    ('model = "llama-7b"\n[grid]\nbatch = [1.5]\n', "grid.batch"),
    ('model = "llama-7b"\n[grid]\nbatches = [1]\n', "[grid]"),
    ('model = "llama-7b"\ngrid = [1, 2]\n', "[grid]"),
    ('model = "llama-7b"\nprofile_overrides = 3\n', "profile_overrides"),
    ('model = "llama-7b\n', "not valid TOML"),
])
def test_bad_scenario_files_are_errors(tmp_path, text, message):
    with pytest.raises(SpecroofError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_scenario(write(tmp_path, text))


def test_missing_scenario_file_is_an_error(tmp_path):
    with pytest.raises(SpecroofError, match="not found"):
        load_scenario(tmp_path / "nowhere.toml")


# --------------------------------------------------------------------------- overrides on the command line


def test_scenario_alone_equals_the_library_call():
    rows = speedup_json("--scenario", "medusa-appendix-g-seq")
    scenario = load_scenario("medusa-appendix-g-seq")
    expected = specroof.speedup("llama-7b", "a100-80gb-pcie", scenario.grid["batch"], scenario.grid["candidates"],
                                scenario.grid["seq_len"], **scenario.options()).to_records()
    assert len(rows) == len(expected) == 8 * 7
    for row, want in zip(rows, expected):
        assert row["speedup"] == pytest.approx(want["speedup"], rel=1e-12)
        assert row["latency_ms"] == pytest.approx(want["latency_ms"], rel=1e-12)


def test_grid_flags_beat_the_scenario_grid():
    rows = speedup_json("--scenario", "medusa-appendix-g", "--batch", "4", "--candidates", "1,80")
    assert [(r["batch"], r["candidates"], r["seq_len"]) for r in rows] == [(4, 1, 1024), (4, 80, 1024)]
    rows = speedup_json("--scenario", "medusa-appendix-g", "--batch", "2", "--seq-len", "128,8192")
    assert {r["seq_len"] for r in rows} == {128, 8192} and len(rows) == 16


def test_model_and_hardware_flags_beat_the_scenario():
    rows = speedup_json("--scenario", "medusa-appendix-g", "--batch", "1", "--hardware", "h200", "-m", "llama-2-7b")
    assert {r["hardware"] for r in rows} == {"h200"} and {r["model"] for r in rows} == {"llama-2-7b"}


def test_acceptance_flag_beats_the_scenario():
    rows = speedup_json("--scenario", "medusa-appendix-g", "--batch", "1", "--acceptance", "log:0.3")
    for row in rows:
        assert row["acceptance_length"] == pytest.approx(1 + 0.3 * math.log(row["candidates"]))


def test_profile_and_dtype_flags_beat_the_scenario():
    base = speedup_json("--scenario", "medusa-appendix-g", "--batch", "1", "--candidates", "1,64")
    serving = speedup_json("--scenario", "medusa-appendix-g", "--batch", "1", "--candidates", "1,64",
                           "--profile", "serving")
    expected = specroof.speedup("llama-7b", "a100-80gb-pcie", 1, [1, 64], 1024, profile="serving").to_records()
    assert [r["latency_ms"] for r in serving] == pytest.approx([r["latency_ms"] for r in expected], rel=1e-12)
    assert serving[1]["latency_ms"] != pytest.approx(base[1]["latency_ms"], rel=1e-3)
    assert "lm_head" in serving[0]["ops_ms"] and "lm_head" not in base[0]["ops_ms"]
    bf16 = speedup_json("--scenario", "medusa-appendix-g", "--batch", "1", "--dtype", "bf16")
    assert {r["dtype"] for r in bf16} == {"bf16"}


def test_method_flags_beat_the_scenario(tmp_path):
    path = write(tmp_path, 'model = "llama-2-7b"\nhardware = "h200"\nacceptance = "chain:0.8"\n'
                           'method = "draft"\ndraft_model = "llama-68m"\n[grid]\ncandidates = [1, 4]\n')
    drafted = speedup_json("--scenario", str(path))
    assert drafted[1]["draft_ms"] > 0
    free = speedup_json("--scenario", str(path), "--method", "none")
    assert free[1]["draft_ms"] == 0 and free[1]["speedup"] > drafted[1]["speedup"]
    heads = speedup_json("--scenario", str(path), "--method", "heads")
    assert heads[1]["draft_ms"] > 0 and heads[1]["draft_ms"] != drafted[1]["draft_ms"]
    # A draft model given on the command line switches a scenario's free drafts to drafting.
    switched = speedup_json("--scenario", "medusa-appendix-g", "--batch", "1", "--candidates", "1,4",
                            "--draft-model", "llama-68m")
    assert switched[1]["draft_ms"] > 0


def test_scenario_profile_overrides_apply(tmp_path):
    path = write(tmp_path, 'model = "llama-7b"\nhardware = "h200"\n[grid]\nbatch = [64]\ncandidates = [1, 64]\n'
                           '[profile_overrides]\ncompute_efficiency = 0.3\n')
    slow = speedup_json("--scenario", str(path))
    expected = specroof.speedup("llama-7b", "h200", 64, [1, 64], 1024, compute_efficiency=0.3).to_records()
    assert [r["latency_ms"] for r in slow] == pytest.approx([r["latency_ms"] for r in expected], rel=1e-12)


def test_scenario_without_model_needs_the_flag(tmp_path, specroof_cli):
    path = write(tmp_path, 'hardware = "h200"\n[grid]\ncandidates = [1, 8]\n')
    refused = specroof_cli("speedup", "--scenario", str(path))
    assert refused.code == 2 and refused.stderr.startswith("error: ") and "--model" in refused.stderr
    rows = speedup_json("--scenario", str(path), "-m", "llama-7b")
    assert len(rows) == 2 and rows[0]["hardware"] == "h200"


def test_medusa_profile_caveat_is_printed_on_stderr_only():
    import subprocess

    from support import specroof_script

    proc = subprocess.run([specroof_script(), "speedup", "--scenario", "medusa-appendix-g", "--format", "json"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "not physical" in proc.stderr and "not physical" not in proc.stdout
    plain = subprocess.run([specroof_script(), "latency", "-m", "llama-7b", "-H", "h200"],
                           capture_output=True, text=True, timeout=120)
    assert plain.returncode == 0 and "note:" not in plain.stderr


@pytest.mark.parametrize(("body", "message"), [
    ('method = "lookahed"\n', "scenario bad: method 'lookahed' is not a drafting method; choose one of none"),
    ('[profile_overrides]\ncompute_efficiency = 3\n',
     "scenario bad: profile_overrides: compute_efficiency must be <= 1, got 3"),
])
def test_a_scenarios_method_and_profile_overrides_are_named_by_the_scenario(tmp_path, body, message):
    """Checked where they are used (scenarios/ sits below methods and profiles), named by the
    scenario, and refused even when a flag replaces them."""
    path = tmp_path / "bad.toml"
    path.write_text(f'name = "bad"\nmodel = "llama-7b"\nhardware = "h200"\n{body}', encoding="utf-8")
    for extra in ([], ["--method", "none"]):
        result = run_cli("speedup", "--scenario", str(path), *extra)
        assert result.code == 2 and result.stderr.strip().splitlines()[-1].startswith(f"error: {message}")
