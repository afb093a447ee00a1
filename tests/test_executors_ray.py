"""run_all(executor="ray") on a local Ray instance the test starts (skipped without the [ray] extra)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from specroof.errors import SpecroofError
from specroof.workload.arrivals import requests_from
from specroof.workload.executors import run_all

ray = pytest.importorskip("ray", reason="Ray is not installed (the optional [ray] extra: pip install 'specroof[ray]')")


def arrival_span_s(rate_rps: float) -> float:
    """A tiny sweep item: the span of 50 Poisson arrivals at one rate."""
    return float(requests_from(f"poisson:{rate_rps}", count=50, prompt_tokens=8, output_tokens=8, seed=1).arrival_s[-1])


def refuses_negative(rate_rps: float) -> float:
    """A sweep item that fails the way a bad configuration does."""
    return arrival_span_s(rate_rps) if rate_rps > 0 else float(requests_from(f"poisson:{rate_rps}", count=1,
                                                                             prompt_tokens=1, output_tokens=1).count)


@pytest.fixture(scope="module")
def local_ray():
    # Ray's workers import this module by name: give them the tests folder (the package is installed).
    tests = str(Path(__file__).resolve().parent)
    path = os.pathsep.join(p for p in (tests, os.environ.get("PYTHONPATH", "")) if p)
    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False, runtime_env={"env_vars": {"PYTHONPATH": path}})
    yield
    ray.shutdown()


@pytest.mark.usefixtures("local_ray")
def test_a_ray_sweep_equals_the_local_one():
    rates = [0.5, 1.0, 2.0, 4.0]
    expected = [arrival_span_s(r) for r in rates]
    assert run_all(arrival_span_s, rates, executor="ray") == expected
    assert run_all(arrival_span_s, rates, executor="ray", workers=1) == expected
    assert ray.is_initialized(), "run_all stopped a Ray instance it did not start"


@pytest.mark.usefixtures("local_ray")
def test_a_ray_task_error_is_the_users_error():
    with pytest.raises(SpecroofError, match="positive number") as caught:
        run_all(refuses_negative, [1.0, -2.0], executor="ray", workers=1)
    assert "\n" not in str(caught.value), "the CLI prints one error line"
