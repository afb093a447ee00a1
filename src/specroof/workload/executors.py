"""Running many independent simulations: ``run_all(fn, items, executor)``.

``local`` runs them in this process, one after another. Each item's result depends on the item
alone, so the order of execution never changes a result.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from specroof.errors import SpecroofError

Item = TypeVar("Item")
Result = TypeVar("Result")
EXECUTORS = ("local",)


def run_all(fn: Callable[[Item], Result], items: Sequence[Item], executor: str = "local") -> list[Result]:
    """``[fn(item) for item in items]`` on the chosen executor, in the items' order."""
    if executor not in EXECUTORS:
        raise SpecroofError(f"--executor {executor!r}: choose one of {', '.join(EXECUTORS)}")
    return [fn(item) for item in items]
