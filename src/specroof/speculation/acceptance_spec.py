"""``KIND:ARGS`` acceptance specs (``log:0.477``, ``medusa:vicuna-7b``, ...), shared by the
command line, scenario files and the API: the one place that knows every acceptance kind.

It imports both :mod:`specroof.speculation.acceptance` and :mod:`specroof.speculation.trees`,
which do not import it, so the two model modules stay free of a cycle.
"""

from __future__ import annotations

from specroof.errors import SpecroofError, suggest
from specroof.speculation import engine_metrics, trees
from specroof.speculation.acceptance import (
    AcceptanceModel,
    ChainAcceptance,
    CurveAcceptance,
    LogAcceptance,
    _finite,
)

ACCEPTANCE_KINDS = ("log", "chain", "medusa", "positional", "curve", "vllm-metrics", "sglang")
"""The ``KIND`` part of an acceptance spec, in the order they are documented."""

_SPEC_HELP = (
    "log:A, chain:ALPHA, medusa:MODEL or medusa:FILE[:MODEL], positional:P1,P2,..., curve:FILE, "
    "vllm-metrics:FILE[:MODEL], sglang:FILE[:N]"
)


def parse_acceptance(spec: str, max_depth: int | None = None) -> AcceptanceModel:
    """Build a model from ``KIND:ARGS`` (``log:0.477``, ``medusa:vicuna-7b``, ...).

    ``max_depth`` limits the depth of tree models (medusa, positional); it is an error for
    the others, whose shape is fixed, so a typo'd option never silently does nothing.
    """
    kind, sep, args = str(spec).strip().partition(":")
    kind = kind.strip().lower()
    if kind not in ACCEPTANCE_KINDS:
        raise SpecroofError(f"unknown acceptance kind {kind!r}{suggest(kind, ACCEPTANCE_KINDS)}; "
                            f"use one of {_SPEC_HELP}")
    args = args.strip()
    if not sep or not args:
        raise SpecroofError(f"acceptance spec {spec!r} lacks its argument; use one of {_SPEC_HELP}")
    if max_depth is not None and kind not in ("medusa", "positional"):
        raise SpecroofError(f"a max depth (--max-depth) applies only to tree models (medusa, positional), "
                            f"not {kind}; drop it")
    if kind == "log":
        return LogAcceptance(_finite(args, "log:A", "log:0.477"))
    if kind == "chain":
        return ChainAcceptance(_finite(args, "chain:ALPHA", "chain:0.8"))
    if kind == "curve":
        return CurveAcceptance.from_csv(args)
    if kind == "vllm-metrics":
        return engine_metrics.parse_vllm_metrics(args)
    if kind == "sglang":
        return engine_metrics.parse_sglang(args)
    if kind == "positional":
        p = [_finite(part, "positional:P1,P2,...", "positional:0.6,0.15")
             for part in args.split(",") if part.strip()]
        return trees.PositionalAcceptance(p, max_depth=max_depth)
    return trees.parse_medusa(args, max_depth=max_depth)
