"""Request sets, Poisson arrivals and the local executor of specroof.workload."""

from __future__ import annotations

import numpy as np
import pytest

from specroof.errors import SpecroofError
from specroof.workload.arrivals import requests_from
from specroof.workload.executors import run_all
from specroof.workload.requests import RequestSet


def test_poisson_rate_is_what_was_asked():
    requests = requests_from("poisson:4", count=20_000, prompt_tokens=128, output_tokens=64, seed=3)
    measured_rps = (requests.count - 1) / requests.arrival_s[-1]
    assert measured_rps == pytest.approx(4.0, rel=0.03)
    assert requests.arrival_s[0] == 0.0 and np.all(np.diff(requests.arrival_s) >= 0)
    assert requests_from("poisson:4", count=5, prompt_tokens=1, output_tokens=1, seed=3, max_requests=2).count == 2


@pytest.mark.parametrize("spec", ["poisson:-1", "poisson:abc", "poisson:0", "uniform:3"])
def test_bad_arrivals_spec_is_one_error(spec):
    with pytest.raises(SpecroofError):
        requests_from(spec, count=3, prompt_tokens=1, output_tokens=1)


def test_request_set_refuses_impossible_requests():
    with pytest.raises(SpecroofError, match="in order"):
        RequestSet(np.array([1.0, 0.5]), np.array([1, 1]), np.array([1, 1]), "test")
    with pytest.raises(SpecroofError, match=">= 1 token"):
        RequestSet(np.array([0.0]), np.array([0]), np.array([1]), "test")


def _square(x: int) -> int:
    return x * x


def test_local_executor_keeps_order_and_refuses_unknown():
    assert run_all(_square, [3, 1, 2]) == [9, 1, 4]
    with pytest.raises(SpecroofError, match="executor"):
        run_all(abs, [1], executor="nowhere")
