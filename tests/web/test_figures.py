"""The explorer's figures on large grids: what is drawn is said, and cheap enough for the browser.

A 256 x 64 grid is the size the explorer's benchmark (``tools/bench_explorer.py``) drives; a
speedup chart of 256 lines or a heatmap framed by thousands of shapes takes a browser seconds,
so those figures draw a subset or a trace instead, and say so.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

import specroof
from specroof.web.figures import _UNFIT, MAX_SERIES, SHAPE_CELLS, drawn_series, heatmap_figure, speedup_figure


def lines(figure: dict) -> list[dict]:
    return [t for t in figure["data"] if t["name"].startswith(("batch ", "seq_len "))
            and not t["name"].endswith("published")]


@pytest.fixture(scope="module")
def large():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # batch sizes beyond the device's memory: greyed, tested below
        return specroof.speedup("llama-3-8b", "rtx-4090", list(range(1, 257)), list(range(1, 65)), [4096],
                                acceptance="chain:0.8")


@pytest.mark.parametrize("count", [1, 2, MAX_SERIES, MAX_SERIES + 1, 64, 256])
def test_drawn_series_are_all_or_evenly_spaced_with_both_ends(count):
    drawn = drawn_series(count)
    assert drawn == sorted(set(drawn)) and drawn[0] == 0 and drawn[-1] == count - 1
    assert len(drawn) == min(count, MAX_SERIES)
    gaps = np.diff(drawn)
    assert len(drawn) < 3 or gaps.max() - gaps.min() <= 1  # evenly spaced, to the nearest index


def test_speedup_chart_of_256_batches_draws_some_and_says_how_many(large):
    figure = speedup_figure(large)
    drawn = lines(figure)
    assert len(drawn) == MAX_SERIES
    assert drawn[0]["name"] == "batch 1" and drawn[-1]["name"] == "batch 256"
    assert f"{MAX_SERIES} of 256 batch values drawn" in figure["layout"]["title"]["text"]
    assert len(figure["data"]) == 2 * MAX_SERIES  # a band per line, nothing else
    index = [int(large.batch.tolist().index(int(t["name"].split()[1]))) for t in drawn]
    for trace, i in zip(drawn, index):  # each drawn line is its batch's row of the result
        assert trace["y"] == pytest.approx(large.speedup[i, :, 0].tolist())


def test_speedup_chart_of_a_few_batches_draws_them_all():
    result = specroof.speedup("llama-3-8b", "h200", [1, 4, 16], [1, 2, 4], [1024], acceptance="chain:0.8")
    figure = speedup_figure(result)
    assert [t["name"] for t in lines(figure)] == ["batch 1", "batch 4", "batch 16"]
    assert "drawn" not in figure["layout"]["title"]["text"]


def test_large_heatmap_marks_the_best_and_greys_what_does_not_fit_without_shapes(large):
    figure = heatmap_figure(large)
    fits = np.asarray(large.step.fit.fits[:, :, 0])
    assert large.speedup[:, :, 0].size > SHAPE_CELLS and not fits.all() and fits.any()
    assert figure["layout"]["shapes"] == []
    heat, marks, grey = figure["data"]
    assert "texttemplate" not in heat  # 16,384 numbers would not be readable
    assert marks["marker"]["symbol"] == "square-open" and marks["marker"].get("opacity", 1) > 0
    for row, x in enumerate(marks["x"]):  # the best n that fits, or no mark where nothing fits
        speed = np.where(fits[row], large.speedup[row, :, 0], -np.inf)
        assert x == (str(int(large.candidates[int(np.argmax(speed))])) if fits[row].any() else None)
    assert grey["colorscale"] == [[0, _UNFIT], [1, _UNFIT]] and grey["showscale"] is False
    assert [[v is not None for v in row] for row in grey["z"]] == (~fits).tolist()
    assert "squares: the best n" in figure["layout"]["title"]["text"]
    json.dumps(figure)


def test_small_heatmap_keeps_outlines_and_numbers():
    result = specroof.speedup("llama-3-8b", "h200", [1, 4, 16, 64], list(range(1, 9)), [1024],
                              acceptance="chain:0.8")
    figure = heatmap_figure(result)
    assert len(figure["data"]) == 2 and figure["data"][0]["texttemplate"] == "%{z:.2f}"
    assert len(figure["layout"]["shapes"]) == 4  # one outline per batch size (all fit)
    assert "outlined: the best n" in figure["layout"]["title"]["text"]
