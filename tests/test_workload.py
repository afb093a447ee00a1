"""Request-level speedup with the prefill paid once (specroof.speculation.workload)."""

from __future__ import annotations

import csv

import pytest
from hypothesis import given
from hypothesis import strategies as st

import specroof
from specroof.errors import SpecroofError, SpecroofWarning
from specroof.speculation.workload import Workload, prefill_ms, request_speedup, workload_speedup

DEVICE = "h100-sxm"
EAGLE3 = {"method": "eagle3", "acceptance": "chain:0.7", "dtype": "bf16", "profile": "vllm"}


@pytest.fixture(scope="module")
def cnn(repo_data) -> Workload:
    """CNN/DailyMail's requests as the SpecDecode-Bench traces give them (long prompts)."""
    with open(repo_data / "validation" / "specdecode-bench-trace-contexts.csv", encoding="utf-8") as handle:
        rows = {r["dataset"]: r for r in csv.DictReader(line for line in handle if not line.startswith("#"))}
    r = rows["cnn_dailymail"]
    return Workload(int(r["prompt_mean"]), int(r["output_mean"]), int(r["context_tokens"]))


times = st.floats(0.01, 100.0)


@given(prefill=st.floats(0.0, 1e4), out=st.integers(1, 4096), plain=times, spec=times, tau=st.floats(1.0, 8.0))
def test_the_prefill_pulls_the_speedup_towards_one(prefill, out, plain, spec, tau):
    """No prefill: the decode steps' speedup; any prefill lies between that and 1 (it is paid
    once with and without speculation)."""
    step = tau * plain / spec
    assert request_speedup(0.0, out, plain, spec, tau) == pytest.approx(step, rel=1e-12)
    got = request_speedup(prefill, out, plain, spec, tau)
    assert min(1.0, step) * (1 - 1e-12) <= got <= max(1.0, step) * (1 + 1e-12)


def test_more_prefill_means_less_speedup():
    speedups = [request_speedup(p, 200, 10.0, 12.0, 2.5) for p in (0.0, 100.0, 1000.0, 1e6)]
    assert speedups == sorted(speedups, reverse=True) and speedups[-1] == pytest.approx(1.0, abs=0.01)


def test_a_long_prompt_batch_gains_less_than_its_decode_steps(cnn):
    result = workload_speedup("llama-3.1-8b", DEVICE, cnn, batch=64, candidates=4, **EAGLE3)
    assert result.prefill_ms > 0 and result.output_tokens == cnn.output_tokens
    assert 1.0 < result.speedup < result.step_speedup
    point = specroof.speedup("llama-3.1-8b", DEVICE, batch=[64], candidates=[4], seq_len=[cnn.context_tokens],
                             **EAGLE3)
    assert result.step_speedup == pytest.approx(float(point.speedup[0, 0, 0]), rel=1e-9)


def test_the_prefill_is_priced_with_the_setup_not_the_drafting():
    """The prefill is a plain forward of the prompts: tensor parallelism changes it, the drafting
    keywords (method, tree, acceptance) do not reach it."""
    one = prefill_ms("llama-3.1-8b", DEVICE, 8, 1000, dtype="bf16", profile="vllm")
    two = prefill_ms("llama-3.1-8b", DEVICE, 8, 1000, dtype="bf16", profile="vllm", tp=2)
    assert 0 < two < one
    workload = Workload(prompt_tokens=1000, output_tokens=100, context_tokens=1100)
    with pytest.warns(SpecroofWarning, match="3 levels deep"):  # the chain is capped by the tree's depth
        tree = workload_speedup("llama-3.1-8b", DEVICE, workload, batch=8, candidates=7,
                                tree="steps=3,topk=2,tokens=7", **EAGLE3)
    assert tree.prefill_ms == pytest.approx(one, rel=1e-12)


def test_a_measured_acceptance_length_replaces_the_models():
    workload = Workload(prompt_tokens=500, output_tokens=300, context_tokens=650)
    modelled = workload_speedup("llama-3.1-8b", DEVICE, workload, batch=4, candidates=4, **EAGLE3)
    measured = workload_speedup("llama-3.1-8b", DEVICE, workload, batch=4, candidates=4, acceptance_length=1.5,
                                **EAGLE3)
    assert measured.acceptance_length == 1.5 != modelled.acceptance_length
    assert measured.speedup < modelled.speedup


@pytest.mark.parametrize("bad", [0, -3, 2.5, True, "100"])
def test_a_workload_takes_whole_token_counts(bad):
    with pytest.raises(SpecroofError, match="prompt_tokens must be a whole number >= 1"):
        Workload(prompt_tokens=bad, output_tokens=10, context_tokens=10)


def test_request_speedup_refuses_non_positive_times():
    with pytest.raises(SpecroofError, match="positive step times"):
        request_speedup(10.0, 100, 0.0, 1.0, 2.0)
