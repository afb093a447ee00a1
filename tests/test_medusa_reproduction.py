"""Reproduction of Medusa (arXiv 2401.10774) Appendix G.3 against the paper's chart readings.

Targets (docs/medusa-appendix-g.md): mean absolute error <= 0.15 over the 30 points of
Figure 22, every high-confidence reading within 0.3, and the shapes the appendix reports:
speculation slows batch 32 and 64 down, larger batches gain less, batch 1 keeps gaining up
to large trees, batch 4 drops between 64 and 80 candidates, longer contexts gain less.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

import specroof
from gates import failures, gates
from specroof.scenarios import load_scenario

REFERENCE = Path(__file__).resolve().parents[1] / "src" / "specroof" / "scenarios" / "reference"


def read_reference(name: str) -> list[dict[str, str]]:
    with (REFERENCE / name).open(encoding="utf-8") as handle:
        return list(csv.DictReader(line for line in handle if not line.startswith("#")))


def run(name: str):
    scenario = load_scenario(name)
    return specroof.speedup(scenario.settings["model"], scenario.settings["hardware"], scenario.grid["batch"],
                            scenario.grid["candidates"], scenario.grid["seq_len"], **scenario.options())


@pytest.fixture(scope="module")
def figure22():
    return run("medusa-appendix-g")


@pytest.fixture(scope="module")
def errors(figure22):
    batches, candidates = list(figure22.batch), list(figure22.candidates)
    rows = read_reference("medusa-appendix-g-figure-22.csv")
    out = []
    for row in rows:
        ours = figure22.speedup[batches.index(int(row["batch"])), candidates.index(int(row["candidates"])), 0]
        out.append((row, float(ours) - float(row["speedup"])))
    return out


def test_reference_has_thirty_points(errors):
    assert len(errors) == 30


def test_mean_absolute_error_gate(errors):
    """In-sample: the profile's kernel fields are fitted to these readings (tests/gates.toml says
    so); the target was 0.15, the gate holds the fit at the level it reaches."""
    mae = float(np.mean([abs(e) for _, e in errors]))
    assert mae <= 0.15, f"MAE {mae:.3f}"
    assert not failures(gates("medusa")["medusa.figure22-mae"], {"mae": mae})


def test_every_high_confidence_point_within_0_3(errors):
    bad = [(r["batch"], r["candidates"], round(e, 3)) for r, e in errors if r["confidence"] == "high" and abs(e) > 0.3]
    assert not bad


def test_large_batches_are_slowed_down(figure22):
    n = np.asarray(figure22.candidates)
    for batch in (32, 64):
        curve = figure22.speedup[list(figure22.batch).index(batch), :, 0]
        assert np.all(curve[n >= 16] < 1.0), (batch, curve)


def test_speedup_falls_with_batch_at_every_wide_tree(figure22):
    n = np.asarray(figure22.candidates)
    assert list(figure22.batch) == sorted(figure22.batch)
    wide = figure22.speedup[:, n >= 16, 0]
    assert np.all(np.diff(wide, axis=0) <= 1e-12)


def test_batch_one_peaks_at_a_large_tree(figure22):
    curve = figure22.speedup[list(figure22.batch).index(1), :, 0]
    assert figure22.candidates[int(np.argmax(curve))] >= 48


def test_batch_four_drops_between_64_and_80_candidates(figure22):
    i, n = list(figure22.batch).index(4), list(figure22.candidates)
    drop = figure22.speedup[i, n.index(64), 0] - figure22.speedup[i, n.index(80), 0]
    assert drop >= 0.25  # the paper: ~2.15 -> ~1.55


def test_figure21_batch_one(figure22):
    """Acceptance, speedup and normalized latency at batch 1 (paper's Figure 21, +-0.1 readings)."""
    i, n = list(figure22.batch).index(1), list(figure22.candidates)
    for row in read_reference("medusa-appendix-g-figure-21.csv"):
        j = n.index(int(row["candidates"]))
        assert figure22.acceptance_length[i, j, 0] == pytest.approx(float(row["acceleration_rate"]), abs=0.1)
        assert figure22.speedup[i, j, 0] == pytest.approx(float(row["speedup"]), abs=0.3)
        normalized = figure22.latency_ms[i, j, 0] / figure22.ar_latency_ms[i, j, 0]
        assert normalized == pytest.approx(float(row["normalized_latency"]), abs=0.15)


def test_longer_contexts_gain_less():
    result = run("medusa-appendix-g-seq")
    assert len(result.batch) == 1 and result.batch[0] == 4
    assert list(result.seq_len) == sorted(result.seq_len)
    wide = result.speedup[0, np.asarray(result.candidates) > 1, :]
    assert np.all(np.diff(wide, axis=1) < 0)
