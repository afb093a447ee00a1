"""``specroof serve`` as a user starts it: the console script, on a free local port."""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.error
import urllib.request

import pytest

pytest.importorskip("uvicorn")
pytest.importorskip("starlette")
pytest.importorskip("plotly")

from tests.support import run_specroof, specroof_script  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=30) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_serve_answers_on_localhost_and_refuses_a_taken_port():
    port = free_port()
    server = subprocess.Popen([specroof_script(), "serve", "--port", str(port)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            try:
                status, catalog = get(base + "/api/catalog")
                break
            except (urllib.error.URLError, ConnectionError):
                assert server.poll() is None, server.stderr.read()
                assert time.monotonic() < deadline, "the server did not answer"
                time.sleep(0.2)
        assert status == 200 and "h200" in catalog["hardware"]
        status, body = get(base + "/api/speedup?model=llama-7b&hardware=h200&batch=1,16&candidates=1,16,64"
                                  "&seq_len=1024&acceptance=log:0.477")
        cli = run_specroof("speedup", "-m", "llama-7b", "-H", "h200", "--batch", "1,16", "--candidates", "1,16,64",
                           "--seq-len", "1024", "--acceptance", "log:0.477", "--format", "json")
        assert status == 200 and body == json.loads(cli.stdout)
        status, body = get(base + "/api/speedup?model=llama-7b&hardware=h2000")
        assert status == 400 and body["error"].startswith("unknown")
        taken = run_specroof("serve", "--port", str(port))
        assert taken.returncode == 2
        assert taken.stderr.startswith(f"error: cannot listen on 127.0.0.1:{port}") and "Traceback" not in taken.stderr
    finally:
        server.terminate()
        server.wait(timeout=30)
