"""A load sweep: rates (or one closed-loop concurrency) x configurations, one table row each.

A configuration is speculation off (n = 1), a fixed K, or a per-batch schedule (dynamic K).
Every configuration's steps are priced once (:class:`~specroof.workload.serving.Serving`); the
simulations run through :func:`specroof.workload.executors.run_all`, so the executor (local
processes, Ray) is chosen there. A point's result depends on the point alone (its seed is the
sweep's), so the order of execution never changes a number.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from specroof.cost.grid import Grid
from specroof.errors import SpecroofError
from specroof.speculation.plan import PlanSearch, plan_of
from specroof.speculation.study import Study
from specroof.workload.arrivals import requests_from
from specroof.workload.executors import run_all
from specroof.workload.kschedule import KSchedule, from_plan
from specroof.workload.metrics import summarize
from specroof.workload.requests import RequestSet
from specroof.workload.serving import Serving

MAX_RATES = 200
"""Most rates one sweep takes (0.5:16:0.5 is 32)."""


def parse_rates(text: str) -> list[float]:
    """``2``, ``1,2,4`` or ``START:STOP:STEP`` (STOP included) -> request rates, each > 0."""
    try:
        if text.count(":") == 2:
            start, stop, step = (float(x) for x in text.split(":"))
            if not step > 0 or not np.isfinite((stop - start) / step):
                raise SpecroofError(f"--rate {text!r}: the step must be a positive number")
            if (stop - start) / step + 1 > MAX_RATES:
                raise SpecroofError(f"--rate {text!r}: more than {MAX_RATES} rates in one sweep")
            rates = list(np.round(np.arange(start, stop + step / 2, step), 9))
        else:
            rates = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise SpecroofError(f"--rate {text!r}: give RATE, RATE,RATE or START:STOP:STEP in requests per second") from None
    if not rates or any(not np.isfinite(r) or r <= 0 for r in rates):
        raise SpecroofError(f"--rate {text!r}: request rates must be positive numbers of requests per second")
    if len(rates) > MAX_RATES:
        raise SpecroofError(f"--rate {text!r}: {len(rates)} rates; at most {MAX_RATES} per sweep")
    return [float(r) for r in rates]


@dataclass(frozen=True)
class LoadSpec:
    """How requests come: ``arrivals`` (``poisson``, or a kind ``requests_from`` knows) at each rate,
    or a closed loop of ``concurrency``; fixed lengths unless a trace gives them."""

    arrivals: str
    count: int
    prompt_tokens: int
    output_tokens: int
    seed: int = 0
    max_requests: int | None = None
    concurrency: int | None = None

    def requests(self, rate: float | None) -> RequestSet:
        """The request set at ``rate`` (a closed loop's: all present from the start; a trace's:
        its own arrivals, ``rate`` None)."""
        if self.concurrency is not None:
            count = self.count if self.max_requests is None else min(self.count, self.max_requests)
            return RequestSet(np.zeros(count), np.full(count, self.prompt_tokens), np.full(count, self.output_tokens),
                              f"closed loop, concurrency {self.concurrency}")
        kind, _, rest = self.arrivals.partition(":")
        if kind == "trace":
            spec = self.arrivals
        elif rate is None:
            raise SpecroofError(f"arrivals {self.arrivals!r} need a --rate")
        else:
            spec = f"{kind}:{rate:g}" + (f":{rest}" if rest else "")
        return requests_from(spec, count=self.count, prompt_tokens=self.prompt_tokens,
                             output_tokens=self.output_tokens, seed=self.seed, max_requests=self.max_requests)


def plan_schedule(study: Study, max_batch: int, seq_len: int) -> KSchedule:
    """The plan's per-batch candidates at ``seq_len`` over batches 1, 2, 4 ... ``max_batch``."""
    batches = [b for b in (2 ** np.arange(0, 12)) if b <= max_batch] or [1]
    if study.acceptance is None:
        raise SpecroofError("--schedule plan needs an acceptance model")
    search = PlanSearch.of(study.acceptance, study.drafting)
    planned = plan_of(study.with_grid(Grid.of(batches, [1], [seq_len])), search)
    return from_plan(planned)


def _point(serving: Serving, load: LoadSpec, slo: dict[str, float] | None, spread: float,
           item: tuple[float | None, KSchedule]) -> dict[str, Any]:
    """One simulation's row (top-level, so a process pool can pickle it)."""
    rate, schedule = item
    result = serving.run(load.requests(rate), schedule, spread=spread, seed=load.seed, closed_loop=load.concurrency)
    ks = ",".join(str(n - 1) for n in sorted(result.candidates_used)) or "-"
    head = {"rate_rps": rate, "concurrency": load.concurrency, "config": schedule.label, "k_used": ks}
    return {**head, **summarize(result, slo).record()}


def sweep(serving: Serving, load: LoadSpec, schedules: Sequence[KSchedule], rates: Sequence[float | None], *,
          slo: dict[str, float] | None = None, spread: float = 0.0, executor: str | None = None,
          progress: Callable[[int], None] | None = None, chunk: int = 8,
          workers: int | None = None) -> list[dict[str, Any]]:
    """Every (rate, configuration) simulated, rows in rate then configuration order
    (``executor`` None: :func:`run_all`'s default; ``workers`` 1: in this process, as the explorer's
    server runs it)."""
    items = [(rate, schedule) for rate in rates for schedule in schedules]
    run = functools.partial(_point, serving, load, slo, spread)
    if progress is None:
        chunk = len(items)  # one call: a pool starts once
    rows: list[dict[str, Any]] = []
    for start in range(0, len(items), chunk):  # in chunks, so a progress bar moves
        part = items[start:start + chunk]
        rows.extend(run_all(run, part, workers=workers) if executor is None else
                    run_all(run, part, executor=executor, workers=workers))
        if progress is not None:
            progress(len(part))
    return rows
