"""Shared test set-up: reproducible Hypothesis profiles and the repository's data folders.

Hypothesis profiles (``--hypothesis-profile NAME`` or ``SPECROOF_HYPOTHESIS_PROFILE=NAME``):

- ``ci`` (the default, so ``python -m pytest`` from README.md): ``derandomize=True`` and no
  example database, so the same commit draws the same examples on every machine and every
  run; a result never depends on a ``.hypothesis/`` folder left by an earlier run.
- ``explore``: random seeds (``--hypothesis-seed=N`` replays one), no example database, and
  ``SPECROOF_HYPOTHESIS_EXAMPLES`` (default 100) examples where a test does not fix its own
  count. ``tools/explore_properties.py`` runs every property test under it with several seeds
  and prints the falsifying examples (it does not gate anything).

The package never reads the checkout: tests that need the repository's ``data/`` (the kernel
extract, the H200 measurements) get its folders from the fixtures below.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from tests.support import CliRun, run_cli

REPO_ROOT = Path(__file__).resolve().parents[1]
DATA = REPO_ROOT / "data"
KERNEL_EXTRACT = DATA / "kernels" / "extract"
MEASUREMENTS = DATA / "measurements"

settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
settings.register_profile("explore", derandomize=False, database=None, print_blob=True,
                          max_examples=int(os.environ.get("SPECROOF_HYPOTHESIS_EXAMPLES", "100")),
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("SPECROOF_HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(scope="session")
def specroof_cli() -> Callable[..., CliRun]:
    """Run ``specroof ARGS`` in-process as the console script does: ``specroof_cli("models")``
    gives (code, stdout, stderr), and ``.json()`` the records of a ``--format json`` run."""
    return run_cli


@pytest.fixture(scope="session")
def repo_data() -> Path:
    """The repository's ``data/`` folder (tests run from a checkout; the package does not)."""
    return DATA


@pytest.fixture(scope="session")
def kernel_extract() -> Path:
    """``data/kernels/extract``: the committed sample of NVIDIA's kernel database."""
    return KERNEL_EXTRACT


@pytest.fixture(scope="session")
def measurements() -> Path:
    """``data/measurements``: the H200 timings the calibration and held-out splits use."""
    return MEASUREMENTS
