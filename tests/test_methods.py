"""Drafting methods are a registry: a method added from outside the package is priced, planned,
offered by the CLI and refused cleanly where it lacks data, like the built-in ones."""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, replace

import numpy as np
import pytest
from click.testing import CliRunner

import specroof
from specroof.cli import cli
from specroof.cost.drafting_ops import mtp_operations
from specroof.errors import SpecroofError, SpecroofWarning
from specroof.speculation.drafting import Drafting
from specroof.speculation.methods import METHODS, PARAMETERS, Method, PassMethod


@dataclass(frozen=True)
class ToyDrafter(PassMethod):
    """A toy pass-based method: each pass is one decoder layer of the target (the MTP builder)."""

    def draft_pass(self, choice, setup, grid, width, first):
        return mtp_operations(setup, grid, width, first)


TOY = ToyDrafter(name="toy", description="a toy one-layer drafter", label="toy drafter", parameters=("tree",))
CHAIN = "chain:0.8"


@pytest.fixture
def toy():
    METHODS.register(TOY)
    try:
        yield TOY
    finally:
        METHODS.unregister(TOY.name)


def _invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_builtin_methods_declare_what_they_take():
    assert METHODS.names() == ("none", "heads", "draft", "eagle", "eagle3", "mtp", "ngram")
    for method in METHODS:
        assert method.description and method.label
        assert set(method.parameters) <= set(PARAMETERS) and set(method.required) <= set(method.parameters)
    assert [m.name for m in METHODS if m.pass_based] == ["draft", "eagle", "eagle3", "mtp"]
    assert [m.name for m in METHODS if m.tree_capable] == ["draft", "eagle", "eagle3", "mtp"]


def test_a_pass_method_without_its_pass_cannot_be_built():
    @dataclass(frozen=True)
    class NoPass(PassMethod):
        pass

    with pytest.raises(TypeError, match="draft_pass"):
        NoPass(name="nopass", description="d", label="l")


def test_toy_method_is_priced_by_speedup(toy):
    result = specroof.speedup("llama-7b", "h200", [1, 8], [1, 4], [1024], method="toy", acceptance=CHAIN)
    assert result.drafting.member is toy
    assert np.all(result.draft_ms[:, 0] == 0) and np.all(result.draft_ms[:, 1] > 0)
    assert "draft:mtp_proj" in result.step.ops_ms
    free = specroof.speedup("llama-7b", "h200", [1, 8], [1, 4], [1024], method="none", acceptance=CHAIN)
    assert np.all(result.speedup[:, 1] < free.speedup[:, 1])  # drafting costs time


def test_toy_method_runs_the_shared_pass_schedule(toy):
    """The toy drafts with the MTP builder, so on a model with an MTP layer it costs what mtp does:
    the chain and tree schedule is the base class's, not the method's."""
    target = replace(specroof.load_model("llama-7b"), mtp_layers=1)
    for tree in (None, "steps=2,topk=2"):
        args = (target, "h200", [1, 16], [1, 5], [1024])
        toy_run = specroof.speedup(*args, method="toy", acceptance=CHAIN, tree=tree)
        mtp_run = specroof.speedup(*args, method="mtp", acceptance=CHAIN, tree=tree)
        np.testing.assert_allclose(toy_run.draft_ms, mtp_run.draft_ms)
        assert np.all(toy_run.draft_ms[:, 1] > 0)


def test_toy_method_parameters_come_from_its_declaration(toy):
    assert Drafting.of("toy", tree="steps=2,topk=2").describe() == "toy drafter, tree steps=2,topk=2"
    with pytest.raises(SpecroofError, match="applies only to method 'heads', not 'toy'"):
        Drafting.of("toy", heads=3)
    with pytest.raises(SpecroofError, match="'mtp' or 'toy'"):  # the owners are read from the registry
        Drafting.of("heads", tree="steps=2,topk=2")


def test_toy_method_is_planned(toy):
    p = specroof.plan("llama-7b", "h200", [1, 8], [1024], method="toy", acceptance=CHAIN, max_candidates=6)
    free = specroof.plan("llama-7b", "h200", [1, 8], [1024], method="none", acceptance=CHAIN, max_candidates=6)
    assert p.drafting.method == "toy"
    assert np.all(p.sweep_speedup[..., 1:] < free.sweep_speedup[..., 1:])


def test_cli_offers_and_runs_the_toy_method(toy):
    assert "toy" in _invoke("speedup", "--help").output.split("--method [", 1)[1].split("]", 1)[0].split("|")
    out = _invoke("speedup", "-m", "llama-7b", "-H", "h200", "--method", "toy", "--acceptance", CHAIN,
                  "--candidates", "1,4", "--format", "json")
    assert out.exit_code == 0, out.output
    records = json.loads(out.output)
    records = records["records"] if isinstance(records, dict) else records
    assert {r["candidates"] for r in records} == {1, 4}
    assert any(r["candidates"] == 4 and r["speedup"] < 4 * 0.999 for r in records)


def test_unregistered_method_is_refused_everywhere():
    assert "toy" not in METHODS
    with pytest.raises(SpecroofError, match="unknown drafting method"):
        Drafting.of("toy")
    out = _invoke("speedup", "-m", "llama-7b", "-H", "h200", "--method", "toy")
    assert out.exit_code == 2 and "is not a drafting method" in out.output


def test_a_method_without_a_default_row_says_so(toy):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = specroof.speedup("llama-7b", "h200", 1, [1, 4], 1024, method="toy")
    said = [str(w.message) for w in caught if issubclass(w.category, SpecroofWarning)
            and "no default acceptance is shipped for method 'toy'" in str(w.message)]
    assert len(said) == 1, said
    assert "NOT measured" in result.acceptance.describe()
    assert result.acceptance_length[0, 1, 0] > 1.0


def test_a_new_pass_method_does_not_fall_into_another_branch(toy):
    """The toy's passes are its own builder's (an MTP projection), not EAGLE's fused input."""
    ops = {name: set(specroof.speedup("llama-7b", "h200", 1, [1, 4], 1024, method=name,
                                      acceptance=CHAIN).step.ops_ms) for name in ("eagle", "eagle3", "toy")}
    assert "draft:mtp_proj" in ops["toy"] and "draft:eagle_fc" not in ops["toy"]
    assert "draft:eagle_fc" in ops["eagle"] and "draft:eagle_fc" in ops["eagle3"]
    assert not METHODS.get("none").pass_based and isinstance(METHODS.get("none"), Method)


def test_docs_table_is_the_registry():
    from pathlib import Path

    from specroof.speculation.methods.catalog import methods_markdown

    text = (Path(__file__).resolve().parents[1] / "docs" / "drafting-methods.md").read_text(encoding="utf-8")
    table = text.split("<!-- methods-table", 1)[1].split("-->\n", 1)[1].split("<!-- /methods-table -->", 1)[0]
    assert table == methods_markdown()


def test_catalog_lists_a_registered_method(toy):
    from specroof.speculation.methods.catalog import method_catalog

    record = {r["name"]: r for r in method_catalog()}["toy"]
    assert record["pass_based"] and record["tree_capable"]
    assert record["parameters"] == [{"name": "tree", "flag": "--tree", "required": False}]
    assert {r["name"]: r for r in method_catalog()}["draft"]["parameters"][0] == {
        "name": "draft_model", "flag": "--draft-model", "required": True}


@pytest.mark.parametrize("every_row", [False, True])
def test_first_drafting_pass_projects_one_row_per_sequence(every_row):
    """EAGLE and MTP run their first pass over every verified token but (as vLLM, SGLang and
    TensorRT-LLM one-model gather the last rows) project one row per sequence to logits; a profile
    whose drafter projects every row (TensorRT-LLM two-model) prices them all."""
    from specroof.cost.drafting_ops import LM_HEAD, eagle_operations
    from specroof.cost.grid import Grid
    from specroof.cost.setup import setup_step

    setup = setup_step("llama-3.1-8b", "h100-sxm", profile="serving", draft_logits_every_row=every_row)
    grid = Grid.of([4], [5], [1024])
    for first in (True, False):
        _, ops = eagle_operations(setup, "eagle3", grid, 5.0 if first else 1.0, first)
        (head,) = [op for op in ops if op.info.base_name == LM_HEAD.name]
        rows = float(np.max(head.shape.m))
        expected = 20.0 if (first and every_row) else 4.0
        assert rows == expected, (first, every_row, rows)
