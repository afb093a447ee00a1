"""The files this command has read, so that none of them is ever written over.

:func:`specroof.datafiles.read_text` records each file it reads while the guard is on, and
every writer asks :func:`was_read` first. The CLI turns the guard on for each command. It sits
in a module of its own, importing only ``os``, because every command starts by turning it on:
``specroof --help`` must not pay for the file readers (``tomllib``, ``tempfile``, resources).
"""

from __future__ import annotations

import os

_read: set[str] | None = None
"""Real paths of the files read since :func:`guard_inputs` was turned on (None: not recording)."""


def guard_inputs(on: bool = True) -> None:
    """From now on, remember every file read and refuse to write onto any of them (``on``), or
    stop (and forget them)."""
    global _read
    _read = set() if on else None


def remember_input(path: str | os.PathLike[str]) -> None:
    """Record ``path`` (its link target) as read, when the guard is on."""
    if _read is not None:
        _read.add(os.path.realpath(path))


def was_read(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` (its link target) is a file read since the guard was turned on."""
    return _read is not None and os.path.realpath(path) in _read
