"""Command-line values -> validated numbers: grid lists and positive flags, with one-line errors.

Shared by the commands (:mod:`specroof.cli`) and the explorer's queries (:mod:`specroof.web`),
so a URL and a command line are read alike.
"""

from __future__ import annotations

import math

from specroof.errors import SpecroofError

#: Most values one grid axis may list, and the largest value (no batch, candidate count or
#: context is larger). Both are checked before a list is built, so a typo like
#: ``1:1000000000:1`` is refused at once instead of allocating a billion integers.
MAX_LIST_VALUES = 100_000
MAX_LIST_VALUE = 100_000_000

#: Most rows ``latency`` and ``speedup`` print (their grid cap): one row per grid point, and
#: formatting a row costs far more than computing it (about 50 us against under 1 us), so
#: larger sweeps belong to the Python API, which returns arrays.
MAX_OUTPUT_ROWS = 100_000


def parse_int_list(text: str, what: str) -> list[int]:
    """Parse '1,2,4' or '1..64' (powers of two) or '16:112:16' (start:stop:step, inclusive).

    Every value must be a positive integer up to MAX_LIST_VALUE and the list at most
    MAX_LIST_VALUES long; the error says which value or range is at fault.
    """
    values: list[int] = []
    for part in str(text).split(","):
        part = part.strip()
        if not part:
            continue
        if ".." in part:
            lo, hi = (_positive(p, what) for p in part.split("..", 1))
            if hi < lo:
                raise SpecroofError(f"--{what}: range {part!r} is empty (end below start)")
            v = lo
            while v <= hi:
                values.append(v)
                v *= 2
        elif ":" in part:
            pieces = part.split(":")
            if len(pieces) != 3:
                raise SpecroofError(f"--{what}: {part!r} should be start:stop:step")
            lo, hi, step = (_positive(p, what) for p in pieces)
            if hi < lo:
                raise SpecroofError(f"--{what}: range {part!r} is empty (end below start)")
            _check_count(len(values) + (hi - lo) // step + 1, what, part)
            values.extend(range(lo, hi + 1, step))
        else:
            values.append(_positive(part, what))
        _check_count(len(values), what, part)
    if not values:
        raise SpecroofError(f"--{what} needs at least one value, e.g. 1,16,64")
    return values


def positive_flag(value: int | None, flag: str) -> None:
    """SpecroofError unless an integer option given on the command line is >= 1."""
    if value is not None and value < 1:
        raise SpecroofError(f"{flag} must be a positive integer, got {value}")


def _check_count(count: int, what: str, part: str) -> None:
    if count > MAX_LIST_VALUES:
        raise SpecroofError(f"--{what}: {part!r} makes {count:,} values, more than the {MAX_LIST_VALUES:,} "
                            "one sweep takes; use a larger step (start:stop:step) or powers of two (a..b)")


def _positive(text: str, what: str) -> int:
    try:
        number = float(text)
    except (ValueError, OverflowError):
        raise SpecroofError(f"--{what}: {text!r} is not a number; give positive integers like 1,16,64") from None
    if not math.isfinite(number) or number != int(number) or number <= 0:
        raise SpecroofError(f"--{what}: {text!r} must be a positive integer")
    if number > MAX_LIST_VALUE:
        raise SpecroofError(f"--{what}: {text!r} is larger than {MAX_LIST_VALUE:,}, the most any axis allows")
    return int(number)
