"""Harness of the hostile-input suite: every case states what must happen, and it is checked.

Each CLI case runs ``specroof`` in-process (the real entry point, ``specroof.cli.main``, with
click's CliRunner isolation), in a fresh folder holding a few valid files and the case's own
bad ones. What is checked for every case:

- exit code 2 (or the case's own), and exactly one line on stderr, starting with the case's
  prefix (``error: `` unless stated) and containing its expected words; no traceback;
- every file present before the run is byte-identical afterwards, and no file is left behind
  (temporary files of atomic writes included), except outputs the case expects;
- a hang guard: a case still running after ``HANG_SECONDS`` fails. Speed is not otherwise
  asserted (slow CI machines must not fail the suite).
"""

from __future__ import annotations

import shutil
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests import support

ROOT = Path(__file__).resolve().parents[2]
MEASUREMENTS = ROOT / "data" / "measurements" / "h200-llama-7b-calibration.jsonl"
CALIBRATED = ROOT / "data" / "profiles" / "h200-pytorch-sdpa.toml"
LLAMA_CONFIG = ROOT / "src" / "specroof" / "models" / "catalog" / "llama-7b.json"
H200_FILE = ROOT / "src" / "specroof" / "hardware" / "catalog" / "h200.toml"
HANG_SECONDS = 20


@dataclass
class CliCase:
    """One hostile command line: ``argv`` after ``specroof``, and what must come of it."""

    id: str
    argv: list[str]
    expect: str = ""  # words the one-line message must contain (case-insensitive)
    files: dict[str, str | bytes] = field(default_factory=dict)  # written before the run
    code: int = 2
    prefix: str = "error: "


@dataclass
class ApiCase:
    """One hostile library call: ``call(folder)`` must raise SpecroofError mentioning ``expect``."""

    id: str
    call: Callable[[Path], Any]
    expect: str = ""
    files: dict[str, str | bytes] = field(default_factory=dict)


def make_workspace(folder: Path, files: dict[str, str | bytes]) -> None:
    """Valid inputs every case may name, plus the case's own files."""
    shutil.copy(MEASUREMENTS, folder / "meas.jsonl")
    shutil.copy(CALIBRATED, folder / "calibrated.toml")
    shutil.copy(LLAMA_CONFIG, folder / "config.json")
    shutil.copy(H200_FILE, folder / "device.toml")
    (folder / "old.png").write_bytes(b"\x89PNG previous chart")
    (folder / "old-profile.toml").write_text("# a profile written earlier\nbase = \"h200\"\n")
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@contextmanager
def hang_guard(seconds: int = HANG_SECONDS) -> Iterator[None]:
    """Fail (not wait forever) when the body runs longer than ``seconds``."""

    def expire(signum: int, frame: Any) -> None:
        raise TimeoutError(f"still running after {seconds} s: a hang")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    """Run the real entry point in-process; (exit code, stdout, stderr)."""
    return tuple(support.run_cli(*argv))


def check_one_line(err: str, prefix: str, expect: str) -> None:
    """One line with ``prefix`` on stderr, no traceback. Informational ``note:`` and ``warning:``
    lines printed while the command worked (the default acceptance it named, an unvalidated
    domain) may precede an ``error:`` line: they are not part of the refusal."""
    lines = err.splitlines()
    assert "Traceback" not in err, err
    if prefix.startswith("error: "):
        lines = [line for line in lines if not line.startswith(("note: ", "warning: "))]
    assert len(lines) == 1, f"expected one line on stderr, got {len(lines)}:\n{err}"
    assert lines[0].startswith(prefix), lines[0]
    if expect:
        assert expect.lower() in lines[0].lower(), f"{expect!r} not in {lines[0]!r}"
