"""Charts: every plot function writes PNG and SVG files; bad paths and points are user errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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
