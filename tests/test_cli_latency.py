"""The ``specroof`` console script: latency output formats, catalogs, and user errors.

Runs the installed script in a subprocess, as a user would, so that exit codes, stdout and
stderr are the real ones.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess

import pytest

import specroof
from support import specroof_script

REQUIRED_MODELS = ["llama-7b", "llama-13b", "llama-2-70b", "llama-3-8b", "mistral-7b", "mixtral-8x7b",
                   "qwen2.5-7b", "vicuna-7b", "llama-68m"]
REQUIRED_HARDWARE = ["a100-40gb-sxm", "a100-80gb-pcie", "a100-80gb-sxm", "a40", "a6000", "l4", "l40s",
                     "rtx-4090", "h100-pcie", "h100-sxm", "h200", "b200", "mi300x"]
RECORD_KEYS = {"model", "hardware", "dtype", "batch", "candidates", "seq_len", "latency_ms", "ops_ms", "fits", "footprint_gb",
               "latency_ms_low", "latency_ms_high", "validated", "validation_note"}  # error band: docs/error-bands.md
TINY_CONFIG = {
    "hidden_size": 256, "intermediate_size": 688, "num_hidden_layers": 2,
    "num_attention_heads": 4, "vocab_size": 1000,
}


def run(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([specroof_script(), *args], capture_output=True, text=True, timeout=120)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def latency_args(*extra: str) -> list[str]:
    return ["latency", "--model", "llama-7b", "--hardware", "h200", *extra]


# --------------------------------------------------------------------------- output formats


def test_latency_json_schema():
    proc = run(*latency_args("--batch", "1,4", "--candidates", "1,8", "--seq-len", "512", "--format", "json"))
    data = json.loads(proc.stdout)
    assert isinstance(data, list) and len(data) == 4
    for rec in data:
        assert set(rec) == RECORD_KEYS
        assert rec["model"] == "llama-7b" and rec["hardware"] == "h200" and rec["dtype"] == "fp16"
        for key in ("batch", "candidates", "seq_len"):
            assert isinstance(rec[key], int)
        assert isinstance(rec["latency_ms"], float) and rec["latency_ms"] > 0
        assert isinstance(rec["ops_ms"], dict)
        assert {"qkv_proj", "attention", "o_proj", "gate_up_proj", "down_proj", "lm_head"} <= set(rec["ops_ms"])
        assert all(isinstance(v, float) for v in rec["ops_ms"].values())
        assert sum(rec["ops_ms"].values()) == pytest.approx(rec["latency_ms"])
        assert rec["fits"] is True and 13 < rec["footprint_gb"] < 141  # llama-7b's 13.5 GB of fp16 weights and more
    assert {(r["batch"], r["candidates"]) for r in data} == {(1, 1), (1, 8), (4, 1), (4, 8)}


def test_latency_json_matches_library():
    proc = run(*latency_args("--batch", "2", "--candidates", "3", "--seq-len", "100", "--format", "json"))
    [rec] = json.loads(proc.stdout)
    lib = specroof.latency("llama-7b", "h200", 2, 3, 100).to_records()[0]
    assert rec["latency_ms"] == pytest.approx(lib["latency_ms"], rel=1e-12)
    assert rec["ops_ms"] == pytest.approx(lib["ops_ms"], rel=1e-12)


def test_latency_csv_columns():
    proc = run(*latency_args("--batch", "1..4", "--candidates", "1,16", "--format", "csv"))
    rows = list(csv.DictReader(io.StringIO(proc.stdout)))
    assert len(rows) == 3 * 2  # batch 1, 2, 4 (powers of two) x 2 candidate counts
    columns = set(rows[0])
    assert {"model", "hardware", "dtype", "batch", "candidates", "seq_len", "latency_ms"} <= columns
    op_columns = {c for c in columns if c.startswith("op_")}
    assert {"op_qkv_proj_ms", "op_attention_ms", "op_o_proj_ms", "op_gate_up_proj_ms", "op_down_proj_ms",
            "op_lm_head_ms"} <= op_columns
    assert all(c.endswith("_ms") for c in op_columns)
    assert "ops_ms" not in columns
    for row in rows:
        total = sum(float(row[c]) for c in op_columns)
        assert total == pytest.approx(float(row["latency_ms"]))
    assert [r["seq_len"] for r in rows] == ["1024"] * 6  # default context


def test_latency_table_has_title():
    proc = run(*latency_args("--batch", "1,8"))
    lines = proc.stdout.splitlines()
    assert "llama-7b" in lines[0] and "latency" in lines[0]
    assert lines[1] == ""
    header = lines[2]
    for word in ("batch", "candidates", "seq len", "latency", "qkv proj"):
        assert word in header
    assert len([ln for ln in lines[4:] if ln.strip()]) == 2


def test_latency_eager_adds_launch_column():
    proc = run("latency", "--model", "llama-68m", "--hardware", "h200", "--eager", "--format", "json")
    [rec] = json.loads(proc.stdout)
    assert "launch" in rec["ops_ms"]


def test_latency_config_path(tmp_path):
    folder = tmp_path / "tiny-llama"
    folder.mkdir()
    path = folder / "config.json"
    path.write_text(json.dumps(TINY_CONFIG), encoding="utf-8")
    proc = run("latency", "--model", str(path), "--hardware", "h200", "--batch", "2", "--format", "json")
    [rec] = json.loads(proc.stdout)
    assert rec["model"] == "tiny-llama"
    assert rec["batch"] == 2 and rec["latency_ms"] > 0
    # the folder alone also works
    proc = run("latency", "--model", str(folder), "--hardware", "h200", "--format", "json")
    assert json.loads(proc.stdout)[0]["model"] == "tiny-llama"


# --------------------------------------------------------------------------- catalogs


def test_models_lists_required():
    proc = run("models")
    assert proc.stdout.splitlines()[0].strip()  # a title
    for name in REQUIRED_MODELS:
        assert name in proc.stdout
    data = json.loads(run("models", "--format", "json").stdout)
    assert set(REQUIRED_MODELS) <= {r["name"] for r in data}


def test_hardware_lists_required():
    proc = run("hardware")
    for name in REQUIRED_HARDWARE:
        assert name in proc.stdout
    data = json.loads(run("hardware", "--format", "json").stdout)
    assert set(REQUIRED_HARDWARE) <= {r["name"] for r in data}


def test_help_lists_latency():
    proc = run("--help")
    assert "latency" in proc.stdout and "models" in proc.stdout and "hardware" in proc.stdout


# --------------------------------------------------------------------------- user errors


def assert_user_error(proc: subprocess.CompletedProcess, *words: str) -> None:
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error:"), proc.stderr
    for word in words:
        assert word in lines[0], (word, lines[0])
    assert proc.stdout == ""


@pytest.mark.parametrize("args,words", [
    (["latency", "--model", "llama-7", "--hardware", "h200"], ["llama-7b"]),
    (["latency", "--model", "llama-7b", "--hardware", "h20"], ["h200"]),
    (latency_args("--batch", "0"), ["batch"]),
    (latency_args("--batch", "1.5"), ["batch"]),
    (latency_args("--batch", "abc"), ["batch"]),
    (latency_args("--batch", "-4"), ["batch"]),
    (latency_args("--candidates", "1,0"), ["candidates"]),
    (latency_args("--seq-len", "1024,x"), ["seq-len"]),
    (latency_args("--batch", "64..8"), ["batch"]),
    (latency_args("--dtype", "fp7"), ["fp7"]),
    (latency_args("--weight-dtype", "int3"), ["int3"]),
    (["latency", "--model", "llama-7b", "--hardware", "a100-80gb-pcie", "--dtype", "fp8"], ["fp8"]),
    (latency_args("--tp", "0"), ["tensor parallelism"]),
    (latency_args("--profile", "servng"), ["serving"]),
    (latency_args("--ops", "qkv,attention"), ["qkv"]),
    (["latency", "--model", "llama-7b"], ["--hardware"]),
])
def test_bad_input_exits_2_with_one_line(args, words):
    assert_user_error(run(*args, check=False), *words)


@pytest.mark.parametrize("value", ["nan", "inf"])
def test_non_finite_batch_exits_2(value):
    assert_user_error(run(*latency_args("--batch", value), check=False), "batch")


def test_missing_config_file(tmp_path):
    path = tmp_path / "nowhere" / "config.json"
    assert_user_error(run("latency", "--model", str(path), "--hardware", "h200", check=False), "not found")


def test_config_missing_hidden_size(tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({k: v for k, v in TINY_CONFIG.items() if k != "hidden_size"}), encoding="utf-8")
    assert_user_error(run("latency", "--model", str(path), "--hardware", "h200", check=False), "hidden_size")


def test_config_heads_do_not_divide_hidden(tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({**TINY_CONFIG, "num_attention_heads": 5}), encoding="utf-8")
    assert_user_error(run("latency", "--model", str(path), "--hardware", "h200", check=False), "divisible")


def test_hardware_file_invalid_toml(tmp_path):
    path = tmp_path / "gpu.toml"
    path.write_text("= nonsense [\n", encoding="utf-8")
    assert_user_error(run("latency", "--model", "llama-7b", "--hardware", str(path), check=False), "TOML")


def test_unknown_format_is_usage_error():
    proc = run(*latency_args("--format", "xml"), check=False)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
