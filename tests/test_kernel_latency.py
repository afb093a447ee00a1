"""specroof.kernel_latency, the engine profiles' fitted kernels, `specroof kernel` and
`specroof calibrate --kernels` (on a fake database built from the committed extract)."""

from __future__ import annotations

import json

import numpy as np
import pytest

import specroof
from specroof.calibration.kernels import selection as sel
from specroof.cost.engine_kernels import DATABASE_GPUS, fitted_pairs
from specroof.cost.kernel_latency import kernel_setup
from specroof.cost.operation import GemmShape, Operation
from specroof.cost.pricing import price
from specroof.cost.setup import setup_step
from specroof.errors import SpecroofError
from specroof.kernels import read_extract
from tests.support import run_specroof


def test_broadcast_and_units():
    t = specroof.kernel_latency("gemm", "h200", m=np.array([[1], [64]]), n=[4096, 8192], k=4096)
    assert t.shape == (2, 2) and np.all(t > 0)
    assert t[1, 1] > t[0, 0]
    one = specroof.kernel_latency("gemm", "h200", m=1, n=4096, k=4096)
    assert one.shape == () and float(one) == pytest.approx(t[0, 0])


@pytest.mark.parametrize("profile", ["serving", "vllm", "trtllm", "sglang"])
def test_same_pricing_as_a_step(profile):
    """A GEMM of a step (setup_step, price) and kernel_latency agree exactly."""
    setup = setup_step("llama-3.1-8b", "h200", dtype="bf16", profile=profile)
    step = price(Operation(None, GemmShape(np.array([1.0, 129.0, 4096.0]), 6144, 4096)), setup).seconds * 1e6
    api = specroof.kernel_latency("gemm", "h200", profile=profile, m=[1, 129, 4096], n=6144, k=4096)
    np.testing.assert_allclose(api, step, rtol=1e-12)


def test_engine_profiles_use_fitted_kernels_where_shipped():
    pairs = fitted_pairs()
    for device in ("h200", "h100-sxm", "b200", "a100-80gb-sxm", "gb200"):
        assert set(pairs[device]) == {"vllm", "sglang", "trtllm"}, device
    fitted = kernel_setup("h200", "vllm").profile
    assert fitted.gemm_tile_policy == "rows" and fitted.decode_attention_kernel == "paged"
    assert "fitted to NVIDIA's measured vllm" in fitted.caveats and "not measured" in fitted.caveats
    prior = kernel_setup("rtx-4090", "vllm").profile
    assert prior.gemm_tile_policy == "fastest" and "kernel priors" in prior.caveats
    assert kernel_setup("h200", "serving").profile.gemm_tile_policy == "fastest"


def test_no_spurious_tile_steps_under_fitted_hopper_profiles():
    """cuBLAS on Hopper: median t(M+1)/t(M) 1.02-1.07 at 128/256/512 (docs/kernels-data.md 4.1)."""
    for engine in ("vllm", "trtllm"):
        for m in (128, 256, 512):
            t = specroof.kernel_latency("gemm", "h200", profile=engine, m=[[m], [m + 1]], n=[4096, 14336, 28672], k=4096)
            assert np.all(t[1] / t[0] < 1.1), (engine, m, t[1] / t[0])


def test_fp8_gemm_pays_its_quantize_kernel():
    bf16 = specroof.kernel_latency("gemm", "h200", profile="trtllm", m=8, n=8192, k=8192)
    fp8 = specroof.kernel_latency("gemm", "h200", profile="trtllm", dtype="fp8", m=8, n=8192, k=8192)
    assert 0.5 < fp8 / bf16 < 1.0


def test_decode_attention_per_call_and_per_sequence_costs():
    t = specroof.kernel_latency("decode_attention", "h200", profile="vllm", batch=[1, 256], kv_len=2,
                                num_heads=32, num_kv_heads=8, head_dim=128)
    assert 5 < t[0] < 20  # a call costs ~10 us on an empty cache
    assert (t[1] - t[0]) / 255 > 0.1  # and every sequence ~0.2 us
    serving = specroof.kernel_latency("decode_attention", "h200", batch=256, kv_len=2, num_heads=32,
                                      num_kv_heads=8, head_dim=128)
    assert serving < t[1] / 3


def test_context_attention_is_causal():
    t = specroof.kernel_latency("context_attention", "h200", profile="vllm", batch=1, seq_len=[8192, 16384],
                                num_heads=32, num_kv_heads=8, head_dim=128)
    assert 3.5 < t[1] / t[0] < 4.1  # compute-bound: the (half) square grows 4x


def test_allreduce_measured_per_gpu_count():
    t = specroof.kernel_latency("allreduce", "h200", profile="trtllm", num_gpus=[2, 4, 8], message_bytes=16384)
    assert np.all(t < 8)  # ~3-5 us measured, not the ring prior's ~9.6 us
    ring = specroof.kernel_latency("allreduce", "h200", num_gpus=2, message_bytes=16384)
    assert ring > 9


def test_moe_routing_changes_the_time():
    kw = dict(hidden_size=4096, intermediate_size=14336, top_k=2, num_experts=8)
    bal = specroof.kernel_latency("moe", "h200", profile="vllm", num_tokens=4096, distribution="balanced", **kw)
    skew = specroof.kernel_latency("moe", "h200", profile="vllm", num_tokens=4096, distribution="power_law_1.2", **kw)
    assert skew > bal


@pytest.mark.parametrize("kind,shape,match", [
    ("conv", {}, "unknown kernel kind"),
    ("gemm", {"m": 1, "n": 2}, "missing k"),
    ("gemm", {"m": 1, "n": 2, "k": 3, "batch": 1}, "unknown argument"),
    ("gemm", {"m": 0, "n": 2, "k": 3}, "m must be"),
    ("gemm", {"m": [1, 2], "n": [1, 2, 3], "k": 3}, "broadcast"),
    ("allreduce", {"num_gpus": 1, "message_bytes": 4}, "num_gpus"),
    ("moe", {"num_tokens": 1, "hidden_size": 8, "intermediate_size": 8, "top_k": 9, "num_experts": 8}, "top_k"),
    ("decode_attention", {"batch": 1, "kv_len": 4, "num_heads": 3, "num_kv_heads": 2, "head_dim": 64}, "multiple"),
])
def test_bad_input_is_one_error(kind, shape, match):
    with pytest.raises(SpecroofError, match=match):
        specroof.kernel_latency(kind, "h200", **shape)


def test_serving_step_numbers_unchanged_by_new_fields():
    """serving has none of the engine kernel fields: its steps keep the golden numbers
    (tests/test_golden.py checks every case; this is the quick version)."""
    prof = specroof.get_profile("serving")
    assert prof.gemm_overlap_q == 0 and not prof.allreduce_fits and prof.moe_kernel == "grouped"
    assert prof.decode_attention_kernel == "split_kv"


def test_fitted_step_runs_for_every_shipped_device():
    for device, engines in fitted_pairs().items():
        for engine in engines:
            r = specroof.latency("llama-3.1-8b", device, profile=engine, batch=[1, 64], candidates=[1, 4],
                                 seq_len=1024)
            assert np.all(np.isfinite(r.latency_ms)) and np.all(r.latency_ms > 0), (device, engine)


def test_cli_kernel_formats_and_errors():
    r = run_specroof("kernel", "gemm", "--hardware", "h200", "--profile", "vllm", "--m", "1,129", "--n", "4096",
                     "--k", "4096", "--format", "json")
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    assert [row["m"] for row in rows] == [1, 129] and all(row["latency_us"] > 0 for row in rows)
    assert "fitted" in r.stderr
    r = run_specroof("kernel", "allreduce", "--hardware", "h200", "--num-gpus", "2,8", "--message-bytes", "1024",
                     "--format", "csv")
    assert r.returncode == 0 and r.stdout.count("\n") >= 3
    for args in (["gemm", "--hardware", "h200", "--m", "1"], ["gemm", "--hardware", "h200", "--m", "1", "--n", "1",
                                                              "--k", "1", "--batch", "2"],
                 ["nope", "--hardware", "h200"], ["gemm", "--hardware", "h200", "--m", "x", "--n", "1", "--k", "1"]):
        r = run_specroof("kernel", *args)
        assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, (args, r.stderr)


# ---------------------------------------------------------------- calibrate --kernels


def _fake_db(extract):
    """A reader over the committed extract (folder ``extract``), as the installed database would answer."""
    from specroof.kernels import extract_listing

    listing = {gpu: {e: {f: ["extract"] for f in fams} for e, fams in engines.items()}
               for gpu, engines in extract_listing(extract).items()}

    def loader(gpu, engine, family, version):
        return read_extract(gpu, engine, family, extract)

    return listing, loader


def test_calibrate_kernels_writes_a_usable_profile(tmp_path, kernel_extract):
    from specroof.calibration.kernels.calibrate import calibrate_kernels

    listing, loader = _fake_db(kernel_extract)
    result = calibrate_kernels("h100_sxm:trtllm", listing=listing, loader=loader)
    out = tmp_path / "h100-trtllm.toml"
    result.write(out)
    assert set(result.stats) == {"gemm_bf16", "decode_attention", "context_attention", "allreduce", "moe_bf16"}
    assert all(s["mape_heldout_pct"] < 40 for s in result.stats.values())
    setup = kernel_setup(str(out))
    assert setup.profile.engine == "trtllm" and setup.profile.gemm_tile_policy == "rows"
    assert "calibrated" in setup.profile.caveats
    rows = sel.select("gemm_bf16", read_extract("h100_sxm", "trtllm", "gemm", kernel_extract))
    t = specroof.kernel_latency("gemm", str(out), m=rows["m"], n=rows["n"], k=rows["k"])
    assert np.mean(np.abs(t - rows["latency_us"]) / rows["latency_us"]) < 0.12
    r = specroof.latency("llama-3.1-8b", str(out), batch=1, candidates=1, seq_len=512)
    assert np.all(r.latency_ms > 0)


@pytest.mark.parametrize("spec,match", [
    ("h999", "GPUs present: .*h200_sxm.*engines: .*vllm"),
    ("h200_sxm:tgi", "engines present"),
    ("h200_sxm:vllm:9.9", "no version"),
    ("h200_sxm::x", "GPU\\[:ENGINE"),
])
def test_calibrate_kernels_bad_spec(spec, match, kernel_extract):
    from specroof.calibration.kernels.calibrate import calibrate_kernels

    listing, loader = _fake_db(kernel_extract)
    with pytest.raises(SpecroofError, match=match):
        calibrate_kernels(spec, listing=listing, loader=loader)


def test_calibrate_cli_needs_one_source(tmp_path):
    r = run_specroof("calibrate", "-o", str(tmp_path / "x.toml"))
    assert r.returncode == 2 and "--kernels" in r.stderr


def test_database_gpu_names_map_to_catalog():
    from specroof.hardware.accelerator import catalog_names

    assert set(DATABASE_GPUS.values()) <= set(catalog_names())


def _without_shape_section(text: str) -> str:
    start = text.index("## Held out by shape and by GPU")
    return text[:start] + text[text.index("## Where a target is missed", start):]


def test_accuracy_report_is_regenerated_from_committed_stats():
    """docs/kernel-accuracy.md is what tools/kernels/accuracy_report.py renders from the
    committed fit statistics; the shipped profiles agree with those statistics on the extract
    (tests/test_kernels_data.py), so the report describes what users get."""
    from pathlib import Path

    from tools.kernels import accuracy_report as module

    repo = Path(__file__).resolve().parents[1]
    stats = json.loads(module.STATS.read_text())
    noise = json.loads(module.NOISE.read_text())
    # The held-out-by-shape section is recomputed from the extract by tests/test_kernel_heldout.py
    # (target cells); everything else must be exactly what the script renders.
    assert _without_shape_section(module.OUT.read_text()) == _without_shape_section(module.render(stats, noise, {}))
    engine_kernels = (repo / "src" / "specroof" / "cost" / "engine_kernels.toml").read_text()
    for key, s in stats.items():
        gpu, engine, section = key.split("/")
        assert f"{section} = {s['mape_heldout_pct']}" in engine_kernels, key


def test_shipped_heldout_targets_recorded():
    """The issue's targets as the report states them (H200/H100, vllm/trtllm): the bf16 GEMM and
    all-reduce targets are met; the misses are explained in docs/kernel-accuracy.md."""
    from pathlib import Path

    from gates import failures, gates

    limits = gates("kernel-database")
    stats = json.loads((Path(__file__).resolve().parents[1] / "data" / "kernels" / "fit-stats.json").read_text())
    for gpu in ("h200_sxm", "h100_sxm"):
        for engine in ("vllm", "trtllm"):
            gemm = stats[f"{gpu}/{engine}/gemm_bf16"]
            assert not failures(limits["kernel-database.gemm_bf16"], {
                "mape_pct": gemm["mape_heldout_pct"], "mape_m129_1024_pct": gemm["heldout_by_m"]["129-1024"]["mape_pct"]})
            assert not failures(limits["kernel-database.allreduce"],
                                {"mape_pct": stats[f"{gpu}/{engine}/allreduce"]["mape_heldout_pct"]})
