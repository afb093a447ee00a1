"""The all-to-all kernel fits: the shipped rows come from the committed extract, their
held-out error stays under its gates, and pricing reads them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from specroof.calibration.kernels import a2a as fit
from specroof.cost.operation import AllToAllShape
from specroof.cost.pricing_comm import a2a_fits, a2a_line, other_rank_share, price_all_to_all
from specroof.cost.setup import setup_step

EXTRACT = Path(__file__).resolve().parents[1] / "data" / "kernels" / "extract"

HELDOUT_SHAPE_MAX_PCT = 35.0
"""Worst (GPU, engine, mode, phase) held out by hidden size: 31.2% (b200 trtllm normal dispatch)."""
HELDOUT_SHAPE_MEDIAN_PCT = 15.0
"""Median over all 48 of them: 13.7%."""


@pytest.fixture(scope="module")
def fitted():
    return fit.fit_extract(EXTRACT)


def test_shipped_fits_are_the_extract_refitted(fitted):
    fits, _ = fitted
    assert fits == a2a_fits()
    assert set(fits) == {"h200", "h100-sxm", "b200", "gb200"}


def test_heldout_by_shape_is_within_its_gates(fitted):
    _, report = fitted
    shape_errors = np.array([row[8] for row in report if row[8] is not None])
    assert len(shape_errors) == len(report) == 48  # 4 GPUs x 3 engines x 2 modes x 2 phases
    assert shape_errors.max() <= HELDOUT_SHAPE_MAX_PCT
    assert np.median(shape_errors) <= HELDOUT_SHAPE_MEDIAN_PCT


def test_fit_recovers_a_known_line():
    from specroof.kernels.schema import from_columns

    tokens = np.array([1, 4, 16, 32, 64, 128])
    cols = dict(kernel=["k"] * 6, mode=["low_latency"] * 6, phase=["dispatch"] * 6, ranks=[8] * 6,
                hidden=[4096, 4096, 7168, 7168, 2048, 2048], topk=[8] * 6, num_experts=[256] * 6,
                num_tokens=tokens, latency_us=np.zeros(6))
    rows = from_columns("a2a", cols)
    rows["latency_us"] = 12.0 + fit.payload(rows) / (300.0 * 1e3)
    floor, gbps = fit.fit_line(rows, 450.0)
    assert floor == pytest.approx(12.0, rel=1e-6) and gbps == pytest.approx(300.0, rel=1e-6)


def test_pricing_reads_the_fitted_row_and_falls_back_to_the_datasheet():
    sglang = setup_step("mixtral-8x7b", "h200", tp=8, profile="sglang")
    assert a2a_line(sglang, "low_latency", "dispatch") == tuple(a2a_fits()["h200"]["sglang"]["low_latency"]["dispatch"])
    plain = setup_step("mixtral-8x7b", "h200", tp=8)
    floor, gbps = a2a_line(plain, "normal", "combine")
    assert floor == plain.profile.allreduce_latency_us
    assert gbps == pytest.approx(450.0 * plain.profile.interconnect_efficiency)
    shape = AllToAllShape(np.array([64.0, 1024.0]), 7168, 8, 256, 8, "combine")
    seconds = np.asarray(price_all_to_all(shape, sglang).seconds)
    assert seconds[1] > seconds[0] > 0


def test_normal_mode_sends_a_token_once_per_rank():
    # top-8 of 256 experts on 8 ranks: a given other rank is missed with probability C(224, 8) / C(256, 8)
    share = other_rank_share(256, 8, 8)
    missed = np.prod([(224 - i) / (256 - i) for i in range(8)])
    assert share == pytest.approx(1 - missed)
    assert 7 * share < 8 * 7 / 8  # fewer rows than low-latency's one per expert


# ----------------------------------------------------------------------------- MoE under EP

SHARD_EP8_MAX_PCT = 32.0
"""Worst (GPU, engine) at ep <= 8 of the shard's t(ep)/t(1) error: 30.1% (h200 sglang, ep 8)."""
SHARD_MEDIAN_PCT = 20.0
"""Median over the 72 (GPU, engine, ep) rows, ep 2..64: 18.4%."""


@pytest.fixture(scope="module")
def shard_errors():
    from specroof.calibration.kernels.expert_parallel import ratio_errors
    from specroof.cost.engine_kernels import DATABASE_GPUS
    from specroof.cost.kernel_latency import kernel_setup
    from specroof.kernels.extract import read_extract

    out = {}
    for gpu in fit.GPUS:
        for engine in fit.ENGINES:
            rows = read_extract(gpu, engine, "moe_ep", EXTRACT)
            for ep, r in ratio_errors(rows, kernel_setup(DATABASE_GPUS[gpu], engine)).items():
                out[(gpu, engine, ep)] = r
    return out


def test_ep_shard_against_measured_moe_layers_no_fit_saw(shard_errors):
    assert len(shard_errors) == 72  # 4 GPUs x 3 engines x ep 2..64
    small = [r["balanced_mape"] for (_, _, ep), r in shard_errors.items() if ep <= 8]
    assert max(small) <= SHARD_EP8_MAX_PCT
    assert np.median([r["balanced_mape"] for r in shard_errors.values()]) <= SHARD_MEDIAN_PCT
    assert all(r["rows"] >= 30 for r in shard_errors.values())
