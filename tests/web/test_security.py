"""The explorer stays local and cannot be probed, through Starlette's test client.

What a live server adds (real sockets, memory of a 50 MB upload, a browser on a foreign
origin, ``serve --port 0``) is in ``tests/hostile/test_server_live.py``.
"""

from __future__ import annotations

import json
import shutil
import tracemalloc
import warnings
from pathlib import Path

import pytest

pytest.importorskip("starlette")
pytest.importorskip("plotly")
pytest.importorskip("httpx")

from specroof.web.app import StrictJSON, create_app  # noqa: E402
from specroof.web.guard import MAX_ERROR_CHARS  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
LLAMA_68M = ROOT / "src/specroof/models/catalog/llama-68m.json"
METRICS = ROOT / "tests/data/engine-metrics"
BASE = {"model": "llama-7b", "hardware": "h200", "batch": "1,4", "candidates": "1,4"}
CURVE = b"candidates,acceptance_length\n1,1\n4,2.5\n8,3.1\n"


def make_client(app, base_url: str = "http://127.0.0.1"):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient
    return TestClient(app, base_url=base_url, raise_server_exceptions=False)


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def assert_short_error(answer, status: int) -> str:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    error = answer.json()["error"]
    assert "\n" not in error and len(error) <= MAX_ERROR_CHARS and "Traceback" not in error
    return error


# ------------------------------------------------------------------ Host and Origin


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8000", "127.0.0.1.nip.io", "localhost.evil.example",
                                  "127.0.0.2", "0.0.0.0", "", "127.0.0.1:notaport", "[::1", "user@127.0.0.1"])
@pytest.mark.parametrize("path", ["/api/catalog", "/api/speedup?model=llama-7b&hardware=h200", "/", "/static/explorer.js"])
def test_a_foreign_host_is_refused(client, host, path):
    error = assert_short_error(client.get(path, headers={"host": host}), 403)
    assert "Host" in error


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "LOCALHOST:8000", "[::1]:8000", "127.0.0.1:1"])
def test_the_loopback_names_are_answered(client, host):
    assert client.get("/api/catalog", headers={"host": host}).status_code == 200


def test_the_bound_port_is_checked_when_known(tmp_path):
    app = create_app(upload_dir=tmp_path / "up", hosts=("127.0.0.1", "localhost", "::1", "mybox"), port=8123)
    with make_client(app, "http://127.0.0.1:8123") as c:
        assert c.get("/api/catalog").status_code == 200
        assert c.get("/api/catalog", headers={"host": "mybox:8123"}).status_code == 200  # an --allow-host name
        for host in ("127.0.0.1:8124", "127.0.0.1", "localhost:80", "evil.example:8123"):
            assert_short_error(c.get("/api/catalog", headers={"host": host}), 403)
        upload = c.post("/api/upload?kind=curve", content=CURVE, headers={"origin": "http://127.0.0.1:9999"})
        assert_short_error(upload, 403)
        assert c.post("/api/upload?kind=curve", content=CURVE, headers={"origin": "http://localhost:8123"}).status_code == 200


@pytest.mark.parametrize("headers", [
    {"origin": "http://evil.example"}, {"origin": "http://evil.example:8000"}, {"origin": "null"},
    {"origin": "https://127.0.0.1"}, {"origin": "http://127.0.0.1.nip.io"}, {"origin": "file://"},
    {"sec-fetch-site": "cross-site"}, {"sec-fetch-site": "same-site"},
])
def test_a_cross_origin_upload_is_refused_and_stores_nothing(client, headers):
    folder = client.app_state.uploads.folder
    error = assert_short_error(client.post("/api/upload?kind=curve", content=CURVE, headers=headers), 403)
    assert "cross" in error
    assert files_in(folder) == []


@pytest.mark.parametrize("headers", [{}, {"origin": "http://127.0.0.1"}, {"origin": "http://localhost"},
                                     {"sec-fetch-site": "same-origin"}])
def test_a_same_origin_or_script_upload_is_accepted(client, headers):
    answer = client.post("/api/upload?kind=curve", content=CURVE, headers=headers)
    assert answer.status_code == 200, answer.text


# ------------------------------------------------------------------ no path named by a query


def probes(tmp_path: Path) -> list[tuple[str, str, str]]:
    """(parameter, a path that exists and would load, the same name that does not exist)."""
    good_model = tmp_path / "config.json"
    shutil.copy(LLAMA_68M, good_model)
    good_toml = tmp_path / "dev.toml"
    good_toml.write_text('base = "h200"\n')
    curve = tmp_path / "curve.csv"
    curve.write_bytes(CURVE)
    prom = shutil.copy(METRICS / "vllm-eagle3-k3.prom", tmp_path / "m.prom")
    gone = tmp_path / "missing"
    return [
        ("model", str(good_model), str(gone / "config.json")),
        ("model", str(tmp_path), str(gone)),
        ("draft_model", str(good_model), str(gone / "config.json")),
        ("hardware", str(good_toml), str(gone / "dev.toml")),
        ("scenario", str(ROOT / "src/specroof/scenarios/medusa-appendix-g.toml"), str(gone / "s.toml")),
        ("acceptance", f"curve:{curve}", f"curve:{gone / 'curve.csv'}"),
        ("acceptance", f"vllm-metrics:{prom}", f"vllm-metrics:{gone / 'm.prom'}"),
        ("acceptance", f"sglang:{METRICS / 'sglang-server-info.json'}", f"sglang:{gone / 's.json'}"),
        ("acceptance", f"medusa:{ROOT / 'src/specroof/speculation/data/medusa-head-accuracy.csv'}",
         f"medusa:{gone / 'm.csv'}"),
        ("model", "/etc/passwd", "/etc/no-such-file-here"),
        ("model", "../../etc/passwd", "../../etc/no-such-file-here"),
    ]


@pytest.mark.parametrize("endpoint", ["speedup", "plan", "latency", "ops", "explain", "export", "view"])
def test_a_server_path_in_a_query_gets_one_answer_whether_it_exists_or_not(client, tmp_path, endpoint):
    for name, existing, missing in probes(tmp_path):
        params = {**BASE, "batch": "1", "candidates": "4", name: existing}
        if endpoint in ("plan", "export"):
            params.pop("candidates")
        if name == "draft_model":
            params["method"] = "draft"
        if endpoint == "latency":
            params.pop("acceptance", None)
            if name in ("acceptance", "draft_model", "scenario"):
                continue
        seen = client.get(f"/api/{endpoint}", params=params)
        unseen = client.get(f"/api/{endpoint}", params={**params, name: missing})
        assert_short_error(seen, 400)
        assert (seen.status_code, seen.content) == (unseen.status_code, unseen.content), (name, existing)
        assert "no file named by a query" in seen.json()["error"]
        assert str(tmp_path) not in seen.text and "passwd" not in seen.text


def test_an_upload_token_must_be_of_the_parameters_kind(client):
    token = client.post("/api/upload?kind=curve", content=CURVE).json()["token"]
    for name in ("model", "hardware"):
        error = assert_short_error(client.get("/api/speedup", params={**BASE, name: token}), 400)
        assert "no file named by a query" in error
    assert client.get("/api/speedup", params={**BASE, "acceptance": f"curve:{token}"}).status_code == 200


# ------------------------------------------------------------------ parameters, answers, errors


@pytest.mark.parametrize("path, query", [
    ("/api/speedup", "model=llama-7b&hardware=h200&batch=1&batch=64"),
    ("/api/speedup", "hardware=h200&model=llama-7b&model=llama-7b"),
    ("/api/view", "model=llama-7b&hardware=h200&focus_n=2&focus_n=3"),
    ("/api/export", "model=llama-7b&hardware=h200&engine=vllm&engine=sglang"),
    ("/api/catalog", "x=1&x=2"),
])
def test_a_repeated_parameter_is_refused_naming_it(client, path, query):
    error = assert_short_error(client.get(f"{path}?{query}"), 400)
    name = query.split("&")[-1].split("=")[0]
    assert f"parameter {name!r} is given 2 times" in error


def test_a_repeated_upload_kind_is_refused(client):
    error = assert_short_error(client.post("/api/upload?kind=curve&kind=model", content=CURVE), 400)
    assert "'kind' is given 2 times" in error
    assert files_in(client.app_state.uploads.folder) == []
    assert "unknown parameter 'path'" in assert_short_error(
        client.post("/api/upload?kind=curve&path=/tmp/x", content=CURVE), 400)


def nan_speedup(monkeypatch, value: float) -> None:
    import specroof.app.run as app_run

    real = app_run.run_speedup

    def poisoned(*args, **kwargs):
        result, label, reference = real(*args, **kwargs)
        result.speedup[0, -1, 0] = value
        return result, label, reference

    monkeypatch.setattr(app_run, "run_speedup", poisoned)


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
@pytest.mark.parametrize("endpoint", ["speedup", "view"])
def test_a_non_finite_result_is_refused_never_served_as_a_number_or_null(client, monkeypatch, value, endpoint):
    nan_speedup(monkeypatch, value)
    answer = client.get(f"/api/{endpoint}", params=BASE)
    error = assert_short_error(answer, 400)
    assert "not finite" in error
    if endpoint == "speedup":
        assert "speedup at batch 1, candidates 4, seq_len 1024" in error


def test_answers_are_strict_json(client):
    def strict(text: str):
        return json.loads(text, parse_constant=lambda name: pytest.fail(f"{name} in an answer"))

    for path in ("/api/speedup", "/api/plan", "/api/explain", "/api/view"):
        params = {"/api/explain": {**BASE, "batch": "1", "candidates": "4"},
                  "/api/plan": {k: v for k, v in BASE.items() if k != "candidates"}}.get(path, BASE)
        answer = client.get(path, params=params)
        assert answer.status_code == 200, answer.text
        strict(answer.text)
    with pytest.raises(ValueError, match="not finite"):
        StrictJSON({"speedup": float("nan")})


@pytest.mark.parametrize("params", [
    {**BASE, "model": "x" * 5000},
    {**BASE, "y" * 5000: "1"},
    {**BASE, "batch": ",".join(["0"] * 3000)},
    {**BASE, "acceptance": "positional:" + ",".join(["0.5"] * 2000) + ",oops"},
    {**BASE, "dtype": "fp" + "9" * 5000},
])
def test_a_long_error_is_one_short_line(client, params):
    error = assert_short_error(client.get("/api/speedup", params=params), 400)
    assert len(error) <= MAX_ERROR_CHARS


def test_the_cache_stays_within_its_byte_bound(tmp_path):
    from specroof.web.queries import estimated_bytes

    bound = 2 * 2**20
    app = create_app(upload_dir=tmp_path / "up", cache_bytes=bound)
    with make_client(app) as c:
        cache = app.state.explorer.cache
        computed = 0
        for i in range(16):  # 16 grids of 640 points, a few hundred kB each
            params = {**BASE, "batch": "1:40:1", "candidates": "1:16:1", "seq_len": str(1024 + i)}
            assert c.get("/api/speedup", params=params).status_code == 200
            q = app.state.explorer.query("speedup", params)
            computed += estimated_bytes(app.state.explorer.speedup_result(q))
            assert 0 < cache.bytes <= bound
        assert computed > bound  # so entries had to go
        assert 1 < len(cache) < 16
        hits = cache.hits
        assert c.get("/api/speedup", params=params).status_code == 200  # the latest is kept
        assert cache.hits == hits + 1
        assert c.get("/api/catalog").json()["cache_bytes"] == bound


def test_the_cache_estimate_follows_the_memory_a_result_holds():
    """The byte bound is only as good as the estimate: compare it with what tracemalloc sees held."""
    import gc

    from specroof.web.queries import Explorer, estimated_bytes

    explorer = Explorer()
    explorer.speedup_records({**BASE})  # imports and catalog entries, outside the measurement
    gc.collect()
    tracemalloc.start()
    result = explorer.speedup_result(explorer.query("speedup", {**BASE, "batch": "1:400:1", "candidates": "1:32:1"}))
    gc.collect()
    held = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    estimate = estimated_bytes(result)
    assert 0.7 * held <= estimate <= 2.0 * held, (estimate, held)
