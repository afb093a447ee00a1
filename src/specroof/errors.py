"""The one exception type users see.

Every problem caused by the user's input (unknown names, malformed files, bad grid values)
raises :class:`SpecroofError`. The CLI turns it into a one-line message on stderr and exit
code 2; library users can catch it. Anything else escaping is a bug in specroof.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class SpecroofError(ValueError):
    """A problem with the user's input, with a message that says how to fix it."""


class SpecroofWarning(UserWarning):
    """A result that is computed but questionable (e.g. measurements of another device)."""


def suggest(name: str, choices: Iterable[str]) -> str:
    """Return ' (did you mean: a, b?)' for names close to ``name``, or ''."""
    close = difflib.get_close_matches(name, list(choices), n=3, cutoff=0.5)
    return f" (did you mean: {', '.join(close)}?)" if close else ""


def shown(value: object, width: int = 60) -> str:
    """``repr(value)`` cut to ``width`` characters, safe for an integer too long to print
    (Python refuses ``repr`` of an int over 4,300 digits)."""
    try:
        text = repr(value)
    except ValueError:
        digits = int(value.bit_length() * 0.30103) + 1 if isinstance(value, int) else 0
        text = f"an integer of about {digits:,} digits" if digits else f"a {type(value).__name__}"
    return text if len(text) <= width else text[: width - 3] + "..."
