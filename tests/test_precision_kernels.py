"""The block-scaled 4-bit kernel sections (nvfp4 GEMMs and MoE, MXFP4 MoE), held out by shape and
by GPU on the committed extract, against tests/gates.toml (group "kernel-heldout-formats")."""

from __future__ import annotations

from pathlib import Path

import numpy as np
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
    """The most measured gated kernel is kept; a non-gated MLP kernel never, however many rows."""
    kernels = ["moe_nongated"] * 5 + ["moe_cutlass"] * 3 + ["moe_min_latency"] * 2
    rows = np.zeros(len(kernels), dtype=[("kernel", "U32")])
    rows["kernel"] = kernels
    assert set(selection.one_gated_kernel(rows)["kernel"]) == {"moe_cutlass"}


def test_the_extract_holds_the_kernel_the_fit_selects():
    """make_extract samples the 4-bit MoE rows from the kernel the fit selects on the whole
    table, so the extract's selection is that kernel too."""
    rows = heldout.extract_source(EXTRACT)("b200_sxm", "trtllm", "moe")
    fmt = rows[rows["dtype"] == "nvfp4"]
    assert len(fmt) and len(set(fmt["kernel"])) == 1 and "nongated" not in fmt["kernel"][0]
    assert len(selection.select("moe_nvfp4", rows)) == len(fmt)
