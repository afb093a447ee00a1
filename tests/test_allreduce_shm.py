"""All-reduce between GPUs without peer-to-peer access (``gpu_p2p`` false, ``--no-gpu-p2p``):
NCCL's SHM line from published nccl-tests runs (src/specroof/cost/allreduce_shm.toml), the
engines' custom all-reduce off, said in one line, and the step slower than on an NVLink board."""

from __future__ import annotations

import numpy as np
import pytest

import specroof
from specroof.cost.allreduce import allreduce_seconds, nccl_seconds, shm_line
from specroof.cost.setup import setup_step
from specroof.errors import SpecroofError, SpecroofWarning
from tests.support import run_cli

TARGET = "llama-3.3-70b"
PAYLOADS = np.array([16384.0, 262144.0, 4e6, 64e6])


def _setup(tp: int = 2, **options):
    with pytest.warns(SpecroofWarning, match="gpu_p2p false"):
        return setup_step(TARGET, "h100-sxm", tp=tp, profile="vllm", gpu_p2p=False, **options)


def test_the_line_is_sourced_and_physical():
    line = shm_line()
    assert line["source"].startswith("https://") and line["measured_on"] and line["fitted"]
    for gpus, latency_us, busbw_gbps in line["rows"]:
        assert gpus >= 2 and 1.0 < latency_us < 1000.0 and 0.5 < busbw_gbps < 64.0  # under a PCIe x16 link


def test_the_measured_line_prices_two_gpus():
    setup = _setup()
    gpus, latency_us, busbw_gbps = shm_line()["rows"][0]
    seconds, transfer = allreduce_seconds(int(gpus), PAYLOADS, setup)
    np.testing.assert_allclose(seconds, nccl_seconds(int(gpus), PAYLOADS, latency_us, busbw_gbps))
    np.testing.assert_allclose(seconds - transfer, latency_us * 1e-6)


def test_without_p2p_every_size_is_slower_than_either_nvlink_path():
    """Host staging is slower than the custom kernel and NCCL over NVLink at every decode size."""
    shm = allreduce_seconds(2, PAYLOADS, _setup())[0]
    for nvlink in (setup_step(TARGET, "h100-sxm", tp=2, profile="vllm"),
                   setup_step(TARGET, "h100-sxm", tp=2, profile="vllm", allreduce_nccl=True)):
        assert np.all(shm > 2 * allreduce_seconds(2, PAYLOADS, nvlink)[0])


def test_more_gpus_pay_more_hops_at_the_same_bandwidth():
    two, four = _setup(tp=2), _setup(tp=4)
    small = np.array([8.0])
    ratio = allreduce_seconds(4, small, four)[0] / allreduce_seconds(2, small, two)[0]
    assert ratio == pytest.approx(3.0, rel=0.01)  # 2 (p - 1) hops: 6 against 2


def test_any_device_is_told_where_the_line_was_measured():
    with pytest.warns(SpecroofWarning, match="measured on 2x RTX 2080 Ti over PCIe Gen3"):
        setup_step("llama-3.1-8b", "a100-80gb-pcie", tp=2, gpu_p2p=False)


def test_one_gpu_is_told_the_setting_changes_nothing():
    with pytest.warns(SpecroofWarning, match="changes nothing on one GPU"):
        setup_step("llama-3.1-8b", "h100-sxm", gpu_p2p=False)


def test_the_step_without_p2p_is_slower_and_only_its_allreduces_change():
    with pytest.warns(SpecroofWarning, match="gpu_p2p false"):
        shm = specroof.latency(TARGET, "h100-sxm", tp=2, profile="vllm", batch=[1, 32], gpu_p2p=False)
    nvlink = specroof.latency(TARGET, "h100-sxm", tp=2, profile="vllm", batch=[1, 32])
    assert np.all(shm.latency_ms > nvlink.latency_ms)
    rest = (nvlink.latency_ms - nvlink.ops_ms["allreduce"]).ravel()
    np.testing.assert_allclose((shm.latency_ms - shm.ops_ms["allreduce"]).ravel(), rest, rtol=1e-9)


def test_expert_parallelism_without_p2p_is_refused_naming_why():
    with pytest.raises(SpecroofError, match="--ep 8 with gpu_p2p false: .*DeepEP"):
        setup_step("deepseek-v3", "h200", tp=8, ep=8, gpu_p2p=False)


def test_the_command_line_flag_prices_host_staging_and_says_so():
    args = ["latency", "-m", TARGET, "-H", "h100-sxm", "--tp", "2", "--profile", "vllm", "--batch", "1",
            "--format", "json"]
    plain, staged = run_cli(*args), run_cli(*args, "--no-gpu-p2p")
    assert staged.json()[0]["latency_ms"] > plain.json()[0]["latency_ms"]
    assert "warning: gpu_p2p false: every all-reduce runs NCCL through host memory" in staged.stderr
    assert "gpu_p2p" not in plain.stderr
