"""The drafting choice: a method and its parameters, validated once, and the passes it adds.

The methods themselves (what each takes, needs and runs) live in
:mod:`specroof.speculation.methods`, one module each, registered in ``METHODS``: ``none``,
``heads``, ``draft``, ``eagle`` / ``eagle3``, ``mtp``, ``ngram`` and any method registered
later. :class:`Drafting` is the one place a choice is settled and checked; ``speedup``,
``plan``, ``explain``, ``ops``, the memory footprint and the CLI all take one, and every
behaviour that depends on the method is a call on the registered method.

A chain of ``n`` verified tokens runs ``n - 1`` drafting passes; a tree (``tree=TreeShape``,
as SGLang's ``--speculative-num-steps / --speculative-eagle-topk /
--speculative-num-draft-tokens``) runs ``steps`` passes, each later one over ``topk`` tokens
per sequence. When no tree is given and the acceptance model verifies trees (medusa,
positional), each ``n`` takes the depth and branching of that model's best ``n``-node tree.
:meth:`Drafting.shape_limits` gives the depth and width a method can draft, which bound the
tokens per step (:mod:`specroof.speculation.bounds`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from specroof.cost.grid import Grid
from specroof.cost.setup import StepSetup
from specroof.cost.step import Pass
from specroof.errors import SpecroofError
from specroof.models.architecture import ModelConfig
from specroof.speculation.methods import METHODS, PARAMETERS, Method
from specroof.speculation.methods.parameters import DEFAULT_HEADS, MAX_HEADS
from specroof.speculation.methods.shape import MAX_TREE_STEPS, MAX_TREE_TOPK, TreeShape

__all__ = ["DEFAULT_HEADS", "MAX_HEADS", "MAX_TREE_STEPS", "MAX_TREE_TOPK", "NO_DRAFTING", "Drafting", "TreeShape",
           "trees_of"]


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
           proposal_rate: float | None = None) -> Drafting:
        """Settle and check a drafting choice.

        ``method`` defaults to ``draft`` when a draft model is given, else ``none``. A parameter
        given with a method that does not take it is an error rather than silently ignored.
        """
        chosen = method if method is not None else ("draft" if draft_model is not None else "none")
        member = METHODS.get(chosen)
        given = {"draft_model": draft_model, "heads": heads, "tree": tree, "draft_vocab": draft_vocab,
                 "proposal_rate": proposal_rate}
        _refuse_foreign(member, given)
        for name in member.required:
            if given[name] is None:
                p = PARAMETERS[name]
                raise SpecroofError(f"method {chosen!r} needs {p.what} ({p.example})")
        settled = {name: PARAMETERS[name].settle(given[name]) for name in member.parameters}
        return cls(method=chosen, **settled)

    @classmethod
    def resolve(cls, drafting: Drafting | None, method: str | None = None,
                draft_model: str | Path | ModelConfig | None = None, heads: int | None = None,
                **parameters: Any) -> Drafting:
        """An API's drafting arguments: a built ``drafting``, or the parts :meth:`of` builds one from."""
        if drafting is None:
            return cls.of(method, draft_model, heads, **parameters)
        if method is not None or draft_model is not None or heads is not None or any(
                v is not None for v in parameters.values()):
            raise SpecroofError("give either a drafting choice or method/draft_model/heads/..., not both")
        if not isinstance(drafting, Drafting):
            raise SpecroofError(f"drafting must be a Drafting (Drafting.of(...)), got {type(drafting).__name__}")
        return drafting

    @property
    def member(self) -> Method:
        """The registered method this choice runs."""
        return METHODS.get(self.method)

    def check(self, target: ModelConfig, candidates: np.ndarray) -> None:
        """What depends on the target and the grid: the method's own needs, and the tree."""
        self.member.check_target(self, target)
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
        text = self.member.describe(self)
        return text + (f", tree {self.tree.describe()}" if self.tree is not None else "")

    def shape_limits(self) -> tuple[int | None, int | None]:
        """(depth, width) the method can draft, None where the acceptance model's own shape
        holds: a tree's ``steps`` and ``topk``, else the method's own limits (Medusa heads one
        level per head; an n-gram match one chain)."""
        if self.tree is not None:
            return self.tree.steps, self.tree.topk
        return self.member.shape_limits(self)

    def tokens_per_step(self, tau: np.ndarray) -> np.ndarray:
        """Tokens a step yields per sequence: tau(n), or what the method makes of it (n-gram
        proposals: the mix of sequences that sent a draft and those that did not)."""
        return self.member.tokens_per_step(self, tau)

    def passes(self, setup: StepSetup, grid: Grid, trees: list[TreeShape | None] | None = None) -> list[Pass]:
        """The passes of one speculative step of ``setup.model`` over ``grid``: verification
        (with what rides on it) and the method's drafting passes.

        ``trees``: one tree shape per candidates column (None: a chain), when the acceptance
        model verifies trees; an explicit ``tree`` wins.
        """
        return self.member.passes(self, setup, grid, trees)

    def options(self) -> dict[str, Any]:
        """The keyword arguments that rebuild this choice through :meth:`of`."""
        out: dict[str, Any] = {"method": self.method}
        for key in PARAMETERS:
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        return out


def _refuse_foreign(member: Method, given: dict[str, Any]) -> None:
    """A parameter given to a method that does not take it: name the methods that do."""
    for name, p in PARAMETERS.items():
        if given[name] is not None and name not in member.parameters:
            owners = [m.name for m in METHODS if name in m.parameters]
            raise SpecroofError(f"{p.what} ({p.flag}) applies only to method {' or '.join(repr(o) for o in owners)}, "
                                f"not {member.name!r}; drop one of them")


def trees_of(acceptance: Any, candidates: np.ndarray) -> list[TreeShape | None] | None:
    """The tree shape an acceptance model verifies at each candidate count (None: chains)."""
    if acceptance is None or acceptance.tree(1) is None:
        return None
    return [TreeShape.of_paths(acceptance.tree(int(n))) if n > 1 else None for n in np.asarray(candidates)]


NO_DRAFTING = Drafting()
