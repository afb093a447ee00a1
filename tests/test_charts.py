"""Charts: every plot function writes PNG and SVG files, each Figure shows what its titles and
labels name (series count, the data drawn equals the result); bad paths and points are user errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import specroof
from specroof import SpecroofError
from specroof.report import charts

FIGURE22 = Path(__file__).resolve().parents[1] / "src" / "specroof" / "scenarios" / "reference" / "medusa-appendix-g-figure-22.csv"
FIGURE21 = Path(__file__).resolve().parents[1] / "src" / "specroof" / "scenarios" / "reference" / "medusa-appendix-g-figure-21.csv"


def specroof_cmd() -> list[str]:
    script = Path(sys.executable).with_name("specroof")
    return [str(script)] if script.exists() else [sys.executable, "-c", "from specroof.cli import main; main()"]


def check_file(path: Path) -> None:
    data = path.read_bytes()
    assert len(data) > 1000
    if path.suffix == ".png":
        assert data.startswith(b"\x89PNG\r\n\x1a\n")
    else:
        assert b"<svg" in data[:2000]


@pytest.fixture(scope="module")
def grid_result():
    return specroof.speedup("llama-7b", "a100-80gb-pcie", [1, 4, 32], [1, 16, 64, 112], [1024],
                            profile="medusa-appendix-g")


@pytest.fixture(scope="module")
def seq_result():
    return specroof.speedup("llama-7b", "a100-80gb-pcie", [4], [1, 32, 80], [128, 1024, 8192],
                            profile="medusa-appendix-g")


@pytest.fixture(scope="module")
def draft_result():
    return specroof.speedup("llama-2-7b", "h200", [1, 8], [1, 3, 6], [2048], acceptance="chain:0.8",
                            draft_model="llama-68m")


@pytest.mark.parametrize("suffix", [".png", ".svg"])
def test_every_chart_writes_png_and_svg(tmp_path, grid_result, seq_result, draft_result, suffix):
    reference = charts.read_reference_csv(FIGURE22)
    written = [
        charts.plot_speedup_vs_candidates(grid_result, tmp_path / f"speedup{suffix}"),
        charts.plot_speedup_vs_candidates(grid_result, tmp_path / f"reference{suffix}", reference=reference),
        charts.plot_speedup_vs_candidates(seq_result, tmp_path / f"seq{suffix}"),
        charts.plot_figure21(grid_result, tmp_path / f"figure21{suffix}"),
        charts.plot_figure21(grid_result, tmp_path / f"figure21-ref{suffix}",
                             reference=charts.read_reference_csv(FIGURE21)),
        charts.plot_figure21(draft_result, tmp_path / f"figure21-draft{suffix}"),
        charts.plot_heatmap(grid_result, tmp_path / f"heatmap{suffix}"),
        charts.plot_roofline(grid_result.step, tmp_path / f"roofline{suffix}", point=(1, 2, 0)),
        charts.plot_roofline(specroof.latency("llama-2-70b", "h100-sxm", 16, 64, 1024, tp=4),
                             tmp_path / f"roofline-tp{suffix}"),
    ]
    for path in written:
        assert isinstance(path, Path) and path.parent == tmp_path
        check_file(path)


def _lines(ax):
    """The data lines of an axes (the dashed 1.0 reference has two points)."""
    return [line for line in ax.get_lines() if len(line.get_xdata()) > 2]


def test_speedup_figure_draws_one_line_per_batch_with_the_result(grid_result):
    fig = charts.speedup_figure(grid_result)
    ax = fig.axes[0]
    lines = _lines(ax)
    assert [line.get_label() for line in lines] == ["1", "4", "32"]
    for i, line in enumerate(lines):
        assert np.array_equal(line.get_xdata(), grid_result.candidates)
        assert np.allclose(line.get_ydata(), grid_result.speedup[i, :, 0])
    assert "speedup" in ax.get_ylabel() and "candidate" in ax.get_xlabel()
    assert ax.get_legend().get_title().get_text() == "batch size"
    assert "llama-7b" in fig._suptitle.get_text() and "seq_len 1,024" in fig._suptitle.get_text()
    assert "profile medusa-appendix-g" in ax.get_title()


def test_speedup_figure_by_context_length_and_reference(seq_result, grid_result):
    ax = charts.speedup_figure(seq_result).axes[0]
    lines = _lines(ax)
    assert [line.get_label() for line in lines] == ["128", "1,024", "8,192"]
    assert np.allclose(lines[2].get_ydata(), seq_result.speedup[0, :, 2])
    assert ax.get_legend().get_title().get_text() == "context length"
    reference = charts.read_reference_csv(FIGURE22)
    ax = charts.speedup_figure(grid_result, reference).axes[0]
    drawn = sum(len(c.get_offsets()) for c in ax.collections)
    batches = {int(float(r["batch"])) for r in reference}
    expected = [r for r in reference if int(float(r["batch"])) in {1, 4, 32}
                and int(float(r.get("seq_len") or 1024)) == 1024]
    assert drawn == len(expected) > 0, (drawn, batches)
    assert "published (paper)" in [t.get_text() for t in ax.get_legend().get_texts()]


def test_heatmap_figure_shows_the_speedup_grid(grid_result):
    fig = charts.heatmap_figure(grid_result)
    ax = fig.axes[0]
    assert np.allclose(ax.get_images()[0].get_array(), grid_result.speedup[:, :, 0])
    assert ax.get_ylabel() == "batch size" and "candidate" in ax.get_xlabel()
    assert [t.get_text() for t in ax.get_xticklabels()] == [str(c) for c in grid_result.candidates]
    cells = [t.get_text() for t in ax.texts]
    assert cells == [f"{v:.2f}" for v in grid_result.speedup[:, :, 0].ravel()]
    assert len(ax.patches) == len(grid_result.batch)  # the best n of each batch outlined


def test_figure21_figure_splits_the_step_by_operation(grid_result, draft_result):
    from specroof.report.charts.figure21 import step_parts

    fig = charts.figure21_figure(grid_result)
    left, right = fig.axes[:2]
    tau, speed = _lines(left)
    assert np.allclose(tau.get_ydata(), grid_result.acceptance_length[0, :, 0])
    assert np.allclose(speed.get_ydata(), grid_result.speedup[0, :, 0])
    parts = step_parts(grid_result, 0)
    assert len(right.containers) == len(parts) > 2
    heights = sum(np.array([bar.get_height() for bar in c]) for c in right.containers)
    # the stack is the speculative step over the plain one
    assert np.allclose(heights, grid_result.latency_ms[0, :, 0] / grid_result.ar_latency_ms[0, :, 0])
    assert [t.get_text() for t in right.texts] == [f"{h:.2f}" for h in heights]
    assert right.get_ylabel() == "latency / plain decoding step"
    draft_parts = step_parts(draft_result, 0)
    assert "drafting" in draft_parts and len(charts.figure21_figure(draft_result).axes[1].containers) == len(draft_parts)


def test_roofline_figure_places_every_operation(grid_result):
    from specroof.report.charts.roofline import roof_points

    step = grid_result.step
    fig = charts.roofline_figure(step, (1, 2, 0))
    ax = fig.axes[0]
    points = roof_points(step, 1, 2, 0)
    assert len(ax.collections) == len(points) + 1  # and the whole step's star
    for collection, p in zip(ax.collections, points):
        x, y = collection.get_offsets()[0]
        assert np.isclose(x, p.intensity) and np.isclose(y, p.achieved_flops / 1e12)
        assert collection.get_label().startswith(p.op.replace("_", " "))
    assert ax.get_xscale() == "log" and "intensity" in ax.get_xlabel()
    assert "batch 4, 64 candidates" in ax.get_title()


def test_validation_and_waterfall_figures(measurements):
    from specroof.calibration.validate import validate
    from specroof.report.waterfall import waterfall_bars, waterfall_figure
    from specroof.speculation.explain import explain

    result = validate(measurements / "h200-llama-7b-calibration.jsonl", "h200")
    ax = charts.validation_figure(result, hardware="NVIDIA H200", profile="pytorch-sdpa").axes[0]
    drawn = [c for c in ax.collections if c.get_label() == "llama-7b"]
    assert len(drawn) == 1 and len(drawn[0].get_offsets()) == len(result.points)
    assert np.allclose(drawn[0].get_offsets()[:, 1], [p["predicted_ms"] for p in result.points])
    assert "NVIDIA H200" in ax.get_title() and "profile pytorch-sdpa" in ax.get_title()
    e = explain("llama-7b", "h200", 4, 16, 1024)
    ax = waterfall_figure(e).axes[0]
    labels, _, heights, _, _ = waterfall_bars(e)
    assert [t.get_text() for t in ax.get_xticklabels()] == labels
    assert np.allclose([p.get_height() for p in ax.patches], heights)
    assert heights[0] == e.tau and heights[-1] == e.speedup


def test_single_point_and_large_grids_plot(tmp_path):
    one = specroof.speedup("llama-7b", "h200", 1, 1, 1024)
    for plot in (charts.plot_speedup_vs_candidates, charts.plot_figure21, charts.plot_heatmap):
        check_file(plot(one, tmp_path / f"{plot.__name__}.png"))
    big = specroof.speedup("llama-7b", "h200", list(range(1, 41)), list(range(1, 41)), 1024)
    check_file(charts.plot_heatmap(big, tmp_path / "big.png"))


@pytest.mark.parametrize("name", ["chart.xyz", "chart", "chart.png.txt"])
def test_unsupported_extension_is_an_error(tmp_path, grid_result, name):
    with pytest.raises(SpecroofError, match=r"\.png or \.svg"):
        charts.plot_heatmap(grid_result, tmp_path / name)
    assert not (tmp_path / name).exists()


def test_missing_folder_is_an_error(tmp_path, grid_result):
    with pytest.raises(SpecroofError, match="does not exist"):
        charts.plot_speedup_vs_candidates(grid_result, tmp_path / "no" / "chart.png")


def test_roofline_point_outside_the_grid(tmp_path, grid_result):
    with pytest.raises(SpecroofError, match="outside the grid"):
        charts.plot_roofline(grid_result.step, tmp_path / "r.png", point=(3, 0, 0))


def test_reference_csv_errors(tmp_path, grid_result):
    with pytest.raises(SpecroofError, match="not found"):
        charts.read_reference_csv(tmp_path / "missing.csv")
    empty = tmp_path / "empty.csv"
    empty.write_text("# only a comment\n")
    with pytest.raises(SpecroofError, match="no data"):
        charts.read_reference_csv(empty)
    with pytest.raises(SpecroofError, match="not a number"):
        charts.plot_speedup_vs_candidates(grid_result, tmp_path / "x.png",
                                          reference=[{"batch": "1", "candidates": "16", "speedup": "fast"}])


def test_charts_module_does_not_import_matplotlib():
    code = "import sys, specroof.report.charts, specroof.cli.speedup_cmd; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_cli_plot_writes_the_chart(tmp_path):
    for chart in ("speedup", "heatmap", "figure21", "roofline"):
        path = tmp_path / f"{chart}.png"
        proc = subprocess.run([*specroof_cmd(), "speedup", "-m", "llama-7b", "-H", "h200", "--batch", "1,8",
                               "--candidates", "1,16", "--chart", chart, "--plot", str(path), "--format", "csv"],
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        assert str(path) in proc.stderr and chart in proc.stderr
        assert proc.stdout.startswith("model,")  # the chart message stays off stdout
        check_file(path)
    svg = tmp_path / "figure22.svg"
    proc = subprocess.run([*specroof_cmd(), "speedup", "--scenario", "medusa-appendix-g", "--plot", str(svg),
                           "--reference", str(FIGURE22)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    check_file(svg)


def test_cli_unsupported_plot_extension_exits_2(tmp_path):
    target = tmp_path / "file.xyz"
    proc = subprocess.run([*specroof_cmd(), "speedup", "--scenario", "medusa-appendix-g", "--plot", str(target)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("error: ") and ".xyz" in proc.stderr
    assert proc.stdout == "" and not target.exists()


def test_no_package_module_draws_through_pyplot():
    """Charts use the Figure API: pyplot keeps global figures and may open a window."""
    import ast

    package = Path(specroof.__file__).parent
    users = []
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [f"{node.module}.{a.name}" for a in node.names] if isinstance(node, ast.ImportFrom) and node.module
                else [])
            if any(n.startswith("matplotlib.pyplot") for n in names):
                users.append(path.relative_to(package).as_posix())
    assert users == []
