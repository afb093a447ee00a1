"""Tree acceptance models (Medusa heads, positional) against brute force over all trees."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from specroof.errors import SpecroofError
from specroof.speculation import MedusaTreeAcceptance, PositionalAcceptance, parse_acceptance
from specroof.speculation.trees import bundled_medusa_models

BUNDLED = Path(__file__).resolve().parents[1] / "src" / "specroof" / "speculation" / "data" / "medusa-head-accuracy.csv"

SMALL = np.array([  # 3 heads x 3 ranks, cumulative top-k
    [0.6, 0.75, 0.8],
    [0.35, 0.5, 0.58],
    [0.2, 0.3, 0.36],
])


def best_tree_value(ranks: int, depth: int, value: Callable[[tuple[int, ...]], float], n: int) -> float:
    """max over all connected n-node trees (node sets closed under parent) of 1 + sum of values.

    Every closed set of k + 1 nodes is a closed set of k nodes plus one node whose parent is
    in it, so growing sets node by node enumerates them all.
    """
    frontier_sets = {frozenset([()])}
    for _ in range(n - 1):
        grown = set()
        for nodes in frontier_sets:
            for node in nodes:
                if len(node) < depth:
                    for r in range(ranks):
                        child = node + (r,)
                        if child not in nodes:
                            grown.add(nodes | {child})
        frontier_sets = grown
    return max(1 + sum(value(p) for p in nodes if p) for nodes in frontier_sets)


def medusa_value(accuracies: np.ndarray) -> Callable[[tuple[int, ...]], float]:
    per_rank = np.diff(accuracies, axis=1, prepend=0.0)
    return lambda path: math.prod(per_rank[depth, r] for depth, r in enumerate(path))


@pytest.mark.parametrize("heads,ranks", [(2, 2), (2, 3), (3, 2), (3, 3)])
def test_medusa_matches_brute_force(heads: int, ranks: int) -> None:
    acc = SMALL[:heads, :ranks]
    model = MedusaTreeAcceptance(acc)
    for n in range(1, 7):
        expected = best_tree_value(ranks, heads, medusa_value(acc), n)
        assert model.tau(n) == pytest.approx(expected, abs=1e-12)


@st.composite
def accuracy_tables(draw: st.DrawFn) -> np.ndarray:
    heads = draw(st.integers(1, 3))
    ranks = draw(st.integers(1, 3))
    rows = []
    for _ in range(heads):
        diffs = draw(st.lists(st.floats(0, 1), min_size=ranks, max_size=ranks))
        total = sum(diffs)
        scale = draw(st.floats(0, 1)) / total if total > 1 else 1.0
        rows.append(np.cumsum(np.array(diffs) * scale).clip(0, 1))
    return np.array(rows)


@settings(max_examples=40, deadline=None)
@given(accuracy_tables(), st.integers(1, 5))
def test_medusa_random_tables_match_brute_force(acc: np.ndarray, n: int) -> None:
    model = MedusaTreeAcceptance(acc)
    n = min(n, model.max_candidates)
    expected = best_tree_value(acc.shape[1], acc.shape[0], medusa_value(acc), n)
    assert model.tau(n) == pytest.approx(expected, abs=1e-12)


def test_medusa_max_depth_limits_tree() -> None:
    acc = SMALL
    model = MedusaTreeAcceptance(acc, max_depth=1)
    assert model.max_candidates == 1 + 3
    assert all(len(p) <= 1 for p in model.tree(4))
    for n in range(1, 5):
        assert model.tau(n) == pytest.approx(best_tree_value(3, 1, medusa_value(acc), n))
    deep = MedusaTreeAcceptance(acc, max_depth=10)  # clamped to the number of heads
    assert deep.max_candidates == 1 + 3 + 9 + 27


def test_vicuna_7b_tree_is_connected_and_greedy() -> None:
    model = parse_acceptance("medusa:vicuna-7b")
    paths = model.tree(model.max_candidates)
    assert paths[0] == ()
    assert len(set(paths)) == len(paths) == 1 + 5 + 25 + 125 + 625 + 3125
    seen: set[tuple[int, ...]] = set()
    for p in paths:
        assert p == () or p[:-1] in seen, f"parent of {p} inserted after it"
        seen.add(p)
    values = model.node_values(model.max_candidates)
    assert np.all(np.diff(values[1:]) <= 1e-15)
    per_rank = np.diff(model.accuracies, axis=1, prepend=0.0)
    for p, v in zip(paths[:200], values[:200]):
        assert v == pytest.approx(math.prod(per_rank[d, r] for d, r in enumerate(p)))
    # tau is 1 + cumulative value, and the 64-node tree starts like Medusa's published ones
    assert model.tau(64) == pytest.approx(values[:64].sum())
    assert paths[1:4] == [(0,), (0, 0), (1,)]


def test_vicuna_7b_known_values() -> None:
    model = parse_acceptance("medusa:vicuna-7b")
    tau = model.tau([1, 2, 16, 64])
    assert tau[0] == 1.0
    assert tau[1] == pytest.approx(1.5604)
    assert tau[2] == pytest.approx(2.2110, abs=1e-4)
    assert tau[3] == pytest.approx(2.3844, abs=1e-4)


def test_bundled_head_accuracies_are_a_consistent_transcription() -> None:
    """The shipped Medusa-1 table (the Medusa project's assets/medusa_acc.csv), as the package
    reads it, against what such a table must satisfy; a swapped column, head or model fails:
    cumulative top-k never decreases with k, a head further ahead is never more accurate, and
    a larger Vicuna's first head is more accurate than a smaller one's."""
    assert bundled_medusa_models() == ["vicuna-7b", "vicuna-13b", "vicuna-33b"]
    tables = {name: MedusaTreeAcceptance.bundled(name).accuracies for name in bundled_medusa_models()}
    for name, acc in tables.items():
        assert acc.shape == (5, 5), name
        assert np.all((acc > 0) & (acc < 1)), name
        assert np.all(np.diff(acc, axis=1) > 0), f"{name}: top-k not cumulative"
        assert np.all(np.diff(acc, axis=0) < 0), f"{name}: a later head is more accurate"
        np.testing.assert_array_equal(acc, MedusaTreeAcceptance.from_csv(BUNDLED, name).accuracies)
    first = [tables[name][0, 0] for name in ("vicuna-7b", "vicuna-13b", "vicuna-33b")]
    assert first == sorted(first)


def test_medusa_spec_forms(tmp_path: Path) -> None:
    one = tmp_path / "one.csv"
    one.write_text("# comment\nhead,top1,top2\n0,0.5,0.7\n1,0.3,0.4\n")
    assert parse_acceptance(f"medusa:{one}").accuracies.shape == (2, 2)
    model = parse_acceptance(f"medusa:{BUNDLED}:vicuna-13b")
    assert model.accuracies[0, 0] == pytest.approx(0.5939)
    with pytest.raises(SpecroofError, match="several models.*vicuna-7b"):
        parse_acceptance(f"medusa:{BUNDLED}")
    with pytest.raises(SpecroofError, match="vicuna-70b.*available"):
        parse_acceptance(f"medusa:{BUNDLED}:vicuna-70b")
    with pytest.raises(SpecroofError, match="did you mean: vicuna-7b"):
        parse_acceptance("medusa:vicuna-7")
    with pytest.raises(SpecroofError, match="not found"):
        parse_acceptance(f"medusa:{tmp_path / 'missing.csv'}")


def test_medusa_budget_beyond_possible_nodes() -> None:
    model = MedusaTreeAcceptance(SMALL[:2, :2])
    assert model.max_candidates == 7
    assert model.tau(7) == pytest.approx(1 + SMALL[0, 1] + SMALL[0, 1] * SMALL[1, 1])
    with pytest.raises(SpecroofError, match="only 7 possible tree nodes"):
        model.tau([1, 8])


@pytest.mark.parametrize("table,match", [
    ([[0.5, 1.2]], r"head 0: top2 accuracy 1\.2 is outside \[0, 1\]"),
    ([[0.5, 0.7], [-0.1, 0.2]], r"head 1: top1 accuracy -0\.1"),
    ([[0.6, 0.5]], r"head 0: top2 accuracy 0\.5 is below top1"),
    ([[np.nan]], "outside"),
    (np.zeros((0, 3)), "at least one head"),
    ([0.5, 0.6], "table"),
])
def test_medusa_bad_tables(table: object, match: str) -> None:
    with pytest.raises(SpecroofError, match=match):
        MedusaTreeAcceptance(table)  # type: ignore[arg-type]


@pytest.mark.parametrize("text,match", [
    ("", "no data"),
    ("model,head,top1\n", "no data rows"),
    ("model,head,top1,top2\nm,0,0.5,0.4\n", r":2 \(head 0\): top2 accuracy 0\.4 is below top1"),
    ("model,head,top1,top2\nm,0,0.5,0.6\nm,1,0.5,1.6\n", r":3 \(head 1\): top2 accuracy 1\.6"),
    ("model,head,top1,top2\nm,0,0.5,abc\n", r":2: top2 'abc' is not a number"),
    ("model,head,top1,top3\nm,0,0.5,0.6\n", "top1,top2 in order"),
    ("model,top1\nm,0.5\n", "'head'"),
    ("model,head,top1\nm,0,0.5\nm,2,0.3\n", "lacks head"),
    ("model,head,top1\nm,0,0.5\nm,0,0.3\n", "appears twice"),
    ("model,head,top1\nm,0\n", "expected 3 values"),
])
def test_medusa_bad_files(tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / "acc.csv"
    path.write_text(text)
    with pytest.raises(SpecroofError, match=match):
        MedusaTreeAcceptance.from_csv(path)


def positional_value(p: list[float]) -> Callable[[tuple[int, ...]], float]:
    return lambda path: math.prod(p[r] for r in path)


@pytest.mark.parametrize("p,depth", [([0.7, 0.2], 3), ([0.5, 0.3, 0.1], 2), ([0.9], 4), ([0.4, 0.4], 1)])
def test_positional_matches_brute_force(p: list[float], depth: int) -> None:
    model = PositionalAcceptance(p, max_depth=depth)
    for n in range(1, min(7, model.max_candidates) + 1):
        assert model.tau(n) == pytest.approx(best_tree_value(len(p), depth, positional_value(p), n), abs=1e-12)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=1, max_size=3), st.integers(1, 4), st.integers(1, 6))
def test_positional_random_matches_brute_force(raw: list[float], depth: int, n: int) -> None:
    total = sum(raw)
    p = sorted((x / total if total > 1 else x for x in raw), reverse=True)
    model = PositionalAcceptance(p, max_depth=depth)
    n = min(n, model.max_candidates)
    assert model.tau(n) == pytest.approx(best_tree_value(len(p), depth, positional_value(p), n), abs=1e-12)


def test_positional_unbounded_depth_grows_lazily() -> None:
    model = PositionalAcceptance([0.8])
    assert model.max_candidates is None
    # a single rank makes a chain: same as chain acceptance with alpha = p1
    n = np.array([1, 2, 10, 500])
    np.testing.assert_allclose(model.tau(n), (1 - 0.8**n) / (1 - 0.8))
    assert model.tree(3) == [(), (0,), (0, 0)]


@pytest.mark.parametrize("p,match", [
    ([0.7, 0.4], "sum to 1.1"),
    ([1.2], r"p1 = 1\.2 is not a probability"),
    ([0.5, -0.1], "p2"),
    ([], "at least one"),
])
def test_positional_bad_inputs(p: list[float], match: str) -> None:
    with pytest.raises(SpecroofError, match=match):
        PositionalAcceptance(p)


def test_positional_bad_depth_and_spec() -> None:
    with pytest.raises(SpecroofError, match="max depth"):
        PositionalAcceptance([0.5], max_depth=0)
    with pytest.raises(SpecroofError, match="not a number"):
        parse_acceptance("positional:0.5,abc")
    assert parse_acceptance("positional:0.6,0.2", max_depth=2).max_candidates == 7


def test_tree_of_tree_models_is_nested() -> None:
    model = PositionalAcceptance([0.6, 0.25, 0.1], max_depth=4)
    assert model.tree(1) == [()]
    big = model.tree(30)
    assert model.tree(12) == big[:12]
    with pytest.raises(SpecroofError):
        model.tree(0)
