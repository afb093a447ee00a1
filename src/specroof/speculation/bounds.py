"""Tokens per step never above what the drafting shape can yield, and which side bounded them.

A speculative step accepts one path of what was drafted, from the root (the target's own
token) down, so it yields at most ``depth + 1`` tokens, whatever the acceptance model says:

- a chain of ``n`` verified tokens (``n - 1`` drafts) yields at most ``n``;
- a tree drafted in ``D`` passes (``--tree steps=D,...``) at most ``D + 1``, so a one-pass
  tree at most 2, however many nodes it verifies;
- ``H`` Medusa heads draft one level per head, so at most ``H + 1``.

The depth ``D`` at each candidate count ``n`` (never more than ``n - 1``) is the tree's
``steps``, the head count, or else what the acceptance model itself assumes is drafted: a
chain of ``n - 1`` tokens, or the depth of a tree model's best ``n``-node tree. An n-gram
match is one chain (width 1).

Within that bound, the value is the acceptance model read over the shape
(:meth:`specroof.speculation.acceptance.AcceptanceModel.shaped_tau`):

- a tree model (``medusa:``, ``positional:``): its best ``n``-node tree among the nodes the
  shape can draft (at most ``D`` deep, ``topk`` ranks per node), its own node values summed
  over the tree's actual nodes;
- a per-position model (``chain:``, ``curve:``, ``vllm-metrics:``, ``sglang:`` of a chain):
  its expected accepted tokens over the ``D + 1`` positions of the accepted path,
  ``tau(min(n, D + 1))``; evaluating it at the tree's node count would count every node as a
  chain position;
- a tree-size model (``log:``, fitted over Medusa tree sizes; ``sglang:``, measured at the
  N tokens of the tree the server verified): ``min(tau(n), D + 1)``.

Where that value is below the model's own ``tau(n)``, the drafting shape bounded the result
(``acceptance_bound = "drafting shape"``); otherwise the acceptance model did. Records carry
both numbers and the shape's bound, and the command line prints one ``warning:`` line.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from specroof.speculation.acceptance import AcceptanceModel
from specroof.speculation.drafting import Drafting

ACCEPTANCE_MODEL = "acceptance model"
DRAFTING_SHAPE = "drafting shape"
"""The values of a record's ``acceptance_bound``: which side limited its acceptance length."""

_TOL = 1e-9


@dataclass(frozen=True)
class AcceptanceBound:
    """Per candidate count ``n``: what the step yields (``tokens``), what the acceptance model
    alone claims (``claimed``, its tau(n)) and the most the drafting shape can yield
    (``shape_max``, depth + 1)."""

    candidates: np.ndarray
    tokens: np.ndarray
    claimed: np.ndarray
    shape_max: np.ndarray

    @property
    def by_shape(self) -> np.ndarray:
        """True where the drafting shape, not the acceptance model, set the tokens per step."""
        return self.tokens < self.claimed - _TOL

    def labels(self) -> np.ndarray:
        """``acceptance_bound`` for every n: "drafting shape" or "acceptance model"."""
        return np.where(self.by_shape, DRAFTING_SHAPE, ACCEPTANCE_MODEL)


def bound_acceptance(acceptance: AcceptanceModel, drafting: Drafting, candidates: np.ndarray) -> AcceptanceBound:
    """Tokens per step of ``acceptance`` under ``drafting``'s shape, at each candidate count.

    ``drafting.shape_limits()`` gives the depth and width it can draft. Budgets the model
    cannot serve raise, as tau does.
    """
    n = np.asarray(candidates, dtype=np.int64).ravel()
    claimed = acceptance.tau(n)
    depth, width = drafting.shape_limits()
    if depth is not None:
        levels = np.minimum(int(depth), n - 1)
    elif width == 1:
        levels = n - 1
    else:
        levels = np.minimum(acceptance.shape_depth(n), n - 1)
    shape_max = (levels + 1).astype(float)
    value = np.asarray(acceptance.shaped_tau(n, depth, width), dtype=float)
    tokens = np.minimum(np.minimum(value, claimed), shape_max)
    return AcceptanceBound(n, tokens, claimed, shape_max)


def bound_warning(bound: AcceptanceBound, acceptance: AcceptanceModel, drafting: Drafting) -> str | None:
    """One line naming the acceptance model, the drafting shape and the bound, or None."""
    bounded = np.flatnonzero(bound.by_shape)
    if bounded.size == 0:
        return None
    i = int(bounded[0])
    n, most = int(bound.candidates[i]), bound.shape_max[i]
    how = {"positions": f"{acceptance.describe()} over the path's {most:g} positions",
           "nodes": "its best tree within the shape" if acceptance.tree(1) is not None else "the shape's bound"}
    others = bounded.size - 1
    more = f"; {others} more candidate count{'s' if others != 1 else ''} bounded alike" if others else ""
    levels = f"{most - 1:g} level{'s' if most != 2 else ''}"
    shape = f"is one chain {levels} long" if drafting.shape_limits()[1] == 1 else f"is {levels} deep"
    return (f"acceptance {acceptance.describe()} claims {bound.claimed[i]:.3g} tokens per step at n={n}, "
            f"but the drafting shape ({drafting.describe()}) {shape} (at most {most:g} tokens per step): "
            f"using {bound.tokens[i]:.3g} ({how[acceptance.counts]}){more}")
