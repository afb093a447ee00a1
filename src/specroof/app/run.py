"""Option values -> results: the one path from a command's settings to its answer.

``run_speedup``, ``run_plan``, ``run_latency``, ``run_explain`` and ``run_ops`` take the
option values of the matching command (as click passes them: every option present, None when
not given; :mod:`specroof.app.parameters` declares them) and return the result object. The
commands (:mod:`specroof.cli`) print it, the explorer (:mod:`specroof.web`) serves it as JSON,
so both answer alike. ``max_points`` caps the grid (the explorer's limit).
"""

from __future__ import annotations

import sys
from typing import Any

import click

from specroof.app.parameters import DEFAULT_CANDIDATES
from specroof.app.parsing import parse_int_list, positive_flag
from specroof.app.settings import (
    DRAFTING_KEYS,
    collect_step_options,
    parse_grid,
    resolve_settings,
)
from specroof.cost.step import latency
from specroof.errors import SpecroofError
from specroof.scenarios import load_scenario
from specroof.speculation.breakdown import ops
from specroof.speculation.default_acceptance import default_acceptance, model_name_of
from specroof.speculation.explain import explain
from specroof.speculation.plan import plan
from specroof.speculation.speedup import speedup

PROGRESS_CELLS = 20
"""A plan of more (batch, seq_len) cells than this shows a progress bar on a terminal."""
PLAN_BATCH = [1, 2, 4, 8, 16, 32, 64]
"""plan's batch sizes when neither --batch nor a scenario gives them."""


def check_grid_size(grid: dict[str, list[int]], max_points: int | None) -> None:
    """SpecroofError when batch x candidates x seq_len exceeds ``max_points`` (None: no cap)."""
    points = len(grid["batch"]) * len(grid["candidates"]) * len(grid["seq_len"])
    if max_points is not None and points > max_points:
        raise SpecroofError(f"the grid has {points:,} points (batch x candidates x seq_len), more than the "
                            f"{max_points:,} allowed here; use fewer values (e.g. a step: 1:1000:10)")


def run_speedup(values: dict[str, Any], scenario: str | None, max_points: int | None = None
                ) -> tuple[Any, str | None, Any]:
    """(SpeedupResult, scenario name, scenario reference CSV) for speedup's option values."""
    settings = resolve_settings(values, scenario, "speedup")
    grid = parse_grid(values, {"candidates": DEFAULT_CANDIDATES, **settings.grid})
    check_grid_size(grid, max_points)
    result = speedup(settings.model, settings.hardware, grid["batch"], grid["candidates"], grid["seq_len"],
                     **settings.speculation(), **settings.step)
    return result, settings.scenario, settings.reference


def run_latency(values: dict[str, Any], max_points: int | None = None) -> Any:
    """StepLatency for latency's option values."""
    if not values.get("model") or not values.get("hardware"):
        raise SpecroofError("latency needs --model and --hardware (see `specroof models`, `specroof hardware`)")
    grid = parse_grid(values)
    check_grid_size(grid, max_points)
    return latency(values["model"], values["hardware"], grid["batch"], grid["candidates"], grid["seq_len"],
                   **collect_step_options(values))


def run_plan(values: dict[str, Any], scenario: str | None, max_candidates: int = 64, objective: str = "speedup",
             current: int | None = None, reserve_gb: float | None = None, max_points: int | None = None,
             show_progress: bool = False, min_gain: float | None = None) -> tuple[Any, str | None, Any]:
    """(PlanResult, scenario name, implementation profile) for plan's option values.

    ``max_points`` caps batch x candidates searched x seq_len.
    """
    positive_flag(max_candidates, "--max-candidates")
    positive_flag(current, "--current")
    if reserve_gb is not None and not (reserve_gb >= 0 and reserve_gb != float("inf")):
        raise SpecroofError(f"--reserve-gb must be a non-negative number, got {reserve_gb}")
    settings = resolve_settings(values, scenario, "plan")
    batch = parse_int_list(values["batch"], "batch") if values.get("batch") else settings.grid.get("batch", PLAN_BATCH)
    seq_len = (parse_int_list(values["seq_len"], "seq-len") if values.get("seq_len")
               else settings.grid.get("seq_len", [1024]))
    points = len(batch) * len(seq_len) * max(max_candidates, current or 1)
    if max_points is not None and points > max_points:
        raise SpecroofError(f"the plan searches {points:,} points (batch x 1..max candidates x seq_len), more "
                            f"than the {max_points:,} allowed here; use fewer values")
    kwargs: dict[str, Any] = {**settings.speculation(), **settings.step, "max_candidates": max_candidates,
                              "objective": objective, "current": current}
    if reserve_gb is not None:
        kwargs["reserve_bytes"] = reserve_gb * 1e9
    if min_gain is not None:
        kwargs["min_gain"] = min_gain
    result = _planned(settings.model, settings.hardware, batch, seq_len, kwargs, show_progress)
    return result, settings.scenario, result.setup.profile


def _planned(model: str, hardware: str, batch: list[int], seq_len: list[int], kwargs: dict[str, Any],
             show_progress: bool) -> Any:
    """plan(...), with a progress bar on a terminal for a large plan when asked."""
    cells = len(batch) * len(seq_len)
    if not (show_progress and cells > PROGRESS_CELLS and sys.stderr.isatty()):
        return plan(model, hardware, batch, seq_len, **kwargs)
    with click.progressbar(length=cells, label="planning", file=sys.stderr) as bar:
        return plan(model, hardware, batch, seq_len, progress=bar.update, **kwargs)


def run_explain(values: dict[str, Any], scenario: str | None, batch: int, candidates: int, seq_len: int
                ) -> tuple[Any, str]:
    """(Explanation, note on an assumed acceptance or '') for explain's option values."""
    for value, flag in ((batch, "--batch"), (candidates, "--candidates"), (seq_len, "--seq-len")):
        positive_flag(value, flag)
    settings = resolve_settings(values, scenario, "explain")
    result = explain(settings.model, settings.hardware, batch, candidates, seq_len, **settings.speculation(),
                     **settings.step)
    return result, acceptance_note(values, scenario, settings.drafting.method, settings.model)


def acceptance_note(values: dict[str, Any], scenario: str | None, method: str = "none", model: Any = None) -> str:
    """'' when the acceptance was chosen (flag or scenario), else what was assumed and why it matters."""
    if values.get("acceptance"):
        return ""
    if scenario is not None:
        if load_scenario(scenario).settings.get("acceptance"):
            return ""
    default = default_acceptance(method, model_name_of(model))
    exact = default.row.catalog and "WEAK match" not in default.row.label
    return default.assumption + ("; measured on this model, not on your workload: pass your own" if exact
                                 else "; not a measurement of this model: pass your own")


def run_ops(values: dict[str, Any], batch: int, candidates: int, seq_len: int, acceptance: str | None = None) -> Any:
    """StepOperations for ops' option values."""
    if not values.get("model") or not values.get("hardware"):
        raise SpecroofError("ops needs --model and --hardware (see `specroof models`, `specroof hardware`)")
    drafting = {k: values.get(k) for k in DRAFTING_KEYS}
    return ops(values["model"], values["hardware"], batch, candidates, seq_len, acceptance=acceptance,
                   **drafting, **collect_step_options(values))


def run_point_ops(values: dict[str, Any], scenario: str | None, batch: int, candidates: int, seq_len: int) -> Any:
    """The operations of one speculative step under speedup's option values (scenario included)."""
    settings = resolve_settings(values, scenario, "speedup")
    return ops(settings.model, settings.hardware, batch, candidates, seq_len, drafting=settings.drafting,
               **settings.step)
