"""Launch lines as argument lists: ``shlex`` splits them as a POSIX shell would.

A text may hold several commands (an export prints one per batch range): lines ending in a
backslash continue, ``#`` lines are comments, and each remaining line is one command.
Environment assignments before the program (``SGLANG_ENABLE_SPEC_V2=1 python3 -m ...``) are
kept aside. Options are read as ``--name value``, ``--name=value`` or a bare ``--name``
(a switch); an option that takes several values (SGLang's ``--cuda-graph-bs 1 2 4``) keeps
every word up to the next option.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

from specroof.errors import SpecroofError

_ENV = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


@dataclass(frozen=True)
class Command:
    """One launch: its words before the options (``vllm serve MODEL``), its options (name ->
    the words given to it; a switch has none) and the line it started on."""

    line: int
    program: tuple[str, ...]
    options: dict[str, list[str]] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)

    def value(self, *names: str) -> str | None:
        """The value given to the first of ``names`` present (its last occurrence; a switch
        gives ''). Words after it, before the next option, are not its value."""
        for name in names:
            if name in self.options:
                words = self.options[name]
                return words[0] if words else ""
        return None

    def has(self, *names: str) -> bool:
        return any(name in self.options for name in names)


def commands(text: str, where: str) -> list[Command]:
    """Every command in ``text`` (comments and blank lines skipped)."""
    found = []
    for line, source in _logical_lines(text):
        try:
            words = shlex.split(source, comments=True, posix=True)
        except ValueError as exc:  # "No closing quotation", "No escaped character"
            raise SpecroofError(f"{where}:{line}: cannot split the command line: {exc} "
                                "(check its quotes; a JSON value goes in single quotes)") from None
        if words:
            found.append(_command(words, line))
    return found


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """(first line number, text) per command: backslash-newline joins lines."""
    out: list[tuple[int, str]] = []
    start, parts = 0, []
    for number, raw in enumerate(text.splitlines(), 1):
        if not parts:
            start = number
            if raw.lstrip().startswith("#"):
                continue
        if raw.rstrip().endswith("\\"):
            parts.append(raw.rstrip()[:-1])
            continue
        parts.append(raw)
        out.append((start, " ".join(parts)))
        parts = []
    if parts:
        out.append((start, " ".join(parts)))
    return [(n, s) for n, s in out if s.strip()]


def _command(words: list[str], line: int) -> Command:
    env: dict[str, str] = {}
    while words and _ENV.match(words[0]):
        name, _, value = words.pop(0).partition("=")
        env[name] = value
    program: list[str] = []
    options: dict[str, list[str]] = {}
    current: str | None = None
    for word in words:
        if word.startswith("-") and len(word) > 1 and not _is_number(word):
            name, eq, value = word.partition("=")
            options[name] = [value] if eq else []
            current = None if eq else name
        elif current is not None:
            options[current].append(word)
        elif options:  # a word after a switch with no option to take it: keep it in the last option
            options[list(options)[-1]].append(word)
        else:
            program.append(word)
    return Command(line, tuple(program), options, env)


def _is_number(word: str) -> bool:
    try:
        float(word)
    except ValueError:
        return False
    return True
