"""Reading the project's data files: catalogs shipped in the package and users' files.

One place turns unreadable, non-UTF-8 and malformed JSON/TOML files into a SpecroofError
that names the file and what is wrong, so every loader reports the same way.
"""

from __future__ import annotations

import json
import sys
from importlib import resources
from pathlib import Path
from typing import Any

from specroof.errors import SpecroofError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def read_text(path: Path | Any, what: str) -> str:
    """The text of a file (a Path or an importlib.resources Traversable)."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecroofError(f"{what} not found; check the path") from None
    except IsADirectoryError:
        raise SpecroofError(f"{what} is a directory; give a file") from None
    except OSError as exc:
        raise SpecroofError(f"cannot read {what}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise SpecroofError(f"{what} is not a UTF-8 text file") from None


def read_toml(path: Path | Any, what: str) -> dict[str, Any]:
    try:
        return tomllib.loads(read_text(path, what))
    except tomllib.TOMLDecodeError as exc:
        raise SpecroofError(f"{what} is not valid TOML: {exc}") from None


def parse_toml(text: str, what: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecroofError(f"{what} is not valid TOML: {exc}") from None


def read_json(path: Path | Any, what: str) -> Any:
    try:
        return json.loads(read_text(path, what))
    except json.JSONDecodeError as exc:
        raise SpecroofError(f"{what} is not valid JSON: {exc.msg} at line {exc.lineno}") from None


def looks_like_path(value: object, suffix: str) -> bool:
    """Whether a --model/--hardware value names a file rather than a catalog entry."""
    return isinstance(value, Path) or (isinstance(value, str) and (value.endswith(suffix) or "/" in value))


def packaged_names(package: str, folder: str, suffix: str) -> tuple[str, ...]:
    """Stems of the ``*suffix`` files in a package's data folder, sorted."""
    base = resources.files(package) / folder if folder else resources.files(package)
    return tuple(sorted(p.name[: -len(suffix)] for p in base.iterdir() if p.name.endswith(suffix)))
