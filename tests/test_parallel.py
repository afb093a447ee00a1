"""Parallelism as deployed: expert parallelism (its all-to-all, its busiest rank), data-parallel
attention, the drafter's own TP, per-GPU memory of each layout, and bad layouts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import specroof
from specroof.cost.architectures import model_operations
from specroof.cost.grid import Grid
from specroof.cost.operation import AllToAllShape
from specroof.cost.parallel import expected_max_poisson, expert_placement, max_rank_copies
from specroof.cost.pricing_comm import LOW_LATENCY_MAX_TOKENS, a2a_payload_bytes, price_all_to_all
from specroof.cost.setup import setup_step
from specroof.errors import SpecroofError

CLI = str(Path(sys.executable).parent / "specroof")
MOE = "mixtral-8x7b"  # 8 experts, top-2, 32 layers, 8 KV heads


def _ops(setup, batch=8, candidates=4, seq_len=1024):
    return model_operations(setup, Grid.of([batch], [candidates], [seq_len]))


def _named(ops, name):
    return [op for op in ops if op.name == name]


# ----------------------------------------------------------------------------- all-to-all


def test_a2a_time_grows_with_tokens_and_payload_is_the_remote_share():
    setup = setup_step(MOE, "h200", tp=8, ep=8, dp_attention=8, profile="sglang")
    tokens = np.array([1.0, 8.0, 64.0, 128.0, 512.0, 4096.0])
    shape = AllToAllShape(tokens, 4096, 2, 8, 8, "dispatch")
    seconds = np.asarray(price_all_to_all(shape, setup).seconds)
    assert np.all(np.diff(seconds[tokens <= LOW_LATENCY_MAX_TOKENS]) > 0)
    assert np.all(np.diff(seconds[tokens > LOW_LATENCY_MAX_TOKENS]) > 0)
    assert seconds[-1] > 10 * seconds[0]
    np.testing.assert_allclose(a2a_payload_bytes(shape, "low_latency"), tokens * 2 * 4096 * 2 * 7 / 8)
    # normal mode: once per other rank holding one of the token's 2 experts (one expert per rank)
    np.testing.assert_allclose(a2a_payload_bytes(shape, "normal"), tokens * 7 * (2 / 8) * 4096 * 2)


def test_dp_attention_with_ep_sends_tokens_by_all_to_all_instead_of_the_mlp_allreduce():
    plain = _ops(setup_step(MOE, "h200", tp=8))
    a2a = _ops(setup_step(MOE, "h200", tp=8, ep=8, dp_attention=8))
    assert [op.count for op in _named(plain, "allreduce")] == [64.0]
    assert _named(a2a, "allreduce") == []  # one GPU per attention group, experts reached by all-to-all
    dispatch, combine = _named(a2a, "moe_dispatch_a2a"), _named(a2a, "moe_combine_a2a")
    assert len(dispatch) == len(combine) == 1 and dispatch[0].count == combine[0].count == 32.0
    names = [op.name for op in a2a]
    assert names.index("moe_dispatch_a2a") < names.index("gate_up_proj") < names.index("moe_combine_a2a")
    assert np.asarray(dispatch[0].shape.tokens).item() == pytest.approx(8 * 4 / 8)  # each rank sends its own share


def test_ep_without_dp_attention_keeps_the_allreduce_and_no_all_to_all():
    ops = _ops(setup_step(MOE, "h200", tp=8, ep=8))
    assert not _named(ops, "moe_dispatch_a2a")
    assert [op.count for op in _named(ops, "allreduce")] == [64.0]


# ----------------------------------------------------------------------------- the busiest rank


def test_busiest_rank_gets_at_least_the_balanced_share_and_the_excess_shrinks_with_tokens():
    setup = setup_step(MOE, "h200", tp=8, ep=4)
    tokens = np.array([1.0, 4.0, 64.0, 4096.0])
    busiest = max_rank_copies(setup, tokens)
    balanced = tokens * 2 / 4
    assert np.all(busiest >= balanced)
    excess = busiest / balanced
    assert np.all(np.diff(excess) < 0) and excess[-1] < 1.1


def test_skewed_router_loads_the_busiest_rank_more_than_uniform():
    uniform = setup_step(MOE, "h200", tp=8, ep=4)
    skewed = setup_step(MOE, "h200", tp=8, ep=4, moe_routing="power_law_1.2")
    t = np.array([16.0, 256.0])
    assert np.all(max_rank_copies(skewed, t) > max_rank_copies(uniform, t))


def test_placement_holds_e_over_ep_experts_per_rank():
    shares = np.arange(1, 65.0) ** -1.2
    ranks = expert_placement(shares, 8)
    assert np.all(np.bincount(ranks, minlength=8) == 8)


@pytest.mark.parametrize("tokens", [1, 4, 16, 64])
def test_busiest_rank_against_monte_carlo_of_uniform_top_k(tokens):
    """Uniform top-6 of 64 experts on 8 ranks (contiguous blocks of 8): the Poisson sum errs
    high (picks without replacement spread less), by less than 12%."""
    rng = np.random.default_rng(2026)
    e, k, ep, trials = 64, 6, 8, 20_000
    picks = np.argsort(rng.random((trials, tokens, e)), axis=2)[:, :, :k] // (e // ep)
    counts = np.stack([(picks == r).sum(axis=(1, 2)) for r in range(ep)], axis=1)
    simulated = counts.max(axis=1).mean()
    means = np.full(ep, tokens * k / ep)
    predicted = expected_max_poisson(means)
    assert simulated * 0.99 <= predicted <= simulated * 1.12


def test_expected_max_of_one_poisson_is_its_mean():
    assert expected_max_poisson(np.array([3.5])) == pytest.approx(3.5, rel=1e-9)


# ----------------------------------------------------------------------------- memory per GPU


def _weights(ops, name):
    return sum(op.weight_bytes for op in _named(ops, name))


def test_ep_gpu_holds_e_over_ep_experts():
    one = _ops(setup_step(MOE, "h200", tp=1))
    for tp, ep in ((8, 8), (8, 4), (4, 2)):
        ops = _ops(setup_step(MOE, "h200", tp=tp, ep=ep))
        gate_up = _named(ops, "gate_up_proj")[0]
        assert gate_up.shape.num_experts == 8 // ep
        assert _weights(ops, "gate_up_proj") == pytest.approx(_weights(one, "gate_up_proj") / tp)
        assert _weights(ops, "down_proj") == pytest.approx(_weights(one, "down_proj") / tp)


def test_dp_attention_replicates_attention_weights_and_caches_only_its_sequences():
    tp8 = setup_step(MOE, "h200", tp=8)
    dp8 = setup_step(MOE, "h200", tp=8, dp_attention=8)
    dp2 = setup_step(MOE, "h200", tp=8, dp_attention=2)
    one = _ops(setup_step(MOE, "h200"))
    assert _weights(_ops(dp8), "qkv_proj") == pytest.approx(_weights(one, "qkv_proj"))
    assert _weights(_ops(dp2), "qkv_proj") == pytest.approx(_weights(one, "qkv_proj") / 4)
    assert _weights(_ops(dp8), "gate_up_proj") == pytest.approx(_weights(_ops(tp8), "gate_up_proj"))
    batch = [1, 7, 64]
    for setup, per_seq_heads in ((dp8, 8), (dp2, 2)):
        mem = specroof.memory_footprint(setup, batch=batch, candidates=1, seq_len=1024)
        kv_token = 2 * 32 * per_seq_heads * 128 * 2  # K and V, 32 layers, heads on one GPU, fp16
        seqs = np.ceil(np.array(batch) / setup.dp_attention)
        np.testing.assert_allclose(mem.kv_cache_bytes[:, 0, 0], seqs * 1025 * kv_token)


def test_a_layout_that_does_not_fit_is_reported():
    fit = specroof.memory_footprint(MOE, "h100-sxm", batch=[1], candidates=1, seq_len=1024, tp=2, ep=2,
                                    dp_attention=2)
    assert fit.fits.all()
    crowded = specroof.memory_footprint(MOE, "l40s", batch=[1], candidates=1, seq_len=1024, tp=2, ep=2,
                                        dp_attention=2)
    assert not crowded.fits.any()  # ~47 GB of weights over two 48 GB cards, attention replicated: no room


# ----------------------------------------------------------------------------- the drafter's own TP


def test_draft_model_runs_at_its_own_tp():
    same = specroof.memory_footprint("llama-2-70b", "h200", method="draft", draft_model="llama-7b", tp=8)
    own = specroof.memory_footprint("llama-2-70b", "h200", method="draft", draft_model="llama-7b", tp=8, draft_tp=1)
    assert own.draft_weights_bytes == pytest.approx(same.draft_weights_bytes * 8, rel=0.01)
    assert own.weights_bytes == pytest.approx(same.weights_bytes)


# ----------------------------------------------------------------------------- bad layouts


@pytest.mark.parametrize("options, words", [
    ({"tp": 8, "ep": 3}, "does not divide mixtral-8x7b's 8 routed experts"),
    ({"tp": 2, "ep": 4}, "--ep 4 must divide --tp 2: the experts are spread over the 2 devices"),
    ({"tp": 8, "dp_attention": 3}, "--dp-attention 3 must divide"),
    ({"tp": 8, "ep": 4, "dp_attention": 8}, "--ep must equal --tp 8"),
    ({"tp": 8, "draft_tp": 3}, "--draft-tp 3 must divide"),
    ({"tp": 8, "ep": 0}, "--ep must be a positive integer"),
])
def test_bad_layouts_are_one_error(options, words):
    with pytest.raises(SpecroofError, match=words.replace("(", r"\(").replace("+", r"\+")):
        setup_step(MOE, "h200", **options)


def test_ep_on_a_dense_model_is_refused():
    with pytest.raises(SpecroofError, match="no experts to split"):
        setup_step("llama-7b", "h200", tp=2, ep=2)


def test_cli_bad_ep_is_one_error_line():
    out = subprocess.run([CLI, "latency", "-m", MOE, "-H", "h200", "--tp", "8", "--ep", "3"],
                         capture_output=True, text=True)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --ep 3 does not divide")


def test_cli_ops_lists_the_all_to_all():
    out = subprocess.run([CLI, "ops", "-m", MOE, "-H", "h200", "--tp", "8", "--ep", "8", "--dp-attention", "8",
                          "--batch", "64", "--format", "csv"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "moe_dispatch_a2a" in out.stdout and "moe_combine_a2a" in out.stdout


# ----------------------------------------------------------------------------- explain


def test_explain_says_how_the_all_to_all_grows_with_the_verified_tokens():
    e = specroof.explain(MOE, "h200", batch=32, candidates=4, tp=8, ep=8, dp_attention=8, profile="sglang")
    growth = e.all_to_all
    assert growth["tokens_per_rank_plain"] == 4 and growth["tokens_per_rank_verify"] == 16
    assert growth["a2a_verify_ms"] > growth["a2a_plain_ms"] > 0
    added = sum(c["added_ms"] for c in e.causes if c["cause"] in ("moe_dispatch_a2a", "moe_combine_a2a"))
    assert growth["a2a_added_ms"] == pytest.approx(added)  # the line and the table agree
    assert growth["busiest_rank_copies"] >= growth["balanced_rank_copies"] == 32 * 4 * 2 / 8
    assert specroof.explain(MOE, "h200", batch=32, candidates=4, tp=8).all_to_all is None


def test_cli_explain_prints_the_expert_parallel_line():
    out = subprocess.run([CLI, "explain", "-m", MOE, "-H", "h200", "--tp", "8", "--ep", "8", "--dp-attention", "8",
                          "--batch", "32", "--candidates", "4"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    line = next(x for x in out.stdout.splitlines() if x.startswith("expert parallelism over 8 GPUs"))
    assert "all-to-all" in line and "tokens per rank" in line


# ----------------------------------------------------------------------------- exported launch commands


def test_exports_spell_the_layout_in_each_engine():
    from specroof.speculation.exports import export_table

    p = specroof.plan(MOE, "h200", batch=[1, 8], seq_len=[1024], max_candidates=8, tp=8, ep=8, dp_attention=8,
                      profile="sglang")
    vllm = export_table(p, "vllm")
    assert "--tensor-parallel-size 1 " in vllm and "--data-parallel-size 8 --enable-expert-parallel" in vllm
    sglang = export_table(p, "sglang")
    assert "--tp-size 8 " in sglang and "--ep-size 8 --enable-dp-attention --dp 8 --moe-a2a-backend deepep" in sglang
    trtllm = export_table(p, "trtllm")
    assert "moe_expert_parallel_size: 8" in trtllm and "enable_attention_dp: true" in trtllm
    assert "x 8 (tensor parallel, experts over 8, attention data-parallel in 8 groups)" in sglang
    plain = export_table(specroof.plan(MOE, "h200", batch=[1], seq_len=[1024], max_candidates=8, tp=8), "sglang")
    assert "--ep-size" not in plain and "--enable-dp-attention" not in plain


def test_vllm_export_gives_the_draft_its_own_tp():
    import json
    import re

    from specroof.speculation.exports import export_table

    p = specroof.plan("llama-2-70b", "h200", batch=[1], seq_len=[1024], max_candidates=6, tp=8, draft_tp=1,
                      draft_model="llama-7b", acceptance="chain:0.8")
    config = json.loads(re.search(r"--speculative-config '(.*)'", export_table(p, "vllm")).group(1))
    assert config["draft_tensor_parallel_size"] == 1


def test_dp_attention_on_a_dense_model_is_refused_with_the_replica_advice():
    with pytest.raises(SpecroofError, match="is dense.*price one with --tp 2"):
        setup_step("llama-2-70b", "h200", tp=8, dp_attention=4)


@settings(max_examples=40, deadline=None)
@given(st.sampled_from([(8, 2), (16, 8), (64, 6), (128, 8), (256, 8)]), st.sampled_from([2, 4, 8, 16]),
       st.integers(1, 5000))
def test_busiest_rank_is_between_the_mean_and_what_a_rank_can_receive(experts_topk, ep, tokens):
    from dataclasses import replace

    e, k = experts_topk
    if e % ep:
        return
    setup = replace(setup_step(MOE, "h200", tp=8), ep=ep, model=replace(setup_step(MOE, "h200").model,
                                                                          num_experts=e, experts_per_token=k))
    busiest = float(max_rank_copies(setup, float(tokens)))
    assert tokens * k / ep - 1e-9 <= busiest <= tokens * min(k, e // ep) + 1e-9


def test_explorer_takes_the_layout_like_the_cli(tmp_path):
    pytest.importorskip("starlette")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient
    from specroof.web.app import create_app
    from tests.support import run_cli

    params = {"model": MOE, "hardware": "h200", "tp": "8", "ep": "8", "dp_attention": "8", "batch": "1,8",
              "candidates": "1,4"}
    with TestClient(create_app(upload_dir=tmp_path), base_url="http://127.0.0.1") as client:
        answer = client.get("/api/speedup", params=params)
        assert answer.status_code == 200, answer.text
        cli = run_cli("speedup", *[p for k, v in params.items() for p in (f"--{k.replace('_', '-')}", v)],
                      "--format", "json").json()
        assert answer.json() == cli
        bad = client.get("/api/speedup", params={**params, "ep": "3"})
        assert bad.status_code == 400 and bad.json()["error"].startswith("--ep 3 does not divide")


def test_an_unmeasured_all_to_all_is_said_once():
    from specroof.errors import SpecroofWarning

    with pytest.warns(SpecroofWarning, match="no measured vllm kernels on a100-80gb-sxm"):
        setup_step(MOE, "a100-80gb-sxm", tp=8, ep=8, dp_attention=8, profile="vllm")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        setup_step(MOE, "h200", tp=8, ep=8, dp_attention=8, profile="vllm")  # measured: silent
        setup_step(MOE, "a100-80gb-sxm", tp=8, ep=8, profile="vllm")  # no all-to-all: silent


def test_a_given_expert_count_and_ep_are_refused_together():
    with pytest.raises(SpecroofError, match="give one of the two"):
        setup_step(MOE, "h200", tp=8, ep=8, moe_experts_touched=6)
