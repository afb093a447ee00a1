"""The explorer's load view (``/api/load``, ``/api/load_view``): the numbers of ``specroof simulate``."""

from __future__ import annotations

import pytest

pytest.importorskip("starlette")
pytest.importorskip("plotly")
pytest.importorskip("httpx")

from tests.web.conftest import cli_json, run_cli  # noqa: E402

SMALL = {"model": "llama-3.1-8b", "hardware": "h100-sxm", "profile": "vllm", "method": "eagle3", "dtype": "bf16",
         "rate": "1,6", "k": "1,3", "requests": "12", "isl": "512", "osl": "64", "slo": "ttft=200ms,tpot=20ms"}
CLI_NAMES = {"k": "--k", "requests": "--requests", "slo": "--slo"}


def flags(params: dict[str, str]) -> list[str]:
    return [part for k, v in params.items() for part in (CLI_NAMES.get(k, f"--{k.replace('_', '-')}"), v)]


@pytest.fixture()
def in_process(monkeypatch):
    """The command's sweep in this process (as the server runs it): one CPU seen, no process pool."""
    import specroof.workload.executors as executors

    monkeypatch.setattr(executors, "_cpus", lambda: 1)


@pytest.mark.usefixtures("in_process")
def test_load_api_equals_the_command_and_the_library(client):
    from specroof.app.settings import resolve_settings
    from specroof.app.tables import jsonable
    from specroof.workload.draws import DEFAULT_SPREAD
    from specroof.workload.runner import run_simulation

    answer = client.get("/api/load", params=SMALL)
    assert answer.status_code == 200, answer.text
    records = answer.json()
    assert records == cli_json("simulate", *flags(SMALL))
    settings = resolve_settings({"model": "llama-3.1-8b", "hardware": "h100-sxm", "profile": "vllm",
                                 "method": "eagle3", "dtype": "bf16"}, None, "simulate")
    options = {"rate": "1,6", "concurrency": None, "arrivals": "poisson", "count": 12, "max_requests": None,
               "isl": 512, "osl": 64, "ks": "1,3", "schedule": None, "slo": "ttft=200ms,tpot=20ms",
               "spread": DEFAULT_SPREAD, "max_batched_tokens": None, "max_sequences": None, "seed": 0,
               "executor": None}
    rows, _, _, _ = run_simulation(settings, options)
    assert records == jsonable(rows)
    assert [(r["rate_rps"], r["config"]) for r in records] == [
        (rate, config) for rate in (1.0, 6.0) for config in ("no speculation", "K=1", "K=3")]
    by = {(r["rate_rps"], r["config"]): r for r in records}
    assert by[(1.0, "K=3")]["tpot_p50_ms"] < by[(1.0, "no speculation")]["tpot_p50_ms"]  # speculation helps at low load


@pytest.mark.usefixtures("in_process")
def test_a_closed_loop_answers_as_the_command_does(client):
    params = {**{k: v for k, v in SMALL.items() if k != "rate"}, "concurrency": "4", "k": "2", "requests": "8"}
    records = client.get("/api/load", params=params).json()
    assert records == cli_json("simulate", *flags(params))
    assert [(r["rate_rps"], r["concurrency"], r["config"]) for r in records] == [
        (None, 4, "no speculation"), (None, 4, "K=2")]


@pytest.mark.usefixtures("in_process")
def test_load_view_draws_the_chosen_metric_per_configuration_with_the_slo_line(client):
    explorer = client.app_state.explorer
    view = client.get("/api/load_view", params={**SMALL, "metric": "tpot_p99_ms"}).json()
    assert "error" not in view, view
    traces = {t["name"]: t for t in view["figure"]["data"]}
    assert list(traces) == ["no speculation", "K=1", "K=3"]
    for record in view["records"]:
        trace = traces[record["config"]]
        assert trace["y"][trace["x"].index(record["rate_rps"])] == pytest.approx(record["tpot_p99_ms"])
    assert traces["no speculation"]["line"]["dash"] == "dash" and traces["K=3"]["line"]["dash"] == "solid"
    [slo_line] = view["figure"]["layout"]["shapes"]
    assert slo_line["y0"] == slo_line["y1"] == pytest.approx(20.0) and view["slo_ms"] == {"ttft": 200.0, "tpot": 20.0}
    # another metric of the same sweep is answered from the cache, not simulated again
    misses = explorer.cache.misses
    throughput = client.get("/api/load_view", params={**SMALL, "metric": "output_tok_s"}).json()
    assert explorer.cache.misses == misses
    assert throughput["figure"]["layout"]["shapes"] == []  # no SLO bounds throughput
    assert [t["y"] for t in throughput["figure"]["data"]][0] == [
        r["output_tok_s"] for r in throughput["records"] if r["config"] == "no speculation"]


@pytest.mark.usefixtures("in_process")
def test_load_view_defaults_are_the_ones_the_catalog_states(client):
    load = client.get("/api/catalog").json()["load"]
    assert load["defaults"] == {"rate": "1,2,4,8", "requests": "200"}
    assert load["default_metric"] in [m["key"] for m in load["metrics"]]
    params = {k: v for k, v in SMALL.items() if k not in ("rate", "slo")}
    view = client.get("/api/load_view", params={**params, "requests": "4", "k": "2"}).json()
    assert sorted({r["rate_rps"] for r in view["records"]}) == [1.0, 2.0, 4.0, 8.0]
    assert view["metric"] == load["default_metric"]


@pytest.mark.parametrize("change, cli_flags", [
    ({"rate": "-1"}, ["--rate", "-1"]),
    ({"slo": "ttft=2h"}, ["--slo", "ttft=2h"]),
    ({"slo": "latency=2s"}, ["--slo", "latency=2s"]),
    ({"isl": "0"}, ["--isl", "0"]),
])
def test_bad_load_input_is_the_commands_one_line_error(client, change, cli_flags):
    params = {**SMALL, **change}
    answer = client.get("/api/load", params=params)
    assert answer.status_code == 400
    code, _, err = run_cli("simulate", *flags({k: v for k, v in params.items() if k not in change}), *cli_flags)
    assert code == 2 and answer.json() == {"error": err.strip().removeprefix("error: ")}
    assert client.get("/api/load_view", params=params).json() == answer.json()


@pytest.mark.parametrize("change, words", [
    ({"requests": "5000"}, "at most 4,000 requests"),
    ({"rate": "0.5:16:0.5", "requests": "100"}, "the sweep simulates 9,600 requests"),
    ({"requests": "1000", "rate": "1", "osl": "2048"}, "generates 6,144,000 output tokens"),
    ({"max_sequences": "100000"}, "max_sequences 100,000"),
    ({"arrivals": "trace:/etc/passwd"}, "reads no file of the server"),
    ({"schedule": "schedule.json"}, "schedule=plan only"),
])
def test_the_server_refuses_a_sweep_before_pricing_it(client, monkeypatch, change, words):
    import specroof.workload.runner as runner

    def priced(*args, **kwargs):
        raise RuntimeError("a step was priced")

    monkeypatch.setattr(runner.Serving, "of", priced)
    for path in ("/api/load", "/api/load_view"):
        answer = client.get(path, params={**SMALL, **change})
        assert answer.status_code == 400, answer.text
        assert words in answer.json()["error"]


@pytest.mark.usefixtures("in_process")
@pytest.mark.parametrize("change, words", [
    ({"metric": "tpot"}, "metric 'tpot'"),
    ({"slo": "", "metric": "goodput_rps"}, "goodput needs an SLO"),
    ({"rate": "", "concurrency": "4"}, "give rate, not concurrency"),
])
def test_the_load_views_own_errors(client, change, words):
    answer = client.get("/api/load_view", params={**SMALL, **change})
    assert answer.status_code == 400, answer.text
    assert words in answer.json()["error"]


def test_the_load_parameters_are_the_simulate_commands_options():
    """The URL takes what ``specroof simulate`` takes, declared once (app.parameters); the command
    adds only where it runs and what it writes."""
    import click

    from specroof.app.parameters import parameters, simulate_load_keys
    from specroof.cli.simulate_cmd import simulate

    cli_options = {p.name for p in simulate.params if isinstance(p, click.Option)}
    assert set(parameters("simulate")) == cli_options - {"fmt", "output_path", "chart_path", "executor"}
    assert {"rate", "arrivals", "count", "isl", "osl", "ks", "schedule", "slo", "spread"} <= set(simulate_load_keys())
    assert not set(simulate_load_keys()) & set(parameters("speedup"))  # the rest are the study's settings


def test_load_sweeps_wait_for_each_other_never_for_the_speedup_views(client, monkeypatch):
    """Two sweeps in flight: one runs, one waits for the load slot, and /api/speedup still answers."""
    import threading

    import specroof.web.load as load
    from specroof.errors import SpecroofError

    release, entered, lock = threading.Event(), [], threading.Lock()

    def blocked(*args, **kwargs):
        with lock:
            entered.append(1)
        release.wait(timeout=60)
        raise SpecroofError("released")

    monkeypatch.setattr(load, "run_simulation", blocked)
    assert client.app_state.load_compute.total_tokens == 1
    answers: list[int] = []
    sweeps = [threading.Thread(target=lambda i=i: answers.append(
        client.get("/api/load", params={**SMALL, "seed": str(i)}).status_code)) for i in range(2)]
    for sweep in sweeps:
        sweep.start()
    while not entered:
        release.wait(timeout=0.01)
    speedup = client.get("/api/speedup", params={"model": "llama-7b", "hardware": "h200", "batch": "1"})
    assert speedup.status_code == 200 and not release.is_set()
    assert len(entered) == 1  # the other sweep waits for the one load slot
    release.set()
    for sweep in sweeps:
        sweep.join(timeout=60)
    assert answers == [400, 400] and len(entered) == 2
