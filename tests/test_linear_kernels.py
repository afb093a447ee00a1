"""The recurrent_scan kernel section: fitted on the extract's Gated DeltaNet rows, held out by whole
head counts and batch sizes, and scored on a family it never saw (KDA's speculative verify rows)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gates import failures, gates
from specroof.calibration.kernels import physics as ph
from specroof.calibration.kernels import selection as sel
from specroof.calibration.kernels.heldout import by_axis, cross_family, extract_source, section_rows
from specroof.cost.kernel_latency import kernel_latency
from specroof.errors import SpecroofError

EXTRACT = Path(__file__).resolve().parents[1] / "data" / "kernels" / "extract"
SOURCE = extract_source(EXTRACT)
LIMITS = gates("linear-attention")


def test_extract_has_the_scan_rows_of_every_phase():
    gdn = SOURCE("h200_sxm", "vllm", "gdn")
    kda = SOURCE("h200_sxm", "vllm", "kda")
    assert set(gdn["phase"]) == {"context", "generation"} and set(kda["phase"]) == {"context", "generation", "verify"}
    assert len(sel.select("recurrent_scan", gdn)) == len(gdn)  # the extract keeps scans, not the convolution
    verify = kda[kda["phase"] == "verify"]
    assert set(verify["seq_len"]) == {2, 4, 8}


def test_gdn_scan_held_out_by_shape():
    worst = 0.0
    for engine in ("trtllm", "vllm"):
        rows = section_rows(SOURCE, "h200_sxm", engine, "recurrent_scan")
        for axis in ("num_v_heads", "batch"):
            worst = max(worst, by_axis("recurrent_scan", rows, "h200_sxm", engine, axis)["mape_pct"])
    gate = LIMITS["GDN scan held out by head count and by batch size, H200 trtllm and vllm (worst cell)"]
    assert not failures(gate, {"mape_pct": worst}), worst


def test_kda_verify_priced_with_the_gdn_fit():
    entry = cross_family(SOURCE, "h200_sxm", "vllm", "recurrent_scan")
    gate = LIMITS["KDA verify rows priced with the GDN fit, H200 vllm"]
    assert not failures(gate, {"mape_pct": entry["verify"]["mape_pct"]}), entry["verify"]


def test_verify_time_grows_with_the_checkpoints_written():
    """Each speculative token past the first writes one more state: at 256 sequences of 96 fp32
    128 x 128 states the kernel is bound by those writes, so 8 tokens cost about 9/3 of 2."""
    us = kernel_latency("recurrent_scan", "h200", profile="vllm", batch=256, tokens=[2, 8], num_k_heads=96,
                        head_k_dim=128, num_v_heads=96, head_v_dim=128, phase="verify")
    assert us[1] / us[0] == pytest.approx(9 / 3, rel=0.1)
    plain = kernel_latency("recurrent_scan", "h200", profile="vllm", batch=256, tokens=8, num_k_heads=96,
                           head_k_dim=128, num_v_heads=96, head_v_dim=128, phase="context")
    assert plain < us[1]  # the chunked prefill of 8 tokens writes no checkpoints


def test_shipped_profile_prices_the_measured_decode_rows():
    """The vllm profile as a user gets it on an H200 (engine_kernels.toml) against the extract's
    GDN decode rows: the shipped fit and the extract agree."""
    rows = SOURCE("h200_sxm", "vllm", "gdn")
    rows = rows[rows["phase"] == "generation"]
    assert ph.mape(ph.predict("recurrent_scan", "vllm", rows, "h200"), rows["latency_us"]) < 15.0
    assert np.all(ph.predict("recurrent_scan", "vllm", rows, "h200") > 0)


def test_bad_phase_is_one_error():
    with pytest.raises(SpecroofError, match="phase must be context, generation or verify"):
        kernel_latency("recurrent_scan", "h200", batch=1, tokens=1, num_k_heads=1, head_k_dim=8, num_v_heads=1,
                       head_v_dim=8, phase="decode")


def test_cli_kernel_prices_a_verify_scan():
    from tests.support import run_specroof

    run = run_specroof("kernel", "recurrent_scan", "--hardware", "h200", "--profile", "vllm", "--batch", "64",
                       "--tokens", "1,4", "--num-k-heads", "16", "--head-k-dim", "128", "--num-v-heads", "32",
                       "--head-v-dim", "128", "--phase", "verify", "--format", "csv")
    assert run.returncode == 0, run.stderr
    times = [float(line.split(",")[-1]) for line in run.stdout.strip().splitlines()[1:]]
    assert len(times) == 2 and times[1] > 2 * times[0]  # 3 more state writes per sequence than one token
    wrong = run_specroof("kernel", "gemm", "--hardware", "h200", "--m", "1", "--n", "64", "--k", "64", "--phase", "verify")
    assert wrong.returncode == 2 and wrong.stderr.strip().splitlines()[-1] == "error: --phase applies to recurrent_scan only"
