"""A format's kernels come from the path the engine serves it with (cost/engine_kernels.py
SAME_KERNEL_AS and NOT_SERVED, which the kernel selection reads)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from specroof.calibration.kernels.selection import select
from specroof.cost.engine_kernels import NOT_SERVED, SAME_KERNEL_AS, fitted_overrides, fitted_section
from specroof.kernels import read_extract

EXTRACT = Path(__file__).resolve().parents[1] / "data" / "kernels" / "extract"


def test_sglang_hopper_mxfp4_is_not_fitted_to_a_path_it_does_not_serve():
    rows = read_extract("h100_sxm", "sglang", "moe", EXTRACT)
    mxfp4 = rows[rows["dtype"] == "w4a16_mxfp4"]
    assert len(mxfp4) and {("w4a16_mxfp4", str(k)) for k in mxfp4["kernel"]} <= set(NOT_SERVED)  # only that path is timed
    assert len(select("moe_mxfp4", rows)) == 0
    served = read_extract("h100_sxm", "vllm", "moe", EXTRACT)
    assert len(select("moe_mxfp4", served)) > 0


def test_the_stand_in_is_the_other_engines_fit_and_is_said():
    for (hardware, engine, precision), (other, why) in SAME_KERNEL_AS.items():
        assert precision not in (fitted_section(hardware, engine) or {})
        own = fitted_overrides(hardware, engine, precision)
        theirs = fitted_section(hardware, other)[precision]
        for field, value in theirs.items():
            assert own[field] == value, (hardware, field)
        assert why in own["kernels_caveat"] and f"{other}'s fit" in own["kernels_caveat"]
        base = fitted_overrides(hardware, engine, "bf16")
        assert base["moe_bandwidth_efficiency"] == fitted_section(hardware, engine)["bf16"]["moe_bandwidth_efficiency"]


def test_gpt_oss_on_hopper_sglang_says_where_its_expert_kernels_come_from():
    import specroof

    result = specroof.latency("gpt-oss-120b", "h100-sxm", batch=[8], candidates=[1], seq_len=[1024], profile="sglang")
    assert "vllm's fit on this device" in result.profile.caveats
    assert np.all(np.isfinite(result.latency_ms))
