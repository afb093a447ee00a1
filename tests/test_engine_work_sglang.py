"""SGLang's speculative work (cost/engine_work/sglang.py) and its versioned profiles.

Each operation is priced on speculative steps and vanishes on the plain one; its cost follows
what it moves (tree mask with context, softmax with the draft vocabulary, the spec-v1 logits
gather with batch and vocabulary, n-gram masks per sequence and context token); the versions
differ where SGLang's code differs (the overlap scheduler on chains from 0.5.12, the logits
gather of spec v1); the caveats name the evidence that is missing.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import specroof
from specroof.cost.engine_work.sglang import FP32, NGRAM_SEQUENCE_LAUNCHES, NGRAM_STEP_LAUNCHES
from specroof.cost.profile import get_profile
from specroof.errors import SpecroofError, SpecroofWarning
from specroof.hardware import load_hardware
from specroof.models.architecture import load_model

EAGLE_OPS = ("sglang_draft_prepare", "sglang_tree_build", "sglang_verify_accept", "sglang_speculative_host",
             "draft:sglang_draft_select")
MODEL, GPU = "llama-3.1-8b", "h100-sxm"


def _step(profile="sglang", method="eagle3", batch=(1, 64), candidates=(1, 4), seq_len=(512,), tree=None):
    options = {"tree": tree} if tree else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SpecroofWarning)
        result = specroof.speedup(MODEL, GPU, batch=list(batch), candidates=list(candidates), seq_len=list(seq_len),
                                  method=method, acceptance="chain:0.7", profile=profile, **options)
    return result.step


def _op(step, name) -> np.ndarray:
    return np.asarray(step.ops_ms.get(name, np.zeros(step.shape)))


@pytest.mark.parametrize("profile", ["sglang", "sglang@0.5.0", "sglang@0.4"])
def test_every_operation_on_speculative_steps_only(profile):
    step = _step(profile, tree="steps=3,topk=4,tokens=8", candidates=(1, 8))
    for name in EAGLE_OPS + ("sglang_hidden_capture",):
        ms = _op(step, name)
        assert np.all(ms[:, 0, :] == 0.0), name  # the plain step is the model's alone
        assert np.all(ms[:, 1, :] > 0.0), name


def test_plain_step_is_unchanged_by_the_engine_work():
    none = get_profile("sglang").with_overrides(speculation_work="none")
    assert np.array_equal(_step("sglang").latency_ms[:, 0, :], _step(none).latency_ms[:, 0, :])


def test_hidden_capture_is_eagle3_only_and_grows_with_tokens():
    assert "sglang_hidden_capture" not in _step(method="eagle").ops_ms
    capture = _op(_step(batch=(16, 32, 64)), "sglang_hidden_capture")[:, 1, 0]
    assert capture[2] - capture[1] == pytest.approx(2.0 * (capture[1] - capture[0]), rel=1e-6)  # linear in tokens
    assert capture[1] > capture[0]


def test_host_time_hidden_on_chains_from_0_5_12_only():
    host_us = get_profile("sglang").speculative_host_us
    chain = "steps=3,topk=1,tokens=4"
    assert _op(_step("sglang", tree=chain), "sglang_speculative_host")[0, 1, 0] == 0.0
    for profile in ("sglang@0.5.0", "sglang@0.4"):
        assert _op(_step(profile, tree=chain), "sglang_speculative_host")[0, 1, 0] == pytest.approx(host_us / 1e3)
    tree = _step("sglang", tree="steps=3,topk=4,tokens=8", candidates=(1, 8))
    assert _op(tree, "sglang_speculative_host")[0, 1, 0] == pytest.approx(host_us / 1e3)  # trees run spec v1


def test_overlap_all_hides_trees_too_and_none_hides_nothing():
    tree, candidates = "steps=3,topk=4,tokens=8", (1, 8)
    hidden = get_profile("sglang").with_overrides(speculative_host_overlap="all")
    exposed = get_profile("sglang").with_overrides(speculative_host_overlap="none", speculative_host_us=500.0)
    assert np.all(_op(_step(hidden, tree=tree, candidates=candidates), "sglang_speculative_host") == 0.0)
    chain = _op(_step(exposed, tree="steps=3,topk=1,tokens=4"), "sglang_speculative_host")
    assert chain[:, 1, :] == pytest.approx(0.5) and np.all(chain[:, 0, :] == 0.0)


def test_spec_v1_gathers_the_accepted_logits():
    """0.5.0's verify (spec v1) gathers [b x (steps + 1), V] fp32 logits that 0.5.12's chain
    (spec v2) does not: the difference is that traffic at the elementwise bandwidth plus one kernel gap."""
    tree = "steps=3,topk=1,tokens=4"
    v1, v2 = _step("sglang@0.5.0", tree=tree), _step("sglang", tree=tree)
    extra_ms = (_op(v1, "sglang_verify_accept") - _op(v2, "sglang_verify_accept"))[:, 1, 0]
    vocab = load_model(MODEL).vocab_size
    moved = 2.0 * FP32 * np.array([1.0, 64.0]) * 4.0 * vocab
    gap_ms = extra_ms - moved / (load_hardware(GPU).memory_bandwidth * v1.profile.elementwise_efficiency) * 1e3
    assert gap_ms[0] == pytest.approx(gap_ms[1], rel=1e-6)  # the same one kernel at both batches
    assert 0.0 < gap_ms[0] < 0.02


def test_tree_mask_grows_with_context_and_tree_size():
    """build_tree_kernel_efficient's FULL_MASK is one byte per (draft token, context token)."""
    small = _op(_step(tree="steps=3,topk=4,tokens=8", candidates=(1, 8), seq_len=(512, 65536)),
                "sglang_tree_build")[1, 1, :]
    large = _op(_step(tree="steps=3,topk=8,tokens=32", candidates=(1, 32), seq_len=(512, 65536)),
                "sglang_tree_build")[1, 1, :]
    assert small[1] > small[0] and large[1] > large[0]
    assert large[1] - large[0] == pytest.approx(4.0 * (small[1] - small[0]), rel=1e-6)  # 4x the draft tokens


def test_draft_softmax_follows_the_draft_vocabulary():
    """EAGLE-1 drafts over the target's 128k vocabulary, EAGLE-3 over its head's 32k."""
    tree = "steps=3,topk=8,tokens=16"
    eagle = _op(_step(method="eagle", tree=tree, candidates=(1, 16)), "draft:sglang_draft_select")[1, 1, 0]
    eagle3 = _op(_step(method="eagle3", tree=tree, candidates=(1, 16)), "draft:sglang_draft_select")[1, 1, 0]
    assert eagle > 2.0 * eagle3


def test_ngram_masks_per_sequence_and_context_token():
    seq = (1024, 2048, 4096)
    step = _step(method="ngram", batch=(8, 32), candidates=(1, 6), seq_len=seq)
    mask = _op(step, "sglang_ngram_mask")[:, 1, :]
    assert mask[:, 2] - mask[:, 1] == pytest.approx(2.0 * (mask[:, 1] - mask[:, 0]), rel=1e-6)  # linear in context
    assert mask[1, 2] - mask[1, 0] == pytest.approx(4.0 * (mask[0, 2] - mask[0, 0]), rel=1e-6)  # and in sequences
    host = _op(step, "sglang_ngram_host")[:, 1, 0]
    launch_us = get_profile("sglang").launch_overhead_us
    expected = (NGRAM_SEQUENCE_LAUNCHES * np.array([8.0, 32.0]) + NGRAM_STEP_LAUNCHES) * launch_us / 1e3
    assert host == pytest.approx(expected)
    assert "sglang_tree_build" not in step.ops_ms and "sglang_speculative_host" not in step.ops_ms
    # n-gram runs spec v1 in every version (v0.5.12 disables the overlap scheduler for NGRAM)
    older = _step("sglang@0.5.0", method="ngram", batch=(8, 32), candidates=(1, 6), seq_len=seq)
    assert np.array_equal(_op(step, "sglang_verify_accept"), _op(older, "sglang_verify_accept"))


def test_unsupported_speculation_is_said():
    with pytest.warns(SpecroofWarning, match="SGLang 0.4 has no ngram"):
        specroof.speedup(MODEL, GPU, batch=1, candidates=[1, 4], seq_len=512, method="ngram",
                         acceptance="chain:0.7", profile="sglang@0.4")
    with pytest.warns(SpecroofWarning, match="no Medusa-style heads"):
        specroof.speedup("vicuna-7b", GPU, batch=1, candidates=[1, 4], seq_len=512, method="heads", heads=4,
                         acceptance="chain:0.7", profile="sglang")


def test_versions_and_their_caveats():
    assert get_profile("sglang@0.5.12").name == "sglang"  # the plain table is the newest version
    with pytest.raises(SpecroofError, match="0.4, 0.5.0, 0.5.12"):
        get_profile("sglang@0.3")
    for name in ("sglang", "sglang@0.5.0", "sglang@0.4"):
        caveat = get_profile(name).caveat
        assert "not measured" in caveat and "PR #11398" in caveat, name
    assert "no 0.4 measurement" in get_profile("sglang@0.4").caveat
