"""The seam for engines' own speculative work (cost/engine_work) and versioned profiles.

A toy engine's work, registered only here, must be priced on speculative steps (verification
and every drafting pass), vanish on the plain step, and be chosen by a profile's
``speculation_work``; a profile version that does not exist is refused with the versions that do.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

import specroof
from specroof.cost.engine_work import ENGINE_WORK, EngineWork, engine_operation
from specroof.cost.operation import OVERHEAD_GROUP, HostShape, operation
from specroof.cost.profile import get_profile
from specroof.errors import SpecroofError, SpecroofWarning

TOY_VERIFY = engine_operation("toy_verify_work", OVERHEAD_GROUP, "#000000", "o", "a toy engine's verify work")
TOY_DRAFT = engine_operation("toy_draft_work", OVERHEAD_GROUP, "#000001", "o", "a toy engine's draft-pass work")
VERIFY_US, DRAFT_US = 100.0, 10.0


@dataclass(frozen=True)
class ToyWork(EngineWork):
    def verification(self, setup, grid, step):
        return [operation(TOY_VERIFY, HostShape(VERIFY_US * step.speculating(grid)))]

    def drafting_pass(self, target, drafted, grid, step, width, first):
        return [operation(TOY_DRAFT, HostShape(DRAFT_US * np.ones(1))).drafting(1.0)]


@pytest.fixture
def toy_profile():
    ENGINE_WORK.register(ToyWork(name="toywork", description="test only"))
    yield get_profile("serving").with_overrides(speculation_work="toywork")
    ENGINE_WORK.unregister("toywork")


def _step(profile, candidates):
    return specroof.speedup("llama-2-7b", "h100-sxm", batch=1, candidates=candidates, seq_len=512, method="eagle",
                            acceptance="chain:0.7", profile=profile)


def test_engine_work_priced_on_speculative_steps_only(toy_profile):
    base, toy = _step("serving", [1, 4]), _step(toy_profile, [1, 4])
    extra_ms = toy.latency_ms - base.latency_ms
    assert extra_ms[0, 0, 0] == pytest.approx(0.0, abs=1e-9)  # the plain step is the model's alone
    # verification once, plus one per drafting pass: a chain of 4 verified tokens drafts 3 times
    assert extra_ms[0, 1, 0] == pytest.approx((VERIFY_US + 3 * DRAFT_US) / 1e3, rel=1e-6)


def test_unknown_engine_work_is_refused():
    profile = get_profile("serving").with_overrides(speculation_work="nosuchwork")
    with pytest.raises(SpecroofError, match="nosuchwork"):
        _step(profile, [1, 4])


def test_unknown_profile_version_lists_versions():
    with pytest.raises(SpecroofError, match="no version '0.0.1' or older one; versions with evidence: 0.8, 0.10"):
        get_profile("vllm@0.0.1")
    with pytest.raises(SpecroofError, match="no version 'main'"):
        get_profile("vllm@main")


def test_a_release_without_a_table_takes_the_newest_version_at_or_before_it():
    with pytest.warns(SpecroofWarning, match="profile vllm@0.10.1: priced as vllm@0.10"):
        assert get_profile("vllm@0.10.1").name == "vllm@0.10"
    with pytest.warns(SpecroofWarning, match="priced as sglang@0.5.0"):
        assert get_profile("sglang@0.5.9").name == "sglang@0.5.0"
    with pytest.warns(SpecroofWarning, match="priced as vllm,"):
        assert get_profile("vllm@0.99").name == "vllm"
    assert get_profile("vllm@0.10").name == "vllm@0.10"  # a version with a table: no warning


def test_every_shipped_profile_names_registered_work():
    from specroof.cost.profile import profile_names
    for name in profile_names():
        assert get_profile(name).speculation_work in ENGINE_WORK, name
