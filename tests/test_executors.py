"""The local process-pool executor of specroof.workload.run_all (Ray: test_executors_ray.py)."""

from __future__ import annotations

import os
import sys

import pytest

from specroof.errors import SpecroofError, SpecroofWarning
from specroof.workload.executors import run_all


def square_and_pid(x: int) -> tuple[int, int]:
    """Module-level, so a spawned worker imports it by name."""
    return x * x, os.getpid()


def fails_on_three(x: int) -> int:
    if x == 3:
        raise SpecroofError("item 3 is bad")
    return x


def test_local_pool_runs_in_other_processes_and_keeps_order():
    results = run_all(square_and_pid, list(range(9)), workers=2)
    assert [value for value, _ in results] == [x * x for x in range(9)]
    assert {pid for _, pid in results} - {os.getpid()}, "no item ran in a worker process"


def test_one_worker_or_one_item_runs_here():
    assert {pid for _, pid in run_all(square_and_pid, [1, 2, 3], workers=1)} == {os.getpid()}
    assert run_all(square_and_pid, [4], workers=8) == [(16, os.getpid())]
    assert run_all(square_and_pid, []) == []


def test_a_worker_error_reaches_the_caller():
    with pytest.raises(SpecroofError, match="item 3"):
        run_all(fails_on_three, [1, 2, 3, 4], workers=2)


def test_an_unpicklable_function_runs_here_with_a_warning():
    with pytest.warns(SpecroofWarning, match="cannot be sent"):
        assert run_all(lambda x: x + 1, [1, 2, 3], workers=2) == [2, 3, 4]


@pytest.mark.parametrize("workers", [0, -2, 1.5, True])
def test_bad_worker_counts_are_refused(workers):
    with pytest.raises(SpecroofError, match="--workers"):
        run_all(abs, [1], workers=workers)


def test_ray_without_the_extra_names_the_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    with pytest.raises(SpecroofError, match=r"pip install 'specroof\[ray\]'"):
        run_all(abs, [1], executor="ray")
