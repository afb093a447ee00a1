"""data/validation/load-published.csv: published speedups under load, each with its source and split."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from tools.validation.split_load import DATA, problems
from tools.validation.split_published import split_of

FRONTIER = Path(__file__).resolve().parents[1] / "data" / "validation" / "published-e2e.csv"
TIME_UNITS = {"ms", "s"}


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8") as handle:
        return list(csv.DictReader(line for line in handle if not line.startswith("#")))


ROWS = _rows(DATA)


def test_every_row_names_its_source_and_follows_the_split_rule():
    assert len(ROWS) >= 30 and len({r["source_id"] for r in ROWS}) >= 3
    for row in ROWS:
        assert row["url"].startswith("https://") and row["where"] and row["model"], row["row_id"]
        assert row["split"] == split_of(row["source_id"]), row["row_id"]
        assert row["load_kind"] in ("request_rate_rps", "batch") and float(row["load_value"]) > 0
    assert problems(ROWS) == []


def test_a_source_shared_with_the_frontier_set_is_in_the_same_split():
    frontier = {r["source_id"]: r["split"] for r in _rows(FRONTIER)}
    shared = [r for r in ROWS if r["source_id"] in frontier]
    assert shared, "vLLM PR #12755 is in both files"
    assert all(r["split"] == frontier[r["source_id"]] for r in shared)


def test_a_split_that_disagrees_with_the_rule_is_found():
    flipped = [{**ROWS[0], "split": "test" if ROWS[0]["split"] == "dev" else "dev"}, *ROWS[1:]]
    assert problems(flipped) and "differs from the rule" in problems(flipped)[0]
    assert "appears more than once" in problems([ROWS[0], ROWS[0]])[0]


@pytest.mark.parametrize("row", [r for r in ROWS if r["baseline"] and r["speculative"]], ids=lambda r: r["row_id"])
def test_speedup_is_the_ratio_the_metric_calls_for(row):
    base, spec = float(row["baseline"]), float(row["speculative"])
    ratio = base / spec if row["unit"] in TIME_UNITS else spec / base
    assert float(row["speedup"]) == pytest.approx(ratio, abs=0.01)  # sources round to two decimals


def test_acceptance_is_a_rate_or_a_length():
    for row in ROWS:
        if row["acceptance_rate"]:
            assert 0.0 <= float(row["acceptance_rate"]) <= 1.0
        if row["acceptance_length"]:
            assert float(row["acceptance_length"]) >= 1.0
