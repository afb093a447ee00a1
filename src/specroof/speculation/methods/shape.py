"""A draft tree's shape as engines configure one: drafting passes, branches per node, tokens verified.

SGLang spells it ``--speculative-num-steps / --speculative-eagle-topk /
--speculative-num-draft-tokens``; ``--tree steps=D,topk=K[,tokens=N]`` takes the same three.
A pass-based method (:class:`specroof.speculation.methods.base.PassMethod`) runs ``steps``
drafting passes, each later one over ``topk`` tokens per sequence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from specroof.errors import SpecroofError

MAX_TREE_STEPS = 64
MAX_TREE_TOPK = 64


@dataclass(frozen=True)
class TreeShape:
    """A draft tree as engines configure one: ``steps`` drafting passes, ``topk`` branches per
    node, ``tokens`` verified per sequence (root included; None: the grid's candidates).
    ``leaves``: its root-to-leaf paths when the tree is known node by node (None: not known);
    research code gathers the logits of every path (cost/engine_work/research.py)."""

    steps: int
    topk: int
    tokens: int | None = None
    leaves: int | None = field(default=None, compare=False)

    @classmethod
    def parse(cls, text: str) -> TreeShape:
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
    def of_paths(cls, paths: list[tuple[int, ...]]) -> TreeShape:
        """The depth and widest branching of a tree given as rank paths (root: ``()``)."""
        depth = max((len(path) for path in paths), default=0)
        topk = max((max(path) + 1 for path in paths if path), default=1)
        drafted = {tuple(path) for path in paths if path}
        leaves = len(drafted - {path[:-1] for path in drafted})
        return cls(max(depth, 1), max(topk, 1), len(paths), leaves=max(leaves, 1))

    def checked(self) -> TreeShape:
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
