"""The MLA decode kernel (absorbed path) against NVIDIA's measured MLA kernels, held out by shape and by GPU.

Recomputed from the committed extract (``data/kernels/extract/*-mla_decode.csv``, DeepSeek-V3's
latent: 512 + 64): **by num_heads / by kv_len**, whole values of that axis left out of the fit
(:mod:`specroof.calibration.kernels.heldout`); **GPU out**, the left-out GPU's rows priced with
the median of the fields fitted on the *other* Hopper/Blackwell GPUs' rows of the same engine
(efficiencies are fractions of each GPU's datasheet, so they transfer). Levels: tests/gates.toml,
group ``kernel-heldout-mla``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gates import failures, gates
from specroof.calibration.kernels import heldout
from specroof.calibration.kernels import physics as ph
from specroof.calibration.kernels.fitting import _stats, fit_section
from specroof.cost.engine_kernels import DATABASE_GPUS
from specroof.cost.kernel_latency import kernel_latency

REPO = Path(__file__).resolve().parents[1]
EXTRACT = REPO / "data" / "kernels" / "extract"
GPUS = ("h200_sxm", "h100_sxm", "b200_sxm", "gb200")
CELLS = [(gpu, engine) for gpu in GPUS for engine in ("trtllm", "sglang")]
GATES = gates("kernel-heldout-mla")


@pytest.fixture(scope="module")
def report():
    out = heldout.heldout_report(EXTRACT, CELLS, ["mla_decode"], gpu_out=False)
    source = heldout.extract_source(EXTRACT)
    rows = {cell: heldout.section_rows(source, *cell, "mla_decode") for cell in CELLS}
    fields = {cell: fit_section("mla_decode", r, DATABASE_GPUS[cell[0]]) for cell, r in rows.items()}
    for (gpu, engine), r in rows.items():
        others = [f for (g, e), f in fields.items() if e == engine and g != gpu]
        median = {name: float(np.median([f[name] for f in others])) for name in others[0]}
        pred = ph.predict("mla_decode", median, r, DATABASE_GPUS[gpu])
        out[f"{gpu}/{engine}/mla_decode"]["gpu_out"] = _stats(pred, r["latency_us"])
    return out


def test_every_cell_is_gated(report):
    assert set(report) == set(GATES)


@pytest.mark.parametrize("key", sorted(GATES))
def test_mla_decode_heldout_gate(report, key):
    values = {name: stats["mape_pct"] for name, stats in report[key].items()}
    assert not failures(GATES[key], values), values


def test_kernel_latency_prices_the_latent_kernel():
    """The absorbed kernel reads one 576-element latent per cached token whatever the head count:
    at a long context, 8x the heads costs far less than 8x the time (a per-head cache would)."""
    one = kernel_latency("mla_decode", "h200", batch=64, kv_len=32768, num_heads=16)
    many = kernel_latency("mla_decode", "h200", batch=64, kv_len=32768, num_heads=128)
    assert float(many) < 3 * float(one)
    short = kernel_latency("mla_decode", "h200", batch=64, kv_len=[4096, 32768], num_heads=16, kv_dtype="fp8")
    assert short[0] < short[1] <= float(one)  # an fp8 cache streams half the bytes


# ------------------------------------------------------------- the whole layer: nothing fitted to it

MODULE_GATES = gates("kernel-mla-module")


@pytest.mark.parametrize("key", sorted(MODULE_GATES))
def test_mla_module_priced_by_the_builder(key):
    """DeepSeek-V3's measured attention layer against the sum of the builder's operations for
    one layer (GEMMs and the latent kernel at their shipped fits; the module rows fitted nothing)."""
    from specroof.calibration.kernels.mla_module import predict_module
    from specroof.kernels.extract import read_extract

    gpu, engine = key.split("/")
    rows = read_extract(gpu, engine, "mla_module", EXTRACT)
    stats = _stats(predict_module(rows, DATABASE_GPUS[gpu], engine), rows["latency_us"])
    values = {"mape_pct": stats["mape_pct"], "bias_pct": stats["bias_pct"]}
    assert not failures(MODULE_GATES[key], values), values


def test_every_module_table_is_gated():
    present = {f"{gpu}/{engine}" for gpu in GPUS for engine in ("trtllm", "vllm")}
    assert set(MODULE_GATES) == present


DSA_GATES = gates("kernel-heldout-dsa")
DSA_CELLS = [(gpu, engine) for gpu in GPUS for engine in ("trtllm", "vllm")]


@pytest.fixture(scope="module")
def dsa_report():
    return heldout.heldout_report(EXTRACT, DSA_CELLS, ["dsa_module"])


def test_every_dsa_cell_is_gated(dsa_report):
    assert set(dsa_report) == set(DSA_GATES)


@pytest.mark.parametrize("key", sorted(DSA_GATES))
def test_dsa_module_heldout_gate(dsa_report, key):
    """DeepSeek-V3.2's measured sparse-attention layer priced by the builder, the indexer's fixed
    cost held out by heads, by context and by GPU."""
    values = {name: stats["mape_pct"] for name, stats in dsa_report[key].items()}
    assert not failures(DSA_GATES[key], values), values


def test_cli_kernel_mla_decode():
    from tests.support import run_specroof

    run = run_specroof("kernel", "mla_decode", "--batch", "1,64", "--kv-len", "4096", "--num-heads", "16",
                       "--hardware", "h200", "--profile", "trtllm", "--kv-dtype", "fp8", "--format", "json")
    assert run.returncode == 0, run.stderr
    rows = __import__("json").loads(run.stdout)
    assert [r["batch"] for r in rows] == [1, 64] and rows[0]["latency_us"] < rows[1]["latency_us"]


BMM_GATES = gates("kernel-mla-bmm")


@pytest.mark.parametrize("key", sorted(BMM_GATES))
def test_mla_bmm_priced_by_the_gemm_fields(key):
    """The absorbed path's per-head GEMMs as measured, against the builder's mla_bmm operation
    priced with GEMM fields fitted to plain GEMMs only."""
    from specroof.calibration.kernels.mla_module import predict_bmm
    from specroof.kernels.extract import read_extract

    gpu, engine = key.split("/")
    rows = read_extract(gpu, engine, "mla_bmm", EXTRACT)
    stats = _stats(predict_bmm(rows, DATABASE_GPUS[gpu], engine), rows["latency_us"])
    values = {"mape_pct": stats["mape_pct"], "bias_pct": stats["bias_pct"]}
    assert not failures(BMM_GATES[key], values), values
