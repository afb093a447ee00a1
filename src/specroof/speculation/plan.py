"""``plan()``: the best number of candidate tokens for every batch size and context length.

For each (batch, seq_len) cell the plan searches **every** candidate count ``n`` from 1 (plain
decoding: do not speculate) up to a limit, in one vectorized :func:`specroof.speedup` call
over the whole (batch x 1..limit x seq_len) grid, and keeps the ``n`` with the highest speedup
(``objective="speedup"``) or tokens per second (``objective="throughput"``, ``b x tau /
T_spec``) among those that fit (:mod:`specroof.cost.capacity`: memory per device at the
plan's ``tp``, and the context within the model's maximum). Ties go to the smaller ``n``, and
speculation is only recommended where its speedup exceeds ``1 + min_gain`` (default 1 %). A
cell where even ``n = 1`` does not fit gets ``best_candidates = None`` and a ``warning:``
names the first such cell.

At a fixed (batch, seq_len) throughput is speedup times ``b / T_plain``, a constant, so the
two objectives pick the same ``n``; they differ only in what is reported.

:func:`batch_ranges` turns a plan into a batch-size schedule
``[[start_batch, end_batch, k], ...]`` (``k = n - 1`` speculative tokens, 0 = off), contiguous
and monotone in batch, switching k only for a gain above ``min_gain``
(:mod:`specroof.speculation.schedule` defines it), the format of vLLM's
``num_speculative_tokens_per_batch_size``; :mod:`specroof.speculation.exports` writes it in
each engine's options (see ``docs/plan.md``).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from specroof.bands.apply import step_domain
from specroof.cost.capacity import DoesNotFitWarning, FitCheck, check_fit
from specroof.cost.grid import Grid, grid_axis
from specroof.cost.memory import RUNTIME_RESERVE_BYTES
from specroof.errors import SpecroofError, suggest
from specroof.hardware.accelerator import Accelerator
from specroof.models.architecture import ModelConfig
from specroof.speculation.acceptance import AcceptanceModel
from specroof.speculation.default_acceptance import model_name_of, resolve_acceptance
from specroof.speculation.drafting import Drafting, TreeShape
from specroof.speculation.plan_result import PlanResult
from specroof.speculation.schedule import DEFAULT_MIN_GAIN, check_min_gain, schedule
from specroof.speculation.speedup import SpeedupResult, speedup_of
from specroof.speculation.study import Study

OBJECTIVES = ("speedup", "throughput")
DEFAULT_MAX_CANDIDATES = 64
#: Most candidate counts a plan searches, and most grid points it prices (checked before work).
MAX_PLAN_CANDIDATES = 16_384
MAX_PLAN_POINTS = 4_000_000
CHUNK_POINTS = 2_000_000
"""Grid points priced per speedup() call; larger plans are split along the batch axis."""


@dataclass(frozen=True)
class PlanSearch:
    """What a plan searches and keeps, validated once (see :func:`plan` for each part).

    ``limit``: n searched, 1..limit; ``priced``: the candidate counts priced (1..top, or those
    an explicit tree verifies), ``top = max(limit, current)``.
    """

    objective: str
    limit: int
    priced: np.ndarray
    current: int | None
    reserve_bytes: float
    min_gain: float

    @property
    def top(self) -> int:
        return max(self.limit, self.current or 1)

    @classmethod
    def of(cls, acceptance: AcceptanceModel, drafting: Drafting, objective: str = "speedup",
           max_candidates: int = DEFAULT_MAX_CANDIDATES, current: int | None = None,
           reserve_bytes: float = RUNTIME_RESERVE_BYTES, min_gain: float = DEFAULT_MIN_GAIN) -> "PlanSearch":
        """Check every part against the acceptance model and the drafting shape."""
        _check_objective(objective)
        limit_asked = _positive_int(max_candidates, "max candidates", MAX_PLAN_CANDIDATES)
        min_gain = check_min_gain(min_gain)
        limit = limit_asked if acceptance.max_candidates is None else min(limit_asked, int(acceptance.max_candidates))
        if current is not None:
            current = _positive_int(current, "current candidates", MAX_PLAN_CANDIDATES)
            if acceptance.max_candidates is not None and current > acceptance.max_candidates:
                raise SpecroofError(f"current n={current} is beyond what {acceptance.describe()} allows "
                                    f"({acceptance.max_candidates} candidates)")
        if (isinstance(reserve_bytes, bool) or not isinstance(reserve_bytes, (int, float, np.integer, np.floating))
                or not 0 <= reserve_bytes < float("inf")):
            raise SpecroofError(f"memory reserve must be a non-negative number of bytes, got {reserve_bytes!r}")
        priced = _tree_candidates(drafting, np.arange(1, max(limit, current or 1) + 1))  # a tree verifies some n
        if current is not None and current not in priced:
            raise SpecroofError(f"current n={current} cannot verify the tree {drafting.tree.describe()}; "
                                f"it verifies n in {', '.join(map(str, priced[1:]))} (or 1: no speculation)")
        return cls(objective, limit, priced, current, float(reserve_bytes), min_gain)


def plan(model: str | Path | ModelConfig, hardware: str | Path | Accelerator,
         batch: int | Iterable[int] = (1, 2, 4, 8, 16, 32, 64), seq_len: int | Iterable[int] = 1024,
         acceptance: str | AcceptanceModel | None = None, method: str | None = None,
         draft_model: str | Path | ModelConfig | None = None, heads: int | None = None,
         drafting: Drafting | None = None, tree: str | TreeShape | None = None, draft_vocab: int | None = None,
         proposal_rate: float | None = None,
         max_candidates: int = DEFAULT_MAX_CANDIDATES, objective: str = "speedup", current: int | None = None,
         max_depth: int | None = None, reserve_bytes: float = RUNTIME_RESERVE_BYTES,
         min_gain: float = DEFAULT_MIN_GAIN, progress: Callable[[int], None] | None = None, **options: Any) -> PlanResult:
    """Best candidate count per (batch, seq_len), searching every n in 1..limit.

    ``limit = min(max_candidates, acceptance.max_candidates)``. ``current``: a candidate
    count in use today (root included: a chain of k draft tokens is n = k + 1); the plan then
    also reports the speedup at it. ``progress(cells)`` is called after each chunk of the
    grid with the number of (batch, seq_len) cells done. ``min_gain``: speculation is
    recommended only where it beats plain decoding by more than this fraction (and the
    schedule switches k only for more, see :mod:`specroof.speculation.schedule`). Other options as for
    :func:`specroof.speedup` (dtype, weight_dtype, kv_dtype, attention, tp, profile, ...).
    """
    if progress is not None and not callable(progress):
        raise SpecroofError(f"progress must be a function of the cells done, got {type(progress).__name__}")
    _check_objective(objective)
    _positive_int(max_candidates, "max candidates", MAX_PLAN_CANDIDATES)
    check_min_gain(min_gain)
    drafting = Drafting.resolve(drafting, method, draft_model, heads, tree=tree, draft_vocab=draft_vocab,
                                proposal_rate=proposal_rate)
    acc = resolve_acceptance(acceptance, drafting.method, max_depth, model_name_of(model))  # None: the default
    search = PlanSearch.of(acc, drafting, objective, max_candidates, current, reserve_bytes, min_gain)
    b_axis = grid_axis(batch, "batch")
    s_axis = grid_axis(seq_len, "seq_len")
    points = b_axis.size * search.top * s_axis.size
    if points > MAX_PLAN_POINTS:
        raise SpecroofError(f"a plan of {b_axis.size} batch sizes x {search.top} candidate counts x "
                            f"{s_axis.size} contexts prices {points:,} points, more than {MAX_PLAN_POINTS:,}; "
                            "give fewer batch sizes or contexts, or a smaller --max-candidates")
    study = Study.on(model, hardware, Grid(b_axis, search.priced, s_axis), None, None, drafting, acc, **options)
    return plan_of(study, search, progress)


def plan_of(study: Study, search: PlanSearch, progress: Callable[[int], None] | None = None) -> PlanResult:
    """:func:`plan` of a built :class:`~specroof.speculation.study.Study`: its setup, drafting,
    acceptance, batch and seq_len axes, with the candidate counts ``search`` prices."""
    if study.acceptance is None:
        raise SpecroofError("a plan needs the study's acceptance model (Study.of resolves the method's default)")
    grid = Grid(study.grid.batch, search.priced, study.grid.seq_len)
    first, grids, checks = _sweep(study.with_grid(grid), search.top, search.reserve_bytes, progress)
    picked = _pick(grids, search)
    any_fit = picked["any_fit"]
    setup, accel = study.setup, study.setup.hardware
    result = PlanResult(
        model=setup.model.name, hardware=accel.name, hardware_display=accel.display_name, drafting=study.drafting,
        acceptance=study.acceptance, objective=search.objective, limit=search.limit, batch=grid.batch,
        seq_len=grid.seq_len, candidates=np.arange(1, search.limit + 1), best_candidates=picked["best_n"],
        speedup=picked["speed"], acceptance_length=picked["tau"], throughput=picked["tput"],
        latency_ms=picked["spec_ms"], ar_latency_ms=grids["plain_ms"][:, 0, :], footprint_gb=picked["memory"] / 1e9,
        capacity_gb=accel.memory_bytes / 1e9, fits=any_fit, unconstrained_candidates=picked["free_n"],
        sweep_speedup=grids["speed"][:, :search.limit, :], fits_grid=grids["fit"][:, :search.limit, :],
        caveat=first.step.profile.caveats, setup=first.setup, min_gain=search.min_gain,
        domain=step_domain(first.step, study.drafting.method),
        model_acceptance_length=picked["claimed"], shape_max_tokens=picked["shape_max"],
    )
    _warn_nothing_fits(checks, any_fit)
    if search.current is not None:
        result.current = search.current
        result.speedup_at_current = grids["speed"][:, search.current - 1, :]
        result.current_fits = grids["fit"][:, search.current - 1, :]
    return result


def _pick(grids: dict[str, np.ndarray], search: PlanSearch) -> dict[str, np.ndarray]:
    """The best n of each (batch, seq_len) cell among those searched that fit and gain enough,
    and every grid's value at it (NaN where nothing fits); also the best n ignoring memory."""
    searched = slice(0, search.limit)
    speed = grids["speed"][:, searched, :]
    score = speed if search.objective == "speedup" else grids["tput"][:, searched, :]
    fits_searched = grids["fit"][:, searched, :]
    free_best = np.argmax(score, axis=1)  # (B, S), ignoring memory
    gains = speed > 1.0 + search.min_gain  # speculate only for more than the minimum gain
    gains[:, 0, :] = True
    best = np.argmax(np.where(fits_searched & gains, score, -np.inf), axis=1)
    any_fit = fits_searched.any(axis=1)

    def at_best(grid: np.ndarray) -> np.ndarray:
        return np.take_along_axis(grid[:, searched, :], best[:, None, :], axis=1)[:, 0, :]

    picked = {key: np.where(any_fit, at_best(grids[key]), np.nan)
              for key in ("speed", "tput", "spec_ms", "tau", "claimed", "shape_max")}
    picked.update(any_fit=any_fit, best_n=np.where(any_fit, best + 1, 0).astype(np.int64),
                  free_n=np.where(any_fit, free_best + 1, 0).astype(np.int64),
                  memory=np.where(any_fit, at_best(grids["total"]), grids["total"][:, 0, :]))
    return picked


def _sweep(study: Study, top: int, reserve_bytes: float, progress: Callable[[int], None] | None
           ) -> tuple[SpeedupResult, dict[str, np.ndarray], list[FitCheck]]:
    """Speedup and fit of every (batch, priced n, seq_len) of the study's grid, in chunks along
    the batch axis, as (B, top, S) arrays over n = 1..top (an n the drafting cannot verify:
    speedup 0, no fit). The study is resolved once; each chunk only prices."""
    b_axis, priced, s_axis = study.grid.batch, study.grid.candidates, study.grid.seq_len
    step = max(1, CHUNK_POINTS // (priced.size * s_axis.size))
    parts: list[tuple[SpeedupResult, FitCheck]] = []
    for start in range(0, b_axis.size, step):
        chunk = Grid(b_axis[start:start + step], priced, s_axis)
        result = speedup_of(replace(study, grid=chunk), fit_warning=False)
        parts.append((result, check_fit(result.step.passes, chunk, reserve_bytes)))
        if progress is not None:
            progress(chunk.batch.size * s_axis.size)
    columns = priced - 1  # where each priced n sits on the 1..top axis; the others cannot run

    def gather(arrays: list[np.ndarray], fill: float | bool) -> np.ndarray:
        joined = np.concatenate(arrays)
        out = np.full((joined.shape[0], top, joined.shape[2]), fill, dtype=joined.dtype)
        out[:, columns, :] = joined
        return out

    grids = {
        "speed": gather([r.speedup for r, _ in parts], 0.0), "tput": gather([r.throughput for r, _ in parts], 0.0),
        "spec_ms": gather([r.latency_ms for r, _ in parts], np.nan),
        "plain_ms": gather([r.ar_latency_ms for r, _ in parts], np.nan),
        "tau": gather([r.acceptance_length for r, _ in parts], np.nan),
        "total": gather([f.memory.total_bytes for _, f in parts], np.inf),
        "fit": gather([np.asarray(f.fits) for _, f in parts], False),
        **{field: gather([_per_n(r, field) for r, _ in parts], np.nan) for field in ("claimed", "shape_max")},
    }
    return parts[0][0], grids, [f for _, f in parts]


def _check_objective(objective: str) -> None:
    if objective not in OBJECTIVES:
        raise SpecroofError(f"unknown objective {objective!r}{suggest(str(objective), OBJECTIVES)}; "
                            f"valid: {', '.join(OBJECTIVES)}")


def _warn_nothing_fits(checks: list[FitCheck], any_fit: np.ndarray) -> None:
    """A warning naming the first (batch, seq_len) cell where not even plain decoding fits."""
    if any_fit.all():
        return
    cells = int((~any_fit).sum())
    for fit in checks:
        plain = fit.fits[:, 0, :]
        if not plain.all():
            i, k = (int(x) for x in np.argwhere(~plain)[0])
            detail = fit.describe((i, 0, k))
            warnings.warn(DoesNotFitWarning(f"plan: {detail}; nothing is recommended for {cells:,} of "
                                            f"{any_fit.size:,} (batch, seq_len) cells"), stacklevel=4)
            return


def _per_n(result: SpeedupResult, field: str) -> np.ndarray:
    """A per-candidates field of the result's acceptance bound, as tokens per step over its grid."""
    per_n = result.drafting.tokens_per_step(getattr(result.bound, field))
    return np.broadcast_to(per_n[None, :, None], result.acceptance_length.shape)


def _tree_candidates(drafting: Drafting, n_axis: np.ndarray) -> np.ndarray:
    """The candidate counts a drafting choice can verify: all of them, or for an explicit tree
    plain decoding and the n whose first level fits (its ``tokens`` only, when given)."""
    tree = drafting.tree
    if tree is None:
        return n_axis
    ok = (n_axis == 1) | ((n_axis - 1 >= tree.topk) & ((n_axis == tree.tokens) if tree.tokens else True))
    if ok.sum() < 2:
        raise SpecroofError(f"no candidate count up to {int(n_axis[-1])} can verify the tree {tree.describe()}; "
                            "raise --max-candidates")
    return n_axis[ok]


def _positive_int(value: Any, what: str, most: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise SpecroofError(f"{what} must be an integer >= 1, got {value!r}")
    if most is not None and value > most:
        raise SpecroofError(f"{what} {value:,} is more than the {most:,} a plan searches; "
                            "no engine verifies that many tokens per step, give a smaller value")
    return int(value)


# --------------------------------------------------------------------------- export


def batch_ranges(plan_result: PlanResult, seq_len: int | None = None,
                 min_gain: float | None = None) -> list[list[int]]:
    """``[[start_batch, end_batch, k], ...]``: the plan's batch-size schedule.

    Derived from the plan's sweep as :mod:`specroof.speculation.schedule` defines it: ranges
    contiguous from batch 1 to the last planned batch size that fits, k non-increasing in
    batch, k > 0 only where it gains more than ``min_gain`` (default: the plan's) over plain
    decoding, and a switch of k only where it gains more than ``min_gain`` over keeping the
    previous k. With several planned contexts each batch size is scored by its geometric-mean
    speedup over them; ``seq_len`` names one of them to use alone. SpecroofError when nothing fits.
    """
    p = plan_result
    speed, fits = p.sweep_speedup, p.fits_grid
    if seq_len is not None:
        matches = np.flatnonzero(p.seq_len == seq_len)
        if matches.size == 0:
            raise SpecroofError(f"seq_len {seq_len} is not in the plan ({', '.join(map(str, p.seq_len))})")
        speed, fits = speed[:, :, matches[:1]], fits[:, :, matches[:1]]
    return schedule(p.batch, speed, fits, p.min_gain if min_gain is None else min_gain)
