"""The drafting choice: how candidates are proposed, validated once, and the passes it adds.

- ``none``: the candidates come for free (an upper bound, or prompt-lookup decoding).
- ``heads``: ``heads`` Medusa heads on the verification step's hidden states.
- ``draft``: a draft model proposes a chain of ``n - 1`` tokens, one decoding pass each.

:class:`Drafting` is the one place the method, its model and its heads are settled and
checked; ``speedup``, ``plan``, ``explain``, ``ops``, the memory footprint and the CLI all take
one. Its operations come from :mod:`specroof.cost.drafting_ops` and are priced like any other.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from specroof.cost.decoder_ops import decoder_operations
from specroof.cost.drafting_ops import draft_model_operations, medusa_head_operations
from specroof.cost.grid import Grid
from specroof.cost.setup import StepSetup
from specroof.cost.step import Pass
from specroof.errors import SpecroofError
from specroof.models.architecture import ModelConfig, load_model

METHODS = ("none", "heads", "draft")
DEFAULT_HEADS = 5


@dataclass(frozen=True)
class Drafting:
    """A drafting method with its parameters: ``heads`` for ``heads``, ``draft_model`` for ``draft``."""

    method: str = "none"
    heads: int | None = None
    draft_model: ModelConfig | None = None

    @classmethod
    def of(cls, method: str | None = None, draft_model: str | Path | ModelConfig | None = None,
           heads: int | None = None) -> "Drafting":
        """Settle and check a drafting choice.

        ``method`` defaults to ``draft`` when a draft model is given, else ``none``; ``heads``
        defaults to 5 for ``heads``. A draft model or a head count given with another method is
        an error rather than silently ignored.
        """
        chosen = method if method is not None else ("draft" if draft_model is not None else "none")
        if chosen not in METHODS:
            raise SpecroofError(f"unknown drafting method {chosen!r}; valid: {', '.join(METHODS)}")
        if draft_model is not None and chosen != "draft":
            raise SpecroofError(f"a draft model (--draft-model) applies only to method 'draft', not {chosen!r}; "
                                "drop one of them")
        if heads is not None and chosen != "heads":
            raise SpecroofError(f"a number of heads (--heads) applies only to method 'heads', not {chosen!r}; "
                                "drop one of them")
        if chosen == "draft":
            if draft_model is None:
                raise SpecroofError("method 'draft' needs a draft model (--draft-model NAME, e.g. llama-68m)")
            return cls("draft", None, load_model(draft_model))
        if chosen == "heads":
            count = DEFAULT_HEADS if heads is None else heads
            if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 1:
                raise SpecroofError(f"number of heads must be a positive integer, got {count!r}")
            return cls("heads", int(count), None)
        return cls()

    @classmethod
    def resolve(cls, drafting: "Drafting | None", method: str | None = None,
                draft_model: str | Path | ModelConfig | None = None, heads: int | None = None) -> "Drafting":
        """An API's drafting arguments: a built ``drafting``, or the parts :meth:`of` builds one from."""
        if drafting is None:
            return cls.of(method, draft_model, heads)
        if method is not None or draft_model is not None or heads is not None:
            raise SpecroofError("give either a drafting choice or method/draft_model/heads, not both")
        if not isinstance(drafting, Drafting):
            raise SpecroofError(f"drafting must be a Drafting (Drafting.of(...)), got {type(drafting).__name__}")
        return drafting

    def describe(self) -> str:
        """A short phrase for titles and exports."""
        if self.method == "heads":
            return f"{self.heads} Medusa heads"
        if self.method == "draft":
            return f"draft model {self.draft_model.name}"
        return "free drafts"

    def passes(self, setup: StepSetup, grid: Grid) -> list[Pass]:
        """The passes of one speculative step of ``setup.model`` over ``grid``: verification (with
        the heads it carries) and the draft model's ``n - 1`` passes."""
        verify = decoder_operations(setup, grid)
        if self.method == "heads":  # plain decoding (n = 1) runs no heads
            speculating = (grid.n > 1).astype(float)
            verify = verify + [replace(op, count=op.count * speculating)
                               for op in medusa_head_operations(setup, grid, self.heads)]
        passes = [Pass(setup, verify)]
        if self.method == "draft":
            draft_setup, ops = draft_model_operations(setup, self.draft_model, grid)
            passes.append(Pass(draft_setup, ops, repeats=grid.n - 1.0))
        return passes

    def options(self) -> dict[str, Any]:
        """The keyword arguments that rebuild this choice through :meth:`of`."""
        out: dict[str, Any] = {"method": self.method}
        if self.heads is not None:
            out["heads"] = self.heads
        if self.draft_model is not None:
            out["draft_model"] = self.draft_model
        return out


NO_DRAFTING = Drafting()
