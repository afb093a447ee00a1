"""Token trees: greedy optimal trees for Medusa heads and positional (Sequoia-style) acceptance.

A tree node is a path of ranks ``(r_1, ..., r_k)``: "the r_1-th guess at depth 1, then the
r_2-th guess below it, ...". Ranks are **0-based** (rank 0 = the top-1 guess), the convention
of the Medusa repository's ``medusa_choices`` lists, so a tree printed here can be pasted
there. The root ``()`` is the base model's own token.

Both models give every node a value = the probability that the whole path is accepted, a
product of per-depth, per-rank factors in [0, 1]. The expected tokens per step of a tree is
``1 + sum of its non-root node values`` (linearity of expectation: a node's token counts iff
its path is accepted), so the best n-node tree maximizes a sum of node values subject to being
closed under taking parents.

**Why greedy is optimal.** Because each factor is <= 1, a child's value never exceeds its
parent's. Let the tree hold some nodes and consider any node v outside it: walking up from v
we reach an ancestor u outside the tree whose parent is inside (the root always is), and
value(u) >= value(v). So the best node on the frontier (outside, parent inside) is a best
node among *all* nodes outside the tree. Greedy therefore adds, at every step, a node of
largest remaining value; after n - 1 additions it holds n - 1 nodes whose values are the n - 1
largest of all non-root nodes (ties aside, which do not change the sum). Any connected tree
of n nodes sums at most the n - 1 largest values, so no tree of n nodes does better. Limiting
the depth only removes nodes, and the set of nodes of depth <= D is still closed under parents,
so the same argument gives the optimal tree of depth <= D. Budgets are nested: the best
(n+1)-node tree is the best n-node tree plus one node, so one greedy order answers every n.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path

import numpy as np

from specroof.datafiles import csv_rows
from specroof.errors import SpecroofError, suggest
from specroof.speculation.acceptance import (
    AcceptanceModel,
    _number,
    _read_csv_rows,
    as_candidates,
)

RankPath = tuple[int, ...]
"""A node: 0-based ranks from the root down; ``()`` is the root."""

BUNDLED_MEDUSA_FILE = "medusa-head-accuracy.csv"
_TOL = 1e-9

#: Largest tree the greedy search builds (nodes, root included). Serving engines verify
#: at most a few hundred candidates per sequence; growing a tree is a heap operation per
#: node, so this bound keeps any request under a second and is checked before growing.
MAX_TREE_NODES = 65_536
#: Deepest tree level accepted (``max_depth``); a tree this deep would need this many
#: consecutive accepted tokens in one step.
MAX_TREE_DEPTH = 1024
#: Most candidate children the search may consider (nodes x ranks per level).
MAX_TREE_WORK = 600_000


class GreedyTree:
    """The greedy (hence optimal) insertion order of tree nodes, grown on demand.

    ``factors(depth)`` gives the per-rank multipliers for children at ``depth`` (1-based): a
    node's value is its parent's times ``factors(depth)[rank]``. Nodes are kept in insertion
    order, so the best n-node tree is always the first n nodes; growing is lazy because an
    unbounded positional tree has infinitely many nodes. Ties are broken towards shallower,
    then lexicographically smaller paths, so trees are reproducible.
    """

    def __init__(self, factors: Callable[[int], np.ndarray], ranks: int, max_depth: int | None) -> None:
        self._factors = factors
        self.ranks = ranks
        self.max_depth = max_depth
        self.max_nodes: int | None = None if max_depth is None else _tree_size(ranks, max_depth)
        self.paths: list[RankPath] = [()]
        self._values: list[float] = [1.0]
        self._heap: list[tuple[float, int, RankPath]] = []
        self._push_children((), 1.0)
        self._cumulative: np.ndarray | None = None

    def _push_children(self, path: RankPath, value: float) -> None:
        depth = len(path) + 1
        if self.max_depth is not None and depth > self.max_depth:
            return
        for rank, factor in enumerate(self._factors(depth)):
            heapq.heappush(self._heap, (-value * float(factor), depth, path + (rank,)))

    def grow(self, count: int) -> None:
        """Make sure the first ``count`` nodes (root included) are known, or all that exist."""
        check_tree_budget(count, self.ranks)
        while len(self.paths) < count and self._heap:
            neg_value, _, path = heapq.heappop(self._heap)
            self.paths.append(path)
            self._values.append(-neg_value)
            self._push_children(path, -neg_value)
            self._cumulative = None

    def values(self, count: int) -> np.ndarray:
        """Values of the first ``count`` nodes in insertion order (non-increasing after the root)."""
        self.grow(count)
        return np.array(self._values[:count])

    def expected_tokens(self, n: np.ndarray) -> np.ndarray:
        """``tau(n)`` for an integer array: a cumulative-sum lookup after one growth. A budget
        beyond every node that exists (a tree cut to a shape) gets the whole tree's value."""
        if n.size == 0:
            return np.zeros(n.shape)
        self.grow(int(n.max()))
        if self._cumulative is None or len(self._cumulative) < len(self._values):
            self._cumulative = np.cumsum(self._values)
        return self._cumulative[np.minimum(n, len(self._cumulative)) - 1]

    def depths(self, n: np.ndarray) -> np.ndarray:
        """Depth of the first n nodes' tree for each n of an integer array."""
        if n.size == 0:
            return np.zeros(n.shape, dtype=np.int64)
        self.grow(int(n.max()))
        deepest = np.maximum.accumulate([len(path) for path in self.paths])
        return deepest[np.minimum(n, len(deepest)) - 1]

    def within(self, depth: int | None, width: int | None) -> "GreedyTree":
        """The same node values over the nodes at most ``depth`` deep and of rank < ``width``
        (None: no limit): a set closed under parents, so greedy stays optimal on it."""
        ranks = self.ranks if width is None else min(self.ranks, int(width))
        deepest = self.max_depth if depth is None else (
            int(depth) if self.max_depth is None else min(self.max_depth, int(depth)))
        return GreedyTree(lambda d: self._factors(d)[:ranks], ranks, deepest)


class TreeAcceptance(AcceptanceModel):
    """Acceptance of the best n-node tree under a product-of-factors node value."""

    _greedy: GreedyTree
    counts = "nodes"

    def _tau(self, n: np.ndarray) -> np.ndarray:
        return self._greedy.expected_tokens(n)

    def shaped_tau(self, candidates: np.ndarray | Sequence[int] | int, depth: int | None = None,
                   width: int | None = None) -> np.ndarray:
        """tau of the best n-node tree among those at most ``depth`` deep with ``width`` ranks
        per node (None: no limit): the model's own node values over the shape's nodes only."""
        n = as_candidates(candidates, self.max_candidates, self._limit_reason())
        own = self._greedy
        deeper = depth is None or (own.max_depth is not None and depth >= own.max_depth)
        if deeper and (width is None or width >= own.ranks):
            return self.tau(n)
        cuts = self.__dict__.setdefault("_cuts", {})  # one grown tree per shape asked for
        if (depth, width) not in cuts:
            cuts[(depth, width)] = own.within(depth, width)
        return np.where(n == 1, 1.0, cuts[(depth, width)].expected_tokens(n))

    def shape_depth(self, candidates: np.ndarray) -> np.ndarray:
        """Depth of the model's best n-node tree for each n."""
        n = as_candidates(candidates, self.max_candidates, self._limit_reason())
        return self._greedy.depths(n)

    def tree(self, n: int) -> list[RankPath]:
        """Rank paths of the optimal n-node tree in greedy insertion order, root ``()`` first."""
        count = self._budget(n)
        self._greedy.grow(count)
        return list(self._greedy.paths[:count])

    def node_values(self, n: int) -> np.ndarray:
        """Acceptance probability of each node of ``tree(n)``, in the same order (root = 1)."""
        return self._greedy.values(self._budget(n))

    def _budget(self, n: int) -> int:
        array = as_candidates(n, self.max_candidates, self._limit_reason())
        if array.ndim != 0:
            raise SpecroofError(f"a tree needs one candidate count, got {n!r}")
        return int(array)

    def _limit_reason(self) -> str:
        return (f"{self.describe()} has only {self.max_candidates} possible tree nodes "
                f"({self._greedy.ranks} ranks, depth <= {self._greedy.max_depth}), root included")


def _tree_size(ranks: int, depth: int) -> int | None:
    """Nodes of the full tree (root included), or None when it exceeds MAX_TREE_NODES."""
    total, level = 1, 1
    for _ in range(depth):
        level *= ranks
        total += level
        if total > MAX_TREE_NODES:
            return None
    return total


def check_tree_budget(count: int, ranks: int = 1) -> None:
    """Refuse, before any work, a tree larger than MAX_TREE_NODES or too costly to search.

    Growing a node considers each of its ``ranks`` children, so the work is count x ranks.
    """
    if count > MAX_TREE_NODES:
        raise SpecroofError(f"a tree of {count:,} candidates is larger than the {MAX_TREE_NODES:,} nodes specroof "
                            "builds; ask for fewer candidates (e.g. --candidates 1..256)")
    if count * ranks > MAX_TREE_WORK:
        raise SpecroofError(f"a tree of {count:,} candidates over {ranks} ranks per level is too large to search "
                            f"(limit {MAX_TREE_WORK:,} candidates x ranks); ask for fewer candidates or give "
                            "fewer ranks")


def _check_depth(max_depth: int | None) -> int | None:
    if max_depth is None:
        return None
    if isinstance(max_depth, bool) or not isinstance(max_depth, (int, float, np.integer, np.floating)) \
            or not np.isfinite(max_depth) or int(max_depth) != max_depth or max_depth < 1:
        raise SpecroofError(f"max depth must be an integer >= 1, got {max_depth!r}")
    if max_depth > MAX_TREE_DEPTH:
        raise SpecroofError(f"max depth {int(max_depth):,} is beyond the {MAX_TREE_DEPTH:,} levels specroof builds; "
                            "give a smaller --max-depth (trees deeper than a few dozen levels never pay off)")
    return int(max_depth)


class MedusaTreeAcceptance(TreeAcceptance):
    """Medusa heads: node ``(r_1..r_k)`` takes head j's ``r_j``-th guess at depth j.

    ``accuracies[j, k]`` is head j's cumulative top-(k+1) accuracy; the chance that its guess
    of rank r is right is ``top_(r+1) - top_r`` (differences of the cumulative curve), and
    heads are assumed independent, so a node's value is the product along its path. Depth is
    limited by the number of heads (and ``max_depth``), width by the ranks in the table.
    """

    def __init__(self, accuracies: np.ndarray | Sequence[Sequence[float]], max_depth: int | None = None,
                 name: str | None = None) -> None:
        try:
            acc = np.asarray(accuracies, dtype=float)
        except (TypeError, ValueError, OverflowError):
            raise SpecroofError("medusa accuracies must be a table [head, k] of numbers in [0, 1]") from None
        if acc.ndim != 2 or acc.shape[0] < 1 or acc.shape[1] < 1:
            raise SpecroofError("medusa accuracies must be a table [head, k] with at least one head and one rank, "
                                f"got shape {acc.shape}")
        for head, row in enumerate(acc):
            _check_head_row(row, f"head {head}")
        self.accuracies = acc
        self.per_rank = np.diff(acc, axis=1, prepend=0.0).clip(0.0, 1.0)
        self.max_depth = _check_depth(max_depth)
        self.name = name
        depth = acc.shape[0] if self.max_depth is None else min(self.max_depth, acc.shape[0])
        self._greedy = GreedyTree(lambda d: self.per_rank[d - 1], acc.shape[1], depth)
        self.max_candidates = self._greedy.max_nodes

    @classmethod
    def from_csv(cls, path: str | Path, model: str | None = None,
                 max_depth: int | None = None) -> "MedusaTreeAcceptance":
        """Read ``model,head,top1..topK`` rows ('#' comments allowed); MODEL picks the rows."""
        rows = _read_csv_rows(Path(path), "medusa accuracy")
        accuracies, chosen = _parse_medusa_rows(rows, str(path), model)
        name = f"{path}:{chosen}" if chosen else str(path)
        return cls(accuracies, max_depth=max_depth, name=name)

    @classmethod
    def bundled(cls, model: str, max_depth: int | None = None) -> "MedusaTreeAcceptance":
        """Medusa-1 head accuracies shipped with specroof (Vicuna 7B/13B/33B)."""
        accuracies, chosen = _parse_medusa_rows(csv_rows(_bundled_text()), f"bundled {BUNDLED_MEDUSA_FILE}", model)
        return cls(accuracies, max_depth=max_depth, name=chosen)

    def describe(self) -> str:
        label = self.name or f"{self.accuracies.shape[0]}x{self.accuracies.shape[1]} table"
        depth = f" depth<={self.max_depth}" if self.max_depth is not None else ""
        return f"medusa:{label}{depth}"


class PositionalAcceptance(TreeAcceptance):
    """Sequoia's positional acceptance: the r-th ranked child is accepted w.p. ``p[r]``.

    The probability does not depend on depth, so a node ``(r_1..r_k)`` has value
    ``prod p[r_i]`` and the optimal tree of n nodes and depth <= ``max_depth`` is the greedy
    one (see the module docstring). At most one sibling can be the accepted continuation, hence
    ``sum(p) <= 1``. Without ``max_depth`` the tree may grow arbitrarily deep.
    """

    def __init__(self, p: Sequence[float] | np.ndarray, max_depth: int | None = None) -> None:
        try:
            probs = np.asarray(p, dtype=float).ravel()
        except (TypeError, ValueError, OverflowError):
            raise SpecroofError(f"positional acceptance needs probabilities, e.g. positional:0.6,0.15; got {p!r}") from None
        if probs.size == 0:
            raise SpecroofError("positional acceptance needs at least one probability, e.g. positional:0.6,0.15")
        for rank, value in enumerate(probs):
            if not (np.isfinite(value) and 0.0 <= value <= 1.0):
                raise SpecroofError(f"positional acceptance p{rank + 1} = {value:g} is not a probability in [0, 1]")
        if probs.sum() > 1.0 + _TOL:
            raise SpecroofError(f"positional acceptance probabilities sum to {probs.sum():g} > 1; "
                                "at most one sibling can be accepted, so they must sum to at most 1")
        self.p = probs
        self.max_depth = _check_depth(max_depth)
        self._greedy = GreedyTree(lambda d: self.p, probs.size, self.max_depth)
        self.max_candidates = self._greedy.max_nodes

    def describe(self) -> str:
        depth = f" depth<={self.max_depth}" if self.max_depth is not None else ""
        return "positional:" + ",".join(f"{v:g}" for v in self.p) + depth


def _check_head_row(row: np.ndarray, where: str) -> None:
    """Cumulative top-k accuracies of one head: probabilities, non-decreasing in k."""
    for k, value in enumerate(row, start=1):
        if not (np.isfinite(value) and 0.0 <= value <= 1.0):
            raise SpecroofError(f"{where}: top{k} accuracy {value:g} is outside [0, 1]")
    for k in range(1, len(row)):
        if row[k] < row[k - 1] - _TOL:
            raise SpecroofError(f"{where}: top{k + 1} accuracy {row[k]:g} is below top{k} {row[k - 1]:g}; "
                                "cumulative top-k accuracy cannot fall as k grows")


def _parse_medusa_rows(rows: list[tuple[int, list[str]]], source: str,
                       model: str | None) -> tuple[np.ndarray, str | None]:
    """Accuracy table [head, k] for ``model`` from CSV rows; returns it and the model chosen."""
    if not rows:
        raise SpecroofError(f"{source}: no data; expected a header 'model,head,top1,top2,...' and rows")
    header_line, header = rows[0]
    columns = [c.strip().lower() for c in header]
    tops = [c for c in columns if re.fullmatch(r"top\d+", c)]
    if "head" not in columns or not tops:
        raise SpecroofError(f"{source}:{header_line}: header must have 'head' and 'top1'...'topK' columns "
                            "(optionally 'model'), e.g. model,head,top1,top2,top3")
    expected = [f"top{k}" for k in range(1, len(tops) + 1)]
    if tops != expected:
        raise SpecroofError(f"{source}:{header_line}: top-k columns must be {','.join(expected)} in order, "
                            f"got {','.join(tops)}")
    head_col = columns.index("head")
    model_col = columns.index("model") if "model" in columns else None
    top_cols = [columns.index(c) for c in tops]

    by_model: dict[str, list[tuple[int, list[str]]]] = {}
    for line, row in rows[1:]:
        if len(row) < len(columns):
            raise SpecroofError(f"{source}:{line}: expected {len(columns)} values, got {len(row)}")
        key = row[model_col] if model_col is not None else ""
        by_model.setdefault(key, []).append((line, row))
    if not by_model:
        raise SpecroofError(f"{source}: header but no data rows")
    names = list(by_model)
    if model is None:
        if len(names) > 1:
            raise SpecroofError(f"{source} holds several models ({', '.join(names)}); pick one, e.g. "
                                f"medusa:{source}:{names[0]}")
        model = names[0]
    elif model not in by_model:
        raise SpecroofError(f"model {model!r} not in {source}{suggest(model, names)}; "
                            f"available: {', '.join(names)}")

    heads: dict[int, np.ndarray] = {}
    for line, row in by_model[model]:
        where = f"{source}:{line}"
        head_value = _number(row[head_col], where, "head")
        if head_value != int(head_value) or head_value < 0:
            raise SpecroofError(f"{where}: head {row[head_col]!r} must be a non-negative integer")
        head = int(head_value)
        if head in heads:
            raise SpecroofError(f"{where}: head {head} of model {model or '(unnamed)'} appears twice; keep one row")
        values = np.array([_number(row[c], where, tops[i]) for i, c in enumerate(top_cols)])
        _check_head_row(values, f"{where} (head {head})")
        heads[head] = values
    order = sorted(heads)
    if order != list(range(order[0], order[0] + len(order))):
        missing = sorted(set(range(order[0], order[-1] + 1)) - set(order))
        raise SpecroofError(f"{source}: model {model or '(unnamed)'} lacks head(s) "
                            f"{', '.join(map(str, missing))}; heads must be consecutive")
    return np.stack([heads[h] for h in order]), (model or None)


def _bundled_text() -> str:
    return resources.files("specroof.speculation").joinpath("data", BUNDLED_MEDUSA_FILE).read_text(encoding="utf-8")


def bundled_medusa_models() -> list[str]:
    """Names usable as ``medusa:MODEL`` without a file (from the bundled accuracy table)."""
    rows = csv_rows(_bundled_text())
    model_col = [c.lower() for c in rows[0][1]].index("model")
    return list(dict.fromkeys(row[model_col] for _, row in rows[1:]))


def parse_medusa(args: str, max_depth: int | None = None) -> MedusaTreeAcceptance:
    """``FILE``, ``FILE:MODEL`` or a bundled ``MODEL`` (e.g. ``vicuna-7b``)."""
    if Path(args).exists():  # a file, or something that is not one (the reader says which)
        return MedusaTreeAcceptance.from_csv(args, max_depth=max_depth)
    file_part, sep, model = args.rpartition(":")
    if sep and Path(file_part).is_file():
        return MedusaTreeAcceptance.from_csv(file_part, model.strip() or None, max_depth=max_depth)
    looks_like_file = any(ch in args for ch in "/\\") or ".csv" in args.lower()
    if looks_like_file:
        missing = file_part if sep and ".csv" in file_part.lower() else args
        raise SpecroofError(f"medusa accuracy file {missing!r} not found; give an existing CSV "
                            f"or a bundled model ({', '.join(bundled_medusa_models())})")
    models = bundled_medusa_models()
    if args not in models:
        raise SpecroofError(f"no bundled medusa accuracies for {args!r}{suggest(args, models)}; "
                            f"bundled: {', '.join(models)}, or give medusa:FILE[:MODEL]")
    return MedusaTreeAcceptance.bundled(args, max_depth=max_depth)
