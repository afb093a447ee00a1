"""Tokens per step never exceed what the drafting shape can yield (``speculation/bounds.py``).

Every acceptance model kind x every drafting method x explicit trees and the models' own
trees, through ``specroof.speedup``, ``specroof.plan`` and the command line's JSON. The bound
each record is checked against is computed here from the shape alone (a tree's steps, the
head count, a chain's length, the depth of a tree model's own tree), not read from the
record, so a record that states a wrong bound fails too.
"""

from __future__ import annotations

import json
import math
import subprocess
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import specroof
from specroof.errors import SpecroofWarning
from specroof.models.architecture import ModelConfig
from specroof.speculation import (
    ChainAcceptance,
    CurveAcceptance,
    EngineAcceptance,
    LogAcceptance,
    MedusaTreeAcceptance,
    PositionalAcceptance,
)
from specroof.speculation.bounds import ACCEPTANCE_MODEL, DRAFTING_SHAPE
from specroof.speculation.drafting import TreeShape
from support import specroof_script

TARGET, DEVICE = "llama-3-8b", "h200"
TOL = 1e-9
FAST = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _mtp_config() -> dict:
    """llama-3-8b's config.json with one MTP layer, so method 'mtp' is priced on a dense target."""
    text = Path(specroof.__file__).parent.joinpath("models", "catalog", f"{TARGET}.json").read_text()
    config = {k: v for k, v in json.loads(text).items() if not k.startswith("_")}
    return {**config, "num_nextn_predict_layers": 1}


MTP_TARGET = ModelConfig.from_hf_config(_mtp_config(), name="llama-3-8b-mtp")


# --------------------------------------------------------------------------- strategies

rates = st.lists(st.floats(0.0, 1.0), min_size=1, max_size=24)


def _prefix_points(p: list[float]) -> list[tuple[float, float]]:
    """tau(1 + k) = 1 + sum of the first k per-position rates (chain semantics)."""
    return [(float(k + 1), 1.0 + float(sum(p[:k]))) for k in range(len(p) + 1)]


def _probabilities(values: list[float]) -> list[float]:
    total = sum(values)
    return [v / total for v in values] if total > 1 else values


acceptances = st.one_of(
    st.floats(0.0, 1 / math.log(2)).map(LogAcceptance),
    st.floats(0.0, 1.0).map(ChainAcceptance),
    rates.map(lambda p: CurveAcceptance(_prefix_points(sorted(p, reverse=True)), name="drawn")),
    rates.map(lambda p: EngineAcceptance(_prefix_points(sorted(p, reverse=True)), "vllm-metrics:drawn", "vllm", {})),
    st.tuples(st.integers(2, 24), st.floats(0.0, 1.0)).map(
        lambda nt: EngineAcceptance([(1.0, 1.0), (float(nt[0]), 1.0 + nt[1] * (nt[0] - 1))], "sglang:drawn", "sglang", {})),
    st.tuples(st.lists(st.floats(0.0, 1.0), min_size=1, max_size=3), st.none() | st.integers(1, 5)).map(
        lambda pd: PositionalAcceptance(_probabilities(pd[0]), max_depth=pd[1])),
    st.tuples(st.sampled_from(["vicuna-7b", "vicuna-13b"]), st.none() | st.integers(1, 4)).map(
        lambda md: MedusaTreeAcceptance.bundled(md[0], max_depth=md[1])),
)
"""Every acceptance kind: log, chain, curve, vllm-metrics (per-position), sglang (one point),
positional (Sequoia) and medusa trees, with and without a depth limit."""

perfect_acceptances = st.sampled_from([
    ChainAcceptance(1.0),
    PositionalAcceptance([1.0]),
    CurveAcceptance(_prefix_points([1.0] * 40), name="perfect"),
    EngineAcceptance(_prefix_points([1.0] * 40), "vllm-metrics:perfect", "vllm", {}),
    EngineAcceptance([(1.0, 1.0), (40.0, 40.0)], "sglang:perfect", "sglang", {}),
])
"""Models that accept every drafted token: the shape's bound must then be reached."""

trees = st.builds(TreeShape, steps=st.integers(1, 4), topk=st.integers(1, 4))
draftings = st.one_of(
    st.just({"method": "none"}),
    st.integers(1, 6).map(lambda h: {"method": "heads", "heads": h}),
    st.tuples(st.sampled_from(["draft", "eagle", "eagle3", "mtp"]), st.none() | trees).map(
        lambda mt: {"method": mt[0], "tree": mt[1], **({"draft_model": "llama-68m"} if mt[0] == "draft" else {})}),
    st.floats(0.05, 1.0).map(lambda r: {"method": "ngram", "proposal_rate": r}),
)
budgets = st.lists(st.integers(2, 24), min_size=1, max_size=3, unique=True)


# --------------------------------------------------------------------------- the bound, from the shape alone


def shape_bound(acceptance, drafting: dict, n: int) -> float:
    """Most tokens one step can yield: the accepted path's depth + 1 (mean over n-gram proposals)."""
    if n == 1:
        return 1.0
    tree = drafting.get("tree")
    if tree is not None:
        depth = min(tree.steps, n - 1)
    elif drafting["method"] == "heads":
        depth = min(drafting["heads"], n - 1)
    elif acceptance.tree(1) is not None and drafting["method"] != "ngram":
        depth = max(len(path) for path in acceptance.tree(n))  # the model's own tree
    else:
        depth = n - 1  # a chain
    most = depth + 1.0
    if drafting["method"] == "ngram":
        most = 1.0 + drafting["proposal_rate"] * (most - 1.0)
    return most


def _candidates(acceptance, drafting: dict, drawn: list[int]) -> list[int]:
    low = drafting["tree"].topk + 1 if drafting.get("tree") is not None else 2
    high = acceptance.max_candidates or max(drawn)
    assume(low <= high)
    return [1, *sorted({min(max(n, low), high) for n in drawn})]


def _target(drafting: dict):
    return MTP_TARGET if drafting["method"] == "mtp" else TARGET


def check_record(record: dict, acceptance, drafting: dict, n: int) -> None:
    most = shape_bound(acceptance, drafting, n)
    tau = record["acceptance_length"]
    assert tau <= most + TOL, (acceptance.describe(), drafting, n, tau, most)
    assert record["shape_max_tokens"] == pytest.approx(most, rel=1e-12)
    assert tau <= record["model_acceptance_length"] + TOL
    bounded = tau < record["model_acceptance_length"] - TOL
    assert record["acceptance_bound"] == (DRAFTING_SHAPE if bounded else ACCEPTANCE_MODEL)
    assert math.isfinite(record["speedup"]) and record["speedup"] > 0
    assert tau >= 1.0 - TOL


def _speedup(acceptance, drafting: dict, candidates: list[int]):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SpecroofWarning)
        return specroof.speedup(_target(drafting), DEVICE, [1, 16], candidates, [512], acceptance=acceptance,
                                **drafting)


# --------------------------------------------------------------------------- properties


@FAST
@given(acceptances, draftings, budgets)
def test_no_speedup_record_above_its_shape(acceptance, drafting, drawn):
    candidates = _candidates(acceptance, drafting, drawn)
    for record in _speedup(acceptance, drafting, candidates).to_records():
        check_record(record, acceptance, drafting, record["candidates"])


@FAST
@given(perfect_acceptances, draftings, budgets)
def test_a_perfect_model_reaches_the_shape_bound(acceptance, drafting, drawn):
    candidates = _candidates(acceptance, drafting, drawn)
    for record in _speedup(acceptance, drafting, candidates).to_records():
        assert record["acceptance_length"] == pytest.approx(shape_bound(acceptance, drafting, record["candidates"]))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(acceptances, draftings)
def test_no_plan_record_above_its_shape(acceptance, drafting):
    tree, most = drafting.get("tree"), acceptance.max_candidates
    assume(tree is None or most is None or most > tree.topk)  # else no n verifies the tree (an error)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SpecroofWarning)
        result = specroof.plan(_target(drafting), DEVICE, batch=[1, 32], seq_len=512, acceptance=acceptance,
                               max_candidates=12, **drafting)
    for record in result.to_records():
        if record["best_candidates"] is not None:
            check_record(record, acceptance, drafting, record["best_candidates"])


# --------------------------------------------------------------------------- named cases


def test_two_pass_tree_yields_at_most_three():
    """The 8.1-tokens-per-step case: 2 passes, chain:0.9 read over the path's 3 positions."""
    with pytest.warns(SpecroofWarning, match=r"chain:0\.9.*steps=2,topk=8,tokens=16.*at most 3 tokens"):
        r = specroof.speedup(TARGET, DEVICE, 1, [1, 16], 1024, acceptance="chain:0.9", method="eagle3",
                             tree="steps=2,topk=8,tokens=16")
    assert r.acceptance_length[0, 1, 0] == pytest.approx(1 + 0.9 + 0.81)
    assert r.speedup[0, 1, 0] < 3


@pytest.mark.parametrize("acceptance", ["chain:1", "log:1.4"])
def test_one_pass_tree_yields_at_most_two(acceptance):
    """A 64-wide tree drafted in one pass: 2 tokens per step at best, however many it verifies."""
    with pytest.warns(SpecroofWarning, match="1 level deep"):
        r = specroof.speedup(TARGET, DEVICE, 1, [1, 65], 1024, acceptance=acceptance, method="eagle",
                             tree="steps=1,topk=64")
    assert r.acceptance_length[0, 1, 0] == 2.0
    assert r.speedup[0, 1, 0] < 2
    with pytest.warns(SpecroofWarning):
        p = specroof.plan(TARGET, DEVICE, batch=[1, 64], acceptance=acceptance, method="eagle", tree="steps=1,topk=8",
                          max_candidates=32)
    assert np.all(p.acceptance_length <= 2.0) and np.all(p.speedup < 2)


def test_a_tree_model_takes_its_best_tree_within_the_shape():
    """Sequoia positional acceptance on a depth-2, top-2 tree: the best 5 nodes of that tree."""
    p = [0.6, 0.3]
    with pytest.warns(SpecroofWarning, match="best tree within the shape"):
        r = specroof.speedup(TARGET, DEVICE, 1, [1, 5], 1024, acceptance=PositionalAcceptance(p),
                             method="eagle", tree="steps=2,topk=2")
    # nodes: (0) .6, (1) .3, (0,0) .36, (0,1) .18 -> the best four beside the root
    assert r.acceptance_length[0, 1, 0] == pytest.approx(1 + 0.6 + 0.36 + 0.3 + 0.18)


def test_heads_draft_one_level_each():
    with pytest.warns(SpecroofWarning, match="3 Medusa heads"):
        r = specroof.speedup(TARGET, DEVICE, 1, [1, 4, 32], 1024, acceptance="chain:1", method="heads", heads=3)
    np.testing.assert_allclose(r.acceptance_length[0, :, 0], [1, 4, 4])
    records = r.to_records()
    assert [rec["acceptance_bound"] for rec in records] == [ACCEPTANCE_MODEL, ACCEPTANCE_MODEL, DRAFTING_SHAPE]


def test_shapes_the_model_fits_are_left_alone():
    """A chain verified by a draft model, and a tree model's own tree: nothing bounded, no warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", SpecroofWarning)
        chain = specroof.speedup(TARGET, DEVICE, 1, [1, 8], 1024, acceptance="chain:0.8", method="eagle")
        tree = specroof.speedup(TARGET, DEVICE, 1, [1, 40], 1024, acceptance="medusa:vicuna-7b", method="eagle")
    assert chain.acceptance_length[0, 1, 0] == pytest.approx(ChainAcceptance(0.8).tau(8))
    assert tree.acceptance_length[0, 1, 0] == pytest.approx(MedusaTreeAcceptance.bundled("vicuna-7b").tau(40))


@pytest.mark.parametrize("args, most", [
    (["--method", "eagle3", "--tree", "steps=2,topk=8,tokens=16", "--candidates", "1,16"], 3.0),
    (["--method", "eagle", "--tree", "steps=1,topk=4", "--candidates", "1,5,9"], 2.0),
    (["--method", "heads", "--heads", "2", "--candidates", "1,3,12"], 3.0),
    (["--method", "mtp", "--tree", "steps=3,topk=2", "--candidates", "1,4,12"], 4.0),
    (["--method", "ngram", "--candidates", "1,3,12"], 12.0),
])
@pytest.mark.parametrize("acceptance", ["chain:1", "log:1.44", "positional:0.7,0.3", "medusa:vicuna-7b"])
def test_cli_json_records_within_the_shape(args, most, acceptance, tmp_path, specroof_cli):
    target = TARGET
    if "mtp" in args:
        target = str(tmp_path / "config.json")
        Path(target).write_text(json.dumps(_mtp_config()), encoding="utf-8")
    command = ["speedup", "-m", target, "-H", DEVICE, "--batch", "1,8", "--acceptance", acceptance,
               "--format", "json", *args]
    for record in specroof_cli(*command).json():
        assert record["acceptance_length"] <= min(most, record["candidates"]) + TOL
        assert record["acceptance_length"] <= record["shape_max_tokens"] + TOL
        assert record["acceptance_bound"] in (ACCEPTANCE_MODEL, DRAFTING_SHAPE)


def test_cli_warns_once_naming_model_shape_and_bound():
    proc = subprocess.run([specroof_script(), "speedup", "-m", TARGET, "-H", DEVICE, "--method", "eagle3", "--tree",
                           "steps=2,topk=8,tokens=16", "--acceptance", "chain:0.9", "--candidates", "1,16",
                           "--format", "csv"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith("warning: acceptance")]
    assert len(lines) == 1
    assert "chain:0.9" in lines[0] and "steps=2,topk=8,tokens=16" in lines[0] and "at most 3 tokens" in lines[0]
    header, *rows = proc.stdout.strip().splitlines()
    columns = header.split(",")
    last = dict(zip(columns, rows[-1].split(",")))
    assert last["acceptance_bound"] == DRAFTING_SHAPE and float(last["shape_max_tokens"]) == 3.0
    assert float(last["acceptance_length"]) == pytest.approx(2.71)


DATA = Path(__file__).parent / "data" / "engine-metrics"


@pytest.mark.parametrize("spec, expected", [
    # per-position rates 0.74, 0.53, 0.36: a one-level tree keeps the first position
    (f"vllm-metrics:{DATA / 'vllm-eagle3-k3.prom'}", 1.74),
    # SGLang served a chain (topk 1, tau 3.0412 at n = 4): its positions, linear from (1, 1)
    (f"sglang:{DATA / 'sglang-server-info.json'}", 1 + 2.0412 / 3),
    # a log does not say what SGLang served: its tau at the tree's nodes, capped at depth + 1
    (f"sglang:{DATA / 'sglang-decode.log'}:4", 2.0),
])
def test_engine_metrics_under_a_one_pass_tree(spec, expected):
    with pytest.warns(SpecroofWarning, match="1 level deep"):
        r = specroof.speedup(TARGET, DEVICE, 1, [1, 4], 1024, acceptance=spec, method="eagle3", tree="steps=1,topk=3")
    assert r.acceptance_length[0, 1, 0] == pytest.approx(expected, rel=1e-9)
    assert r.to_records()[1]["acceptance_bound"] == DRAFTING_SHAPE


def test_explain_says_the_shape_bounded_tau():
    from specroof.speculation.explain import explain

    with pytest.warns(SpecroofWarning):
        e = explain(TARGET, DEVICE, batch=1, candidates=16, acceptance="chain:0.9", method="eagle3",
                    tree="steps=2,topk=8,tokens=16")
    assert e.tau == pytest.approx(2.71) and e.model_tau == pytest.approx(ChainAcceptance(0.9).tau(16))
    assert e.summary()["acceptance_bound"] == DRAFTING_SHAPE
