"""``KIND:ARGS`` acceptance specs (``log:0.477``, ``medusa:vicuna-7b``, ...), shared by the
command line, scenario files and the API: the one place that knows every acceptance kind.

It imports both :mod:`specroof.speculation.acceptance` and :mod:`specroof.speculation.trees`,
which do not import it, so the two model modules stay free of a cycle. The kinds read from an
engine's own metrics (``vllm-metrics``, ``sglang``) are the registered engines' metrics readers.
"""

from __future__ import annotations

from specroof.errors import SpecroofError, suggest
from specroof.speculation import trees
from specroof.speculation.acceptance import (
    AcceptanceModel,
    ChainAcceptance,
    CurveAcceptance,
    LogAcceptance,
    _finite,
)
from specroof.speculation.catalog_match import parse_catalog_spec
from specroof.speculation.engines.engine import metrics_reader, metrics_readers
from specroof.speculation.profile_acceptance import parse_profile

MODEL_KINDS = ("log", "chain", "medusa", "positional", "curve", "profile", "catalog")
"""The ``KIND`` part of an acceptance spec built here; the engines' metrics kinds follow them."""

_MODEL_SYNTAX = ("log:A, chain:ALPHA, medusa:MODEL, medusa:FILE[:MODEL], positional:P1,P2,..., curve:FILE, "
                 "profile:FILE[:CATEGORY], catalog:MODEL/METHOD[/DOMAIN[/WHICH]]")


def acceptance_kinds() -> tuple[str, ...]:
    """Every ``KIND`` of an acceptance spec, in the order they are documented."""
    return MODEL_KINDS + tuple(reader.kind for reader in metrics_readers())


def spec_syntax() -> str:
    """Every acceptance spec's form, for help texts and errors."""
    return ", ".join([_MODEL_SYNTAX, *(reader.syntax for reader in metrics_readers())])


def parse_acceptance(spec: str, max_depth: int | None = None) -> AcceptanceModel:
    """Build a model from ``KIND:ARGS`` (``log:0.477``, ``medusa:vicuna-7b``, ...).

    ``max_depth`` limits the depth of tree models (medusa, positional); it is an error for
    the others, whose shape is fixed, so a typo'd option never silently does nothing.
    """
    kind, sep, args = str(spec).strip().partition(":")
    kind = kind.strip().lower()
    kinds = acceptance_kinds()
    if kind not in kinds:
        raise SpecroofError(f"unknown acceptance kind {kind!r}{suggest(kind, kinds)}; use one of {spec_syntax()}")
    args = args.strip()
    if not sep or not args:
        raise SpecroofError(f"acceptance spec {spec!r} lacks its argument; use one of {spec_syntax()}")
    if max_depth is not None and kind not in ("medusa", "positional"):
        raise SpecroofError(f"a max depth (--max-depth) applies only to tree models (medusa, positional), "
                            f"not {kind}; drop it")
    if kind == "log":
        return LogAcceptance(_finite(args, "log:A", "log:0.477"))
    if kind == "chain":
        return ChainAcceptance(_finite(args, "chain:ALPHA", "chain:0.8"))
    if kind == "curve":
        return CurveAcceptance.from_csv(args)
    if kind == "profile":  # a speculation_profile.json (speculation/profile_acceptance.py)
        return parse_profile(args)
    if kind == "catalog":
        return parse_catalog_spec(args)
    reader = metrics_reader(kind)
    if reader is not None:
        return reader.parse(args)
    if kind == "positional":
        p = [_finite(part, "positional:P1,P2,...", "positional:0.6,0.15")
             for part in args.split(",") if part.strip()]
        return trees.PositionalAcceptance(p, max_depth=max_depth)
    return trees.parse_medusa(args, max_depth=max_depth)
