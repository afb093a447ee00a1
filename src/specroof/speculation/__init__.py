"""Speculation: how many tokens a speculative step yields, tau(n), and the trees behind it.

``n`` counts candidate tokens verified per sequence, root included, so ``tau(1) == 1``.
Build a model from a spec string with :func:`parse_acceptance` (``log:0.477``,
``chain:0.8``, ``medusa:vicuna-7b``, ``positional:0.6,0.2``, ``curve:FILE``).
"""

from specroof.speculation.acceptance import (
    AcceptanceModel,
    ChainAcceptance,
    CurveAcceptance,
    LogAcceptance,
)
from specroof.speculation.acceptance_spec import ACCEPTANCE_KINDS, parse_acceptance
from specroof.speculation.trees import (
    GreedyTree,
    MedusaTreeAcceptance,
    PositionalAcceptance,
    TreeAcceptance,
    bundled_medusa_models,
)

__all__ = [
    "ACCEPTANCE_KINDS",
    "AcceptanceModel",
    "ChainAcceptance",
    "CurveAcceptance",
    "GreedyTree",
    "LogAcceptance",
    "MedusaTreeAcceptance",
    "PositionalAcceptance",
    "TreeAcceptance",
    "bundled_medusa_models",
    "parse_acceptance",
]
