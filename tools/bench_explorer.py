"""How long the explorer takes from a control change to the redrawn chart (a benchmark, not a test).

    python tools/bench_explorer.py                  # every control 10 times, default grid and 256 x 64
    python tools/bench_explorer.py --repeats 20 --no-large --json out.json

Serves the app in this process (uvicorn on a free loopback port) and drives the page with
Playwright in Debian's headless chromium (``/usr/bin/chromium``; nothing is downloaded). Each
interaction happens inside the page: note ``performance.now()``, set the control's value, fire
its ``input`` event as a user's edit would, and wait for the page's ``Plotly.react`` calls to
settle, plus one animation frame (the paint). The page is not changed for this: the benchmark
wraps ``Plotly.react`` after the page loaded, so it measures any version of the page, e.g. an
older checkout's (``PYTHONPATH=/tmp/old/src python tools/bench_explorer.py``).

Reported per control, median and 90th percentile in ms:

- ``chart``: input to the first chart (speedup vs candidates, at the top of the page) redrawn;
- ``all``: input to the last of the four charts redrawn;
- ``wait``: input to the ``/api/view`` request leaving the page (the debounce);
- ``server``: that request's round trip (the server computing and sending the view).

Timings depend on the machine and its load; nothing here gates anything.
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
CHARTS = ("speedup-chart", "heatmap-chart", "waterfall-chart", "roofline-chart")
LARGE_GRID = {"batch": "1:256:1", "candidates": "1:64:1"}
"""256 batch sizes x 64 candidate counts: 16,384 points, the large grid issue 17 asks about."""

CONTROLS: dict[str, list[str]] = {  # control name -> values cycled through (each one a valid state)
    "hardware": [],  # filled from the page's own menu
    "method": ["none", "draft", "heads", "draft"],
    "dtype": ["bf16", "fp8", ""],
    "objective": ["throughput", ""],
    "acceptance": [f"chain:{a / 100:.2f}" for a in range(70, 90)],
    "seq_len": [str(s) for s in range(1024, 8192, 512)],
    "focus_n": [str(n) for n in range(2, 9)],
}

WRAP_REACT = """() => {
  window.__drawn = {};
  const react = Plotly.react;
  Plotly.react = function (gd, ...rest) {
    const id = typeof gd === "string" ? gd : gd.id;
    const done = () => { window.__drawn[id] = performance.now(); };
    const out = react.call(this, gd, ...rest);
    Promise.resolve(out).then(done, done);
    return out;
  };
}"""

INTERACT = """async ([name, value, charts]) => {
  const el = document.querySelector(`#settings [name="${name}"]`);
  const t0 = performance.now();
  if (name === "reset") {
    document.getElementById("reset").click();
  } else {
    el.value = value;
    el.dispatchEvent(new Event("input", { bubbles: true }));
  }
  const frame = () => new Promise((r) => requestAnimationFrame(() => r()));
  const drawnAfter = (id) => (window.__drawn[id] || 0) > t0;
  const banner = document.getElementById("error");
  while (!charts.every(drawnAfter)) {
    if (performance.now() - t0 > 60000) throw new Error(`no redraw after setting ${name}=${value}`);
    if (!banner.hidden && !document.body.classList.contains("busy")) {
      throw new Error(`${name}=${value}: the page says ${banner.textContent}`);
    }
    await frame();
  }
  await frame();
  const painted = performance.now();
  const views = performance.getEntriesByType("resource").filter((e) => e.name.includes("/api/view?")
    && e.startTime >= t0);
  const last = views[views.length - 1];
  const times = charts.map((id) => window.__drawn[id] - t0);
  return { chart: times[0], all: Math.max(...times), painted: painted - t0,
           wait: last ? last.startTime - t0 : null, server: last ? last.responseEnd - last.startTime : null,
           requests: views.length };
}"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve() -> Iterator[str]:
    """The explorer app on a free loopback port, in a thread of this process."""
    import uvicorn

    from specroof.web.app import create_app

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the explorer server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def open_page(browser: Any, url: str) -> Any:
    """The page with its first view drawn and ``Plotly.react`` instrumented."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(60_000)
    page.goto(url)
    page.wait_for_function("document.querySelectorAll('.chart .main-svg').length >= 4")
    page.wait_for_function("document.getElementById('title').textContent !== 'Loading\u2026'")
    page.evaluate(WRAP_REACT)
    return page


def run_control(page: Any, name: str, values: list[str], repeats: int,
                grid: dict[str, str]) -> list[dict[str, Any]]:
    """``repeats`` changes of one control, cycling through its values, from the example's state on ``grid``."""
    page.evaluate(INTERACT, ["reset", "", list(CHARTS)])
    set_grid(page, grid)
    samples = []
    for i in range(repeats):
        samples.append(page.evaluate(INTERACT, [name, values[i % len(values)], list(CHARTS)]))
    return samples


def set_grid(page: Any, grid: dict[str, str]) -> None:
    for name, value in grid.items():
        page.evaluate(INTERACT, [name, value, list(CHARTS)])


def summary(samples: list[dict[str, Any]]) -> dict[str, Any]:
    """Median and 90th percentile of each timing, in ms."""
    out: dict[str, Any] = {"n": len(samples), "requests": sum(s["requests"] for s in samples)}
    for key in ("chart", "all", "wait", "server"):
        values = [s[key] for s in samples if s[key] is not None]
        if values:
            cuts = statistics.quantiles(values, n=10, method="inclusive") if len(values) > 1 else values * 9
            out[f"{key}_median_ms"] = statistics.median(values)
            out[f"{key}_p90_ms"] = cuts[8]
    return out


def bench(url: str, repeats: int, large: bool) -> dict[str, dict[str, Any]]:
    """Every control at the default grid, then (``large``) at the 256 x 64 grid."""
    from playwright.sync_api import sync_playwright

    results: dict[str, dict[str, Any]] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        page = open_page(browser, url)
        CONTROLS["hardware"] = page.eval_on_selector_all(
            "#settings [name=hardware] option", "os => os.map(o => o.value).filter(v => v).slice(0, 4)")
        for name, values in CONTROLS.items():
            results[f"default/{name}"] = summary(run_control(page, name, values, repeats, {}))
        if large:
            for name, values in CONTROLS.items():
                samples = run_control(page, name, values, max(2, repeats // 2), LARGE_GRID)
                results[f"256x64/{name}"] = summary(samples)
        browser.close()
    return results


def table(results: dict[str, dict[str, Any]]) -> str:
    keys = ("chart", "all", "wait", "server")
    head = f"{'interaction':<22}{'n':>4}" + "".join(f"{k + ' med':>12}{k + ' p90':>11}" for k in keys)
    lines = [head]
    for name, r in results.items():
        cells = "".join(f"{r.get(f'{k}_median_ms', float('nan')):>12.1f}{r.get(f'{k}_p90_ms', float('nan')):>11.1f}"
                        for k in keys)
        lines.append(f"{name:<22}{r['n']:>4}{cells}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10, help="changes per control at the default grid")
    parser.add_argument("--no-large", action="store_true", help="skip the 256 x 64 grid")
    parser.add_argument("--json", type=Path, help="also write the results here as JSON")
    args = parser.parse_args()
    if not CHROMIUM.exists():
        raise SystemExit(f"error: {CHROMIUM} not found (apt-get install -y chromium)")
    import specroof

    warnings.simplefilter("ignore")  # the server's warnings reach the page; here they are noise
    with serve() as url:
        results = bench(url, args.repeats, not args.no_large)
    print(f"specroof from {Path(specroof.__file__).parent}; ms, input -> redrawn (chart: the first chart, "
          "all: the four; wait: input -> request; server: request round trip)")
    print(table(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
