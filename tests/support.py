"""Helpers shared by the tests that run the ``specroof`` console script."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def specroof_script() -> str:
    """The console script of the environment running the tests (skip if not installed)."""
    local = Path(sys.executable).parent / "specroof"
    if local.exists():
        return str(local)
    found = shutil.which("specroof")
    if found is None:
        pytest.skip("the specroof console script is not installed")
    return found


def run_specroof(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([specroof_script(), *args], capture_output=True, text=True, timeout=120)
