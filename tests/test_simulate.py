"""The serving simulator's limits (specroof.workload): light load, a closed loop, saturation, and
every priced step against the public API."""

from __future__ import annotations

import numpy as np
import pytest

import specroof
from specroof.speculation.study import Study
from specroof.workload.arrivals import requests_from
from specroof.workload.draws import AcceptanceDraws
from specroof.workload.kschedule import KSchedule, from_table
from specroof.workload.metrics import per_request, summarize
from specroof.workload.request_level import request_level
from specroof.workload.requests import RequestSet
from specroof.workload.serving import Serving
from specroof.workload.stepcosts import buckets

MODEL, DEVICE = "llama-3.1-8b", "h100-sxm"
SETUP = {"dtype": "bf16", "profile": "vllm"}
EAGLE3 = {"method": "eagle3", "acceptance": "chain:0.7", **SETUP}
ISL, OSL = 512, 128


@pytest.fixture(scope="module")
def serving() -> Serving:
    study = Study.of(MODEL, DEVICE, 1, 1, 1024, **EAGLE3)
    return Serving.of(study, (1, 3, 4), ISL + OSL + 8)


def _step_ms(n: int, batch: int, context: int) -> float:
    """The API's step at one point: the speculative step for n > 1, the plain one for n = 1."""
    result = specroof.speedup(MODEL, DEVICE, batch=[batch], candidates=[max(n, 2)], seq_len=[context], **EAGLE3)
    return float((result.latency_ms if n > 1 else result.ar_latency_ms)[0, 0, 0])


def test_buckets_cover_the_range_at_most_ten_percent_apart():
    values = buckets(100_000)
    assert values[0] == 1 and values[-1] >= 100_000
    ratio = values[1:] / values[:-1]
    assert np.all(ratio[values[:-1] >= 64] <= 1.10) and np.all(np.diff(values[:64]) == 1)


@pytest.mark.parametrize("n", [1, 4])
def test_light_load_tpot_is_the_single_sequence_step_over_tau(serving, n):
    """At a rate near zero every request runs alone: TPOT = T_step(batch 1) / tau(n)."""
    requests = requests_from("poisson:0.01", count=12, prompt_tokens=ISL, output_tokens=OSL, seed=1)
    result = serving.run(requests, KSchedule.fixed(n), seed=2)
    tpot_s = np.nanmean(per_request(result)["tpot"])
    tau = serving.costs.tau[n]
    expected_s = _step_ms(n, 1, ISL + OSL // 2) / 1e3 / tau
    assert tpot_s == pytest.approx(expected_s, rel=0.02)  # context buckets and the clipped last step
    assert result.preemptions == 0 and set(result.candidates_used) == {n}


def test_closed_loop_reproduces_request_level_throughput(serving):
    """A closed loop at concurrency b (identical requests) runs at the request-level throughput
    of a batch of b (item 1): within 1% decoding plainly (the waves stay in step), within 10%
    speculating (requests finish at drawn times, so a later wave's prefill overlaps the previous
    wave's tail, which the batch timeline does not: +3 to +6% measured at b = 1..64)."""
    b, n = 16, 4
    requests = RequestSet(np.zeros(4 * b), np.full(4 * b, ISL), np.full(4 * b, OSL), "closed loop")
    for candidates in (1, n):
        loop = summarize(serving.run(requests, KSchedule.fixed(candidates), closed_loop=b, seed=3))
        batch = request_level(serving.costs, np.full(b, ISL), np.full(b, OSL), candidates,
                              serving.rules.max_batched_tokens)
        tolerance = 0.01 if candidates == 1 else 0.10
        assert loop.output_tokens_per_s == pytest.approx(batch.tokens_per_s, rel=tolerance)


def test_throughput_saturates_and_ttft_diverges_past_capacity(serving):
    rows = []
    for rate in (1.0, 200.0, 400.0):
        requests = requests_from(f"poisson:{rate}", count=400, prompt_tokens=ISL, output_tokens=OSL, seed=4)
        rows.append(summarize(serving.run(requests, KSchedule.fixed(1))))
    light, past, far = rows
    assert past.output_tokens_per_s > 20 * light.output_tokens_per_s  # still rising from light load
    assert far.output_tokens_per_s < 1.15 * past.output_tokens_per_s  # doubling the rate past capacity adds little
    assert far.percentiles["ttft"][50] > 20 * light.percentiles["ttft"][50]
    assert far.percentiles["ttft"][50] > past.percentiles["ttft"][50]


def test_every_priced_step_is_the_apis(serving):
    """Decode-only steps equal speedup()'s step at the looked-up point; prefill steps equal
    latency()'s forward over the chunk (plain run: no drafter); a mixed step is the decode step
    plus the chunk's marginal time, prefill(c) - prefill(1)."""
    requests = requests_from("poisson:20", count=24, prompt_tokens=ISL, output_tokens=48, seed=5)
    costs = serving.costs
    for n in (1, 4):
        result = serving.run(requests, KSchedule.fixed(n), record=True, seed=6)
        kinds = set()
        for step in result.records[:: max(1, len(result.records) // 40)]:
            expected = 0.0
            if step.decode_batch:
                b, _, s = costs.decode_point(step.candidates, step.decode_batch, step.decode_context)
                expected = _step_ms(step.candidates, b, s)
            if step.prefill_tokens:
                chunk = int(costs.chunks[np.searchsorted(costs.chunks, step.prefill_tokens)])
                s = int(costs.contexts[np.searchsorted(costs.contexts, step.prefill_context)])
                prefill = _prefill_ms(chunk, s, n)
                expected += prefill - (_prefill_ms(1, s, n) if step.decode_batch else 0.0)
            kinds.add((bool(step.decode_batch), bool(step.prefill_tokens)))
            assert step.time_ms == pytest.approx(expected, rel=1e-9)
        assert (True, False) in kinds and (False, True) in kinds


def _prefill_ms(chunk: int, context: int, n: int) -> float:
    target = specroof.latency(MODEL, DEVICE, batch=[1], candidates=[chunk], seq_len=[context], **SETUP)
    if n == 1:
        return float(target.latency_ms[0, 0, 0])
    head = Study.of(MODEL, DEVICE, 1, 2, context, **EAGLE3).passes()[1].setup
    from specroof.cost.step import latency_for_setup

    draft = latency_for_setup(head, [1], [chunk], [context])
    host_ms = draft.ops_ms["host_step"][0, 0, 0] if "host_step" in draft.ops_ms else 0.0  # none under async scheduling
    return float(target.latency_ms[0, 0, 0] + draft.latency_ms[0, 0, 0] - host_ms)


def test_a_schedule_switches_k_with_the_batch_and_pays_for_uncaptured_graphs():
    """A dynamic schedule uses each K at its batch sizes; the engine captured CUDA graphs for the
    largest K only, so the other K's steps are priced eagerly (the API with cuda_graph=False)."""
    study = Study.of(MODEL, DEVICE, 1, 1, 1024, **EAGLE3)
    schedule = from_table({1: 4, 8: 3}, "test")
    assert schedule.candidates_at(1) == 4 and schedule.candidates_at(7) == 4 and schedule.candidates_at(100) == 3
    assert schedule.uncaptured == (3,) and KSchedule.fixed(3).uncaptured == ()
    serving = Serving.of(study, (3, 4), ISL + OSL + 8, eager=schedule.uncaptured)
    requests = requests_from("poisson:40", count=60, prompt_tokens=ISL, output_tokens=OSL, seed=7)
    result = serving.run(requests, schedule, seed=8, record=True)
    assert set(result.candidates_used) == {3, 4}
    step = next(r for r in result.records if r.candidates == 3 and not r.prefill_tokens)
    b, n, s = serving.costs.decode_point(3, step.decode_batch, step.decode_context)
    eager = specroof.speedup(MODEL, DEVICE, batch=[b], candidates=[n], seq_len=[s], cuda_graph=False, **EAGLE3)
    assert step.time_ms == pytest.approx(float(eager.latency_ms[0, 0, 0]), rel=1e-9)
    assert step.time_ms != pytest.approx(_step_ms(3, b, s), rel=1e-6)  # not the graphed step


def test_a_small_kv_cache_preempts_and_still_finishes_every_request(serving):
    requests = requests_from("poisson:100", count=40, prompt_tokens=ISL, output_tokens=OSL, seed=9)
    small = Serving(serving.costs, serving.rules, {n: 6 * (ISL + OSL) for n in serving.kv_tokens})
    result = small.run(requests, KSchedule.fixed(4))
    assert result.preemptions > 0
    assert np.all(np.isfinite(result.finish_s)) and np.all(result.finish_s >= result.first_token_s)
    roomy = serving.run(requests, KSchedule.fixed(4))
    assert roomy.preemptions == 0
    assert summarize(result).percentiles["e2e"][50] > summarize(roomy).percentiles["e2e"][50]


def test_separate_prefill_engine_delays_decoding(serving):
    """SGLang's default (no mixed chunks): a prefill step holds no decoding sequence."""
    sglang = Serving(serving.costs, serving.rules.with_overrides(mixed_prefill=False), serving.kv_tokens)
    requests = requests_from("poisson:20", count=30, prompt_tokens=ISL, output_tokens=OSL, seed=10)
    result = sglang.run(requests, KSchedule.fixed(4), record=True)
    assert not any(r.decode_batch and r.prefill_tokens for r in result.records)
    # ITL: every gap between a request's emissions, the prefill steps it waited through included
    assert np.sum(result.itl_s) == pytest.approx(np.sum(result.finish_s - result.first_token_s), rel=1e-9)
    decode_only = [r.time_ms / 1e3 for r in result.records if not r.prefill_tokens]
    assert np.max(result.itl_s) > max(decode_only)
    mixed = serving.run(requests, KSchedule.fixed(4), record=True).records
    assert any(r.decode_batch and r.prefill_tokens for r in mixed)


def test_speculation_off_serves_without_the_drafter(serving):
    """The plain configuration has the drafter's weights and cache back as KV room."""
    assert serving.kv_tokens[1] > serving.kv_tokens[4] == serving.kv_tokens[3]


def test_a_request_that_cannot_fit_alone_is_one_error(serving):
    from specroof.errors import SpecroofError

    tiny = Serving(serving.costs, serving.rules, {n: ISL + OSL + 2 for n in serving.kv_tokens})
    requests = requests_from("poisson:1", count=3, prompt_tokens=ISL, output_tokens=OSL)
    assert tiny.run(requests, KSchedule.fixed(1)).steps > 0
    with pytest.raises(SpecroofError, match="does not fit the KV cache"):
        tiny.run(requests, KSchedule.fixed(4))


def test_a_tree_step_yields_at_most_its_depth_plus_one():
    """A tree of 8 tokens, 3 levels deep: the pricing's bound caps a step at 4 tokens, and the
    per-request draws respect it while keeping tau."""
    study = Study.of(MODEL, DEVICE, 1, 1, 1024, tree="steps=3,topk=4,tokens=8", **EAGLE3)
    serving = Serving.of(study, (8,), ISL + OSL + 9)
    assert serving.costs.caps == {1: 1, 8: 4}
    draws = AcceptanceDraws.of({8: serving.costs.tau[8]}, 3000, 0.05, seed=1, caps=serving.costs.caps)
    rows = np.arange(3000)
    tokens = np.concatenate([draws.tokens(rows, 8) for _ in range(10)])
    assert tokens.max() == 4 and tokens.mean() == pytest.approx(serving.costs.tau[8], rel=0.01)
