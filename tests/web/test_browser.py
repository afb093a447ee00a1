"""The explorer and the report in a real browser: Playwright driving Debian's headless chromium.

Skips when playwright or /usr/bin/chromium is missing (``.ci/run`` installs both); playwright
never downloads a browser here. Waits are on conditions (what the page shows), with long
limits, never on elapsed time. Screenshots of every view go to $SPECROOF_SCREENSHOTS (default
a folder under the system temp dir), outside the repository.
"""

from __future__ import annotations

import os
import socket
import tempfile
import threading
import time
from pathlib import Path

import pytest

sync_api = pytest.importorskip("playwright.sync_api")
uvicorn = pytest.importorskip("uvicorn")
pytest.importorskip("starlette")
pytest.importorskip("plotly")

CHROMIUM = Path("/usr/bin/chromium")
if not CHROMIUM.exists():
    pytest.skip("Debian's chromium is not installed (apt-get install -y chromium)", allow_module_level=True)

from specroof.web.app import create_app  # noqa: E402

WAIT_MS = 60_000
SHOTS = Path(os.environ.get("SPECROOF_SCREENSHOTS", Path(tempfile.gettempdir()) / "specroof-screenshots"))
VIEWS = ("speedup", "heatmap", "plan", "waterfall", "roofline")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = create_app(upload_dir=tmp_path_factory.mktemp("uploads"))
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not srv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the explorer server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture()
def page(browser, server):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server)
    pg = context.new_page()
    pg.set_default_timeout(WAIT_MS)
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.errors = errors
    outside: list[str] = []
    pg.on("request", lambda r: outside.append(r.url) if not r.url.startswith((server, "data:")) else None)
    pg.outside = outside
    yield pg
    context.close()


def plan_rows(pg) -> list[dict[str, str]]:
    return pg.eval_on_selector_all(
        "[data-testid=plan-table] tbody tr",
        "rows => rows.map(r => Object.fromEntries([...r.cells].map(c => [c.dataset.column, c.textContent])))")


def chart_series(pg) -> list[str]:
    """The speedup chart's lines (the shaded error bands, ``band: ...``, left out)."""
    names = pg.evaluate("document.querySelector('[data-testid=speedup-chart]').data.map(t => t.name)")
    return [n for n in names if not n.startswith("band: ")]


def settle(pg, expected_query_part: str) -> None:
    """Wait until the URL holds the new state and the page drew the answer to it."""
    pg.wait_for_function("part => decodeURIComponent(location.search).includes(part)", arg=expected_query_part)
    pg.wait_for_function("() => !document.body.classList.contains('busy')")


def test_explorer_draws_updates_and_copies(page, server):
    pg = page
    pg.goto(server + "/")
    pg.wait_for_selector("[data-testid=speedup-chart] svg.main-svg")
    pg.wait_for_selector("[data-testid=plan-table] tbody tr")
    assert "model=llama-3-8b" in pg.url  # the example's state is in the address bar
    assert chart_series(pg) == ["batch 1", "batch 4", "batch 16", "batch 64"]
    assert [r["batch"] for r in plan_rows(pg)] == ["1", "4", "16", "64"]
    header = pg.inner_text("[data-testid=plan-table] thead")
    assert "speedup (×)" in header and "memory (GB)" in header
    SHOTS.mkdir(parents=True, exist_ok=True)
    for view in VIEWS:
        pg.locator(f"#view-{view}").screenshot(path=str(SHOTS / f"explorer-{view}.png"))

    # change the batch sizes: chart series and plan rows follow
    pg.fill("[data-testid=batch]", "2,8,128")
    settle(pg, "batch=2,8,128")
    pg.wait_for_function("() => document.querySelectorAll('[data-testid=plan-table] tbody tr').length === 3")
    assert chart_series(pg) == ["batch 2", "batch 8", "batch 128"]
    assert [r["batch"] for r in plan_rows(pg)] == ["2", "8", "128"]

    # change the method: the plan and its export follow
    draft_speedups = [r["speedup"] for r in plan_rows(pg)]
    assert '"method": "draft_model"' in pg.inner_text("[data-testid=export-text]")
    pg.select_option("[data-testid=method]", "none")
    settle(pg, "method=none")
    pg.wait_for_function("() => document.querySelector('[data-testid=export-text]').textContent.includes('ngram')")
    assert "draft_model=" not in pg.url  # the draft model does not apply to this method
    free_speedups = [r["speedup"] for r in plan_rows(pg)]
    assert all(float(f) >= float(d) for f, d in zip(free_speedups, draft_speedups))  # free drafts cost nothing
    assert free_speedups != draft_speedups

    # copy an export
    pg.click("[data-engine=sglang]")
    shown = pg.inner_text("[data-testid=export-text]")
    assert "sglang.launch_server" in shown
    pg.click("[data-testid=copy-export]")
    pg.wait_for_function("() => document.querySelector('[data-testid=copy-status]').textContent === 'copied'")
    assert pg.evaluate("navigator.clipboard.readText()") == pg.evaluate(
        "document.querySelector('[data-testid=export-text]').textContent")

    # the URL is the view: opening it elsewhere shows the same state
    shared = pg.url
    other = pg.context.new_page()
    other.goto(shared)
    other.wait_for_selector("[data-testid=plan-table] tbody tr")
    other.wait_for_function("() => document.querySelectorAll('[data-testid=plan-table] tbody tr').length === 3")
    assert other.input_value("[data-testid=batch]") == "2,8,128"
    assert other.input_value("[data-testid=method]") == "none"
    assert [r["speedup"] for r in plan_rows(other)] == free_speedups
    other.close()
    assert pg.errors == [] and pg.outside == []


def test_each_method_shows_only_its_own_options(page, server):
    """EAGLE-3 offers a tree and a draft vocabulary, n-gram a proposal rate, and nothing else;
    the chosen method's options reach the URL and the plan's export."""
    pg = page
    pg.goto(server + "/?model=llama-3.1-8b&hardware=h100-sxm&method=eagle3&acceptance=chain:0.7&batch=1,8")
    pg.wait_for_selector("[data-testid=plan-table] tbody tr")
    shown = lambda: {n for n in ("draft_model", "heads", "tree", "draft_vocab", "proposal_rate")  # noqa: E731
                     if pg.is_visible(f"input[name={n}]")}
    assert shown() == {"tree", "draft_vocab"}
    pg.select_option("[data-testid=method]", "ngram")
    pg.fill("input[name=proposal_rate]", "0.5")
    settle(pg, "proposal_rate=0.5")
    assert shown() == {"proposal_rate"}
    assert '"method": "ngram"' in pg.inner_text("#export-text")
    assert pg.errors == []


def test_bad_input_shows_the_error_and_keeps_the_page(page, server):
    pg = page
    pg.goto(server + "/?model=llama-7b&hardware=h200&batch=1,8")
    pg.wait_for_selector("[data-testid=plan-table] tbody tr")
    pg.fill("[data-testid=batch]", "1,zero")
    banner = pg.locator("[data-testid=error-banner]")
    banner.wait_for(state="visible")
    assert "--batch: 'zero' is not a number" in banner.inner_text()
    assert pg.locator("[data-testid=speedup-chart] svg.main-svg").count() >= 1
    pg.fill("[data-testid=batch]", "1,4")
    banner.wait_for(state="hidden")
    assert pg.errors == []


def test_scenario_view_shows_ratios_and_the_caveat(page, server):
    pg = page
    pg.goto(server + "/")
    pg.wait_for_selector("[data-testid=plan-table] tbody tr")
    pg.select_option("[data-testid=scenario]", "medusa-appendix-g")  # the scenario replaces the example
    settle(pg, "scenario=medusa-appendix-g")
    pg.wait_for_function("() => document.getElementById('title').textContent.startsWith('[medusa-appendix-g]')")
    assert pg.input_value("[data-testid=model]") == "" and "model=" not in pg.url
    pg.fill("[data-testid=batch]", "1,4,32")
    settle(pg, "batch=1,4,32")
    pg.wait_for_function("() => document.querySelectorAll('[data-testid=plan-table] tbody tr').length === 3")
    assert "not physical" in pg.inner_text("[data-testid=caveat]")
    header = pg.inner_text("[data-testid=plan-table] thead")
    assert "T_spec / T_plain" in header and "step (ms)" not in header
    SHOTS.mkdir(parents=True, exist_ok=True)
    pg.screenshot(path=str(SHOTS / "explorer-scenario.png"), full_page=True)


def test_report_opens_offline(browser, tmp_path):
    from click.testing import CliRunner

    from specroof.cli import cli

    out = tmp_path / "study.html"
    result = CliRunner().invoke(cli, ["report", "--scenario", "medusa-appendix-g", "-o", str(out)])
    assert result.exit_code == 0, result.output
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    pg = context.new_page()
    pg.set_default_timeout(WAIT_MS)
    requests: list[str] = []
    pg.on("request", lambda r: requests.append(r.url))
    pg.goto(out.as_uri())
    for name in ("speedup", "heatmap", "waterfall", "roofline"):
        pg.wait_for_selector(f"[data-testid={name}-chart] svg.main-svg")
    assert pg.locator("[data-testid=plan-table] tbody tr").count() == 7
    assert requests == [out.as_uri()]  # nothing else was loaded
    SHOTS.mkdir(parents=True, exist_ok=True)
    pg.screenshot(path=str(SHOTS / "report.png"), full_page=True)
    context.close()


def test_heatmap_click_explains_that_point(page, server):
    pg = page
    pg.goto(server + "/")
    pg.wait_for_selector("[data-testid=waterfall-chart] svg.main-svg")
    pg.wait_for_function("() => !!document.getElementById('heatmap-chart').emit")
    # a click on the cell (batch 16, n = 6), as Plotly reports it
    pg.evaluate("document.getElementById('heatmap-chart').emit('plotly_click', {points: [{x: '6', y: '16'}]})")
    settle(pg, "focus_n=6")
    title = "document.querySelector('[data-testid=waterfall-chart]').layout.title.text"
    pg.wait_for_function(f"() => {title}.includes('batch 16, n = 6,')")
    roofline = "document.querySelector('[data-testid=roofline-chart]').layout.title.text"
    pg.wait_for_function(f"() => {roofline}.includes('batch 16, n = 6 (96 tokens)')")  # drawn a frame later
    assert pg.input_value("[data-testid=focus-batch]") == "16"
    assert pg.errors == []


FETCH_ANSWER = """async () => {  // the server's answer to the state in the address bar
  window.expected = await (await fetch("/api/view" + location.search)).json();
}"""
DRAWN_IS_ANSWER = """() => ["speedup", "heatmap", "waterfall", "roofline"].every((name) => {
  const drawn = document.getElementById(name + "-chart");
  const want = window.expected.figures[name];
  return drawn.layout && drawn.layout.title.text === want.layout.title.text
    && JSON.stringify(drawn.data.map((t) => t.y)) === JSON.stringify(want.data.map((t) => t.y));
})"""


def drawn_is_answer(pg) -> None:
    """Wait until every chart shows the server's answer to the page's current state."""
    pg.evaluate(FETCH_ANSWER)
    pg.wait_for_function(DRAWN_IS_ANSWER)


def test_a_menu_change_asks_once_and_a_burst_draws_its_last_state(page, server):
    """A menu choice sends one request; after a burst of changes (menus and typing, faster than
    the answers), every chart shows the answer to the last state, not an older one."""
    pg = page
    pg.goto(server + "/?model=llama-3-8b&hardware=h200&method=none&acceptance=chain:0.8&batch=1,4")
    pg.wait_for_selector("[data-testid=plan-table] tbody tr")
    drawn_is_answer(pg)
    views: list[str] = []
    pg.on("request", lambda r: views.append(r.url) if "/api/view?" in r.url else None)
    pg.select_option("[data-testid=hardware]", "a100-80gb-sxm")
    settle(pg, "hardware=a100-80gb-sxm")
    assert len(views) == 1

    pg.evaluate("""() => {
      const form = document.getElementById("settings");
      for (const hw of ["b200", "h200", "a100-80gb-sxm", "h200"]) {
        form.hardware.value = hw;
        form.hardware.dispatchEvent(new Event("input", { bubbles: true }));
      }
    }""")
    pg.fill("[data-testid=seq-len]", "")
    pg.type("[data-testid=seq-len]", "2048")
    settle(pg, "seq_len=2048")
    assert "hardware=h200" in pg.url
    drawn_is_answer(pg)
    assert "seq_len 2,048" in pg.evaluate("document.getElementById('heatmap-chart').layout.title.text")
    assert pg.errors == []


LOAD_CHART = "document.querySelector('[data-testid=load-chart]')"


def test_load_view_draws_the_metric_against_rate_with_the_slo(page, server):
    """The load view runs when asked, draws one line per configuration and the SLO bound, follows
    a metric change and a bad rate (one error line in its section), and its URL reopens it."""
    pg = page
    pg.goto(server + "/?model=llama-3-8b&hardware=h200&method=draft&draft_model=llama-3.2-1b&acceptance=chain:0.8"
            "&batch=1,4&rate=1,4&requests=12&k=2&osl=64&slo=ttft=2s,tpot=4ms")
    pg.wait_for_selector("[data-testid=plan-table] tbody tr")
    assert pg.locator("[data-testid=load-chart] svg.main-svg").count() == 0  # a sweep runs on request only
    pg.click("[data-testid=load-run]")
    pg.wait_for_selector("[data-testid=load-chart] svg.main-svg")
    assert "load=1" in pg.url
    assert pg.evaluate(f"{LOAD_CHART}.data.map(t => t.name)") == ["no speculation", "K=2"]
    assert pg.evaluate(f"{LOAD_CHART}.data[0].x") == [1, 4]
    assert pg.evaluate(f"{LOAD_CHART}.layout.shapes.map(s => s.y0)") == [4]  # the TPOT bound, in ms
    assert "TPOT p50" in pg.evaluate(f"{LOAD_CHART}.layout.yaxis.title.text")
    SHOTS.mkdir(parents=True, exist_ok=True)
    pg.locator("#view-load").screenshot(path=str(SHOTS / "explorer-load.png"))

    pg.select_option("[data-testid=load-metric]", "output_tok_s")
    pg.wait_for_function(f"() => {LOAD_CHART}.layout.yaxis.title.text.includes('tokens/s')")
    assert pg.evaluate(f"{LOAD_CHART}.layout.shapes.length") == 0

    pg.fill("[data-testid=load-rate]", "-1")
    error = pg.locator("[data-testid=load-error]")
    error.wait_for(state="visible")
    assert "request rates must be positive" in error.inner_text()
    pg.fill("[data-testid=load-rate]", "2,4")
    error.wait_for(state="hidden")
    pg.wait_for_function(f"() => JSON.stringify({LOAD_CHART}.data[0].x) === '[2,4]'")

    other = pg.context.new_page()
    other.goto(pg.url)
    other.wait_for_selector("[data-testid=load-chart] svg.main-svg")
    assert other.evaluate(f"{LOAD_CHART}.data[0].x") == [2, 4]
    other.close()
    assert pg.errors == [] and pg.outside == []
