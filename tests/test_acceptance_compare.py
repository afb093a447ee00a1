"""``specroof acceptance --from ... --compare catalog``: is a measured acceptance normal?"""

from __future__ import annotations

import csv
import statistics
from collections import defaultdict
from importlib import resources
from pathlib import Path

import pytest

from specroof.errors import SpecroofError
from specroof.speculation.acceptance import ChainAcceptance
from specroof.speculation.acceptance_catalog import catalog_entries
from specroof.speculation.acceptance_compare import LOW_CAUSES, compare_to_catalog, typical_relative_range
from specroof.speculation.catalog_match import normalize
from tests.support import run_cli

METRICS = Path(__file__).parent / "data" / "engine-metrics" / "vllm-eagle3-k3.prom"


def test_typical_range_is_the_catalogs_own_median_range_across_datasets():
    text = (resources.files("specroof.speculation") / "data" / "acceptance-catalog.csv").read_text(encoding="utf-8")
    rows = csv.DictReader(line for line in text.splitlines() if not line.startswith("#"))
    groups = defaultdict(list)
    for row in rows:
        groups[(normalize(row["model"]), row["method"], int(row["k_draft_tokens"]))].append(
            float(row["acceptance_length"]))
    expected = statistics.median((max(v) - min(v)) / statistics.fmean(v) for v in groups.values() if len(v) > 1)
    assert typical_relative_range() == pytest.approx(expected)
    assert 0 < typical_relative_range() < 1


def test_a_typical_measurement_is_normal_and_extremes_are_flagged_with_their_causes():
    typical = compare_to_catalog(ChainAcceptance(0.7), "llama-3.1-8b", "eagle3", max_k=3)
    assert [p.k for p in typical.points] == [1, 2, 3]
    low = compare_to_catalog(ChainAcceptance(0.1), "llama-3.1-8b", "eagle3", max_k=3)
    assert {p.verdict for p in low.points} == {"LOW"}
    assert any(LOW_CAUSES[1] in line for line in low.advice())  # the chat template is among the causes
    high = compare_to_catalog(ChainAcceptance(0.999), "llama-3.1-8b", "eagle3", max_k=3)
    assert {p.verdict for p in high.points} == {"HIGH"} and "HIGH" in high.advice()[0]


def test_the_band_holds_every_catalog_curve_of_the_model_and_method():
    result = compare_to_catalog(ChainAcceptance(0.7), "llama-3.1-8b", "eagle3", max_k=5)
    curves = [e for e in catalog_entries() if e.method == "eagle3" and normalize(e.model) == "llama-3.1-8b"]
    for point in result.points:
        taus = [tau for e in curves for k, tau in e.points if k == point.k]
        assert point.low <= min(taus) and point.high >= max(taus)


def test_a_single_unspread_curve_takes_half_the_typical_range():
    singles = [e for e in catalog_entries()
               if sum(normalize(o.model) == normalize(e.model) and o.method == e.method for o in catalog_entries()) == 1
               and all(s is None for s in e.spreads)]
    entry = singles[0]
    k, tau = entry.points[0]
    result = compare_to_catalog(ChainAcceptance(0.5), entry.model, entry.method, max_k=k)
    point = next(p for p in result.points if p.k == k)
    assert point.high - point.low == pytest.approx(tau * typical_relative_range())


def test_cli_compares_engine_metrics_with_the_catalog():
    out = run_cli("acceptance", "--from", f"vllm-metrics:{METRICS}", "--compare", "catalog",
                  "--model", "llama-3.1-8b", "--method", "eagle3")
    assert out.code == 0, out.stderr
    assert "catalog row llama-3.1-8b/eagle3" in out.stdout and "normal band" in out.stdout
    assert "within the catalog's spread" in out.stdout


@pytest.mark.parametrize("args,message", [
    (("--compare", "catalog", "--model", "llama-3.1-8b", "--method", "eagle3", "--acceptance", "chain:0.5"),
     "add --from"),
    (("--from", f"vllm-metrics:{METRICS}", "--compare", "catalog", "--model", "llama-3.1-8b"), "needs --method"),
    (("--from", f"vllm-metrics:{METRICS}", "--compare", "catalog", "--model", "llama-3.1-8b", "--method", "medusa"),
     "no 'medusa' row"),
])
def test_cli_compare_errors_are_one_line(args, message):
    out = run_cli("acceptance", *args)
    assert out.code == 2 and out.stderr.startswith("error:") and message in out.stderr, out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_no_common_draft_length_is_an_error():
    with pytest.raises(SpecroofError, match="no draft length in common"):
        compare_to_catalog(ChainAcceptance(0.7), "llama-3.1-8b", "eagle3", max_k=0)
