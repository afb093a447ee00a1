"""Reading the project's data files: catalogs shipped in the package and users' files.

One place turns unreadable, oversized, non-UTF-8, malformed and too deeply nested JSON/TOML
files into a SpecroofError that names the file and what is wrong, so every loader reports the
same way; and one place writes files, atomically, so a failed write never destroys a file.
"""

from __future__ import annotations

import csv
import json
import os
import stat
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

from specroof.errors import SpecroofError
from specroof.input_guard import remember_input, was_read

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


#: Largest data file specroof reads (config.json, TOML, CSV, JSON lines). Real files are
#: kilobytes; the cap keeps ``/dev/zero`` or a mistyped multi-gigabyte path from filling memory.
MAX_FILE_BYTES = 16 * 1024 * 1024

_BOMS = ((b"\xef\xbb\xbf", "a UTF-8 byte-order mark (BOM); save it as UTF-8 without a BOM"),
         (b"\xff\xfe", "a UTF-16 byte-order mark (BOM): it is UTF-16, not a UTF-8 text file; save it as UTF-8"),
         (b"\xfe\xff", "a UTF-16 byte-order mark (BOM): it is UTF-16, not a UTF-8 text file; save it as UTF-8"))

def _file_kind(mode: int) -> str:
    """What a path that is not a regular file is, in words."""
    if stat.S_ISFIFO(mode):
        return "a FIFO, a named pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a file"


def read_text(path: Path | Any, what: str, limit: int = MAX_FILE_BYTES) -> str:
    """The text of a file (a Path or an importlib.resources Traversable), at most ``limit`` bytes.

    Only regular files are read: a FIFO would block forever and a device (``/dev/zero``,
    ``/dev/stdin``) is never a data file.
    """
    if isinstance(path, Path):
        try:
            mode = path.stat().st_mode
        except (OSError, ValueError):
            mode = None  # missing or unreadable: open() below reports it
        if mode is not None and not stat.S_ISREG(mode) and not stat.S_ISDIR(mode):
            raise SpecroofError(f"{what} is not a regular file ({_file_kind(mode)}); give a data file")
        remember_input(path)
    try:
        with path.open("rb") as handle:
            data = handle.read(limit + 1)
    except FileNotFoundError:
        raise SpecroofError(f"{what} not found; check the path") from None
    except IsADirectoryError:
        raise SpecroofError(f"{what} is a directory; give a file") from None
    except (OSError, ValueError) as exc:
        raise SpecroofError(f"cannot read {what}: {getattr(exc, 'strerror', None) or exc}") from None
    if len(data) > limit:
        raise SpecroofError(f"{what} is larger than {limit // (1024 * 1024)} MiB; "
                            "is it the right file? data files are a few kilobytes")
    return decode_text(data, what)


def decode_text(data: bytes, what: str) -> str:
    """UTF-8 text without a byte-order mark or NUL bytes, or one SpecroofError saying which."""
    for mark, name in _BOMS:
        if data.startswith(mark):
            raise SpecroofError(f"{what} starts with {name}")
    if b"\x00" in data:
        raise SpecroofError(f"{what} holds NUL bytes: it is binary data, not a text file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise SpecroofError(f"{what} is not a UTF-8 text file") from None


def csv_rows(text: str) -> list[tuple[int, list[str]]]:
    """Rows of CSV text, skipping blank lines and '#' comments, with 1-based line numbers."""
    rows = []
    for line_no, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        rows.append((line_no, [cell.strip() for cell in next(csv.reader([stripped]))]))
    return rows


def csv_records(text: str) -> list[dict[str, str]]:
    """The rows of :func:`csv_rows` after the first, as dicts keyed by that first (header) row (the
    shipped data files start with a commented source and licence block)."""
    rows = csv_rows(text)
    header = rows[0][1] if rows else []
    return [dict(zip(header, cells)) for _, cells in rows[1:]]


def read_toml(path: Path | Any, what: str) -> dict[str, Any]:
    return parse_toml(read_text(path, what), what)


def parse_toml(text: str, what: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecroofError(f"{what} is not valid TOML: {exc}") from None
    except RecursionError:
        raise SpecroofError(f"{what} is nested too deeply to be a specroof TOML file") from None
    except ValueError as exc:  # e.g. an integer literal longer than Python's digit limit
        raise SpecroofError(f"{what} is not valid TOML: {str(exc)[:120]}") from None


class _DuplicateKey(ValueError):
    pass


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object that names no key twice (``json`` would silently keep the last value)."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


def parse_json(text: str, what: str) -> Any:
    """JSON text, or one SpecroofError for syntax, depth, duplicated keys and integers too long to read."""
    try:
        return json.loads(text, object_pairs_hook=_unique_keys)
    except _DuplicateKey as exc:
        raise SpecroofError(f"{what} names the key {str(exc)[:80]!r} twice in one object; keep one") from None
    except json.JSONDecodeError as exc:
        raise SpecroofError(f"{what} is not valid JSON: {exc.msg} at line {exc.lineno}") from None
    except RecursionError:
        raise SpecroofError(f"{what} is nested too deeply to be a specroof JSON file") from None
    except ValueError as exc:  # e.g. an integer literal longer than Python's digit limit
        raise SpecroofError(f"{what} is not valid JSON: {str(exc)[:120]}") from None


def read_json(path: Path | Any, what: str) -> Any:
    return parse_json(read_text(path, what), what)


# --------------------------------------------------------------------------- writing


def same_file(a: str | Path, b: str | Path) -> bool:
    """Whether two paths name the same file (links and ``..`` resolved, a dangling link by its
    target); False if either is absent."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


def _refuse_writing_an_input(path: Path, what: str) -> None:
    """SpecroofError when ``path`` (its link target) is a file this command has read."""
    if was_read(path):
        where = "" if os.path.realpath(path) == os.path.abspath(path) else \
            f" (a link to {os.path.realpath(path)!r})"
        raise SpecroofError(f"cannot write {what} {str(path)!r}{where}: it is one of this command's input files, "
                            "and writing there would destroy it; give another file name")


def refuse_overwriting_inputs(output: str | Path, inputs: dict[str, Any], flag: str = "--output") -> None:
    """SpecroofError when ``output`` is one of the ``inputs`` (``{description: path}``)."""
    for what, path in inputs.items():
        if isinstance(path, (str, Path)) and str(path) and same_file(output, path):
            raise SpecroofError(f"{flag} {output} is the {what}; writing there would destroy it, "
                                "give another file name")


def _target_folder(path: Path, what: str) -> Path:
    """The folder a file will be written into; SpecroofError if the path is a directory or
    its folder does not exist."""
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise SpecroofError(f"cannot write {what} {str(path)!r}: it is a directory; give a file name")
    if not folder.is_dir():
        raise SpecroofError(f"cannot write {what} {str(path)!r}: folder {str(folder)!r} does not exist")
    return folder


def _resolved_output(path: Path, what: str) -> Path:
    """The file a write to ``path`` must replace: a symbolic link is followed to its target (the
    link stays a link), and a target that is one of the command's inputs is refused."""
    _refuse_writing_an_input(path, what)
    if path.is_symlink():
        return Path(os.path.realpath(path))
    return path


@contextmanager
def atomic_target(path: str | Path, what: str) -> Iterator[Path]:
    """A temporary path beside ``path``; renamed over ``path`` only if the block succeeds.

    Write to the temporary file (same folder, so the rename is atomic on the same file
    system), then ``os.replace`` it: a reader, a crash or a full disk never leaves a file cut
    short, and a failed write leaves any previous file byte-identical.
    """
    path = _resolved_output(Path(path), what)
    folder = _target_folder(path, what)
    try:
        handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=folder)
        os.close(handle)
    except OSError as exc:
        raise SpecroofError(f"cannot write {what} {str(path)!r}: {exc.strerror or exc}") from None
    try:
        yield Path(temp)
        if path.exists():  # keep the old file's permissions
            os.chmod(temp, os.stat(path).st_mode & 0o7777)
        else:
            os.chmod(temp, 0o666 & ~_umask())
        os.replace(temp, path)
    except OSError as exc:
        raise SpecroofError(f"cannot write {what} {str(path)!r}: {exc.strerror or exc}") from None
    finally:
        if os.path.exists(temp):
            os.unlink(temp)


def write_atomic(path: str | Path, content: str | bytes, what: str) -> Path:
    """Write text (UTF-8) or bytes to ``path`` atomically; see :func:`atomic_target`."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    with atomic_target(path, what) as temp:
        with open(temp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    return Path(path)


def save_figure(fig: Any, path: str | Path, what: str = "chart", **savefig: Any) -> Path:
    """``fig.savefig`` to a temporary file beside ``path``, then renamed over it."""
    path = Path(path)
    with atomic_target(path, what) as temp:
        try:
            fig.savefig(temp, format=path.suffix.lower().lstrip("."), **savefig)
        except ValueError as exc:  # matplotlib: unsupported format and the like
            raise SpecroofError(f"cannot write {what} {str(path)!r}: {exc}") from None
    return path


def check_writable(path: str | Path, what: str) -> Path:
    """Fail before any work if ``path`` cannot be written: missing or read-only folder, a
    directory, a file this command has already read (through a link or not)."""
    path = _resolved_output(Path(path), what)
    folder = _target_folder(path, what)
    if path.exists() and not path.is_file():
        raise SpecroofError(f"cannot write {what} {str(path)!r}: it is not a regular file")
    try:  # the only sure test (permissions, read-only mounts, /proc): create a file there
        handle, probe = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".probe", dir=folder)
        os.close(handle)
        os.unlink(probe)
    except OSError as exc:
        raise SpecroofError(f"cannot write {what} {str(path)!r}: folder {str(folder)!r} is not writable "
                            f"({exc.strerror or exc})") from None
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def looks_like_path(value: object, suffix: str) -> bool:
    """Whether a --model/--hardware value names a file rather than a catalog entry."""
    return isinstance(value, Path) or (isinstance(value, str) and (value.endswith(suffix) or "/" in value))


def packaged_names(package: str, folder: str, suffix: str) -> tuple[str, ...]:
    """Stems of the ``*suffix`` files in a package's data folder, sorted."""
    base = resources.files(package) / folder if folder else resources.files(package)
    return tuple(sorted(p.name[: -len(suffix)] for p in base.iterdir() if p.name.endswith(suffix)))
