"""The block-scaled 4-bit kernel sections (nvfp4 GEMMs and MoE, MXFP4 MoE), held out by shape and
by GPU on the committed extract, against tests/gates.toml (group "kernel-heldout-formats")."""

from __future__ import annotations

from pathlib import Path

import pytest

from gates import failures, gates
from specroof.calibration.kernels import heldout, selection

EXTRACT = Path(__file__).resolve().parents[1] / "data" / "kernels" / "extract"
GATES = gates("kernel-heldout-formats")


@pytest.fixture(scope="module")
def report():
    cells = sorted({tuple(key.split("/")[:2]) for key in GATES})
    sections = sorted({key.split("/")[2] for key in GATES})
    return heldout.heldout_report(EXTRACT, cells, sections)


@pytest.mark.parametrize("key", sorted(GATES))
def test_heldout_by_shape_gate(report, key):
    values = {name: stats["mape_pct"] for name, stats in report[key].items()}
    assert not failures(GATES[key], values), values


def test_one_gated_kernel_per_table():
    rows = heldout.extract_source(EXTRACT)("b200_sxm", "trtllm", "moe")
    picked = selection.select("moe_nvfp4", rows)
    assert len(set(picked["kernel"])) == 1 and "nongated" not in picked["kernel"][0]
    assert len(picked) < len(rows[rows["dtype"] == "nvfp4"])  # the table mixes paths
