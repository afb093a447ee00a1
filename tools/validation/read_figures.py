"""Read the end-to-end speedups of SpecDecode-Bench's Figures 1-3 from their vector PDFs.

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

Figure 3 (reasoning workloads) is a bar chart of absolute throughput: there the speedup is
the ratio of a bar's height to the "None" bar of the same batch (both start at zero, so it
needs no tick label at all), and the throughputs come from the panel's y gridlines.

Figure 4 (execution-time breakdown) is a stacked bar chart of fractions; each segment's share
is its height over the bar's total height, again label-free.

Needs PyMuPDF (``pip install pymupdf``; not a specroof dependency). Usage::

    python tools/validation/read_figures.py FIG1.pdf FIG2.pdf > readings.csv
    python tools/validation/read_figures.py --bars FIG3.pdf > figure3-readings.csv
    python tools/validation/read_figures.py --stack FIG4.pdf > time-breakdown.csv

Output: one CSV row per marker: figure, panel, series, batch, speedup (4 decimals), and the
largest residual of the panel's axis fit in value units (a check of the tick mapping); with
``--bars``, one row per bar with its throughput and its ratio to the "None" bar.
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


# Figure 3: printed y tick labels (bottom to top) and x tick labels (categorical), per panel.
BAR_Y_TICKS = [[0, 2000, 4000, 6000, 8000, 10000], [0, 2000, 4000, 6000, 8000], [0, 2000, 4000, 6000, 8000],
               [0, 2000, 4000, 6000, 8000, 10000], [0, 500, 1000, 1500, 2000], [0, 500, 1000, 1500, 2000, 2500],
               [0, 100, 200, 300, 400, 500, 600], [0, 200, 400, 600]]
BAR_X_TICKS = [[1, 16, 64, 128]] * 4 + [[1, 8, 16]] * 2 + [[1, 2, 4]] * 2
BAR_SERIES = {BLUE: "None", ORANGE: "N-gram", GREEN: "EAGLE-3", (0.502, 0.502, 0.502): "MTP"}


def read_bars(path: str) -> list[dict]:
    """Figure 3: bars grouped by batch within each panel; insets (the zoomed bs=1 boxes) skipped."""
    drawings = pymupdf.open(path)[0].get_drawings()
    frames = _panels(drawings)
    # the insets' frames are short spines too; keep the 8 wide panels
    frames = [f for f in frames if f[1] - f[0] > 60]
    if len(frames) != 8:
        raise SystemExit(f"{path}: found {len(frames)} panels, expected 8")
    grey = list(_lines(drawings, GREY))
    rows = []
    for index, (x0, x1, top, bottom) in enumerate(frames):
        panel = "abcdefgh"[index]
        hy = sorted({round(a.y, 3) for a, b in grey if abs(a.y - b.y) < 0.01 and x0 - 0.5 <= a.x <= x1 + 0.5
                     and abs(abs(a.x - b.x) - (x1 - x0)) < 1 and top - 0.5 <= a.y <= bottom + 0.5}, reverse=True)
        yfit = _axis(hy, BAR_Y_TICKS[index], f"fig3({panel}) y")
        bars = []
        for d in drawings:
            fill = _rgb(d.get("fill"))
            if d["type"] != "fs" or fill not in BAR_SERIES:
                continue
            r = d["rect"]
            # main bars stand on this panel's baseline (y = 0 gridline); insets and legend do not
            if x0 <= r.x0 and r.x1 <= x1 and abs(r.y1 - hy[0]) < 0.05:
                bars.append((r.x0, BAR_SERIES[fill], r.y1 - r.y0, float(np.polyval(yfit, r.y0))))
        bars.sort()
        per_group = len({name for _, name, _, _ in bars})
        groups = [bars[i:i + per_group] for i in range(0, len(bars), per_group)]
        if len(groups) != len(BAR_X_TICKS[index]):
            raise SystemExit(f"fig3({panel}): {len(groups)} bar groups, expected {len(BAR_X_TICKS[index])}")
        for batch, group in zip(BAR_X_TICKS[index], groups):
            base = [b for b in group if b[1] == "None"][0]
            for _, name, height, value in group:
                rows.append({"figure": "fig3", "panel": panel, "series": name, "batch": batch,
                             "throughput_tokens_per_s": round(value, 1), "bar_height_pt": round(height, 4),
                             "speedup_vs_none": round(height / base[2], 4)})
    return rows


# Figure 4: panels (a) Llama3.1-8B, (b) Llama3-70B, (c) Qwen3-8B; 16 bars each, groups of four
# batch sizes per method, as printed under the bars.
STACK_PANELS = [("Llama3.1-8B", ["Baseline", "N-gram", "Eagle", "Eagle3"]),
                ("Llama3-70B", ["Baseline", "N-gram", "Eagle", "Draft-model"]),
                ("Qwen3-8B", ["Baseline", "N-gram", "Eagle3", "Draft-model"])]
STACK_BATCHES = [1, 64, 128, 512]
RED = (0.839, 0.153, 0.157)
STACK_PARTS = {BLUE: "drafting", ORANGE: "verification", GREEN: "sampling", RED: "overhead"}


def read_stack(path: str) -> list[dict]:
    """Figure 4: each stacked bar's four segments as fractions of the bar (which is 100%)."""
    drawings = pymupdf.open(path)[0].get_drawings()
    bars = defaultdict(dict)
    for d in drawings:
        fill = _rgb(d.get("fill"))
        if d["type"] != "f" or fill not in STACK_PARTS or d["items"][0][0] != "re":
            continue
        r = d["rect"]
        if r.y1 - r.y0 > 100:  # nothing in this figure is that tall; guards against surprises
            raise SystemExit("unexpected rectangle")
        bars[round(r.x0, 1)][STACK_PARTS[fill]] = r.y1 - r.y0
    # the legend's patches are short and isolated; real bars have all four parts and a common total
    full = {x: parts for x, parts in bars.items() if len(parts) == 4}
    totals = [sum(parts.values()) for parts in full.values()]
    common = max(set(round(t, 1) for t in totals), key=lambda t: sum(round(u, 1) == t for u in totals))
    xs = sorted(x for x, parts in full.items() if abs(sum(parts.values()) - common) < 0.5)
    if len(xs) != 48:
        raise SystemExit(f"{path}: found {len(xs)} stacked bars, expected 48")
    rows = []
    for i, x in enumerate(xs):
        model, methods = STACK_PANELS[i // 16]
        parts = full[x]
        total = sum(parts.values())
        row = {"figure": "fig4", "panel": "abc"[i // 16], "model": model, "method": methods[(i % 16) // 4],
               "batch": STACK_BATCHES[i % 4]}
        row.update({name: round(parts[name] / total, 4) for name in ("drafting", "verification", "sampling", "overhead")})
        rows.append(row)
    return rows


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--stack":
        rows = read_stack(sys.argv[2])
        writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
        return
    if len(sys.argv) == 3 and sys.argv[1] == "--bars":
        fields = ["figure", "panel", "series", "batch", "throughput_tokens_per_s", "bar_height_pt", "speedup_vs_none"]
        writer = csv.DictWriter(sys.stdout, fieldnames=fields)
        writer.writeheader()
        writer.writerows(read_bars(sys.argv[2]))
        return
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    writer = csv.DictWriter(sys.stdout, fieldnames=["figure", "panel", "series", "batch", "speedup", "axis_fit_residual"])
    writer.writeheader()
    for path, figure in zip(sys.argv[1:], ("fig1", "fig2")):
        writer.writerows(read(path, figure))


if __name__ == "__main__":
    main()
