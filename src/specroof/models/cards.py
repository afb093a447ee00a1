"""Parameter counts stated on the catalog models' cards (``models/cards.csv``, shipped).

A card's count is a check on the model's shapes, never an input to pricing: ``specroof
models`` shows it beside the count read off the configuration, and the tests require the two to
agree within 2% (plus the card's own rounding) for every model whose keys are all priced, for
the total and for the active parameters (the weights one token reads: the routed experts it
picks, not all of them).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from specroof.datafiles import csv_records, read_text
from specroof.errors import SpecroofError

FILE = "cards.csv"


@dataclass(frozen=True)
class Card:
    """What one model card states: total and active parameters (billions; None: not stated), each
    with its rounding (half a unit of the last digit stated)."""

    model: str
    total_params_b: float | None
    total_rounding_b: float
    active_params_b: float | None
    active_rounding_b: float
    covers: str
    source: str


def _number(text: str, what: str) -> float | None:
    if not text.strip():
        return None
    try:
        value = float(text)
    except ValueError:
        raise SpecroofError(f"{FILE}: {what} must be a number or blank, got {text!r}") from None
    if not value > 0:
        raise SpecroofError(f"{FILE}: {what} must be positive, got {text!r}")
    return value


@lru_cache(maxsize=1)
def cards() -> dict[str, Card]:
    """Every card row by catalog model name, checked once."""
    rows = csv_records(read_text(resources.files("specroof.models") / FILE, FILE))
    out = {}
    for row in rows:
        name = row["model"]
        numbers = {key: _number(row[key], f"{name} {key}") for key in
                   ("total_params_b", "total_rounding_b", "active_params_b", "active_rounding_b")}
        out[name] = Card(name, numbers["total_params_b"], numbers["total_rounding_b"] or 0.0,
                         numbers["active_params_b"], numbers["active_rounding_b"] or 0.0, row["covers"], row["source"])
        if not out[name].source:
            raise SpecroofError(f"{FILE}: {name} has no source")
    return out
