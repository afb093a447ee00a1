"""``specroof simulate`` and ``speedup --workload`` as a user runs them: tables, JSON, charts, bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from specroof.errors import SpecroofError
from specroof.workload.draws import AcceptanceDraws, chain_tau
from specroof.workload.kschedule import read_schedule
from specroof.workload.metrics import parse_slo
from specroof.workload.sweep import parse_rates
from tests.support import run_cli

BASE = ("-m", "llama-3.1-8b", "-H", "h100-sxm", "--profile", "vllm", "--method", "eagle3", "--dtype", "bf16",
        "--acceptance", "chain:0.7")
SMALL = ("--requests", "40", "--isl", "256", "--osl", "64")


def test_simulate_json_has_speculation_off_and_each_k():
    run = run_cli("simulate", *BASE, *SMALL, "--rate", "1,4", "--k", "2,4", "--slo", "ttft=2s,tpot=50ms",
                  "--format", "json")
    rows = run.json()
    assert [(r["rate_rps"], r["config"]) for r in rows] == [
        (1.0, "no speculation"), (1.0, "K=2"), (1.0, "K=4"), (4.0, "no speculation"), (4.0, "K=2"), (4.0, "K=4")]
    for row in rows:
        assert row["ttft_p50_ms"] <= row["ttft_p90_ms"] <= row["ttft_p99_ms"]
        assert row["tpot_p50_ms"] <= row["tpot_p99_ms"]
        assert 0 <= row["goodput_rps"] <= row["request_rps"] + 1e-9
    off, k4 = rows[0], rows[2]
    assert k4["tpot_p50_ms"] < off["tpot_p50_ms"]  # speculation at light load: faster tokens


def test_closed_loop_table_and_output_file(tmp_path):
    out = tmp_path / "load.csv"
    run = run_cli("simulate", *BASE, *SMALL, "--concurrency", "8", "--format", "csv", "--output", str(out))
    assert run.code == 0, run.stderr
    text = out.read_text()
    assert text.splitlines()[0].startswith("rate_rps,concurrency,config")
    assert len(text.splitlines()) == 3  # header, off, K=3


def test_rate_sweep_chart(tmp_path):
    chart = tmp_path / "load.png"
    run = run_cli("simulate", *BASE, *SMALL, "--rate", "1:3:1", "--slo", "tpot=20ms", "--chart", str(chart))
    assert run.code == 0, run.stderr
    assert chart.stat().st_size > 10_000 and "wrote load chart" in run.stderr


def test_load_figure_draws_one_line_per_configuration_and_the_slo():
    from specroof.report.charts.load import load_figure

    rows = [{"rate_rps": r, "config": c, "output_tok_s": r * 10, "ttft_p99_ms": 5.0, "tpot_p50_ms": 4.0,
             "tpot_p99_ms": 6.0, "goodput_rps": r} for r in (1.0, 2.0) for c in ("no speculation", "K=3")]
    fig = load_figure(rows, "test", {"tpot": 0.05})
    tpot = fig.axes[2]
    assert [line.get_label() for line in tpot.get_lines()] == ["no speculation", "K=3", "SLO tpot 50 ms"]
    assert tpot.get_lines()[2].get_ydata()[0] == pytest.approx(50.0)


@pytest.mark.parametrize(("args", "message"), [
    (("--rate", "-1"), "positive"),
    (("--rate", "2", "--slo", "ttft=2h"), "unit, s or ms"),
    (("--rate", "2", "--slo", "latency=2s"), "unknown metric"),
    (("--rate", "2", "--concurrency", "4"), "not both"),
    ((), "give --rate"),
    (("--rate", "2", "--k", "x"), "--k"),
    (("--rate", "2", "--schedule", "missing.json"), "--schedule"),
    (("--concurrency", "2", "--chart", "x.png"), "closed-loop"),
    (("--rate", "2", "--isl", "200000"), "max_position_embeddings"),
])
def test_bad_input_is_one_error_line(args, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = run_cli("simulate", *BASE, *SMALL, *args)
    assert run.code == 2
    lines = [line for line in run.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and message in lines[0], run.stderr
    assert "Traceback" not in run.stderr


def test_interrupted_run_leaves_no_output_file(tmp_path, monkeypatch):
    import specroof.workload.runner as runner

    def interrupted(*_args, **_kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(runner, "sweep", interrupted)
    out = tmp_path / "load.json"
    run = run_cli("simulate", *BASE, *SMALL, "--rate", "2", "--format", "json", "--output", str(out))
    assert run.code != 0
    assert list(tmp_path.iterdir()) == []


def test_speedup_workload_columns():
    run = run_cli("speedup", *BASE, "--batch", "1,32", "--candidates", "4", "--workload", "2048:128",
                  "--format", "json")
    rows = run.json()
    assert [(r["batch"], r["candidates"]) for r in rows] == [(1, 4), (32, 4)]
    step = run_cli("speedup", *BASE, "--batch", "1,32", "--candidates", "4", "--seq-len", "2112", "--format", "json")
    for row, step_row in zip(rows, step.json()):
        assert row["request_speedup"] == pytest.approx(row["tokens_per_s"] / row["ar_tokens_per_s"])
        assert 1.0 < row["request_speedup"] < step_row["speedup"]  # the prefill is not sped up
        assert row["tpot_ms"] < row["ar_tpot_ms"]


def test_speedup_workload_file_and_bad_workload(tmp_path):
    lengths = tmp_path / "lengths.csv"
    lengths.write_text("prompt_tokens,output_tokens\n100,50\n300,20\n200,80\n")
    rows = run_cli("speedup", *BASE, "--batch", "2", "--candidates", "3", "--workload", str(lengths),
                   "--format", "json").json()
    assert len(rows) == 1 and rows[0]["tokens_per_s"] > 0
    bad = run_cli("speedup", *BASE, "--workload", "12x")
    assert bad.code == 2 and "ISL:OSL" in bad.stderr
    too_long = run_cli("speedup", *BASE, "--workload", "200000:10")
    assert too_long.code == 2 and "max_position_embeddings" in too_long.stderr
    crowded = run_cli("speedup", *BASE, "--batch", "1,16", "--candidates", "4", "--workload", "30000:1000")
    assert crowded.code == 0 and crowded.stderr.count("warning: --workload at batch 16") == 1


def test_a_bad_schedule_file_is_one_error_line(tmp_path):
    for text in ('{"1": "x"}', "[1, 2]", "{"):
        schedule = tmp_path / "k.json"
        schedule.write_text(text)
        run = run_cli("simulate", *BASE, *SMALL, "--rate", "1", "--schedule", str(schedule))
        assert run.code == 2 and run.stderr.startswith("error:") and "Traceback" not in run.stderr, run.stderr


@settings(max_examples=40, deadline=None)
@given(tau_fraction=st.floats(0.0, 0.95), n=st.integers(2, 8), spread=st.sampled_from([0.0, 0.1, 0.2]))
def test_drawn_acceptance_keeps_the_models_tau(tau_fraction, n, spread):
    """The requests' mean chain tau is the model's tau(n), whatever the spread."""
    tau = 1.0 + tau_fraction * (n - 1)
    draws = AcceptanceDraws.of({n: tau}, requests=400, spread=spread, seed=1)
    assert float(np.mean(chain_tau(draws.rates(n), n))) == pytest.approx(tau, rel=1e-6, abs=1e-6)


def test_step_draws_average_tau_and_spread_widens_requests():
    tau, n = 2.4, 5
    narrow = AcceptanceDraws.of({n: tau}, requests=2000, spread=0.0, seed=2)
    wide = AcceptanceDraws.of({n: tau}, requests=2000, spread=0.2, seed=2)
    rows = np.arange(2000)
    assert np.mean([narrow.tokens(rows, n).mean() for _ in range(20)]) == pytest.approx(tau, rel=0.01)
    assert 0.15 < np.std(wide.rates(n)) < 0.25 and np.std(narrow.rates(n)) < 1e-12  # spread: the SD asked, to first order
    assert narrow.tokens(rows, n).max() <= n and narrow.tokens(rows, n).min() >= 1


def test_parsers_refuse_bad_values(tmp_path):
    assert parse_slo("ttft=2s, tpot=50ms") == {"ttft": 2.0, "tpot": 0.05}
    assert parse_rates("0.5:2:0.5") == [0.5, 1.0, 1.5, 2.0]
    for bad in ("tpot=50", "tpot=-5ms", "", "ttft=2s,itl=1ms", "ttft=2s,ttft=3s"):
        with pytest.raises(SpecroofError):
            parse_slo(bad)
    for bad in ("0", "1,-2", "1:2:0", "a", "0.01:1000:0.01", "0:1e308:1e-308", "1:nan:1", "-1:2:1"):
        with pytest.raises(SpecroofError):
            parse_rates(bad)
    table = tmp_path / "k.json"
    table.write_text(json.dumps({"k": {"1": 4, "16": 2, "64": 0}}))
    schedule = read_schedule(table)
    assert schedule.ns == (5, 3, 1) and schedule.candidates_at(20) == 3
    table.write_text(json.dumps({"1": 0}))
    with pytest.raises(SpecroofError):
        read_schedule(table)


def test_a_sweep_point_survives_pickling():
    """A process pool or Ray pickles each point's function: the same row comes back."""
    import functools
    import pickle

    from specroof.speculation.study import Study
    from specroof.workload.kschedule import KSchedule
    from specroof.workload.serving import Serving
    from specroof.workload.sweep import LoadSpec, _point

    study = Study.of("llama-3.1-8b", "h100-sxm", 1, 1, 1024, method="eagle3", acceptance="chain:0.7", dtype="bf16",
                     profile="vllm")
    point = functools.partial(_point, Serving.of(study, (1, 4), 600), LoadSpec("poisson", 30, 256, 64), None, 0.1)
    item = (3.0, KSchedule.fixed(4))
    copied, copied_item = pickle.loads(pickle.dumps((point, item)))
    assert copied(copied_item) == point(item)


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=40))
def test_load_option_parsers_fail_only_as_one_error(text):
    """Any text: a value or a SpecroofError, never another exception."""
    for parse in (parse_slo, parse_rates):
        try:
            parse(text)
        except SpecroofError:
            pass
