"""Windowed decode attention against NVIDIA's measured kernels, recomputed from the committed extract.

The shipped decode fields (fitted on full-attention rows of head width 128) price the
sliding-window rows over min(kv_len, W) keys; tests/gates.toml (group "kernel-window") holds
the levels, and docs/kernel-accuracy.md prints the same figures.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gates import failures, gates
from specroof.calibration.kernels import windowed
from specroof.calibration.kernels.heldout import extract_source
from specroof.kernels.extract import read_extract

REPO = Path(__file__).resolve().parents[1]
EXTRACT = REPO / "data" / "kernels" / "extract"
GATES = gates("kernel-window")
CELLS = tuple(tuple(key.split("/")) for key in sorted(GATES))


@pytest.fixture(scope="module")
def report():
    return windowed.window_report(extract_source(EXTRACT), CELLS)


def test_every_target_cell_is_gated(report):
    assert set(report) == set(GATES) and len(GATES) == 4


@pytest.mark.parametrize("key", sorted(GATES))
def test_window_gate(report, key):
    values = {name: stats["mape_pct"] for name, stats in report[key].items()}
    assert not failures(GATES[key], values), values


@pytest.mark.parametrize("key", sorted(GATES))
def test_the_cap_is_what_makes_them_right(report, key):
    """Priced over the whole kv_len (no window) the same rows are off by far more."""
    entry = report[key]
    assert entry["no_cap"]["mape_pct"] > 1.5 * entry["transfer"]["mape_pct"]
    assert entry["no_cap"]["bias_pct"] > 20  # too slow: it reads keys the kernel skips


def test_the_extract_holds_windowed_rows_of_every_window():
    rows = read_extract("h200_sxm", "vllm", "decode_attention", EXTRACT)
    win = windowed.windowed_rows(rows)
    assert set(np.unique(win["window"])) == {128, 1024, 8192} and (win["head_dim"] == 64).any()
    assert (win["kv_len"] > win["window"]).any()  # rows past the window, where the cap matters


def test_capped_rows_read_at_most_the_window():
    rows = read_extract("h100_sxm", "vllm", "decode_attention", EXTRACT)
    win = windowed.windowed_rows(rows)
    capped = windowed.capped(win)
    assert (capped["kv_len"] <= capped["window"]).all() and (capped["kv_len"] <= win["kv_len"]).all()


def test_the_doc_prints_these_figures(report):
    doc = (REPO / "docs" / "kernel-accuracy.md").read_text(encoding="utf-8")
    for line in windowed.window_markdown(report):
        if line.startswith("| h"):
            assert line in doc, line
