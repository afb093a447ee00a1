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
# History: the vllm profile's measured H100 kernels (issue 9) moved fig2 from 20.3% to 15.3%;
# pricing the benchmark's metric (throughput over whole requests: one prefill of the prompts
# besides the decode steps, workload lengths from the traces) moved the EAGLE-3 speedups from
# 11.5% (+10.5%) to 6.7% (+5.4%), n-gram from 10.6% to 7.9%, fig1's ratios from 8.5% (+6.0%)
# to 6.2% (+1.1%) and fig2's from 15.3% (-10.0%) to 14.4% (-12.9%, its bias gate widened).
GATES = {
    "speedup eagle3 (acceptance from traces)": (7.5, 6.0),
    "speedup ngram (acceptance from traces)": (8.5, 8.0),
    "batch ratio, SpecDecode-Bench fig1": (7.0, 2.5),
    "batch ratio, SpecDecode-Bench fig2": (15.5, 14.0),
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
    assert all(0.3 < r.predicted < 6 for r in traced)
    # Rows without traces take a placeholder chain:0.7 (only their batch ratios are compared). On
    # SGLang's depth-3 trees it now counts the path's 4 positions (tau 2.53), not the tree's 22
    # nodes (3.33, more than a depth-3 tree can accept), so Llama-3-70B's k = 21 tree at batch
    # 128 predicts 0.29: the floor for placeholder rows is 0.25.
    assert all(0.25 < r.predicted < 6 for r in rows if not r.traced)
    assert {r.model for r in rows} == {"llama-3.1-8b", "qwen3-8b", "llama-3-70b"}
    assert len(ratios) == len(rows) - len({r.series for r in rows})


@pytest.mark.parametrize("check", list(GATES))
def test_accuracy_does_not_regress(comparison, check):
    module, rows, ratios = comparison
    stats = module.summary(rows, ratios)[check]
    mape, bias = GATES[check]
    assert stats["mape_pct"] <= mape, stats
    assert abs(stats["bias_pct"]) <= bias, stats


def test_prefill_is_paid_with_and_without_speculation(comparison):
    """A batch's prefill does not speed up, so the throughput speedup is below the decode-step
    speedup tau x T_plain / T_spec, more so where prompts are long (CNN) and batches large."""
    module, rows, _ = comparison
    ctx = module.contexts()
    cnn = next(r for r in rows if r.traced and r.dataset == "cnn_dailymail" and r.method == "eagle3" and r.batch == 64)
    with_prefill = module.predict(cnn, ctx)
    decode_only = module.predict(cnn, ctx, prefill=False)
    assert with_prefill < decode_only
    assert module.prefill_ms(cnn, ctx["cnn_dailymail"], "vllm") > 0


def test_the_doc_is_the_scripts_output(comparison):
    module, rows, ratios = comparison
    doc = Path(module.DOC)
    assert doc.read_text(encoding="utf-8") == module.markdown(rows, ratios), \
        "docs/validation-e2e.md is stale: run python benchmarks/validation/compare_e2e.py --write"
