"""``specroof report``: one HTML file with its settings, charts, plan and caveat, loading nothing."""

from __future__ import annotations

import json
import re
import sys

import pytest

pytest.importorskip("plotly")

from tests.web.conftest import cli_json, run_cli  # noqa: E402


def figures_of(html: str) -> dict:
    match = re.search(r"<script type='application/json' id='figures'>(.*?)</script>", html, re.S)
    assert match, "the report embeds its figures"
    return json.loads(match.group(1).replace("<\\/", "</"))


def test_report_holds_charts_plan_and_caveat(tmp_path):
    out = tmp_path / "study.html"
    code, _, err = run_cli("report", "--scenario", "medusa-appendix-g", "--batch", "1,4,32", "-o", str(out))
    assert code == 0, err
    html = out.read_text()
    figures = figures_of(html)
    assert set(figures) == {"speedup", "heatmap", "waterfall", "roofline"}
    # the speedup chart draws the CLI's numbers
    records = cli_json("speedup", "--scenario", "medusa-appendix-g", "--batch", "1,4,32")
    batch1 = [r["speedup"] for r in records if r["batch"] == 1]
    line = next(t for t in figures["speedup"]["data"] if t["name"] == "batch 1")
    assert line["y"] == pytest.approx(batch1)
    assert "<table data-testid='plan-table'>" in html and html.count("<tr>") >= 4
    assert "absolute latencies are not physical" in html  # the profile's caveat
    assert "T_spec / T_plain" in html and "step (ms)" not in html
    assert "vllm serve" in html and "sglang.launch_server" in html
    assert "Plotly.newPlot" in html and len(html) > 1_000_000  # plotly.js inline


def test_report_loads_nothing_from_the_network(tmp_path):
    out = tmp_path / "study.html"
    code, _, err = run_cli("report", "-m", "llama-3-8b", "-H", "h200", "--batch", "1,8", "--candidates", "1:6:1",
                           "--acceptance", "chain:0.8", "--draft-model", "llama-3.2-1b", "-o", str(out))
    assert code == 0, err
    html = out.read_text()
    # plotly.js (inlined whole) mentions URLs in strings (map tiles, its logo link) that these
    # charts never use; opening the file in a browser requests nothing (test_browser.py checks it).
    library = re.search(r"<script id='plotly-js'>.*?</script>", html, re.S)
    assert library and len(library.group(0)) > 1_000_000
    html = html.replace(library.group(0), "")
    # no element fetches anything: no src/href/url() pointing outside the file
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", html, re.I)
    assert not re.search(r"""<link[^>]+rel=["']?stylesheet""", html, re.I)
    assert not re.search(r"@import|url\(\s*['\"]?https?:", html, re.I)
    assert "<script src" not in html
    assert "assumed log:0.477" not in html  # the acceptance was given
    assert "datasheet profile is a prior" in html  # the serving profile's accuracy caveat


def test_report_errors_are_one_line(tmp_path):
    code, _, err = run_cli("report", "-m", "llama-7b", "-H", "h200", "-o", str(tmp_path / "study.pdf"))
    assert code == 2 and err == f"error: report file '{tmp_path / 'study.pdf'}' must end in .html\n"
    code, _, err = run_cli("report", "-m", "llama-7b", "-H", "h200", "-o", str(tmp_path / "nowhere" / "s.html"))
    assert code == 2 and "does not exist" in err


def test_without_the_web_extra_the_report_is_one_error_line(tmp_path, monkeypatch):
    """On the core install (no Starlette, no plotly) ``specroof report`` says which extra it
    needs, exit 2, no traceback, no file."""
    for name in ["starlette", *[m for m in sys.modules if m.startswith("starlette.")]]:
        monkeypatch.setitem(sys.modules, name, None)  # what a core install's import finds
    for name in [m for m in sys.modules if m.startswith("specroof.web")]:
        monkeypatch.delitem(sys.modules, name)
    out = tmp_path / "r.html"
    result = run_cli("report", "--scenario", "medusa-appendix-g", "-o", str(out))
    assert result.code == 2 and not out.exists()
    assert result.stderr.strip() == "error: specroof report needs the web extra (starlette is missing): " \
                                    "pip install 'specroof[web]'"
