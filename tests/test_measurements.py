"""The JSON-lines measurement format: the shared files load, bad lines name their line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from specroof.calibration.harness.torch_decoder import TIMED_OPERATIONS as OP_NAMES
from specroof.calibration.measurements import (
    Measurement,
    group_by_model,
    load_measurements,
    write_measurements,
)
from specroof.errors import SpecroofError

SHARED = Path(__file__).resolve().parents[1] / "data" / "measurements"
GOOD = {
    "model": "llama-7b", "hardware": "h200", "dtype": "fp16", "batch": 4, "candidates": 16,
    "seq_len": 1024, "latency_ms": 8.5, "cuda_graph": True,
    "ops_ms": {"qkv_proj": 0.9, "o_proj": 0.44, "gate_up_proj": 1.49, "down_proj": 0.92,
               "attention": 1.13, "lm_head": 0.07},
}


def write_lines(path: Path, *lines: str) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def good_line(**changes) -> str:
    row = {**GOOD, **changes}
    return json.dumps({k: v for k, v in row.items() if v is not ...})


def test_shared_calibration_file_loads():
    rows = load_measurements(SHARED / "h200-llama-7b-calibration.jsonl")
    assert len(rows) == 24
    assert all(r.model == "llama-7b" and r.hardware == "h200" and r.seq_len for r in rows)
    assert all(set(r.ops_ms) == set(OP_NAMES) for r in rows)
    assert all(r.cuda_graph is True for r in rows)
    assert any(r.eager_latency_ms for r in rows)
    first = rows[0]
    assert first.elementwise_ms == pytest.approx(first.latency_ms - sum(first.ops_ms.values()))
    assert list(group_by_model(rows)) == ["llama-7b"]


def test_shared_medusa_heads_file_loads():
    rows = load_measurements(SHARED / "h200-medusa-heads.jsonl")
    assert rows and all(r.heads == 5 and r.seq_len is None and r.ops_ms == {} for r in rows)
    assert "heads" not in rows[0].extra
    assert rows[0].to_dict()["heads"] == 5 and "seq_len" not in rows[0].to_dict()


def test_comments_blank_lines_and_unknown_keys(tmp_path):
    path = write_lines(tmp_path / "m.jsonl", "# taken by hand", "", good_line(gpu_clock_mhz=1980))
    (row,) = load_measurements(path)
    assert row.batch == 4 and row.extra == {"gpu_clock_mhz": 1980}
    assert row.tokens == 64


@pytest.mark.parametrize(
    "line, key",
    [
        ("{not json", "JSON"),
        ("[1, 2]", "object"),
        (good_line(batch=...), "'batch'"),
        (good_line(latency_ms=...), "'latency_ms'"),
        (good_line(seq_len=...), "'seq_len'"),
        (good_line(batch=0), "'batch'"),
        (good_line(candidates=2.5), "'candidates'"),
        (good_line(candidates="16"), "'candidates'"),
        (good_line(seq_len=-1), "'seq_len'"),
        (good_line(batch=True), "'batch'"),
        (good_line(latency_ms=0), "'latency_ms'"),
        (good_line(latency_ms=-3.0), "'latency_ms'"),
        (good_line(eager_latency_ms=0), "'eager_latency_ms'"),
        (good_line(ops_ms=[1, 2]), "'ops_ms'"),
        (good_line(ops_ms={"qkv_proj": 0}), "'qkv_proj'"),
        (good_line(ops_ms={"attention": "fast"}), "'attention'"),
        (good_line(cuda_graph="yes"), "'cuda_graph'"),
        (good_line(model=""), "'model'"),
        (good_line(heads=0, seq_len=...), "'heads'"),
    ],
)
def test_bad_line_names_file_line_and_key(tmp_path, line, key):
    path = write_lines(tmp_path / "bad.jsonl", "# header", good_line(), "", line)
    with pytest.raises(SpecroofError) as info:
        load_measurements(path)
    message = str(info.value)
    assert "bad.jsonl:4:" in message
    assert key in message
    assert "\n" not in message


def test_seq_len_optional_only_with_heads(tmp_path):
    path = write_lines(tmp_path / "h.jsonl", good_line(seq_len=..., heads=5, ops_ms=...))
    assert load_measurements(path)[0].seq_len is None


def test_empty_and_comment_only_files_are_errors(tmp_path):
    for text in ("", "# nothing yet\n\n"):
        path = tmp_path / "empty.jsonl"
        path.write_text(text)
        with pytest.raises(SpecroofError, match="no measurements"):
            load_measurements(path)


def test_missing_and_unreadable_files(tmp_path):
    with pytest.raises(SpecroofError, match="not found"):
        load_measurements(tmp_path / "nope.jsonl")
    with pytest.raises(SpecroofError, match="directory"):
        load_measurements(tmp_path)
    binary = tmp_path / "bin.jsonl"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(SpecroofError, match="UTF-8"):
        load_measurements(binary)


def test_round_trip(tmp_path):
    rows = [
        Measurement.from_dict(json.loads(good_line())),
        Measurement("m", "cpu", "fp32", 2, 1, 128, 0.25, cuda_graph=False, eager_latency_ms=0.3,
                    extra={"torch_version": "2.13", "gqa_mode": "mha"}),
        Measurement("llama-7b", "h200", "fp16", 16, 64, None, 0.45, heads=5),
    ]
    path = write_measurements(tmp_path / "sub" / "out.jsonl", rows)
    back = load_measurements(path)
    assert back == rows
    assert [json.loads(line) for line in path.read_text().splitlines()] == [r.to_dict() for r in rows]
    groups = group_by_model(back)
    assert list(groups) == ["llama-7b", "m"] and len(groups["llama-7b"]) == 2


def test_to_dict_uses_shared_field_names():
    row = Measurement.from_dict(json.loads(good_line(eager_latency_ms=20.0)))
    out = row.to_dict()
    assert set(out) == set(GOOD) | {"eager_latency_ms"}
    assert list(out["ops_ms"]) == list(OP_NAMES)
