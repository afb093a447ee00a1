"""Mixture of experts: experts touched (given, uniform, Zipf), dispatch operations, the
per-expert kernels of the PyTorch harness, and the verification tax explain reports."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import specroof
from specroof.cost.architectures import model_operations as decoder_operations
from specroof.cost.grid import Grid
from specroof.cost.routing import MoERouting, expected_active_experts, zipf_inclusion
from specroof.cost.setup import setup_step
from specroof.errors import SpecroofError
from specroof.speculation.explain import explain

CLI = str(Path(sys.executable).parent / "specroof")


# ----------------------------------------------------------------------------- routing


@pytest.mark.parametrize("experts, top_k", [(8, 1), (8, 2), (64, 6), (16, 4)])
def test_zipf_inclusion_probabilities_sum_to_top_k(experts, top_k):
    pi = np.array(zipf_inclusion(experts, top_k, 1.1))
    assert pi.sum() == pytest.approx(top_k, rel=2e-3)
    assert np.all(np.diff(pi) <= 1e-12)  # a preferred expert is never less likely to be chosen


def test_zipf_with_no_skew_is_uniform():
    t = np.array([1.0, 3.0, 16.0, 200.0])
    np.testing.assert_allclose(zipf_inclusion(8, 2, 0.0), 0.25, rtol=2e-3)
    np.testing.assert_allclose(MoERouting.of("zipf:0").experts(8, 2, t), expected_active_experts(8, 2, t))


def test_zipf_top_1_inclusion_is_the_router_weight():
    w = np.arange(1, 9.0) ** -1.5
    np.testing.assert_allclose(zipf_inclusion(8, 1, 1.5), w / w.sum(), rtol=2e-3)


def test_zipf_matches_monte_carlo_of_weighted_top_k():
    """Top-k over Gumbel-perturbed log weights is weighted sampling without replacement."""
    rng = np.random.default_rng(7)
    e, k, s, tokens, trials = 8, 2, 1.0, 4, 40_000
    logw = -s * np.log(np.arange(1, e + 1))
    noisy = logw + rng.gumbel(size=(trials, tokens, e))
    chosen = np.argsort(-noisy, axis=2)[:, :, :k].reshape(trials, -1)
    touched = np.array([len(np.unique(row)) for row in chosen]).mean()
    expected = float(MoERouting.of(f"zipf:{s}").experts(e, k, tokens))
    assert expected == pytest.approx(touched, abs=0.03)
    assert expected < float(expected_active_experts(e, k, tokens))  # skew concentrates the load


def test_given_experts_are_capped_by_what_tokens_can_touch():
    routing = MoERouting.of(None, 6)
    np.testing.assert_array_equal(routing.experts(8, 2, np.array([1.0, 2.0, 3.0, 64.0])), [2, 4, 6, 6])


@pytest.mark.parametrize("bad", ["zipf", "zipf:-1", "zipf:x", "lognormal"])
def test_bad_routing_is_one_line(bad):
    with pytest.raises(SpecroofError) as err:
        MoERouting.of(bad)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("touched", [1, 9, 0.5])
def test_experts_touched_outside_top_k_and_experts_is_an_error(touched):
    with pytest.raises(SpecroofError, match=r"outside \[2, 8\]"):
        setup_step("mixtral-8x7b", "h200", moe_experts_touched=touched)


def test_experts_touched_for_a_dense_model_is_an_error():
    with pytest.raises(SpecroofError, match="not a mixture-of-experts"):
        setup_step("llama-7b", "h200", moe_experts_touched=4)


@pytest.mark.parametrize("args", [["--moe-experts-touched", "9"], ["--moe-experts-touched", "1"],
                                  ["--moe-routing", "zipf:nope"]])
def test_cli_bad_moe_options_exit_2_in_one_line(args):
    proc = subprocess.run([CLI, "latency", "-m", "mixtral-8x7b", "-H", "h200", *args], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


# ----------------------------------------------------------------------------- pricing


def test_given_experts_set_the_weights_read():
    """Each touched expert's gate+up and down weights are read once per layer."""
    r = specroof.latency("mixtral-8x7b", "h200", batch=1, candidates=16, seq_len=1024, moe_experts_touched=5)
    m = specroof.models.architecture.load_model("mixtral-8x7b")
    h, i, L = m.hidden_size, m.mlp_width, m.num_layers
    act = 16 * 2 * (h + 2 * i) * 2  # 32 routed rows in and out
    assert r.bytes["gate_up_proj"][0, 0, 0] == pytest.approx(L * (5 * 2 * i * h * 2 + act), rel=1e-12)


def test_serving_fuses_experts_harness_loops_over_them():
    """serving: one grouped kernel, no dispatch operation; pytorch-sdpa: one GEMM kernel per
    touched expert and the dispatch kernels (7 per expert, 4 per layer)."""
    grid = Grid.of([1, 16], [1, 16], [1024])
    serving = decoder_operations(setup_step("mixtral-8x7b", "h200"), grid)
    assert "moe_dispatch" not in {op.name for op in serving}
    harness = setup_step("mixtral-8x7b", "h200", profile="pytorch-sdpa", moe_experts_touched=6)
    ops = {op.name: op for op in decoder_operations(harness, grid)}
    dispatch = ops["moe_dispatch"]
    touched = harness.experts_touched(grid.tokens)
    np.testing.assert_array_equal(dispatch.shape.kernels, 7 * touched + 4)
    r = specroof.latency("mixtral-8x7b", "h200", batch=[1, 16], candidates=[1, 16], profile="pytorch-sdpa",
                         moe_experts_touched=6)
    gate_up = next(op for op in r.operations if op.name == "gate_up_proj")
    np.testing.assert_array_equal(gate_up.kernels[:, :, 0], 32 * touched.reshape(2, 2))


def test_per_expert_kernels_cost_more_than_one_grouped_kernel():
    kw = dict(batch=1, candidates=16, seq_len=1024, profile="pytorch-sdpa", moe_experts_touched=8)
    loop = specroof.latency("mixtral-8x7b", "h200", **kw)
    grouped = specroof.latency("mixtral-8x7b", "h200", moe_kernel="grouped", **kw)
    assert "moe_dispatch" in loop.ops_ms and "moe_dispatch" not in grouped.ops_ms
    assert loop.ops_ms["gate_up_proj"][0, 0, 0] > grouped.ops_ms["gate_up_proj"][0, 0, 0]
    assert loop.latency_ms[0, 0, 0] > grouped.latency_ms[0, 0, 0]


def test_dense_models_do_not_change_with_moe_options():
    a = specroof.latency("llama-7b", "h200", batch=4, candidates=[1, 8], profile="pytorch-sdpa")
    b = specroof.latency("llama-7b", "h200", batch=4, candidates=[1, 8], profile="pytorch-sdpa", moe_routing="zipf:2")
    np.testing.assert_array_equal(a.latency_ms, b.latency_ms)


# ----------------------------------------------------------------------------- explain


def test_explain_reports_the_moe_verification_tax():
    e = explain("mixtral-8x7b", "h200", batch=1, candidates=16, seq_len=1024, profile="pytorch-sdpa",
                         moe_experts_touched=8)
    tax = e.moe_tax
    assert tax["experts_plain"] == 2 and tax["experts_verify"] == 8
    per_expert_ms = tax["tax_ms"] / 6
    weights_ms = 32 * 3 * 4096 * 14336 * 2 / 4.8e12 * 1e3  # one expert in every layer at datasheet bandwidth
    assert weights_ms < per_expert_ms < 2 * weights_ms
    assert 0 < tax["tax_share_of_verify"] < 1
    assert explain("llama-7b", "h200", batch=1, candidates=16).moe_tax is None


def test_cli_explain_prints_the_tax_line():
    proc = subprocess.run([CLI, "explain", "-m", "mixtral-8x7b", "-H", "h200", "--batch", "1", "--candidates", "16",
                           "--moe-routing", "zipf:1.0"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "MoE verification tax" in proc.stdout


def test_per_expert_load_spread_costs_tile_padding():
    """Experts get Binomial(T, k/touched) tokens: with 256 rows on average, about half the
    experts need a third 128-row tile, so the expected time exceeds the mean expert's."""
    from specroof.cost.operation import GemmShape, MoEShape
    from specroof.cost.pricing import price_gemm, price_moe

    setup = setup_step("mixtral-8x7b", "h200", profile="pytorch-sdpa", moe_experts_touched=8)
    for tokens, gap in ((1024.0, 1.05), (16.0, 1.0)):
        moe = price_moe(MoEShape(np.array(tokens), 8, 2, 2 * 14336, 4096), setup)
        mean = price_gemm(GemmShape(np.array(tokens * 2 / 8), 2 * 14336, 4096), setup)
        assert moe.seconds >= 8 * mean.seconds * gap - 1e-12
        assert moe.flops == pytest.approx(8 * mean.flops, rel=0.01)  # the spread is symmetric
    weights_only = price_moe(MoEShape(np.array(16.0), 8, 2, 2 * 14336, 4096), setup)
    assert weights_only.seconds == pytest.approx(8 * price_gemm(GemmShape(np.array(4.0), 2 * 14336, 4096),
                                                                setup).seconds, rel=0.01)


def test_experts_touched_unused_by_a_fused_kernel_is_said_once():
    """--moe-experts-touched means nothing to an engine profile's fused MoE kernel (it prices
    per-expert loads under the router law): the user is told, once per command, even where the
    step's setup is resolved more than once (plan resolves it per chunk)."""
    proc = subprocess.run([CLI, "plan", "-m", "mixtral-8x7b", "-H", "h200", "--profile", "vllm", "--batch", "1,8",
                           "--moe-experts-touched", "4", "--acceptance", "chain:0.8", "--method", "eagle",
                           "--max-candidates", "4"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    said = [line for line in proc.stderr.splitlines() if "--moe-experts-touched 4 is not used" in line]
    assert len(said) == 1, proc.stderr
