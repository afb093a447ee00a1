"""End-to-end check against published engine measurements (benchmarks/validation/compare_e2e.py).

Nothing is fitted to these rows, so this is an accuracy gate, not a tuning target: it fails
if a change makes the predictions worse than the levels reached when the check was written
(recorded in docs/validation-e2e.md), and it checks that the comparison itself is sound.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "validation" / "compare_e2e.py"

# (MAPE %, |bias| %) reached when the gate was set; a regression past these fails.
# Since the vllm profile on h100-sxm prices NVIDIA's measured vLLM kernels (issue 9): fig2
# improved from 20.3% to 15.3% MAPE (bias -16.0 -> -10.0%), EAGLE-3 Table 3 from 22.5 to 21.2%,
# the EAGLE-3 speedups from 11.8 to 11.5%; fig1 moved from 8.2% (+4.8%) to 8.5% (+6.0%) and
# the n-gram speedups from 10.0% (+9.5%) to 10.6% (+10.5%, at its gate). fig1's bias gate was
# widened to 7% for that trade, and fig2 is gated now.
GATES = {
    "speedup eagle3 (acceptance from traces)": (13.0, 12.0),
    "speedup ngram (acceptance from traces)": (11.0, 10.5),
    "batch ratio, SpecDecode-Bench fig1": (9.0, 7.0),
    "batch ratio, SpecDecode-Bench fig2": (16.0, 10.5),
}


@pytest.fixture(scope="module")
def comparison():
    spec = importlib.util.spec_from_file_location("compare_e2e", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    rows, ratios = module.compare()
    return module, rows, ratios


def test_every_published_row_is_predicted(comparison):
    module, rows, ratios = comparison
    traced = [r for r in rows if r.traced]
    assert len(traced) == 36  # 4 datasets x 4 batch sizes x (EAGLE-3, n-gram k=3) + n-gram k=5 on InstructCoder
    assert all(0.3 < r.predicted < 6 for r in rows)
    assert {r.model for r in rows} == {"llama-3.1-8b", "qwen3-8b", "llama-3-70b"}
    assert len(ratios) == len(rows) - len({r.series for r in rows})


@pytest.mark.parametrize("check", list(GATES))
def test_accuracy_does_not_regress(comparison, check):
    module, rows, ratios = comparison
    stats = module.summary(rows, ratios)[check]
    mape, bias = GATES[check]
    assert stats["mape_pct"] <= mape, stats
    assert abs(stats["bias_pct"]) <= bias, stats


def test_the_doc_is_the_scripts_output(comparison):
    module, rows, ratios = comparison
    doc = Path(module.DOC)
    assert doc.read_text(encoding="utf-8") == module.markdown(rows, ratios), \
        "docs/validation-e2e.md is stale: run python benchmarks/validation/compare_e2e.py --write"
