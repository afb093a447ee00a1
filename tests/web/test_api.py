"""The explorer's JSON API, through Starlette's test client: same answers as the CLI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

pytest.importorskip("starlette")
pytest.importorskip("plotly")
pytest.importorskip("httpx")

from tests.web.conftest import cli_json, run_cli  # noqa: E402

DRAFT = {"model": "llama-3-8b", "hardware": "h200", "batch": "1,16,64", "candidates": "1,2,4,8",
         "seq_len": "1024,4096", "acceptance": "chain:0.8", "method": "draft", "draft_model": "llama-3.2-1b"}


def flags(params: dict[str, str]) -> list[str]:
    return [part for k, v in params.items() for part in (f"--{k.replace('_', '-')}", v)]


@pytest.mark.parametrize("params", [
    DRAFT,
    {"model": "llama-7b", "hardware": "a100-80gb-pcie", "batch": "1,4", "candidates": "1:112:16",
     "profile": "medusa-appendix-g", "attention": "unfused", "acceptance": "log:0.477"},
    {"model": "mixtral-8x7b", "hardware": "h100-sxm", "tp": "2", "weight_dtype": "fp8", "batch": "8",
     "acceptance": "medusa:vicuna-7b", "method": "heads", "heads": "4"},
    {"model": "llama-7b", "hardware": "h200"},  # the default grid (candidates 1,16,32,64)
])
def test_speedup_api_equals_cli(client, params):
    answer = client.get("/api/speedup", params=params)
    assert answer.status_code == 200, answer.text
    assert answer.json() == cli_json("speedup", *flags(params))


def test_default_candidates_are_the_api_grid(client):
    records = client.get("/api/speedup", params={"model": "llama-7b", "hardware": "h200"}).json()
    assert [r["candidates"] for r in records] == [1, 16, 32, 64]
    assert records[-1]["speedup"] > 1.5


def test_scenario_speedup_equals_cli(client):
    answer = client.get("/api/speedup", params={"scenario": "medusa-appendix-g", "batch": "1,32"})
    assert answer.json() == cli_json("speedup", "--scenario", "medusa-appendix-g", "--batch", "1,32")
    by_point = {(r["batch"], r["candidates"]): r["speedup"] for r in answer.json()}
    assert by_point[(1, 64)] > 2.0 > 1.0 > by_point[(32, 64)]  # the paper's shape


def test_plan_and_latency_and_explain_equal_cli(client):
    plan = {k: v for k, v in DRAFT.items() if k != "candidates"}
    assert client.get("/api/plan", params={**plan, "max_candidates": "12"}).json() == \
        cli_json("plan", *flags(plan), "--max-candidates", "12")
    latency = {"model": "qwen2.5-7b", "hardware": "l40s", "batch": "1,8", "candidates": "1,4", "kv_dtype": "fp8"}
    assert client.get("/api/latency", params=latency).json() == cli_json("latency", *flags(latency))
    point = {**plan, "batch": "8", "candidates": "4", "seq_len": "2048"}
    got = client.get("/api/explain", params=point).json()
    assert got.pop("note") == ""
    assert got == cli_json("explain", *flags(point))


def test_export_equals_cli(client):
    plan = {k: v for k, v in DRAFT.items() if k != "candidates"}
    for engine in ("vllm", "sglang"):
        got = client.get("/api/export", params={**plan, "engine": engine}).json()
        code, out, _ = run_cli("plan", *flags(plan), "--export", engine)
        assert code == 0 and got["export"] == out.rstrip("\n")
    got = client.get("/api/export", params={**plan, "engine": "json"}).json()
    assert got["export"] == json.loads(run_cli("plan", *flags(plan), "--export", "json")[1])


@pytest.mark.parametrize("path, params, cli_args", [
    ("/api/speedup", {"model": "llama-7x", "hardware": "h200"}, ["speedup", "-m", "llama-7x", "-H", "h200"]),
    ("/api/speedup", {"model": "llama-7b", "hardware": "h200", "batch": "0"},
     ["speedup", "-m", "llama-7b", "-H", "h200", "--batch", "0"]),
    ("/api/speedup", {"model": "llama-7b", "hardware": "h200", "acceptance": "chain:1.5"},
     ["speedup", "-m", "llama-7b", "-H", "h200", "--acceptance", "chain:1.5"]),
    ("/api/plan", {"model": "llama-7b", "hardware": "h200", "heads": "3"},
     ["plan", "-m", "llama-7b", "-H", "h200", "--heads", "3"]),
    ("/api/latency", {"hardware": "h200"}, ["latency", "-H", "h200"]),
    ("/api/speedup", {"model": "llama-7b", "hardware": "h200", "tp": "two"},
     ["speedup", "-m", "llama-7b", "-H", "h200", "--tp", "two"]),
    ("/api/speedup", {"model": "llama-7b", "hardware": "h200", "method": "medusa"},
     ["speedup", "-m", "llama-7b", "-H", "h200", "--method", "medusa"]),
    ("/api/ops", {"model": "llama-7b", "hardware": "h200", "candidates": "0"},
     ["ops", "-m", "llama-7b", "-H", "h200", "--candidates", "0"]),
])
def test_bad_input_gets_400_with_the_cli_message(client, path, params, cli_args):
    answer = client.get(path, params=params)
    assert answer.status_code == 400
    assert answer.headers["content-type"].startswith("application/json")
    code, _, err = run_cli(*cli_args)
    assert code == 2
    assert answer.json() == {"error": err.strip().removeprefix("error: ")}
    assert "\n" not in answer.json()["error"] and "Traceback" not in answer.text


@pytest.mark.parametrize("params, words", [
    ({"model": "llama-7b", "hardware": "h200", "modle": "x"}, "unknown parameter 'modle'"),
    ({"model": "llama-7b", "hardware": "h200", "cuda_graph": "maybe"}, "'maybe' is not a valid boolean"),
    ({"model": "llama-7b", "hardware": "h200", "batch": "1:4096:1", "candidates": "1:64:1"}, "more than the"),
    ({"model": "upload:0123456789abcdef.json", "hardware": "h200"}, "is not on this server"),
])
def test_web_only_errors_are_400_too(client, params, words):
    answer = client.get("/api/speedup", params=params)
    assert answer.status_code == 400
    assert words in answer.json()["error"]


def test_an_internal_error_is_a_one_line_500_logged_with_its_traceback(client, monkeypatch, capsys):
    import specroof.app.run as app_run

    def broken(*args, **kwargs):
        raise RuntimeError("boom\nwith a second line")

    monkeypatch.setattr(app_run, "run_speedup", broken)
    answer = client.get("/api/speedup", params={"model": "llama-7b", "hardware": "h200"})
    assert answer.status_code == 500
    assert answer.json() == {"error": "internal error (RuntimeError), logged on the server's terminal"}
    logged = capsys.readouterr().err
    assert "Traceback" in logged and "boom" in logged and "internal error on /api/speedup" in logged
    assert client.get("/api/nowhere").json() == {"error": "Not Found"}


def test_results_are_cached(client):
    explorer = client.app_state.explorer
    params = {"model": "llama-7b", "hardware": "h200", "batch": "1,2"}
    first = client.get("/api/speedup", params=params).json()
    misses, hits = explorer.cache.misses, explorer.cache.hits
    # the same query, parameters in another order and with an empty one, is answered from the cache
    again = client.get("/api/speedup", params={"batch": "1,2", "hardware": "h200", "model": "llama-7b", "tp": ""})
    assert again.json() == first
    assert (explorer.cache.misses, explorer.cache.hits) == (misses, hits + 1)


def test_uploaded_config_answers_like_its_path(client, tmp_path):
    source = Path(__file__).resolve().parents[2] / "src/specroof/models/catalog/llama-68m.json"
    token = client.post("/api/upload?kind=model", content=source.read_bytes()).json()["token"]
    assert token.startswith("upload:") and token.endswith(".json")
    mine = tmp_path / "config.json"
    shutil.copy(source, mine)
    params = {"hardware": "a10g", "batch": "1,4", "candidates": "1,4"}
    via_upload = client.get("/api/speedup", params={**params, "model": token}).json()
    via_path = cli_json("speedup", "-m", str(mine), *flags(params))
    assert [r["speedup"] for r in via_upload] == [r["speedup"] for r in via_path]
    bad = client.post("/api/upload?kind=model", content=b"{not json")
    assert bad.status_code == 400 and "error" in bad.json()


def test_uploaded_curve_is_an_acceptance(client):
    token = client.post("/api/upload?kind=curve", content=b"candidates,acceptance_length\n1,1\n4,2.5\n8,3.1\n").json()["token"]
    records = client.get("/api/speedup", params={"model": "llama-7b", "hardware": "h200", "candidates": "1,4,8",
                                                  "acceptance": f"curve:{token}"}).json()
    assert [r["acceptance_length"] for r in records] == pytest.approx([1.0, 2.5, 3.1])


def test_view_draws_what_the_api_returns(client):
    view = client.get("/api/view", params=DRAFT).json()
    speedup = view["figures"]["speedup"]
    records = client.get("/api/speedup", params=DRAFT).json()
    at_1024 = {(r["batch"], r["candidates"]): r["speedup"] for r in records if r["seq_len"] == 1024}
    lines = [t for t in speedup["data"] if t["name"].startswith("batch ")]
    assert [t["name"] for t in lines] == ["batch 1", "batch 16", "batch 64"]
    for trace in lines:
        b = int(trace["name"].split()[1])
        assert trace["y"] == pytest.approx([at_1024[(b, n)] for n in trace["x"]])
    layout = speedup["layout"]
    assert "llama-3-8b on NVIDIA H200" in layout["title"]["text"]
    assert layout["yaxis"]["title"]["text"] == "speedup over plain decoding (×)"
    assert "candidate tokens" in layout["xaxis"]["title"]["text"]
    # heatmap: the outlined cell of each batch is that batch's best n on the grid
    heat, marks = view["figures"]["heatmap"]["data"]
    for row, b, n in zip(heat["z"], marks["y"], marks["x"]):
        assert heat["x"][row.index(max(row))] == n
    assert view["figures"]["roofline"]["layout"]["xaxis"]["type"] == "log"
    assert "TFLOP/s" in view["figures"]["roofline"]["layout"]["yaxis"]["title"]["text"]
    # the plan: best n of the first batch is where the waterfall looks by default
    plan = view["plan"]
    assert [c["key"] for c in plan["columns"]][:3] == ["batch", "seq_len", "best_candidates"]
    first = plan["records"][0]
    assert view["focus"] == {"batch": 1, "candidates": first["best_candidates"], "seq_len": 1024}
    assert view["exports"]["vllm"].startswith("# specroof plan")


def test_view_under_a_profile_without_physical_ms_shows_ratios(client):
    view = client.get("/api/view", params={"scenario": "medusa-appendix-g", "batch": "1,4,64"}).json()
    keys = [c["key"] for c in view["plan"]["columns"]]
    assert "normalized_latency" in keys and "latency_ms" not in keys and "throughput" not in keys
    assert not view["physical_ms"] and "not physical" in view["caveat"]
    roofline_names = [t["name"] for t in view["figures"]["roofline"]["data"]]
    assert not any(" ms" in name for name in roofline_names[2:])
    assert any("published" in t["name"] for t in view["figures"]["speedup"]["data"])  # the paper's points


def test_explain_note_says_what_was_assumed(client):
    got = client.get("/api/explain", params={"model": "llama-7b", "hardware": "h200", "candidates": "8"}).json()
    assert "no --acceptance given: the default for none is" in got["note"] and "log:0.477" in got["note"]


def test_page_is_local_only(client):
    page = client.get("/")
    assert page.status_code == 200
    assert 'data-testid="speedup-chart"' in page.text and 'data-testid="plan-table"' in page.text
    assert "http://" not in page.text and "https://" not in page.text
    js = client.get("/static/plotly.min.js")
    assert js.status_code == 200 and "Plotly" in js.text[:5000] + js.text[-5000:]
    catalog = client.get("/api/catalog").json()
    assert "llama-7b" in catalog["models"] and "h200" in catalog["hardware"]
    assert "medusa-appendix-g" in catalog["scenarios"] and catalog["max_points"] > 0


VLLM_METRICS = """\
# HELP vllm:spec_decode_num_drafts_total Number of spec decoding drafts.
# TYPE vllm:spec_decode_num_drafts_total counter
vllm:spec_decode_num_drafts_total{engine="0",model_name="meta-llama/Llama-3.1-8B-Instruct"} 1000.0
vllm:spec_decode_num_draft_tokens_total{engine="0",model_name="meta-llama/Llama-3.1-8B-Instruct"} 3000.0
vllm:spec_decode_num_accepted_tokens_total{engine="0",model_name="meta-llama/Llama-3.1-8B-Instruct"} 1500.0
vllm:spec_decode_num_accepted_tokens_per_pos_total{engine="0",model_name="meta-llama/Llama-3.1-8B-Instruct",position="0"} 800.0
vllm:spec_decode_num_accepted_tokens_per_pos_total{engine="0",model_name="meta-llama/Llama-3.1-8B-Instruct",position="1"} 450.0
vllm:spec_decode_num_accepted_tokens_per_pos_total{engine="0",model_name="meta-llama/Llama-3.1-8B-Instruct",position="2"} 250.0
vllm:num_requests_running{engine="0",model_name="m"} 3.0
"""


def test_engine_metrics_become_an_acceptance_curve(client):
    answer = client.post("/api/upload?kind=metrics", content=VLLM_METRICS.encode())
    assert answer.status_code == 200, answer.text
    spec = answer.json()["acceptance"]
    assert spec.startswith("vllm-metrics:upload:")
    records = client.get("/api/speedup", params={"model": "llama-3.1-8b", "hardware": "h200", "candidates": "1,2,3,4",
                                                  "acceptance": spec}).json()
    # tau(n) = 1 + accepted in the first n - 1 positions / drafts; tau(4) is the measured mean
    assert [r["acceptance_length"] for r in records] == pytest.approx([1.0, 1.8, 2.25, 2.5])
    totals_only = "\n".join(line for line in VLLM_METRICS.splitlines() if "per_pos" not in line)
    spec = client.post("/api/upload?kind=metrics", content=totals_only.encode()).json()["acceptance"]
    records = client.get("/api/speedup", params={"model": "llama-3.1-8b", "hardware": "h200", "candidates": "1,4",
                                                  "acceptance": spec}).json()
    assert [r["acceptance_length"] for r in records] == pytest.approx([1.0, 2.5])
    bad = client.post("/api/upload?kind=metrics", content=b"vllm:num_requests_running 3\n")
    assert bad.status_code == 400 and "no vLLM spec-decode counters" in bad.json()["error"]


@pytest.mark.parametrize("params", [
    {"model": "llama-3-8b", "hardware": "h200", "batch": "8", "candidates": "6", "draft_model": "llama-3.2-1b"},
    {"model": "llama-7b", "hardware": "a100-80gb-pcie", "profile": "medusa-appendix-g", "candidates": "64"},
    {"model": "mixtral-8x7b", "hardware": "h100-sxm", "tp": "2", "method": "heads", "batch": "4", "candidates": "16"},
])
def test_ops_api_equals_cli(client, params):
    answer = client.get("/api/ops", params=params)
    assert answer.status_code == 200, answer.text
    assert answer.json() == cli_json("ops", *flags(params))


def test_ops_bad_input_is_400(client):
    answer = client.get("/api/ops", params={"model": "llama-7b", "hardware": "h200", "max_depth": "3"})
    assert answer.status_code == 400 and "unknown parameter 'max_depth'" in answer.json()["error"]


def test_roofline_view_draws_the_ops_records(client):
    params = {k: v for k, v in DRAFT.items()}
    view = client.get("/api/view", params={**params, "focus_batch": "16", "focus_n": "4"}).json()
    records = client.get("/api/ops", params={"model": "llama-3-8b", "hardware": "h200", "batch": "16",
                                             "candidates": "4", "draft_model": "llama-3.2-1b"}).json()
    drawn = [r for r in records if r["flops"] > 0 and r["bytes"] > 0 and r["time_ms"] > 0]
    markers = view["figures"]["roofline"]["data"][2:]
    assert len(markers) == len(drawn)
    for trace, r in zip(markers, drawn):
        assert trace["x"] == [pytest.approx(r["intensity"])]
        assert trace["y"] == [pytest.approx(r["flops"] / (r["time_ms"] * 1e-3) / 1e12)]
    assert any(t["name"].startswith("draft: ") for t in markers)  # the draft model's operations too
