"""Parameter counts stated on the catalog models' cards (``models/cards.csv``, shipped).

A card's count is a check on the model's shapes, never an input to pricing: ``specroof
models`` shows it beside the count read off the configuration, and the tests require the two to
agree within 2% (plus the card's own rounding) for every model whose keys are all priced.
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
    """What one model card states: total and active parameters (billions; None: not stated)."""

    model: str
    total_params_b: float | None
    active_params_b: float | None
    rounding_b: float
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
        out[name] = Card(name, _number(row["total_params_b"], f"{name} total_params_b"),
                         _number(row["active_params_b"], f"{name} active_params_b"),
                         _number(row["rounding_b"], f"{name} rounding_b") or 0.0, row["covers"], row["source"])
        if not out[name].source:
            raise SpecroofError(f"{FILE}: {name} has no source")
    return out
