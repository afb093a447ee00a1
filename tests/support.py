"""The one way tests run the ``specroof`` command: in-process (:func:`run_cli`, also the
``specroof_cli`` fixture of conftest.py) or as the installed console script (:func:`run_specroof`)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pytest
from click.testing import CliRunner


class CliRun(NamedTuple):
    """What ``specroof ARGS`` did: its exit code and what it printed."""

    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        """The records of a ``--format json`` run (which must have succeeded)."""
        assert self.code == 0, self.stderr
        return json.loads(self.stdout)


def run_cli(*args: str) -> CliRun:
    """``specroof ARGS`` in-process through the console script's entry point (:func:`specroof.cli.main`):
    user errors are one ``error:`` line and exit code 2 as a user sees them, a bug keeps its
    traceback (the exception propagates)."""
    from specroof.cli import main

    saved_argv, saved_showwarning = sys.argv, warnings.showwarning
    with CliRunner().isolation() as (out, err, *_):
        sys.argv = ["specroof", *args]
        try:
            main()
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        finally:
            sys.argv, warnings.showwarning = saved_argv, saved_showwarning
        return CliRun(code, out.getvalue().decode("utf-8", "replace"), err.getvalue().decode("utf-8", "replace"))


def specroof_script() -> str:
    """The console script of the environment running the tests (skip if not installed)."""
    local = Path(sys.executable).parent / "specroof"
    if local.exists():
        return str(local)
    found = shutil.which("specroof")
    if found is None:
        pytest.skip("the specroof console script is not installed")
    return found


def run_specroof(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """``specroof ARGS`` as a separate process (start-up, real file descriptors, signals)."""
    return subprocess.run([specroof_script(), *args], capture_output=True, text=True, timeout=120, cwd=cwd)


def tool_json(script: Path, timeout_s: float) -> Any:
    """What a tool in tools/ prints with ``--json``, run as the script it is (tests never import
    a script by path); a failing run fails the test with the tool's stderr."""
    done = subprocess.run([sys.executable, str(script), "--json"], capture_output=True, text=True, timeout=timeout_s)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def kernels_per_operation(r) -> np.ndarray:
    """Kernels each priced operation launches at every grid point: (operations, b, n, s)."""
    return np.stack([np.asarray(op.kernels, dtype=float) for op in r.operations])


def assert_non_decreasing_unless_a_kernel_drops(r, tolerance=1e-9):
    """Between neighbours where no operation launches fewer kernels, latency never decreases."""
    scale = float(np.max(r.latency_ms))
    kernels = kernels_per_operation(r)
    for ax in range(3):
        steps = np.diff(r.latency_ms, axis=ax)
        kept = np.all(np.diff(kernels, axis=ax + 1) >= 0, axis=0)
        if steps.size and kept.any():
            assert steps[kept].min() >= -tolerance * scale, f"latency decreases along axis {ax}, no kernel dropped"
