"""The parameters a drafting method may take, each declared once with its flag and its check.

A method lists the parameters it takes by name (:attr:`Method.parameters`) and those it cannot
run without (:attr:`Method.required`); :meth:`specroof.speculation.drafting.Drafting.of`
refuses a parameter given to a method that does not take it, naming the methods that do (read
from the registry, so a method added later is named too), and settles each taken one with its
check here. A check receives the user's value or None and returns the value kept (a default
where the parameter has one).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from specroof.errors import SpecroofError
from specroof.models.architecture import load_model
from specroof.speculation.methods.shape import TreeShape

DEFAULT_HEADS = 5
MAX_HEADS = 64
"""Medusa ships 3-5 heads; a head per draft position beyond 64 is not a configuration anyone runs."""


@dataclass(frozen=True)
class Parameter:
    """One drafting parameter: its keyword (a :class:`Drafting` field), what it is in a message,
    its CLI flag with an example, and the check that settles a given value (or None)."""

    name: str
    what: str
    flag: str
    example: str
    settle: Callable[[Any], Any]


def positive_int(value: Any, what: str) -> int:
    """``value`` as a positive integer (a bool is not one), or an error naming ``what``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise SpecroofError(f"{what} must be a positive integer, got {value!r}")
    return int(value)


def _heads(value: int | None) -> int:
    count = positive_int(DEFAULT_HEADS if value is None else value, "number of heads (--heads)")
    if count > MAX_HEADS:
        raise SpecroofError(f"number of heads (--heads) must be at most {MAX_HEADS}, got {count}")
    return count


def _rate(value: Any) -> float:
    """A proposal rate in (0, 1] (default 1: every sequence finds a match)."""
    if value is None:
        return 1.0
    try:
        rate = float(value)
    except (TypeError, ValueError):
        raise SpecroofError(f"proposal rate (--proposal-rate) must be a number in (0, 1], got {value!r}") from None
    if not (0.0 < rate <= 1.0) or math.isnan(rate):
        raise SpecroofError(f"proposal rate (--proposal-rate) must be in (0, 1], got {value!r}")
    return rate


def _tree(value: Any) -> TreeShape | None:
    if value is None:
        return None
    if isinstance(value, str):
        return TreeShape.parse(value)
    if isinstance(value, TreeShape):
        return value.checked()
    raise SpecroofError(f"tree must be a spec string (e.g. '1,2,2') or a TreeShape, got {type(value).__name__}")


def _draft_vocab(value: Any) -> int | None:
    return positive_int(value, "draft vocabulary (--draft-vocab)") if value is not None else None


PARAMETERS: dict[str, Parameter] = {p.name: p for p in (
    Parameter("draft_model", "a draft model", "--draft-model", "--draft-model NAME, e.g. llama-68m",
              lambda value: load_model(value) if value is not None else None),
    Parameter("heads", "a number of heads", "--heads", "--heads N, e.g. 5", _heads),
    Parameter("tree", "a tree", "--tree", "--tree steps=D,topk=K[,tokens=N]", _tree),
    Parameter("draft_vocab", "a draft vocabulary", "--draft-vocab", "--draft-vocab V, e.g. 32000", _draft_vocab),
    Parameter("proposal_rate", "a proposal rate", "--proposal-rate", "--proposal-rate P, e.g. 0.5", _rate),
)}
"""Every drafting parameter, in the order :meth:`Drafting.of` checks them."""
