"""The drafting choice: how candidates are proposed, validated once, and the passes it adds.

Methods (``method=``, ``--method``):

- ``none``: the candidates come for free (an upper bound).
- ``heads``: ``heads`` Medusa heads on the verification step's hidden states.
- ``draft``: a draft model; a chain of ``n - 1`` tokens is ``n - 1`` passes of one token per
  sequence, a tree (SpecInfer/Sequoia) one pass per level.
- ``eagle`` / ``eagle3``: an EAGLE-1/2 or EAGLE-3 head (one decoder layer reading the target's
  hidden states); ``draft_vocab`` sets EAGLE-3's reduced vocabulary (default 32000).
- ``mtp``: the model's own multi-token-prediction module, chained.
- ``ngram``: prompt lookup, free proposals; ``proposal_rate`` is the fraction of sequences that
  find a match and send a draft (the others verify one token).

A chain of ``n`` verified tokens runs ``n - 1`` drafting passes; a tree (``tree=TreeShape``,
as SGLang's ``--speculative-num-steps / --speculative-eagle-topk /
--speculative-num-draft-tokens``) runs ``steps`` passes, each later one over ``topk`` tokens
per sequence. When no tree is given and the acceptance model verifies trees (medusa,
positional), each ``n`` takes the depth and branching of that model's best ``n``-node tree.
:meth:`Drafting.shape_limits` gives the depth and width a method can draft, which bound the
tokens per step (:mod:`specroof.speculation.bounds`).

:class:`Drafting` is the one place the method and its parameters are settled and checked;
``speedup``, ``plan``, ``explain``, ``ops``, the memory footprint and the CLI all take one.
Its operations come from :mod:`specroof.cost.drafting_ops` and are priced like any other.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from specroof.cost.drafting_ops import (
    EAGLE3_DRAFT_VOCAB,
    draft_model_operations,
    eagle_operations,
    medusa_head_operations,
    mtp_operations,
)
from specroof.cost.engine_ops import verification_operations
from specroof.cost.grid import Grid
from specroof.cost.setup import StepSetup
from specroof.cost.step import Pass
from specroof.errors import SpecroofError
from specroof.models.architecture import ModelConfig, load_model

METHODS = ("none", "heads", "draft", "eagle", "eagle3", "mtp", "ngram")
PASS_METHODS = ("draft", "eagle", "eagle3", "mtp")
"""Methods that draft with forward passes, so chains or trees of them."""
DEFAULT_HEADS = 5
MAX_HEADS = 64
"""Medusa ships 3-5 heads; a head per draft position beyond 64 is not a configuration anyone runs."""
MAX_TREE_STEPS = 64
MAX_TREE_TOPK = 64


@dataclass(frozen=True)
class TreeShape:
    """A draft tree as engines configure one: ``steps`` drafting passes, ``topk`` branches per
    node, ``tokens`` verified per sequence (root included; None: the grid's candidates)."""

    steps: int
    topk: int
    tokens: int | None = None

    @classmethod
    def parse(cls, text: str) -> "TreeShape":
        """``steps=D,topk=K[,tokens=N]``."""
        fields: dict[str, int] = {}
        for part in str(text).split(","):
            key, sep, value = part.partition("=")
            key = key.strip().lower()
            if not sep or key not in ("steps", "topk", "tokens") or not re.fullmatch(r"\s*\d+\s*", value):
                raise SpecroofError(f"--tree {text!r}: expected steps=D,topk=K[,tokens=N] with positive integers")
            fields[key] = int(value)
        if "steps" not in fields or "topk" not in fields:
            raise SpecroofError(f"--tree {text!r} needs steps=D and topk=K (e.g. steps=3,topk=4,tokens=8)")
        return cls(fields["steps"], fields["topk"], fields.get("tokens")).checked()

    @classmethod
    def of_paths(cls, paths: list[tuple[int, ...]]) -> "TreeShape":
        """The depth and widest branching of a tree given as rank paths (root: ``()``)."""
        depth = max((len(path) for path in paths), default=0)
        topk = max((max(path) + 1 for path in paths if path), default=1)
        return cls(max(depth, 1), max(topk, 1), len(paths))

    def checked(self) -> "TreeShape":
        for value, what, cap in ((self.steps, "steps", MAX_TREE_STEPS), (self.topk, "topk", MAX_TREE_TOPK)):
            if value < 1 or value > cap:
                raise SpecroofError(f"tree {what} must be between 1 and {cap}, got {value}")
        if self.tokens is not None:
            if self.tokens < 2:
                raise SpecroofError(f"a tree verifies at least 2 tokens (root and one draft), got tokens={self.tokens}")
            if self.tokens - 1 < self.topk:
                raise SpecroofError(f"tree wider than its tokens: topk={self.topk} drafts at the first level but "
                                    f"tokens={self.tokens} leaves room for {self.tokens - 1}; lower topk or raise tokens")
            if self.tokens > 1 + sum(self.topk ** (level + 1) for level in range(self.steps)):
                raise SpecroofError(f"tokens={self.tokens} is more than {self.steps} steps of topk={self.topk} can "
                                    "draft; raise steps or topk, or lower tokens")
        return self

    def describe(self) -> str:
        tokens = f",tokens={self.tokens}" if self.tokens is not None else ""
        return f"steps={self.steps},topk={self.topk}{tokens}"


@dataclass(frozen=True)
class Drafting:
    """A drafting method with its parameters (see the module docstring)."""

    method: str = "none"
    heads: int | None = None
    draft_model: ModelConfig | None = None
    tree: TreeShape | None = None
    draft_vocab: int | None = None
    proposal_rate: float | None = None

    @classmethod
    def of(cls, method: str | None = None, draft_model: str | Path | ModelConfig | None = None,
           heads: int | None = None, tree: str | TreeShape | None = None, draft_vocab: int | None = None,
           proposal_rate: float | None = None) -> "Drafting":
        """Settle and check a drafting choice.

        ``method`` defaults to ``draft`` when a draft model is given, else ``none``. A parameter
        given with a method it does not belong to is an error rather than silently ignored.
        """
        chosen = method if method is not None else ("draft" if draft_model is not None else "none")
        if chosen not in METHODS:
            raise SpecroofError(f"unknown drafting method {chosen!r}; valid: {', '.join(METHODS)}")
        for value, what, flag, owners in (
            (draft_model, "a draft model", "--draft-model", ("draft",)),
            (heads, "a number of heads", "--heads", ("heads",)),
            (tree, "a tree", "--tree", PASS_METHODS),
            (draft_vocab, "a draft vocabulary", "--draft-vocab", ("eagle3",)),
            (proposal_rate, "a proposal rate", "--proposal-rate", ("ngram",)),
        ):
            if value is not None and chosen not in owners:
                raise SpecroofError(f"{what} ({flag}) applies only to method {' or '.join(repr(o) for o in owners)}, "
                                    f"not {chosen!r}; drop one of them")
        if chosen == "draft" and draft_model is None:
            raise SpecroofError("method 'draft' needs a draft model (--draft-model NAME, e.g. llama-68m)")
        if tree is not None and not isinstance(tree, (str, TreeShape)):
            raise SpecroofError(f"tree must be a spec string (e.g. '1,2,2') or a TreeShape, got {type(tree).__name__}")
        shape = TreeShape.parse(tree) if isinstance(tree, str) else (tree.checked() if tree is not None else None)
        return cls(
            method=chosen,
            heads=_heads(heads) if chosen == "heads" else None,
            draft_model=load_model(draft_model) if draft_model is not None else None,
            tree=shape,
            draft_vocab=_positive_int(draft_vocab, "draft vocabulary (--draft-vocab)") if draft_vocab is not None else None,
            proposal_rate=_rate(proposal_rate) if chosen == "ngram" else None,
        )

    @classmethod
    def resolve(cls, drafting: "Drafting | None", method: str | None = None,
                draft_model: str | Path | ModelConfig | None = None, heads: int | None = None,
                **parameters: Any) -> "Drafting":
        """An API's drafting arguments: a built ``drafting``, or the parts :meth:`of` builds one from."""
        if drafting is None:
            return cls.of(method, draft_model, heads, **parameters)
        if method is not None or draft_model is not None or heads is not None or any(
                v is not None for v in parameters.values()):
            raise SpecroofError("give either a drafting choice or method/draft_model/heads/..., not both")
        if not isinstance(drafting, Drafting):
            raise SpecroofError(f"drafting must be a Drafting (Drafting.of(...)), got {type(drafting).__name__}")
        return drafting

    def check(self, target: ModelConfig, candidates: np.ndarray) -> None:
        """What depends on the target and the grid: MTP layers, the draft vocabulary, the tree."""
        if self.method == "mtp" and target.mtp_layers < 1:
            raise SpecroofError(f"method 'mtp' needs a model with MTP layers; {target.name} has none "
                                "(its config.json has no num_nextn_predict_layers)")
        if self.method == "eagle3" and (self.draft_vocab or EAGLE3_DRAFT_VOCAB) > target.vocab_size:
            raise SpecroofError(f"EAGLE-3 draft vocabulary {self.draft_vocab or EAGLE3_DRAFT_VOCAB} is larger than "
                                f"{target.name}'s {target.vocab_size}; set --draft-vocab <= {target.vocab_size}")
        if self.tree is not None:
            speculative = [int(n) for n in np.asarray(candidates) if n > 1]
            if self.tree.tokens is not None and any(n != self.tree.tokens for n in speculative):
                raise SpecroofError(f"the tree verifies tokens={self.tree.tokens} per sequence, but candidates "
                                    f"include {speculative}; give candidates 1,{self.tree.tokens} or drop tokens=")
            narrow = [n for n in speculative if n - 1 < self.tree.topk]
            if narrow:
                raise SpecroofError(f"tree wider than the candidates: topk={self.tree.topk} drafts at the first level "
                                    f"but n={narrow[0]} verifies only {narrow[0] - 1} drafts; raise the candidates "
                                    "or lower topk")

    def describe(self) -> str:
        """A short phrase for titles and exports."""
        if self.method == "heads":
            return f"{self.heads} Medusa heads"
        if self.method == "draft":
            text = f"draft model {self.draft_model.name}"
        elif self.method in ("eagle", "eagle3", "mtp"):
            text = {"eagle": "EAGLE head", "eagle3": "EAGLE-3 head", "mtp": "MTP module"}[self.method]
        elif self.method == "ngram":
            rate = self.proposal_rate if self.proposal_rate is not None else 1.0
            return f"n-gram proposals ({rate:.0%} of sequences)"
        else:
            return "free drafts"
        return text + (f", tree {self.tree.describe()}" if self.tree is not None else "")

    def shape_limits(self) -> tuple[int | None, int | None]:
        """(depth, width) the method can draft, None where the acceptance model's own shape
        holds: a tree's ``steps`` and ``topk``; Medusa heads one level per head; an n-gram
        match one chain (width 1); other methods draft the model's chain or best tree."""
        if self.tree is not None:
            return self.tree.steps, self.tree.topk
        if self.method == "heads":
            return self.heads, None
        if self.method == "ngram":
            return None, 1
        return None, None

    def tokens_per_step(self, tau: np.ndarray) -> np.ndarray:
        """Tokens a step yields per sequence: tau(n), or for n-gram proposals the mix of
        sequences that sent a draft (tau(n)) and those that did not (1)."""
        if self.method != "ngram" or self.proposal_rate is None:
            return tau
        return 1.0 + self.proposal_rate * (np.asarray(tau, dtype=float) - 1.0)

    def passes(self, setup: StepSetup, grid: Grid, trees: list[TreeShape | None] | None = None) -> list[Pass]:
        """The passes of one speculative step of ``setup.model`` over ``grid``: verification
        (with the heads it carries) and the drafting passes.

        ``trees``: one tree shape per candidates column (None: a chain), when the acceptance
        model verifies trees; an explicit ``tree`` wins.
        """
        speculating = (grid.n > 1).astype(float)
        if self.method == "ngram" and self.proposal_rate is not None:
            per_seq = 1.0 + self.proposal_rate * (grid.candidates - 1.0)  # mean tokens verified
            verify = verification_operations(setup, Grid(grid.batch, per_seq, grid.seq_len))
        else:
            verify = verification_operations(setup, grid)
        if self.method == "heads":  # plain decoding (n = 1) runs no heads
            verify = verify + [replace(op, count=op.count * speculating)
                               for op in medusa_head_operations(setup, grid, self.heads)]
        passes = [Pass(setup, verify)]
        if self.method in PASS_METHODS:
            passes += self._drafting_passes(setup, grid, trees)
        return passes

    def _drafting_passes(self, setup: StepSetup, grid: Grid, trees: list[TreeShape | None] | None) -> list[Pass]:
        """A first pass (the draft model's one new token; EAGLE/MTP: every token the target just
        verified) and the later ones (chain: one token per sequence; tree: topk)."""
        n = grid.candidates.astype(float)
        shapes = [self.tree] * n.size if self.tree is not None else (trees or [None] * n.size)
        steps = np.array([s.steps if s is not None else max(k - 1, 0) for s, k in zip(shapes, n)], dtype=float)
        width = np.array([s.topk if s is not None else 1 for s in shapes], dtype=float)
        steps = np.where(n > 1, steps, 0.0)
        first_width = n if self.method != "draft" else np.ones_like(n)
        column = (1, -1, 1)
        if self.method == "draft":
            first_setup, first = draft_model_operations(setup, self.draft_model, grid, first_width)
            later_setup, later = draft_model_operations(setup, self.draft_model, grid, width)
        elif self.method == "mtp":
            first_setup, first = mtp_operations(setup, grid, first_width)
            later_setup, later = mtp_operations(setup, grid, width)
        else:
            first_setup, first = eagle_operations(setup, self.method, grid, first_width, True, self.draft_vocab)
            later_setup, later = eagle_operations(setup, self.method, grid, width, False, self.draft_vocab)
        shared = self.method != "draft"  # EAGLE heads and MTP modules use the target's embedding
        if np.array_equal(first_width, width):  # a draft model's chain: every pass alike
            return [Pass(first_setup, first, repeats=steps.reshape(column), shares_embedding=shared)]
        return [
            Pass(first_setup, first, repeats=np.minimum(steps, 1.0).reshape(column), shares_embedding=shared),
            Pass(later_setup, later, repeats=np.maximum(steps - 1.0, 0.0).reshape(column), shares_embedding=shared),
        ]

    def options(self) -> dict[str, Any]:
        """The keyword arguments that rebuild this choice through :meth:`of`."""
        out: dict[str, Any] = {"method": self.method}
        for key in ("heads", "draft_model", "tree", "draft_vocab", "proposal_rate"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        return out


def trees_of(acceptance: Any, candidates: np.ndarray) -> list[TreeShape | None] | None:
    """The tree shape an acceptance model verifies at each candidate count (None: chains)."""
    if acceptance is None or acceptance.tree(1) is None:
        return None
    return [TreeShape.of_paths(acceptance.tree(int(n))) if n > 1 else None for n in np.asarray(candidates)]


def _positive_int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise SpecroofError(f"{what} must be a positive integer, got {value!r}")
    return int(value)


def _heads(value: int | None) -> int:
    count = _positive_int(DEFAULT_HEADS if value is None else value, "number of heads (--heads)")
    if count > MAX_HEADS:
        raise SpecroofError(f"number of heads (--heads) must be at most {MAX_HEADS}, got {count}")
    return count


def _rate(value: Any) -> float:
    """A proposal rate in (0, 1] (default 1: every sequence finds a match)."""
    if value is None:
        return 1.0
    try:
        rate = float(value)
    except (TypeError, ValueError):
        raise SpecroofError(f"proposal rate (--proposal-rate) must be a number in (0, 1], got {value!r}") from None
    if not (0.0 < rate <= 1.0) or math.isnan(rate):
        raise SpecroofError(f"proposal rate (--proposal-rate) must be in (0, 1], got {value!r}")
    return rate


NO_DRAFTING = Drafting()
