"""The explorer as it runs: ``specroof serve --port 0`` in its own process, probed with httpx
over real sockets and with a real browser (Playwright driving Debian's chromium) from a
foreign origin and through a DNS-rebinding name.

Network: everything talks to 127.0.0.1 only. The rebinding name ``rebind.test`` is mapped to
127.0.0.1 inside chromium (``--host-resolver-rules``), so no resolver is asked; the foreign
page is served by a second local server on another port, which is another origin. Every
wait is bounded (a deadline, never a sleep asserted on). Memory is the server's peak RSS
(``VmHWM`` from /proc), compared before and after, with a bound far below the body's size.
"""

from __future__ import annotations

import http.server
import os
import re
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("uvicorn")
pytest.importorskip("starlette")
pytest.importorskip("plotly")

from support import specroof_script  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")
START_SECONDS = 120
CURVE = b"candidates,acceptance_length\n1,1\n4,2.5\n8,3.1\n"
BIG_BYTES = 50 * 2**20
"""The oversized upload: 25x the 2 MB limit, so reading it whole would show in the peak RSS."""
MEMORY_BOUND_BYTES = 16 * 2**20


class Server:
    """``specroof serve --port 0`` with its own temporary folder (TMPDIR), stopped like Ctrl+C/kill would."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        env = {**os.environ, "TMPDIR": str(tmp)}
        self.log = tmp / "serve.err"  # a file, not a pipe: nothing the server writes can block it
        with open(self.log, "w") as err:
            self.proc = subprocess.Popen([specroof_script(), "serve", "--host", "127.0.0.1", "--port", "0"],
                                         stdout=subprocess.DEVNULL, stderr=err, env=env)
        deadline = time.monotonic() + START_SECONDS
        while "http://" not in self.log.read_text() and self.proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        self.announced = (self.log.read_text().splitlines() or [""])[0]  # the first line names the address
        match = re.search(r"http://127\.0\.0\.1:(\d+)\b", self.announced)
        if match is None:
            self.stop()
            pytest.fail(f"serve announced no address: {self.log.read_text()[-2000:]!r}")
        self.port = int(match.group(1))
        self.base = f"http://127.0.0.1:{self.port}"
        while True:
            try:
                httpx.get(self.base + "/api/catalog", timeout=30)
                break
            except httpx.TransportError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    pytest.fail("the server did not answer")
                time.sleep(0.1)

    def uploads(self) -> list[Path]:
        """The files in the server's uploads folder(s) (under its TMPDIR)."""
        return [p for folder in self.tmp.glob("specroof-uploads-*") for p in folder.iterdir()]

    def peak_rss_bytes(self) -> int:
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) * 1024

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)
        return self.proc.returncode


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = Server(tmp_path_factory.mktemp("serve-tmp"))
    yield srv
    srv.stop()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "term"])
def test_port_0_is_announced_as_bound_and_the_uploads_folder_goes_with_the_server(tmp_path, sig):
    srv = Server(tmp_path)
    assert srv.port != 0 and srv.announced.startswith(f"specroof explorer on http://127.0.0.1:{srv.port} ")
    catalog = httpx.get(srv.base + "/api/catalog", timeout=30)
    assert catalog.status_code == 200 and "h200" in catalog.json()["hardware"]
    token = httpx.post(srv.base + "/api/upload?kind=curve", content=CURVE, timeout=30).json()["token"]
    assert [p.name for p in srv.uploads()] == [token.removeprefix("upload:")]
    srv.stop(sig)
    assert list(tmp_path.glob("specroof-uploads-*")) == []


@pytest.mark.parametrize("host", ["evil.example", "rebind.test", "127.0.0.1.nip.io", "localhost.evil.example"])
def test_a_foreign_host_over_a_real_socket_is_refused(server, host):
    for path in ("/", "/api/catalog", "/api/speedup?model=llama-7b&hardware=h200"):
        answer = httpx.get(server.base + path, headers={"host": f"{host}:{server.port}"}, timeout=30)
        assert answer.status_code == 403 and "Host" in answer.json()["error"]
    own = httpx.get(f"http://localhost:{server.port}/api/catalog", timeout=30)
    assert own.status_code == 200
    other_port = httpx.get(server.base + "/api/catalog", headers={"host": f"127.0.0.1:{server.port + 1}"}, timeout=30)
    assert other_port.status_code == 403


def test_a_cross_origin_upload_over_a_real_socket_stores_nothing(server):
    before = server.uploads()
    for origin in ("http://evil.example", f"http://127.0.0.1:{server.port + 1}", "null"):
        answer = httpx.post(server.base + "/api/upload?kind=curve", content=CURVE + origin.encode(),
                            headers={"origin": origin}, timeout=30)
        assert answer.status_code == 403
    assert server.uploads() == before


def test_a_server_path_in_a_query_cannot_be_probed(server):
    exists = httpx.get(server.base + "/api/speedup", params={"model": "/etc/passwd", "hardware": "h200"}, timeout=30)
    missing = httpx.get(server.base + "/api/speedup", params={"model": "/etc/no-such-file", "hardware": "h200"},
                        timeout=30)
    assert exists.status_code == missing.status_code == 400 and exists.content == missing.content


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the server's peak RSS from /proc")
@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_an_oversized_upload_is_refused_without_the_body_in_memory(server, framing):
    chunk = b" " * 2**20

    def body():
        for _ in range(BIG_BYTES // len(chunk)):
            yield chunk

    headers = {"content-length": str(BIG_BYTES)} if framing == "content-length" else {}
    peak = server.peak_rss_bytes()
    try:
        answer = httpx.post(server.base + "/api/upload?kind=model", content=body(), headers=headers, timeout=120)
        assert answer.status_code == 413 and "2,000,000" in answer.json()["error"]
    except (httpx.WriteError, httpx.RemoteProtocolError, httpx.ReadError):
        pass  # the server may close the connection before the client has sent everything: also a refusal
    grown = server.peak_rss_bytes() - peak
    assert grown < MEMORY_BOUND_BYTES, f"peak RSS grew {grown / 2**20:.0f} MiB for a {BIG_BYTES / 2**20:.0f} MiB body"
    assert [p for p in server.uploads() if p.stat().st_size > 2_000_000] == []
    assert httpx.get(server.base + "/api/catalog", timeout=30).status_code == 200


def test_repeated_parameters_nan_and_long_errors_over_a_real_socket(server):
    twice = httpx.get(server.base + "/api/speedup?model=llama-7b&hardware=h200&tp=1&tp=2", timeout=30)
    assert twice.status_code == 400 and "'tp' is given 2 times" in twice.json()["error"]
    long = httpx.get(server.base + "/api/speedup", params={"model": "x" * 20000, "hardware": "h200"}, timeout=30)
    assert long.status_code == 400 and len(long.json()["error"]) <= 300
    assert "NaN" not in httpx.get(server.base + "/api/view", params={"model": "llama-7b", "hardware": "h200"},
                                  timeout=60).text


# ------------------------------------------------------------------------- in a browser

FOREIGN_PAGE = """<!doctype html><title>somewhere else</title>
<form id="f" method="post" enctype="text/plain" action="{target}/api/upload?kind=curve">
<input name="candidates,acceptance_length&#10;1,1&#10;4,2.5&#10;#" value="x"></form>"""


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM),
                              args=["--no-sandbox", "--host-resolver-rules=MAP rebind.test 127.0.0.1"])
        yield b
        b.close()


@pytest.fixture(scope="module")
def foreign(server, tmp_path_factory):
    """Another origin (127.0.0.1 on another port) serving a page that posts to the explorer."""
    folder = tmp_path_factory.mktemp("foreign")
    (folder / "index.html").write_text(FOREIGN_PAGE.format(target=server.base))

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(folder), **kwargs)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_a_rebound_name_gets_no_page_and_no_api(server, browser):
    page = browser.new_page()
    try:
        answer = page.goto(f"http://rebind.test:{server.port}/", timeout=60_000)
        assert answer.status == 403 and "Host" in answer.json()["error"]
        assert page.locator('[data-testid="speedup-chart"]').count() == 0
        api = page.evaluate("fetch('/api/catalog').then(r => r.status)")  # same origin as the rebound page
        assert api == 403
    finally:
        page.close()


def test_a_foreign_page_cannot_upload_by_form_or_fetch(server, browser, foreign):
    before = server.uploads()
    page = browser.new_page()
    try:
        page.goto(foreign + "/index.html", timeout=60_000)
        with page.expect_navigation(timeout=60_000) as navigation:
            page.evaluate("document.getElementById('f').submit()")
        assert navigation.value.status == 403  # the explorer's refusal, shown in place of the foreign page
        page.goto(foreign + "/index.html", timeout=60_000)
        outcome = page.evaluate(f"""fetch('{server.base}/api/upload?kind=curve', {{method: 'POST', mode: 'no-cors',
            body: 'candidates,acceptance_length\\n1,1\\n4,2\\n'}}).then(r => r.type, e => 'blocked: ' + e)""")
        assert outcome in ("opaque",) or outcome.startswith("blocked")
    finally:
        page.close()
    assert server.uploads() == before


def test_the_explorers_own_page_still_uploads(server, browser):
    page = browser.new_page()
    try:
        page.goto(server.base + "/", timeout=60_000)
        answer = page.evaluate("""fetch('/api/upload?kind=curve', {method: 'POST',
            body: 'candidates,acceptance_length\\n1,1\\n4,2.5\\n8,3.1\\n'}).then(r => r.json())""")
        assert answer["token"].startswith("upload:") and answer["token"].endswith(".csv")
    finally:
        page.close()
