"""Read the end-to-end speedups of SpecDecode-Bench's Figures 1 and 2 from their vector PDFs.

The project page repository (https://github.com/SpecDecode-Bench/specdecode-bench.github.io)
ships each figure as ``assets/img/figN.pdf`` next to the PNG. The PDFs are vector drawings
(matplotlib output): every marker is a filled path whose centre is the plotted point, and
every gridline is a grey stroke. This script takes marker centres and gridline positions
from the drawing and converts them with each panel's own linear axis, so the readings do
not depend on eyesight or image resolution.

What is read by eye: the tick LABELS (the PDF draws glyphs as outlines, not text), i.e.
which value each gridline stands for. They are listed in ``Y_TICKS`` below, per panel, as
printed on the PNG; the script checks that the gridlines it finds match that count and are
evenly spaced, and that the x gridlines are the printed 1, 16, 64, 128 on a linear axis.

Needs PyMuPDF (``pip install pymupdf``; not a specroof dependency). Usage::

    python benchmarks/validation/read_figures.py FIG1.pdf FIG2.pdf > readings.csv

Output: one CSV row per marker: figure, panel, series, batch, speedup (4 decimals), and the
largest residual of the panel's axis fit in value units (a check of the tick mapping).
"""

from __future__ import annotations

import csv
import sys
from collections import defaultdict

import numpy as np

try:
    import pymupdf
except ImportError:  # pragma: no cover
    raise SystemExit("read_figures.py needs PyMuPDF: pip install pymupdf")

X_TICKS = [1, 16, 64, 128]
FIVE = [1.0, 1.25, 1.5, 1.75, 2.0]
Y_TICKS = {  # printed tick labels, bottom to top, panels in reading order (a), (b), ...
    "fig1": [FIVE, FIVE, FIVE, FIVE,
             [1.0, 1.5, 2.0], FIVE, FIVE, [1.0, 1.5, 2.0, 2.5],
             FIVE, FIVE, FIVE, [1.0, 1.5, 2.0, 2.5]],
    "fig2": [[0.5, 1.0, 1.5, 2.0]] * 7 + [[0.5, 1.0, 1.5, 2.0, 2.5]],
}
# (rgb fill, number of path items) -> series, as in each figure's legend
BLUE, ORANGE, GREEN, PURPLE = (0.122, 0.467, 0.706), (1.0, 0.498, 0.055), (0.173, 0.627, 0.173), (0.58, 0.404, 0.741)
PINK, RED = (0.89, 0.467, 0.761), (0.839, 0.153, 0.157)
SERIES = {
    "fig1": {(BLUE, 1): "N-gram-Fixed-3", (BLUE, 8): "N-gram-Fixed-5", (ORANGE, 4): "EAGLE",
             (GREEN, 3): "EAGLE-3", (PURPLE, 3): "Draft Model"},
    "fig2": {(GREEN, 3): "EAGLE-3 Chain (k=3)", (PINK, 12): "EAGLE-3 Tree (k=6)", (PINK, 2): "EAGLE-3 Tree (k=21)",
             (ORANGE, 3): "EAGLE Chain (k=3)", (RED, 12): "EAGLE Tree (k=6)", (RED, 2): "EAGLE Tree (k=21)"},
}
GREY, BLACK = (0.69, 0.69, 0.69), (0.0, 0.0, 0.0)


def _rgb(color) -> tuple[float, ...] | None:
    return tuple(round(c, 3) for c in color) if color else None


def _panels(drawings) -> list[tuple[float, float, float, float]]:
    """Axes frames (x0, x1, top, bottom) from the black spines, in reading order."""
    horizontal = defaultdict(list)
    for d in drawings:
        if d["type"] == "s" and _rgb(d["color"]) == BLACK and len(d["items"]) == 1 and d["items"][0][0] == "l":
            _, a, b = d["items"][0]
            if abs(a.y - b.y) < 0.01 and abs(a.x - b.x) > 20:
                horizontal[(round(min(a.x, b.x), 1), round(max(a.x, b.x), 1))].append(a.y)
    frames = []
    for (x0, x1), ys in horizontal.items():
        ys = sorted(set(round(y, 2) for y in ys))
        for top, bottom in zip(ys[0::2], ys[1::2]):
            frames.append((x0, x1, top, bottom))
    frames.sort(key=lambda f: (round(f[2] / 20), f[0]))
    return frames


def _lines(drawings, color):
    for d in drawings:
        if d["type"] == "s" and _rgb(d["color"]) == color:
            for item in d["items"]:
                if item[0] == "l":
                    yield item[1], item[2]


def _axis(positions: list[float], values: list[float], what: str) -> np.ndarray:
    if len(positions) != len(values):
        raise SystemExit(f"{what}: found {len(positions)} gridlines, expected {len(values)} ({values})")
    fit = np.polyfit(positions, values, 1)
    residual = float(np.max(np.abs(np.polyval(fit, positions) - np.asarray(values))))
    if residual > 0.002 * (max(values) - min(values)):
        raise SystemExit(f"{what}: gridlines are not evenly spaced for ticks {values} (residual {residual:.4f})")
    return fit


def read(path: str, figure: str) -> list[dict]:
    drawings = pymupdf.open(path)[0].get_drawings()
    frames = _panels(drawings)
    if len(frames) != len(Y_TICKS[figure]):
        raise SystemExit(f"{path}: found {len(frames)} panels, expected {len(Y_TICKS[figure])}")
    grey = list(_lines(drawings, GREY))
    rows = []
    for index, ((x0, x1, top, bottom), yticks) in enumerate(zip(frames, Y_TICKS[figure])):
        panel = "abcdefghijkl"[index]
        inside = lambda p: x0 - 0.5 <= p.x <= x1 + 0.5 and top - 0.5 <= p.y <= bottom + 0.5
        hy = sorted({round(a.y, 3) for a, b in grey if abs(a.y - b.y) < 0.01 and inside(a) and inside(b)}, reverse=True)
        vx = sorted({round(a.x, 3) for a, b in grey if abs(a.x - b.x) < 0.01 and inside(a) and inside(b)})
        yfit = _axis(hy, yticks, f"{figure}({panel}) y")
        xfit = _axis(vx, X_TICKS, f"{figure}({panel}) x")
        y_resid = float(np.max(np.abs(np.polyval(yfit, hy) - np.asarray(yticks))))
        for d in drawings:
            fill = _rgb(d.get("fill"))
            if d["type"] != "fs" or fill in (None, BLACK, (1.0, 1.0, 1.0)):
                continue
            r = d["rect"]
            cx, cy = (r.x0 + r.x1) / 2, (r.y0 + r.y1) / 2
            if not (x0 - 4 <= cx <= x1 + 4 and top - 4 <= cy <= bottom + 4):
                continue
            series = SERIES[figure].get((fill, len(d["items"])))
            if series is None:
                raise SystemExit(f"{figure}({panel}): unknown marker {fill} with {len(d['items'])} items")
            batch = float(np.polyval(xfit, cx))
            nearest = min(X_TICKS, key=lambda t: abs(t - batch))
            if abs(batch - nearest) > 1.0:
                raise SystemExit(f"{figure}({panel}) {series}: marker at batch {batch:.2f}, not on a tick")
            rows.append({"figure": figure, "panel": panel, "series": series, "batch": nearest,
                         "speedup": round(float(np.polyval(yfit, cy)), 4), "axis_fit_residual": f"{y_resid:.1e}"})
    rows.sort(key=lambda r: (r["panel"], r["series"], r["batch"]))
    return rows


def main() -> None:
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    writer = csv.DictWriter(sys.stdout, fieldnames=["figure", "panel", "series", "batch", "speedup", "axis_fit_residual"])
    writer.writeheader()
    for path, figure in zip(sys.argv[1:], ("fig1", "fig2")):
        writer.writerows(read(path, figure))


if __name__ == "__main__":
    main()
