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
from specroof.speculation.acceptance_spec import acceptance_kinds, parse_acceptance
from specroof.speculation.engine_metrics import EngineAcceptance
from specroof.speculation.engines.sglang_metrics import read_sglang
from specroof.speculation.engines.vllm_metrics import read_vllm_metrics
from specroof.speculation.trees import (
    GreedyTree,
    MedusaTreeAcceptance,
    PositionalAcceptance,
    TreeAcceptance,
    bundled_medusa_models,
)

__all__ = [
    "AcceptanceModel",
    "ChainAcceptance",
    "CurveAcceptance",
    "EngineAcceptance",
    "GreedyTree",
    "LogAcceptance",
    "MedusaTreeAcceptance",
    "PositionalAcceptance",
    "TreeAcceptance",
    "acceptance_kinds",
    "bundled_medusa_models",
    "parse_acceptance",
    "read_sglang",
    "read_vllm_metrics",
]
