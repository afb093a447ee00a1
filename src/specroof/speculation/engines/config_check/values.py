"""Reading one value of a config: whole numbers (``32k`` included), lists, JSON objects,
each refused with one line naming the option when it is not what the engine takes."""

from __future__ import annotations

import json
import re
from typing import Any

from specroof.datafiles import parse_json
from specroof.errors import SpecroofError

_SUFFIX = re.compile(r"^(\d+(?:\.\d+)?)([kKmM]?)$")
_SCALE = {"": 1, "k": 1000, "K": 1024, "m": 1_000_000, "M": 1024 * 1024}
LARGEST = 2 ** 40
"""The largest value any setting read here may take (no engine takes more tokens, sequences or
draft steps); above it a number is refused instead of overflowing arithmetic downstream."""


def whole(value: Any, where: str, minimum: int = 0) -> int:
    """A whole number >= ``minimum``: an int, or text such as ``4096``, ``32k`` (x1000) or
    ``32K`` (x1024), as vLLM's ``--max-model-len`` takes them."""
    if isinstance(value, bool):
        raise SpecroofError(f"{where}: expected a whole number, got {value!r}")
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    else:
        text = str(value).strip()
        match = _SUFFIX.match(text) if len(text) <= 24 else None
        if match is None:
            raise SpecroofError(f"{where}: expected a whole number, got {str(value)[:60]!r}")
        scaled = float(match.group(1)) * _SCALE[match.group(2)]
        if not scaled.is_integer():
            raise SpecroofError(f"{where}: expected a whole number, got {value!r}")
        number = int(scaled)
    if number < minimum:
        raise SpecroofError(f"{where}: expected a whole number >= {minimum}, got {number}")
    if number > LARGEST:
        raise SpecroofError(f"{where}: {str(number)[:20]}... is beyond any engine setting (at most 2^40)")
    return number


def json_object(text: str, where: str) -> dict[str, Any]:
    """A JSON object (``--speculative-config '{...}'``): the data files' reader (syntax, depth,
    a key named twice), then the object's type."""
    value = parse_json(text, where)
    if not isinstance(value, dict):
        raise SpecroofError(f"{where}: expected a JSON object {{...}}, got {type(value).__name__}")
    return value


def whole_list(value: Any, where: str) -> tuple[int, ...]:
    """A non-empty list of whole numbers >= 1 (a JSON list, or words)."""
    if isinstance(value, str):
        text = value.strip()
        value = json.loads(text) if text.startswith("[") and _valid_json(text) else text.replace(",", " ").split()
    if not isinstance(value, (list, tuple)) or not value:
        raise SpecroofError(f"{where}: expected a non-empty list of whole numbers, got {str(value)[:60]!r}")
    return tuple(whole(v, where, 1) for v in value)


def schedule_ranges(value: Any, where: str) -> tuple[tuple[int, int, int], ...]:
    """``[[start, end, k], ...]``: contiguous ranges from batch 1, k >= 0."""
    if not isinstance(value, list) or not value:
        raise SpecroofError(f"{where}: expected a list [[start_bs, end_bs, K], ...], got {str(value)[:60]!r}")
    ranges = []
    for entry in value:
        if not isinstance(entry, list) or len(entry) != 3:
            raise SpecroofError(f"{where}: each entry is [start_bs, end_bs, K], got {str(entry)[:60]!r}")
        start, end, k = (whole(v, where) for v in entry)
        expected = ranges[-1][1] + 1 if ranges else 1
        if start != expected or end < start:
            raise SpecroofError(f"{where}: entry {entry} should start at batch {expected} and end at or after it "
                                "(ranges are contiguous from batch size 1)")
        ranges.append((start, end, k))
    return tuple(ranges)


def _valid_json(text: str) -> bool:
    try:
        json.loads(text)
    except json.JSONDecodeError:
        return False
    return True
