"""The acceptance a drafting method gets when none is given: shipped data, named wherever used.

``speedup``, ``plan``, ``explain`` and the explorer need tau(n). When neither ``--acceptance``
nor a scenario gives one, the method's row of ``speculation/data/default-acceptance.csv``
decides (built by ``tools/acceptance/build_default_acceptance.py``):

- a measured curve (EAGLE-3, n-gram: the SpecDecode-Bench Llama-3.1-8B traces, mean of four
  datasets; EAGLE-1 and MTP: published chain measurements, tools/acceptance/
  published-acceptance.csv), held at its last measured value beyond its last n (a floor for a
  chain);
- a model built from measured data (Medusa heads: the heads' top-k accuracies);
- or, where no measurement is shipped (draft models, free candidates), the Medusa paper's fit
  ``log:0.477``, labelled "NOT measured".

With the target model known (``speedup``, ``plan``, ``explain``, the explorer), the
best-matching row of the acceptance catalog (:mod:`specroof.speculation.catalog_match`) comes
first, held at its last measured tau beyond its largest K; the assumption line names the row
and says when the match is weak (another size, another model). The per-method rows above are
the last fallback: a method without a catalog row, or no model given.

A registered method without a row (a plug-in, a method added before its data) gets the
``none`` row's model, labelled NOT measured, and one ``warning:`` saying so; an unknown
method name is an error.

The model is wrapped in :class:`DefaultAcceptance`, whose ``describe()`` names the choice, so
every title, chart and export that prints the acceptance says it was a default and which,
and whose ``source`` is the row's source (JSON ``acceptance_source``).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import PurePath
from typing import Any

import numpy as np

from specroof.datafiles import csv_records, read_text
from specroof.errors import SpecroofError, SpecroofWarning
from specroof.speculation.acceptance import AcceptanceModel, CurveAcceptance
from specroof.speculation.acceptance_catalog import CatalogAcceptance
from specroof.speculation.acceptance_spec import parse_acceptance
from specroof.speculation.catalog_match import best_match
from specroof.speculation.methods import METHODS

_DATA = "default-acceptance.csv"
FALLBACK_METHOD = "none"
"""Whose row a registered method without a row of its own falls back to (with a warning)."""


@dataclass(frozen=True)
class DefaultRow:
    """One method's default: a measured curve (``points``) or a spec, with its label and source."""

    method: str
    points: tuple[tuple[int, float], ...]
    spec: str
    measured: bool
    label: str
    source: str
    catalog: str = ""
    """The catalog entry's ``model/method/domain`` when the row is a catalog match, else ''."""


class DefaultAcceptance(AcceptanceModel):
    """A method's default acceptance: the inner model's numbers, with the choice named."""

    def __init__(self, inner: AcceptanceModel, row: DefaultRow) -> None:
        self.inner = inner
        self.row = row
        self.max_candidates = inner.max_candidates
        self.source = row.source
        self.measured = row.measured
        spec = f"{row.spec}, " if row.spec else ""
        self.assumption = (f"no --acceptance given: the default for {row.method} is {spec}{row.label} "
                           f"(source: {row.source})")

    def _tau(self, n: np.ndarray) -> np.ndarray:
        return self.inner._tau(n)

    def tree(self, n: int) -> list[tuple[int, ...]] | None:
        return self.inner.tree(n)

    def describe(self) -> str:
        inner = "" if self.row.points else f" = {self.inner.describe()}"
        kind = "measured" if self.row.measured else "NOT measured"
        if self.row.catalog:
            return f"default for {self.row.method}: catalog:{self.row.catalog} ({kind})"
        return f"default for {self.row.method}{inner} ({kind})"

    def _limit_reason(self) -> str:
        return self.inner._limit_reason()

    def __getattr__(self, name: str) -> Any:  # anything else a tree model offers (depth, paths...)
        if name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)


@lru_cache(maxsize=1)
def default_rows() -> dict[str, DefaultRow]:
    """Method -> its default row, read once from the shipped CSV."""
    text = read_text(resources.files("specroof.speculation") / "data" / _DATA, _DATA)
    points: dict[str, list[tuple[int, float]]] = {}
    rows: dict[str, DefaultRow] = {}
    for row in csv_records(text):
        method = row["method"]
        if row["candidates"]:
            points.setdefault(method, []).append((int(row["candidates"]), float(row["acceptance_length"])))
        rows[method] = DefaultRow(method, (), row["spec"], row["measured"] == "yes", row["label"], row["source"])
    for method, curve in points.items():
        r = rows[method]
        rows[method] = DefaultRow(method, tuple(curve), r.spec, r.measured, r.label, r.source)
    return rows


def default_row(method: str) -> DefaultRow:
    """A registered method's default row; a method without one gets the unmeasured fallback
    (the ``none`` row's model, labelled NOT measured) and one ``warning:`` saying so."""
    METHODS.get(method)  # an unknown name is an error listing the methods
    rows = default_rows()
    if method in rows:
        return rows[method]
    base = rows[FALLBACK_METHOD]
    warnings.warn(SpecroofWarning(
        f"no default acceptance is shipped for method {method!r} (speculation/data/{_DATA}): using "
        f"{base.spec or 'the ' + FALLBACK_METHOD + ' curve'}, NOT measured for it; give --acceptance"), stacklevel=3)
    return DefaultRow(method, base.points, base.spec, False,
                      f"NOT measured: no default shipped for {method}, {FALLBACK_METHOD}'s: {base.label}", base.source)


def default_acceptance(method: str, model: str | None = None) -> DefaultAcceptance:
    """The default acceptance model of a drafting method (``eagle3``, ``heads``, ``none``...):
    the catalog's best row for ``model`` when one is named and the method has rows."""
    found = catalog_default(method, model) if model else None
    return found if found is not None else _model_of(default_row(method))


def catalog_default(method: str, model: str) -> DefaultAcceptance | None:
    """The best catalog row of ``method`` for ``model`` as a default (held past its largest K),
    or None when the catalog has no row of the method."""
    METHODS.get(method)
    match = best_match(model, method)
    if match is None:
        return None
    entry = match.entry
    row = DefaultRow(method, entry.points, "", True, f"measured: {match.line(model, with_source=False)}; tau held at "
                     f"K={entry.k_max}'s {entry.points[-1][1]:g} beyond K={entry.k_max}, never extrapolated",
                     entry.info["source_url"], entry.name())
    return DefaultAcceptance(CatalogAcceptance(entry, hold=True), row)


def _model_of(row: DefaultRow, max_depth: int | None = None) -> DefaultAcceptance:
    """A row's model: its measured curve, or its spec (with ``max_depth`` for a tree spec)."""
    if row.points:
        inner: AcceptanceModel = CurveAcceptance(np.array(row.points, dtype=float), name=f"{row.method}-default")
        inner.max_candidates = None  # held at the last measured tau (np.interp holds the end value)
    else:
        inner = parse_acceptance(row.spec, max_depth)
    return DefaultAcceptance(inner, row)


def resolve_acceptance(acceptance: str | AcceptanceModel | None, method: str,
                       max_depth: int | None = None, model: str | None = None) -> AcceptanceModel:
    """The given acceptance (a spec or a model), or the default when None: the catalog's best
    row for ``model`` (when named), else the method's row."""
    if acceptance is None and model and max_depth is None:
        found = catalog_default(method, model)
        if found is not None:
            return found
    if acceptance is None:
        row = default_row(method)
        if max_depth is not None and not row.spec.startswith(("medusa:", "positional:")):
            raise SpecroofError("a max depth (--max-depth) applies only to tree acceptance models; give "
                                "--acceptance medusa:... or positional:... with it")
        return _model_of(row, max_depth)
    if isinstance(acceptance, AcceptanceModel):
        return acceptance
    return parse_acceptance(str(acceptance), max_depth)


def model_name_of(model: object) -> str | None:
    """The name the catalog is searched by: a catalog name, a config folder's name (a path to
    ``config.json`` names its folder), a ModelConfig's or a StepSetup's model's ``name``."""
    if isinstance(model, PurePath) or (isinstance(model, str) and ("/" in model or model.endswith(".json"))):
        path = PurePath(str(model))
        if path.suffix != ".json":
            return path.name or None
        return path.parent.name if path.stem == "config" else path.stem
    if isinstance(model, str):
        return model or None
    name = getattr(getattr(model, "model", model), "name", None)
    return name if isinstance(name, str) and name else None


def acceptance_source(model: AcceptanceModel) -> str:
    """Where a result's acceptance came from: the default's source, or ``given: <spec>``."""
    if isinstance(model, DefaultAcceptance):
        return f"default for {model.row.method}: {model.row.label} (source: {model.row.source})"
    return f"given: {model.describe()}"
