"""One validated Study for every entry point, and the app layer that cli/ and web/ share.

- the keyword entry points and their ``*_of(study)`` forms give the same numbers;
- ``memory_footprint`` takes ``speedup``'s drafting arguments and counts the same memory as
  the speedup's own fit check;
- a plan priced in several chunks resolves the model and device once, and equals the
  one-chunk plan;
- web/ answers through app/ and never loads cli/; the commands' computing options are the
  explorer's parameters.
"""

from __future__ import annotations

import subprocess
import sys

import click
import numpy as np
import pytest

import specroof
from specroof import SpecroofError
from specroof.speculation import plan as plan_module
from specroof.speculation import study as study_module
from specroof.speculation.breakdown import ops_of
from specroof.speculation.explain import explain_of
from specroof.speculation.footprint import footprint_of, memory_footprint
from specroof.speculation.speedup import speedup_of
from specroof.speculation.study import Study

TREE = "steps=3,topk=2,tokens=6"


def test_a_study_prices_as_the_keyword_api():
    kwargs = dict(acceptance="chain:0.8", method="draft", draft_model="llama-3.2-1b", dtype="bf16")
    study = Study.of("llama-3-8b", "h200", [1, 8], [1, 4, 6], [1024, 4096], **kwargs)
    np.testing.assert_array_equal(speedup_of(study).speedup,
                                  specroof.speedup("llama-3-8b", "h200", [1, 8], [1, 4, 6], [1024, 4096],
                                                   **kwargs).speedup)
    point = Study.of("llama-3-8b", "h200", 8, 6, 4096, **kwargs)
    assert explain_of(point).to_dict() == specroof.explain("llama-3-8b", "h200", 8, 6, 4096, **kwargs).to_dict()
    assert ops_of(point).to_records() == specroof.ops("llama-3-8b", "h200", 8, 6, 4096, **kwargs).to_records()
    with pytest.raises(SpecroofError, match="one point"):
        explain_of(study)


def test_memory_footprint_takes_speedups_drafting_arguments():
    kwargs = dict(method="eagle3", tree=TREE, acceptance="chain:0.7", dtype="bf16")
    result = specroof.speedup("llama-3.1-8b", "h100-sxm", [1, 16], [1, 6], [2048], **kwargs)
    memory = specroof.memory_footprint("llama-3.1-8b", "h100-sxm", [1, 16], [1, 6], [2048], **kwargs)
    np.testing.assert_array_equal(memory.total_bytes, result.step.fit.memory.total_bytes)
    plain = memory_footprint("llama-3.1-8b", "h100-sxm", [1, 16], [1, 6], [2048], dtype="bf16")
    assert memory.draft_weights_bytes > 0 == plain.draft_weights_bytes  # the EAGLE-3 head's own weights
    assert (memory.total_bytes > plain.total_bytes).all()
    with pytest.raises(SpecroofError, match="tree"):  # a tree on a method that does not draft one
        memory_footprint("llama-3.1-8b", "h100-sxm", method="ngram", tree=TREE)


def test_a_study_given_as_a_setup_refuses_other_setup_arguments():
    setup = Study.of("llama-3-8b", "h200").setup
    assert footprint_of(Study.of(setup)).weights_bytes == memory_footprint("llama-3-8b", "h200").weights_bytes
    with pytest.raises(SpecroofError, match="either a StepSetup"):
        Study.of(setup, "h200")
    with pytest.raises(SpecroofError, match="hardware"):
        Study.of("llama-3-8b")


def test_a_plan_in_chunks_resolves_the_setup_once_and_equals_one_chunk(monkeypatch):
    kwargs = dict(acceptance="chain:0.8", method="draft", draft_model="llama-3.2-1b", max_candidates=8)
    batch = [1, 2, 4, 8, 16]
    whole = specroof.plan("llama-3-8b", "h200", batch, [1024, 4096], **kwargs)
    calls = []
    real = study_module.setup_step
    monkeypatch.setattr(study_module, "setup_step", lambda *a, **k: calls.append(a) or real(*a, **k))
    monkeypatch.setattr(plan_module, "CHUNK_POINTS", 8 * 2)  # one batch size per chunk
    done = []
    chunked = specroof.plan("llama-3-8b", "h200", batch, [1024, 4096], progress=done.append, **kwargs)
    assert len(calls) == 1 and done == [2] * len(batch)
    assert chunked.to_records() == whole.to_records()


def test_web_answers_through_app_and_never_loads_cli():
    code = ("import sys; import specroof.web.app, specroof.web.view, specroof.web.figures, specroof.web.queries; "
            "print(sorted(m for m in sys.modules if m.startswith('specroof.cli')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("command", ["latency", "speedup", "plan", "explain", "ops"])
def test_the_explorers_parameters_are_the_commands_computing_options(command):
    import importlib

    from specroof.app.parameters import parameters
    from specroof.cli import COMMANDS

    module, attr, _ = COMMANDS[command]
    cli_options = {p.name for p in getattr(importlib.import_module(module), attr).params
                   if isinstance(p, click.Option)}
    output = {"fmt", "plot_path", "chart", "reference_path", "engine", "workload"}  # workload: request-level columns
    assert set(parameters(command)) == cli_options - output
