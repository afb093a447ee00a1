"""What every chart shares: the style, the Agg figure, the atomic save, paths and reference rows.

matplotlib is imported inside the functions, so importing this module (and the CLI) stays
cheap. Figures are ``matplotlib.figure.Figure`` objects on an Agg canvas, never ``pyplot``, so
drawing touches no global state and never opens a window, and tests read the Figure itself.
"""

from __future__ import annotations

import csv
import functools
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from specroof.cost.operation import DRAFT_COLOR, DRAFTING, op_info
from specroof.datafiles import check_writable, read_text, save_figure
from specroof.errors import SpecroofError

CHART_FORMATS = (".png", ".svg")
DPI = 150
_STYLE = {
    "font.size": 10.5,
    "axes.titlesize": 11,
    "axes.labelsize": 11,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.35,
    "grid.linewidth": 0.6,
    "legend.fontsize": 9,
    "legend.framealpha": 0.92,
    "xtick.labelsize": 9.5,
    "ytick.labelsize": 9.5,
    "svg.fonttype": "none",
}


def op_style(name: str) -> tuple[str, str]:
    """(colour, marker) of an operation, from its one home (specroof.cost.operation)."""
    if name == DRAFTING:
        return DRAFT_COLOR, "o"
    try:
        info = op_info(name)
    except KeyError:
        return "0.5", "o"
    return info.color, info.marker


# --------------------------------------------------------------------------- helpers


def check_chart_path(path: str | Path) -> Path:
    """The path as a Path if its extension is a supported chart format, else SpecroofError."""
    path = Path(path)
    if path.suffix.lower() not in CHART_FORMATS:
        shown = path.suffix or "no extension"
        raise SpecroofError(f"cannot write a chart to {str(path)!r} ({shown}); "
                            f"use a file ending in {' or '.join(CHART_FORMATS)}")
    return check_writable(path, "chart")


def read_reference_csv(path: str | Path) -> list[dict[str, str]]:
    """Rows of a reference CSV ('#' comment lines skipped), e.g. src/specroof/scenarios/reference/*.csv.

    The speedup chart needs ``candidates`` and ``speedup`` columns (``batch`` and ``seq_len``
    select the series a point belongs to).
    """
    path = Path(path)
    lines = [line for line in read_text(path, f"reference file {str(path)!r}").splitlines()
             if line.strip() and not line.lstrip().startswith("#")]
    rows = list(csv.DictReader(lines))
    if not rows:
        raise SpecroofError(f"reference file {str(path)!r} has no data rows")
    return rows


def styled(func: Callable[..., Any]) -> Callable[..., Any]:
    """Run a plot function inside the shared matplotlib style."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        import matplotlib

        with matplotlib.rc_context(_STYLE):
            return func(*args, **kwargs)

    return wrapper


def figure(width: float, height: float) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def save(fig: Any, path: Path) -> Path:
    return save_figure(fig, path, "chart", dpi=DPI, facecolor="white")


def colors(count: int) -> list[Any]:
    """Sequential colours for ordered series (batch sizes, context lengths), dark to light."""
    from matplotlib import colormaps

    cmap = colormaps["viridis"]
    if count == 1:
        return [cmap(0.35)]
    return [cmap(x) for x in np.linspace(0.0, 0.88, count)]


def titles(fig: Any, ax: Any, main: str, sub: str) -> None:
    fig.suptitle(main, fontsize=12, fontweight="bold")
    ax.set_title(sub, fontsize=9.5, color="0.3")


def _method_label(result: Any) -> str:
    return result.drafting.describe()


def subtitle(result: Any) -> str:
    step = result.step
    return (f"{step.dtype}, profile {step.profile.name}, acceptance {result.acceptance.describe()}, "
            f"{_method_label(result)}")


def candidate_ticks(ax: Any, candidates: Sequence[int]) -> None:
    values = [int(c) for c in candidates]
    if len(values) <= 12:
        ax.set_xticks(values)


def category_ticks(setter: Callable[..., Any], values: Sequence[int]) -> None:
    """Label every cell of a heatmap axis, or about a dozen of them when there are many."""
    stride = 1 if len(values) <= 24 else int(np.ceil(len(values) / 12))
    positions = list(range(0, len(values), stride))
    setter(positions, [str(values[p]) for p in positions])


def index_of(axis: np.ndarray, value: int, default: int = 0) -> int:
    hits = np.flatnonzero(np.asarray(axis) == value)
    return int(hits[0]) if hits.size else default


def number(row: dict[str, Any], key: str) -> float | None:
    value = row.get(key)
    if value is None or str(value).strip() == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise SpecroofError(f"reference row {row}: {key} {value!r} is not a number") from None


def reference_points(reference: Iterable[dict[str, Any]], key: str, value: int,
                      fixed: dict[str, int], single: bool) -> tuple[list[float], list[float]]:
    """(candidates, speedup) of the reference rows whose ``key`` equals ``value``.

    A row lacking ``key`` belongs to the chart's series only when there is a ``single`` one;
    a row lacking a ``fixed`` column matches it, one with another value (e.g. another
    seq_len) is left out.
    """
    xs, ys = [], []
    for row in reference:
        own = number(row, key)
        if (own is None and not single) or (own is not None and int(own) != value):
            continue
        if any(number(row, k) is not None and int(number(row, k)) != v for k, v in fixed.items()):
            continue
        n, y = number(row, "candidates"), number(row, "speedup")
        if n is None or y is None:
            raise SpecroofError("reference rows need candidates and speedup columns")
        xs.append(n)
        ys.append(y)
    return xs, ys
