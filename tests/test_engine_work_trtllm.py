"""TensorRT-LLM's speculative work (cost/engine_work/trtllm.py) and its versioned profiles.

Each operation must be priced on speculative steps and vanish on the plain one; its traffic
must scale as the code it was read from moves data (tokens verified, hidden width, draft
vocabulary, batch); the one-model and two-model paths must differ where the code differs; and
every TensorRT-LLM profile must say that its host time is not measured.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import specroof
from specroof.cost.engine_work import ENGINE_WORK, SpeculativeStep
from specroof.cost.grid import Grid
from specroof.cost.passes import Pass
from specroof.cost.profile import get_profile, profile_names
from specroof.cost.setup import setup_step
from specroof.errors import SpecroofError
from specroof.speculation.exports import export_table
from specroof.speculation.plan import plan

TRTLLM_PROFILES = ("trtllm", "trtllm@0.20", "trtllm-two-model", "trtllm-two-model@0.20")
EAGLE3_OPS = ("trtllm_accept", "trtllm_eagle3_capture", "draft:trtllm_draft_sample", "draft:trtllm_draft_update")


def _speedup(model, method, profile, batch=(1, 8), candidates=(1, 4), **options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # published-head and fit notes are not what is tested
        return specroof.speedup(model, "h100-sxm", batch=list(batch), candidates=list(candidates), seq_len=1024,
                                method=method, acceptance="chain:0.7", profile=profile, **options)


def _setup(model="llama-3.1-8b", profile="trtllm", **overrides):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return setup_step(model, "h100-sxm", profile=profile, **overrides)


def _step(method, candidates, draft_vocab=None):
    n = np.asarray(candidates, dtype=float)
    return SpeculativeStep(method, np.maximum(n - 1, 0), np.ones_like(n), draft_vocab=draft_vocab)


def _elements(ops, name):
    [op] = [op for op in ops if op.info.name.endswith(name)]
    return np.asarray(op.shape.elements, dtype=float) * np.asarray(op.count, dtype=float)


@pytest.mark.parametrize("profile", ["trtllm", "trtllm-two-model"])
def test_eagle3_ops_priced_on_speculative_steps_only(profile):
    ops = _speedup("llama-3.1-8b", "eagle3", profile).step.ops_ms
    for name in EAGLE3_OPS:
        assert np.all(ops[name][:, 0] == 0.0), name  # the plain column
        assert np.all(ops[name][:, 1] > 0.0), name
    assert ("draft:trtllm_draft_gather" in ops) == (profile == "trtllm-two-model")


def test_plain_step_is_the_model_alone():
    priced = _speedup("llama-3.1-8b", "eagle3", "trtllm").latency_ms
    bare = _speedup("llama-3.1-8b", "eagle3", get_profile("trtllm").with_overrides(speculation_work="none")).latency_ms
    assert np.array_equal(priced[:, 0], bare[:, 0])
    assert np.all(priced[:, 1] > bare[:, 1])


def test_mtp_has_no_capture_and_prices_its_drafter_loop():
    ops = _speedup("deepseek-v3", "mtp", "trtllm", batch=(1,), tp=8).step.ops_ms
    assert "trtllm_eagle3_capture" not in ops
    assert ops["trtllm_accept"][0, 1, 0] > 0 and ops["draft:trtllm_draft_sample"][0, 1, 0] > 0


def test_capture_scales_with_tokens_verified_and_hidden_width():
    work, grid = ENGINE_WORK.get("trtllm_one_model"), Grid.of([1, 8], [2, 4], [512])
    small, large = _setup("llama-3.1-8b"), _setup("llama-3.1-70b", tp=4)
    step = _step("eagle3", grid.candidates)
    capture = _elements(work.verification(small, grid, step), "trtllm_eagle3_capture")
    assert capture[1, 1, 0] / capture[0, 0, 0] == pytest.approx(8 * 4 / 2)  # batch x candidates
    wide = _elements(work.verification(large, grid, step), "trtllm_eagle3_capture")
    assert wide[0, 0, 0] / capture[0, 0, 0] == pytest.approx(large.model.hidden_size / small.model.hidden_size)


def test_draft_sample_scales_with_draft_vocabulary_and_batch():
    grid = Grid.of([1, 16], [4], [512])
    target = _setup()
    work = ENGINE_WORK.get("trtllm_one_model")
    rows = {}
    for vocab in (32000, 64000):
        drafter = target.for_model(target.model.__class__(**{**target.model.__dict__, "vocab_size": vocab}))
        ops = work.drafting_pass(target, Pass(drafter, []), grid, _step("eagle3", [4], vocab), [1.0], False)
        rows[vocab] = _elements(ops, "trtllm_draft_sample")
    assert rows[64000][0, 0, 0] == pytest.approx(2 * rows[32000][0, 0, 0])
    assert rows[32000][1, 0, 0] == pytest.approx(16 * rows[32000][0, 0, 0])


def test_first_drafting_pass_does_more_index_work_than_later_ones():
    grid, target = Grid.of([4], [4], [512]), _setup()
    work = ENGINE_WORK.get("trtllm_one_model")
    first = work.drafting_pass(target, Pass(target, []), grid, _step("eagle3", [4]), [4.0], True)
    later = work.drafting_pass(target, Pass(target, []), grid, _step("eagle3", [4]), [1.0], False)
    kernels = {name: [op.shape.kernels for op in ops if op.info.name.endswith("draft_update")][0]
               for name, ops in (("first", first), ("later", later))}
    assert kernels["first"] > kernels["later"]


def test_two_model_gathers_the_captured_states_per_pass():
    grid, target = Grid.of([4], [5], [512]), _setup(profile="trtllm-two-model")
    one, two = ENGINE_WORK.get("trtllm_one_model"), ENGINE_WORK.get("trtllm_two_model")
    step = _step("eagle3", [5])
    assert not [op for op in one.drafting_pass(target, Pass(target, []), grid, step, [5.0], True) if "gather" in op.info.name]
    first = _elements(two.drafting_pass(target, Pass(target, []), grid, step, [5.0], True), "trtllm_draft_gather")
    later = _elements(two.drafting_pass(target, Pass(target, []), grid, step, [1.0], False), "trtllm_draft_gather")
    assert first[0, 0, 0] == pytest.approx(5 * later[0, 0, 0])  # every verified token, then one per sequence


def test_relaxed_acceptance_reads_every_verified_tokens_logits():
    grid, step = Grid.of([2], [1, 4], [512]), _step("mtp", [1, 4])
    work = ENGINE_WORK.get("trtllm_one_model")
    assert not [op for op in work.verification(_setup(), grid, step) if "relaxed" in op.info.name]
    relaxed = _setup(relaxed_acceptance_topk=10)
    elements = _elements(work.verification(relaxed, grid, step), "trtllm_relaxed_accept")
    assert elements[0, 0, 0] == 0.0  # plain step
    assert elements[0, 1, 0] == pytest.approx(3 * 2 * 4 * relaxed.model.vocab_size)


def test_methods_not_modelled_get_nothing():
    grid, target = Grid.of([1], [4], [512]), _setup()
    for name in ("trtllm_one_model", "trtllm_two_model"):
        work = ENGINE_WORK.get(name)
        assert work.verification(target, grid, _step("ngram", [4])) == []
        assert work.drafting_pass(target, Pass(target, []), grid, _step("draft", [4]), [1.0], True) == []


def test_versions_and_paths_resolve():
    assert get_profile("trtllm@1.1") is get_profile("trtllm")
    assert get_profile("trtllm").speculation_work == "trtllm_one_model"
    assert get_profile("trtllm-two-model").speculation_work == "trtllm_two_model"
    assert get_profile("trtllm@0.20").engine_version == "0.20"
    assert "overlap" in get_profile("trtllm-two-model@0.20").caveat
    # the drafting loop became one CUDA graph (PR #7100): per-pass host work only before it
    assert "without the capturable drafting loop" in get_profile("trtllm-two-model").caveat
    assert "one draft-engine forward per draft token" in get_profile("trtllm-two-model@0.20").caveat
    assert get_profile("trtllm@0.20").caveat != get_profile("trtllm").caveat
    with pytest.raises(SpecroofError, match="0.20, 1.1"):
        get_profile("trtllm@0.19")


@pytest.mark.parametrize("name", TRTLLM_PROFILES)
def test_every_trtllm_profile_says_its_host_time_is_not_measured(name):
    profile = get_profile(name)
    assert "not measured" in profile.caveat and "not a measurement" in profile.caveat
    assert name.partition("@")[0] in profile_names()


def test_one_model_has_no_host_work_between_drafting_passes():
    assert get_profile("trtllm").host_draft_pass_us == 0.0
    bare = _speedup("llama-3.1-8b", "eagle3", "trtllm-two-model").latency_ms
    hosted = _speedup("llama-3.1-8b", "eagle3",
                      get_profile("trtllm-two-model").with_overrides(host_draft_pass_us=100.0)).latency_ms
    # a chain of 4 verified tokens drafts 3 times, each pass paying the draft engine's host time
    assert hosted[:, 1, 0] - bare[:, 1, 0] == pytest.approx(np.full(2, 0.3), rel=1e-6)


@pytest.mark.parametrize(("profile", "two_model"), [("trtllm", False), ("trtllm-two-model", True)])
def test_export_launches_the_path_the_profile_priced(profile, two_model):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = plan("llama-3.1-8b", "h100-sxm", [1, 8], [1024], acceptance="chain:0.7", method="eagle3",
                      max_candidates=4, profile=profile)
    assert ("eagle3_one_model: false" in export_table(result, "trtllm")) == two_model
