"""Without --acceptance, each method takes its shipped default, and every output names it."""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

import specroof
from specroof.errors import SpecroofError
from specroof.speculation.acceptance_catalog import catalog_entries
from specroof.speculation.default_acceptance import default_acceptance, default_rows
from specroof.speculation.methods import METHODS
from tests.support import run_specroof

ROOT = Path(__file__).resolve().parents[1]
TRACES = ROOT / "data" / "validation" / "specdecode-bench-trace-acceptance.csv"
PUBLISHED = ROOT / "tools" / "acceptance" / "published-acceptance.csv"


def test_every_method_has_a_default_with_a_source():
    rows = default_rows()
    assert set(rows) == set(METHODS.names())
    for row in rows.values():
        assert row.source and row.label
        assert bool(row.points) != bool(row.spec)  # a measured curve or a spec, never both


def test_measured_curves_are_the_trace_means():
    """The shipped EAGLE-3 and n-gram curves are the per-n means over the four traced datasets."""
    lines = [line for line in TRACES.read_text(encoding="utf-8").splitlines() if not line.startswith("#")]
    taus: dict[tuple[str, int], list[float]] = defaultdict(list)
    for row in csv.DictReader(lines):
        taus[(row["method"], int(row["candidates"]))].append(float(row["acceptance_length"]))
    for method in ("eagle3", "ngram"):
        row = default_rows()[method]
        assert row.measured and len(row.points) == 16
        for n, tau in row.points:
            assert len(taus[(method, n)]) == 4
            assert tau == pytest.approx(np.mean(taus[(method, n)]), abs=5e-5)


def test_the_builder_reproduces_the_shipped_file():
    builder = ROOT / "tools" / "acceptance" / "build_default_acceptance.py"
    done = subprocess.run([sys.executable, str(builder), "--check"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and done.stdout.strip() == "up to date", done.stdout + done.stderr


def test_a_measured_curve_is_held_beyond_its_last_point():
    model = default_acceptance("eagle3")
    tau = model.tau([1, 4, 16, 17, 64])
    assert tau[0] == 1.0 and tau[1] == pytest.approx(2.3247)
    assert tau[3] == tau[4] == tau[2]  # a floor: the traces have flattened by n = 16


def test_speedup_takes_the_methods_default_and_names_it():
    eagle3 = specroof.speedup("llama-3.1-8b", "h100-sxm", 1, [1, 4], 1024, method="eagle3")
    # the model has catalog rows: the best one (chat first, most K) is the default (tests/test_acceptance_catalog.py)
    assert eagle3.acceptance.describe() == "default for eagle3: catalog:llama-3.1-8b/eagle3/chat (measured)"
    sharegpt = [e for e in catalog_entries() if e.name() == "llama-3.1-8b/eagle3/chat" and e.key["dataset"] == "sharegpt"]
    assert eagle3.acceptance_length[0, 1, 0] == pytest.approx(dict(sharegpt[0].points)[3])
    record = eagle3.to_records()[1]
    assert record["acceptance_source"].startswith("default for eagle3: measured: catalog row llama-3.1-8b/eagle3/chat")
    assert "SpecDecode-Bench" in record["acceptance_source"]
    given = specroof.speedup("llama-3.1-8b", "h100-sxm", 1, [1, 4], 1024, method="eagle3", acceptance="log:0.477")
    assert given.to_records()[1]["acceptance_source"] == "given: log:0.477"
    # the measured EAGLE-3 curve accepts more than the Medusa fit at n = 4 (2.32 vs 1.66 tokens)
    assert eagle3.speedup[0, 1, 0] > given.speedup[0, 1, 0] * 1.3


def _published() -> dict[str, dict[str, dict[int, list[float]]]]:
    lines = [line for line in PUBLISHED.read_text(encoding="utf-8").splitlines() if not line.startswith("#")]
    out: dict[str, dict[str, dict[int, list[float]]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    for row in csv.DictReader(lines):
        out[row["method"]][row["model"]][int(row["k_draft_tokens"])].append(float(row["acceptance_length"]))
    return out


def test_published_curves_are_per_model_means_at_n_k_plus_1():
    """EAGLE-1 and MTP: tau(K + 1) = mean over models of each model's mean over its settings."""
    published = _published()
    for method in ("eagle", "mtp"):
        row = default_rows()[method]
        assert row.measured and not row.spec and "measured:" in row.label
        models = published[method]
        expected = {k + 1: np.mean([np.mean(per_k[k]) for per_k in models.values()]) for k in next(iter(models.values()))}
        assert dict(row.points).keys() == expected.keys()
        for n, tau in row.points:
            assert tau == pytest.approx(expected[n], abs=5e-5)
    assert [n for n, _ in default_rows()["eagle"].points] == [3, 5]  # vLLM PR #16035: K = 2 and 4 only
    assert [n for n, _ in default_rows()["mtp"].points] == list(range(2, 10))  # K = 1..8
    assert set(published["mtp"]) == {"deepseek-v4-pro", "qwen3.5-397b-a17b-nvfp4", "glm-5.2-fp8"}


def test_published_defaults_interpolate_and_hold_never_extrapolate():
    eagle = default_acceptance("eagle")
    tau = eagle.tau([1, 2, 3, 4, 5, 6, 64])
    assert tau[0] == 1.0 and tau[2] == pytest.approx(1.89) and tau[4] == pytest.approx(2.08)
    assert tau[1] == pytest.approx((1.0 + 1.89) / 2) and tau[3] == pytest.approx((1.89 + 2.08) / 2)  # linear between
    assert tau[5] == tau[6] == tau[4]  # held at tau(5): no extrapolation past the largest measured K
    mtp = default_acceptance("mtp")
    held = mtp.tau([9, 10, 100])
    assert held[0] == held[1] == held[2]
    assert mtp.describe() == "default for mtp (measured)"
    # DeepSeek-V3 MTP, K = 1, MT-Bench greedy: vLLM's regression baseline is 1.882 (tests/v1/spec_decode/
    # test_acceptance_length.py); the cross-model default at n = 2 lies within 2% of it
    assert mtp.tau([2])[0] == pytest.approx(1.882, rel=0.02)


def test_draft_stays_not_measured():
    row = default_rows()["draft"]
    assert not row.measured and row.spec == "log:0.477" and row.label.startswith("NOT measured")
    assert "NOT measured" in default_acceptance("draft").describe()


@pytest.mark.parametrize("method,spec", [("draft", "log:0.477"), ("none", "log:0.477"), ("heads", "medusa:vicuna-7b")])
def test_methods_without_a_curve_say_which_choice_they_got(method, spec):
    model = default_acceptance(method)
    assert spec in model.describe()
    assert ("NOT measured" in model.describe()) == (not default_rows()[method].measured)


def test_plan_records_name_the_default():
    result = specroof.plan("llama-3.1-8b", "h100-sxm", batch=[1], seq_len=[1024], method="ngram")
    assert "default for ngram" in result.acceptance.describe()
    assert result.to_records()[0]["acceptance_source"].startswith("default for ngram: measured")


def test_max_depth_without_a_tree_default_is_refused():
    with pytest.raises(SpecroofError, match="max-depth"):
        specroof.speedup("llama-3.1-8b", "h200", 1, [1, 4], 1024, method="eagle3", max_depth=3)


def test_cli_header_and_json_name_the_default():
    table = run_specroof("speedup", "-m", "llama-3.1-8b", "-H", "h100-sxm", "--method", "eagle3", "--candidates", "4")
    assert table.returncode == 0, table.stderr
    assert "acceptance default for eagle3: catalog:llama-3.1-8b/eagle3/chat (measured)" in table.stdout.splitlines()[0]
    assert "no --acceptance given: the default for eagle3 is measured: catalog row" in table.stdout + table.stderr
    out = run_specroof("speedup", "-m", "llama-3.1-8b", "-H", "h100-sxm", "--method", "eagle3", "--candidates",
                       "4", "--format", "json")
    assert json.loads(out.stdout)[0]["acceptance_source"].startswith("default for eagle3")


def test_the_medusa_scenario_keeps_the_medusa_fit():
    out = run_specroof("speedup", "--scenario", "medusa-appendix-g", "--format", "json")
    assert out.returncode == 0, out.stderr
    assert {r["acceptance_source"] for r in json.loads(out.stdout)} == {"given: log:0.477"}


def test_help_lists_every_profile_and_engine():
    from specroof.cost.profile import profile_data, profile_names
    from specroof.speculation.engines import ENGINES

    def unwrapped(command: str) -> str:  # click wraps at word and hyphen boundaries
        return re.sub(r"-\s+", "-", " ".join(run_specroof(command, "--help").stdout.split()))

    text = unwrapped("speedup")
    for name in profile_names():
        assert name in text
    engines = {f.get("engine") for f in profile_data().values() if f.get("engine")}
    assert all(f"engine {e}" in text for e in engines) and engines
    plan_help = unwrapped("plan")
    assert all(e.name in plan_help for e in ENGINES)
    for method, row in default_rows().items():
        assert method in plan_help
