"""Arrival kinds (gamma) and trace readers (Mooncake JSONL, vllm bench serve JSON, CSV) of specroof.workload."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from specroof.errors import SpecroofError, SpecroofWarning
from specroof.workload import traces
from specroof.workload.arrivals import requests_from
from specroof.workload.renewal import gamma_arrivals_s


def _gaps(spec: str, count: int = 20_000) -> np.ndarray:
    return np.diff(requests_from(spec, count=count, prompt_tokens=8, output_tokens=8, seed=11).arrival_s)


@pytest.mark.parametrize("cv", [0.5, 2.0])
def test_gamma_arrivals_have_the_asked_rate_and_spread(cv):
    gaps = _gaps(f"gamma:4:{cv}")
    assert gaps.mean() == pytest.approx(0.25, rel=0.04)
    assert gaps.std() / gaps.mean() == pytest.approx(cv, rel=0.06)


def test_gamma_with_cv_one_is_the_poisson_process():
    poisson = requests_from("poisson:3", count=50, prompt_tokens=5, output_tokens=7, seed=2)
    gamma = requests_from("gamma:3:1", count=50, prompt_tokens=5, output_tokens=7, seed=2)
    np.testing.assert_array_equal(poisson.arrival_s, gamma.arrival_s)
    assert "CV 1" in gamma.source and gamma.prompt_tokens[0] == 5 and gamma.output_tokens[0] == 7


@settings(max_examples=30, deadline=None)
@given(rate=st.floats(0.01, 1e3), cv=st.floats(0.05, 5.0), count=st.integers(1, 200), seed=st.integers(0, 99))
def test_gamma_arrivals_start_at_zero_and_never_go_back(rate, cv, count, seed):
    arrivals = gamma_arrivals_s(rate, cv, count, seed)
    assert arrivals.size == count and arrivals[0] == 0.0 and np.all(np.diff(arrivals) >= 0)


@pytest.mark.parametrize("spec", ["gamma:2", "gamma:2:0", "gamma:-1:1", "gamma:a:b", "gamma:2:nan", "trace:"])
def test_bad_gamma_or_trace_spec_is_one_error(spec):
    with pytest.raises(SpecroofError, match="arrivals|rate|variation"):
        requests_from(spec, count=3, prompt_tokens=1, output_tokens=1)


def _mooncake(tmp_path, lines: list[str], name: str = "t.jsonl"):
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _row(ms: float, prompt: int, output: int, **extra) -> str:
    return json.dumps({"timestamp": ms, "input_length": prompt, "output_length": output, "hash_ids": [0, 1], **extra})


def test_mooncake_trace_is_read_in_seconds_from_the_first_request(tmp_path):
    path = _mooncake(tmp_path, [_row(1000, 6755, 500), _row(1000, 7319, 490), "", _row(4052, 2287, 316)])
    requests = requests_from(f"trace:{path}", count=1, prompt_tokens=1, output_tokens=1)
    np.testing.assert_allclose(requests.arrival_s, [0.0, 0.0, 3.052])
    assert list(requests.prompt_tokens) == [6755, 7319, 2287] and list(requests.output_tokens) == [500, 490, 316]
    assert "Mooncake" in requests.source


def test_mooncake_unused_keys_are_named_once(tmp_path):
    path = _mooncake(tmp_path, [_row(0, 10, 2, session_id="a"), _row(5, 10, 2, session_id="b")])
    with pytest.warns(SpecroofWarning, match="session_id"):
        assert requests_from(f"trace:{path}", count=1, prompt_tokens=1, output_tokens=1).count == 2


@pytest.mark.parametrize("bad, what", [
    ('{"timestamp": 5, "input_length": 10}', "output_length"),
    ('{"timestamp": 5, "input_length": 0, "output_length": 3}', "input_length"),
    ('{"timestamp": 5, "input_length": 2.5, "output_length": 3}', "input_length"),
    ("not json at all", "line 2"),
    (_row(-1, 4, 4), "timestamp"),
    (_row(0, 4, 4), "arrival order"),
])
def test_a_malformed_mooncake_line_is_one_error_naming_file_and_line(tmp_path, bad, what):
    path = _mooncake(tmp_path, [_row(10, 4, 4), bad, _row(20, 4, 4)])
    with pytest.raises(SpecroofError, match=what) as caught:
        requests_from(f"trace:{path}", count=1, prompt_tokens=1, output_tokens=1)
    assert f"{path}, line 2" in str(caught.value) and "\n" not in str(caught.value)


def test_a_long_trace_needs_max_requests_and_is_read_only_that_far(tmp_path, monkeypatch):
    monkeypatch.setattr(traces, "TRACE_LIMIT", 5)
    path = _mooncake(tmp_path, [_row(i, 4, 4) for i in range(10)] + ["{broken"])
    with pytest.raises(SpecroofError, match="--max-requests"):
        requests_from(f"trace:{path}", count=1, prompt_tokens=1, output_tokens=1)
    # the broken last line is never reached: reading stops at max_requests
    first = requests_from(f"trace:{path}", count=1, prompt_tokens=1, output_tokens=1, max_requests=3)
    assert first.count == 3


def _vllm(tmp_path, **fields):
    path = tmp_path / "bench.json"
    path.write_text(json.dumps({"date": "20261207-010000", "backend": "vllm", "model_id": "m", "num_prompts": 4,
                                "duration": 9.5, "completed": 4, "mean_ttft_ms": 12.0, **fields}), encoding="utf-8")
    return path


def test_vllm_bench_result_gives_lengths_and_redrawn_arrivals(tmp_path):
    path = _vllm(tmp_path, request_rate=4.0, burstiness=0.25, input_lens=[100, 200, 300, 400],
                 output_lens=[10, 0, 30, 40], errors=["", "timeout", "", ""])
    with pytest.warns(SpecroofWarning, match="1 failed"):
        requests = requests_from(f"trace:{path}", count=99, prompt_tokens=1, output_tokens=1, seed=5)
    assert list(requests.prompt_tokens) == [100, 300, 400] and list(requests.output_tokens) == [10, 30, 40]
    np.testing.assert_array_equal(requests.arrival_s, gamma_arrivals_s(4.0, 2.0, 3, 5))


def test_vllm_bench_result_at_infinite_rate_sends_everything_at_once(tmp_path):
    path = _vllm(tmp_path, request_rate="inf", burstiness=1.0, input_lens=[5, 6], output_lens=[7, 8])
    requests = requests_from(f"trace:{path}", count=1, prompt_tokens=1, output_tokens=1)
    assert list(requests.arrival_s) == [0.0, 0.0]


@pytest.mark.parametrize("fields, what", [
    ({"request_rate": 2.0}, "--save-detailed"),
    ({"input_lens": [1, 2], "output_lens": [3]}, "output_lens"),
    ({"input_lens": [0], "output_lens": [3]}, "input_lens"),
    ({"ramp_up_strategy": "linear", "input_lens": [1], "output_lens": [3]}, "ramp-up"),
    ({"input_lens": "many", "output_lens": [3]}, "input_lens"),
])
def test_an_unusable_vllm_result_is_one_error(tmp_path, fields, what):
    with pytest.raises(SpecroofError, match=what):
        requests_from(f"trace:{_vllm(tmp_path, **fields)}", count=1, prompt_tokens=1, output_tokens=1)


def test_csv_trace_with_comments(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("# recorded 2026-12-07\narrival_s,prompt_tokens,output_tokens\n0.5,100,20\n0.75,50,10\n")
    requests = requests_from(f"trace:{path}", count=1, prompt_tokens=1, output_tokens=1)
    np.testing.assert_allclose(requests.arrival_s, [0.0, 0.25])
    assert list(requests.prompt_tokens) == [100, 50]


@pytest.mark.parametrize("body, what", [
    ("arrival,prompt,output\n0,1,1\n", "header"),
    ("arrival_s,prompt_tokens,output_tokens\n0,1,1\n1,x,1\n", "line 3: prompt_tokens"),
    ("arrival_s,prompt_tokens,output_tokens\n0,1,1\n1,1\n", "line 3: 2 cells"),
    ("arrival_s,prompt_tokens,output_tokens\n", "no requests"),
])
def test_a_malformed_csv_is_one_error(tmp_path, body, what):
    path = tmp_path / "t.csv"
    path.write_text(body)
    with pytest.raises(SpecroofError, match=what):
        requests_from(f"trace:{path}", count=1, prompt_tokens=1, output_tokens=1)


def test_unknown_or_missing_trace_file_is_one_error(tmp_path):
    (tmp_path / "t.parquet").write_text("x")
    with pytest.raises(SpecroofError, match="unknown format"):
        requests_from(f"trace:{tmp_path / 't.parquet'}", count=1, prompt_tokens=1, output_tokens=1)
    with pytest.raises(SpecroofError, match="no such file"):
        requests_from(f"trace:{tmp_path / 'nope.jsonl'}", count=1, prompt_tokens=1, output_tokens=1)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 100, allow_nan=False), st.integers(1, 10**6), st.integers(1, 10**5)),
                min_size=1, max_size=30))
def test_a_csv_trace_reads_back_what_was_written(tmp_path_factory, rows):
    rows = sorted(rows)
    path = tmp_path_factory.mktemp("csv") / "t.csv"
    path.write_text("arrival_s,prompt_tokens,output_tokens\n" + "".join(f"{a!r},{p},{o}\n" for a, p, o in rows))
    requests = requests_from(f"trace:{path}", count=1, prompt_tokens=1, output_tokens=1)
    np.testing.assert_allclose(requests.arrival_s, [a - rows[0][0] for a, _, _ in rows])
    assert list(requests.prompt_tokens) == [p for _, p, _ in rows]
    assert list(requests.output_tokens) == [o for _, _, o in rows]


def test_max_requests_below_one_is_refused():
    with pytest.raises(SpecroofError, match="--max-requests"):
        requests_from("poisson:1", count=3, prompt_tokens=1, output_tokens=1, max_requests=0)
