"""Kernel accuracy held out by shape and by GPU, recomputed from the committed extract.

Recomputes, for the target cells (H200 and H100, vllm and trtllm), the errors with whole
values of n or k (attention heads and lengths, all-reduce sizes, MoE shapes) left out of the
fit, and with the whole GPU left out; checks them against tests/gates.toml (group
"kernel-heldout") and against the figures docs/kernel-accuracy.md prints.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gates import failures, gates
from specroof.calibration.kernels import heldout

REPO = Path(__file__).resolve().parents[1]
EXTRACT = REPO / "data" / "kernels" / "extract"
CELLS = [("h200_sxm", "trtllm"), ("h200_sxm", "vllm"), ("h100_sxm", "trtllm"), ("h100_sxm", "vllm")]
SECTIONS = ["gemm_bf16", "gemm_fp8", "decode_attention", "allreduce", "moe_bf16"]
GATES = gates("kernel-heldout")


def _report_module():
    from tools.kernels import accuracy_report  # the report's renderer, imported from the checkout's tools/

    return accuracy_report


@pytest.fixture(scope="module")
def report():
    return heldout.heldout_report(EXTRACT, CELLS, SECTIONS)


def test_folds_leave_whole_values_out():
    values = np.array([4096, 2048, 4096, 8192, 5120, 2048])
    fold = heldout.folds(values)
    for v in np.unique(values):
        assert len(set(fold[values == v])) == 1  # a value is in one fold only
    assert set(fold) == {0, 1}


def test_transfer_never_uses_the_left_out_gpu(monkeypatch):
    """The GPU-out fields come from the other GPUs: changing the left-out GPU's shipped fit
    does not change them."""
    before = heldout.transferred_fields("gemm_bf16", "vllm", "h100_sxm")
    real = heldout.fitted_overrides

    def poisoned(device, engine, precision):
        out = dict(real(device, engine, precision))
        if device == "h100-sxm":
            out = {k: (v * 10 if isinstance(v, float) else v) for k, v in out.items()}
        return out

    monkeypatch.setattr(heldout, "fitted_overrides", poisoned)
    assert heldout.transferred_fields("gemm_bf16", "vllm", "h100_sxm") == before


def test_every_target_cell_is_gated(report):
    assert set(report) == set(GATES)


@pytest.mark.parametrize("key", sorted(GATES))
def test_heldout_by_shape_gate(report, key):
    values = {name: stats["mape_pct"] for name, stats in report[key].items()}
    assert not failures(GATES[key], values), values


def test_the_doc_prints_these_figures(report):
    module = _report_module()
    doc = module.OUT.read_text(encoding="utf-8")
    lines = module.shape_section({}, report)
    rows = [line for line in lines if line.startswith("| h")]
    assert len(rows) == len(report)
    for line in rows:
        cols = line.split("|")
        head = "|".join(cols[:4]) + "|"
        doc_line = next(d for d in doc.splitlines() if d.startswith(head))
        doc_cols = doc_line.split("|")
        # every column but the random-half one (the full database's figure, not recomputed here)
        assert doc_cols[:5] + doc_cols[6:] == cols[:5] + cols[6:], (doc_line, line)
