"""Speculation: how many tokens a speculative step yields, tau(n), and the trees behind it.

``n`` counts candidate tokens verified per sequence, root included, so ``tau(1) == 1``.
Build a model from a spec string with :func:`parse_acceptance` (``log:0.477``,
``chain:0.8``, ``medusa:vicuna-7b``, ``positional:0.6,0.2``, ``curve:FILE``), or from an
engine's own metrics (``vllm-metrics:FILE[:MODEL]``, ``sglang:FILE[:N]``, see
:mod:`specroof.speculation.engine_metrics`; acceptance is assumed independent of batch size
and context length).
"""

from specroof.speculation.acceptance import (
    AcceptanceModel,
    ChainAcceptance,
    CurveAcceptance,
    LogAcceptance,
)
from specroof.speculation.acceptance_spec import ACCEPTANCE_KINDS, parse_acceptance
from specroof.speculation.engine_metrics import EngineAcceptance, read_sglang, read_vllm_metrics
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
    "EngineAcceptance",
    "GreedyTree",
    "LogAcceptance",
    "MedusaTreeAcceptance",
    "PositionalAcceptance",
    "TreeAcceptance",
    "bundled_medusa_models",
    "parse_acceptance",
    "read_sglang",
    "read_vllm_metrics",
]
