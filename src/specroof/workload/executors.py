"""Running many independent simulations: ``run_all(fn, items, executor, workers=...)``.

``local`` (the default) runs them in a pool of local processes (``concurrent.futures``,
``spawn`` start: the same on Linux, macOS and Windows, and no fork of a process that holds
threads); one worker or one item runs in this process. ``ray`` runs them as Ray tasks (the
optional ``[ray]`` extra): on the cluster ``RAY_ADDRESS`` names, else on a local Ray instance
started for the sweep and stopped after it; ``workers`` caps the tasks in flight. Each item's
result depends on the item alone, so neither the executor nor the order of execution changes
a result; results come back in the items' order. ``fn`` must be importable by name (a function
of a module) to reach another process; a lambda or a local function runs here, with a warning.
"""

from __future__ import annotations

import os
import pickle
import signal
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from typing import Any, TypeVar

from specroof.errors import SpecroofError, SpecroofWarning

Item = TypeVar("Item")
Result = TypeVar("Result")
EXECUTORS = ("local", "ray")
RAY_INSTALL = "pip install 'specroof[ray]'"


def run_all(fn: Callable[[Item], Result], items: Sequence[Item], executor: str = "local", *,
            workers: int | None = None) -> list[Result]:
    """``[fn(item) for item in items]`` on the chosen executor, in the items' order.

    ``workers``: processes (``local``; default: the CPUs this process may use) or Ray tasks in
    flight (``ray``; default: as many as the cluster schedules)."""
    if executor not in EXECUTORS:
        raise SpecroofError(f"--executor {executor!r}: choose one of {', '.join(EXECUTORS)}")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise SpecroofError(f"--workers must be a whole number >= 1, got {workers!r}")
    items = list(items)
    if executor == "ray":
        return _run_ray(fn, items, workers)
    count = min(workers or _cpus(), len(items))
    if count <= 1 or not _can_send(fn):
        return [fn(item) for item in items]
    return _run_processes(fn, items, count)


def _cpus() -> int:
    """The CPUs this process may run on (its affinity where the OS tells it)."""
    if hasattr(os, "sched_getaffinity"):
        return max(len(os.sched_getaffinity(0)), 1)
    return os.cpu_count() or 1


def _can_send(fn: Callable[..., Any]) -> bool:
    """Whether ``fn`` pickles (by name); if not, say it runs in this process."""
    try:
        pickle.dumps(fn)
    except (pickle.PicklingError, AttributeError, TypeError):
        warnings.warn(f"run_all: {getattr(fn, '__qualname__', fn)!r} cannot be sent to another process (a lambda or "
                      "a local function): the sweep runs in this process, one item after another", SpecroofWarning,
                      stacklevel=3)
        return False
    return True


def _ignore_interrupt() -> None:
    """A worker leaves Ctrl-C to the parent, which cancels the sweep (no traceback per worker)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _run_processes(fn: Callable[[Item], Result], items: list[Item], count: int) -> list[Result]:
    """A spawn-started process pool; an interruption (Ctrl-C) cancels what has not started."""
    chunk = max(1, len(items) // (4 * count))
    pool = ProcessPoolExecutor(max_workers=count, mp_context=get_context("spawn"), initializer=_ignore_interrupt)
    try:
        results = list(pool.map(fn, items, chunksize=chunk))
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
    return results


def _run_ray(fn: Callable[[Item], Result], items: list[Item], workers: int | None) -> list[Result]:
    try:
        import ray
    except ImportError:
        raise SpecroofError(f"--executor ray needs Ray: {RAY_INSTALL}") from None
    started = not ray.is_initialized()
    if started:
        ray.init(include_dashboard=False, log_to_driver=False)  # RAY_ADDRESS, when set, names the cluster
    try:
        task = ray.remote(fn)
        if workers is None:
            return list(ray.get([task.remote(item) for item in items]))
        return _ray_windowed(ray, task, items, workers)
    except ray.exceptions.RayTaskError as error:  # a user's error stays one line, without the remote traceback
        if isinstance(getattr(error, "cause", None), SpecroofError):
            raise error.cause from None
        raise
    finally:
        if started:
            ray.shutdown()


def _ray_windowed(ray: Any, task: Any, items: list[Item], workers: int) -> list[Any]:
    """At most ``workers`` tasks in flight; results gathered in the items' order."""
    refs: list[Any] = []
    pending: list[Any] = []
    for item in items:
        if len(pending) >= workers:
            _, pending = ray.wait(pending, num_returns=1)
        ref = task.remote(item)
        refs.append(ref)
        pending.append(ref)
    return list(ray.get(refs))
