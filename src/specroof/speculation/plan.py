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

import math
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from specroof.bands.apply import step_domain
from specroof.cost.capacity import DoesNotFitWarning, FitCheck, check_fit
from specroof.cost.grid import Grid, grid_axis
from specroof.cost.memory import RUNTIME_RESERVE_BYTES
from specroof.cost.setup import StepSetup
from specroof.errors import SpecroofError, suggest
from specroof.hardware.accelerator import Accelerator, load_hardware
from specroof.models.architecture import ModelConfig, load_model
from specroof.speculation.acceptance import AcceptanceModel
from specroof.speculation.bounds import ACCEPTANCE_MODEL, DRAFTING_SHAPE
from specroof.speculation.default_acceptance import acceptance_source, resolve_acceptance
from specroof.speculation.drafting import Drafting, TreeShape
from specroof.speculation.schedule import DEFAULT_MIN_GAIN, check_min_gain, schedule
from specroof.speculation.speedup import SpeedupResult, speedup

OBJECTIVES = ("speedup", "throughput")
DEFAULT_MAX_CANDIDATES = 64
#: Most candidate counts a plan searches, and most grid points it prices (checked before work).
MAX_PLAN_CANDIDATES = 16_384
MAX_PLAN_POINTS = 4_000_000
CHUNK_POINTS = 2_000_000
"""Grid points priced per speedup() call; larger plans are split along the batch axis."""


@dataclass
class PlanResult:
    """The best candidate count per (batch, seq_len) cell, and the sweep it came from.

    Arrays of shape ``(len(batch), len(seq_len))``; where nothing fits, ``best_candidates``
    is 0 and the float fields are NaN (``to_records`` turns them into None).
    ``sweep`` holds the full speedup grid over ``candidates`` (1..limit) and ``fits_grid``
    the memory check at every point of it.
    """

    model: str
    hardware: str
    hardware_display: str
    drafting: Drafting
    acceptance: AcceptanceModel
    objective: str
    limit: int
    batch: np.ndarray
    seq_len: np.ndarray
    candidates: np.ndarray
    best_candidates: np.ndarray
    speedup: np.ndarray
    acceptance_length: np.ndarray
    throughput: np.ndarray
    latency_ms: np.ndarray
    ar_latency_ms: np.ndarray
    memory_gb: np.ndarray
    capacity_gb: float
    fits: np.ndarray
    unconstrained_candidates: np.ndarray
    sweep_speedup: np.ndarray
    fits_grid: np.ndarray
    current: int | None = None
    speedup_at_current: np.ndarray | None = None
    current_fits: np.ndarray | None = None
    caveat: str = ""  # the implementation profile's, to print beside the plan
    model_acceptance_length: np.ndarray | None = None  # the acceptance model's own tau at best n
    shape_max_tokens: np.ndarray | None = None  # the most the drafting shape yields at best n
    setup: StepSetup | None = None  # the target's resolved settings (tp, dtypes): the exports read them
    min_gain: float = DEFAULT_MIN_GAIN
    domain: Any = None  # specroof.bands.Domain: where the error bands are looked up

    def __repr__(self) -> str:
        """A few lines (the arrays hold the whole sweep; use to_records() to see every cell)."""
        cells = ", ".join(f"b={int(b)}: n={int(n)}" for b, n in zip(self.batch[:8], self.best_candidates[:8, 0]))
        more = ", ..." if self.batch.size > 8 else ""
        return (f"PlanResult({self.model} on {self.hardware}, {self.method}, acceptance "
                f"{self.acceptance.describe()}, objective {self.objective}, n in 1..{self.limit}, "
                f"{self.batch.size} batch sizes x {self.seq_len.size} seq_len; best n at seq_len "
                f"{int(self.seq_len[0])}: {cells}{more})")

    @property
    def method(self) -> str:
        return self.drafting.method

    @property
    def draft_model(self) -> str | None:
        """The draft model's name (method ``draft``)."""
        return self.drafting.draft_model.name if self.drafting.draft_model is not None else None

    @property
    def heads(self) -> int | None:
        """The number of Medusa heads (method ``heads``)."""
        return self.drafting.heads

    @property
    def speculative_tokens(self) -> np.ndarray:
        """k = n - 1 draft tokens per step (0: do not speculate; -1 where nothing fits)."""
        return self.best_candidates - 1

    def to_records(self) -> list[dict[str, Any]]:
        """One dict per (batch, seq_len) cell; None where nothing fits."""
        records = []
        source = acceptance_source(self.acceptance)
        bands = iter(self.band_records())
        for i, b in enumerate(self.batch):
            for k, s in enumerate(self.seq_len):
                n = int(self.best_candidates[i, k])
                ok = n > 0
                record: dict[str, Any] = {
                    "batch": int(b), "seq_len": int(s),
                    "best_candidates": n if ok else None,
                    "speculative_tokens": n - 1 if ok else None,
                    "speedup": _num(self.speedup[i, k]) if ok else None,
                    "acceptance_length": _num(self.acceptance_length[i, k]) if ok else None,
                    **self._bound_fields(i, k, ok),
                    "throughput": _num(self.throughput[i, k]) if ok else None,
                    "latency_ms": _num(self.latency_ms[i, k]) if ok else None,
                    "ar_latency_ms": _num(self.ar_latency_ms[i, k]),
                    "footprint_gb": _num(self.memory_gb[i, k]),
                    "fits": bool(self.fits[i, k]),
                    **next(bands),
                }
                if self.current is not None:
                    record["speedup_at_current"] = _num(self.speedup_at_current[i, k])
                    record["current_fits"] = bool(self.current_fits[i, k])
                record["acceptance_source"] = source
                record["note"] = self._note(i, k)
                records.append(record)
        return records

    def _bound_fields(self, i: int, k: int, ok: bool) -> dict[str, Any]:
        """acceptance_bound, model_acceptance_length, shape_max_tokens of a cell (bounds.py)."""
        if not ok or self.model_acceptance_length is None or self.shape_max_tokens is None:
            return {"acceptance_bound": None, "model_acceptance_length": None, "shape_max_tokens": None}
        claimed, tau = float(self.model_acceptance_length[i, k]), float(self.acceptance_length[i, k])
        return {"acceptance_bound": DRAFTING_SHAPE if tau < claimed - 1e-9 else ACCEPTANCE_MODEL,
                "model_acceptance_length": _num(claimed), "shape_max_tokens": _num(self.shape_max_tokens[i, k])}

    def band_records(self) -> list[dict[str, Any]]:
        """Per cell: error bands of speedup and latency_ms, ``validated``, ``validation_note``."""
        from specroof.bands import band_arrays, record_fields

        if self.domain is None:
            return [{} for _ in range(self.batch.size * self.seq_len.size)]
        return record_fields(band_arrays(self.domain, self.batch, {"speedup": self.speedup, "latency": self.latency_ms},
                                         "speedup", self.best_candidates == 1))

    def _note(self, i: int, k: int) -> str:
        notes = []
        n, free = int(self.best_candidates[i, k]), int(self.unconstrained_candidates[i, k])
        if n == 0:
            notes.append(f"does not fit even without speculation: {self.memory_gb[i, k]:.1f} GB needed per device "
                         f"of {self.capacity_gb:.1f} GB, or a context beyond the model's maximum (the warning says "
                         "which)")
        elif free != n and free > 1:
            notes.append(f"memory-limited: n={free} would be faster but does not fit")
        if self.current is not None and not self.current_fits[i, k]:
            notes.append(f"current n={self.current} does not fit in memory")
        return "; ".join(notes)


def _num(value: Any) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


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
    if objective not in OBJECTIVES:
        raise SpecroofError(f"unknown objective {objective!r}{suggest(str(objective), OBJECTIVES)}; "
                            f"valid: {', '.join(OBJECTIVES)}")
    limit_asked = _positive_int(max_candidates, "max candidates", MAX_PLAN_CANDIDATES)
    min_gain = check_min_gain(min_gain)
    drafting = Drafting.resolve(drafting, method, draft_model, heads, tree=tree, draft_vocab=draft_vocab,
                                proposal_rate=proposal_rate)
    acc = resolve_acceptance(acceptance, drafting.method, max_depth)  # None: the method's shipped default
    limit = limit_asked if acc.max_candidates is None else min(limit_asked, int(acc.max_candidates))
    if current is not None:
        current = _positive_int(current, "current candidates", MAX_PLAN_CANDIDATES)
        if acc.max_candidates is not None and current > acc.max_candidates:
            raise SpecroofError(f"current n={current} is beyond what {acc.describe()} allows "
                                f"({acc.max_candidates} candidates)")
    if (isinstance(reserve_bytes, bool) or not isinstance(reserve_bytes, (int, float, np.integer, np.floating))
            or not 0 <= reserve_bytes < float("inf")):
        raise SpecroofError(f"memory reserve must be a non-negative number of bytes, got {reserve_bytes!r}")
    b_axis = grid_axis(batch, "batch")
    s_axis = grid_axis(seq_len, "seq_len")
    points = b_axis.size * max(limit, current or 1) * s_axis.size
    if points > MAX_PLAN_POINTS:
        raise SpecroofError(f"a plan of {b_axis.size} batch sizes x {max(limit, current or 1)} candidate counts x "
                            f"{s_axis.size} contexts prices {points:,} points, more than {MAX_PLAN_POINTS:,}; "
                            "give fewer batch sizes or contexts, or a smaller --max-candidates")
    model_cfg = load_model(model)
    accel = load_hardware(hardware)
    top = max(limit, current or 1)
    n_axis = np.arange(1, top + 1)
    priced = _tree_candidates(drafting, n_axis)  # an explicit tree verifies only some n
    if current is not None and current not in priced:
        raise SpecroofError(f"current n={current} cannot verify the tree {drafting.tree.describe()}; "
                            f"it verifies n in {', '.join(map(str, priced[1:]))} (or 1: no speculation)")
    spec_kwargs = dict(acceptance=acc, drafting=drafting, fit_warning=False, **options)

    first, grids, checks = _sweep(model_cfg, accel, b_axis, priced, s_axis, top, spec_kwargs, float(reserve_bytes),
                                  progress)
    speed, tput, spec_ms, tau, total, fit = (grids[k] for k in ("speed", "tput", "spec_ms", "tau", "total", "fit"))
    plain_ms = grids["plain_ms"][:, :1, :]
    claimed, most = (grids[k] for k in ("claimed", "shape_max"))

    searched = slice(0, limit)
    score = (speed if objective == "speedup" else tput)[:, searched, :]
    fits_searched = fit[:, searched, :]
    free_best = np.argmax(score, axis=1)  # (B, S), ignoring memory
    gains = speed[:, searched, :] > 1.0 + min_gain  # speculate only for more than the minimum gain
    gains[:, 0, :] = True
    masked = np.where(fits_searched & gains, score, -np.inf)
    best = np.argmax(masked, axis=1)
    any_fit = fits_searched.any(axis=1)
    best_n = np.where(any_fit, best + 1, 0)

    def pick(grid: np.ndarray) -> np.ndarray:
        values = np.take_along_axis(grid[:, searched, :], best[:, None, :], axis=1)[:, 0, :]
        return np.where(any_fit, values, np.nan)

    memory_at = np.where(any_fit, np.take_along_axis(total[:, searched, :], best[:, None, :], axis=1)[:, 0, :],
                         total[:, 0, :])
    result = PlanResult(
        model=model_cfg.name, hardware=accel.name, hardware_display=accel.display_name, drafting=drafting,
        acceptance=acc, objective=objective, limit=limit, batch=b_axis, seq_len=s_axis,
        candidates=n_axis[searched], best_candidates=best_n.astype(np.int64), speedup=pick(speed),
        acceptance_length=pick(tau), throughput=pick(tput), latency_ms=pick(spec_ms), ar_latency_ms=plain_ms[:, 0, :],
        memory_gb=memory_at / 1e9, capacity_gb=accel.memory_bytes / 1e9, fits=any_fit,
        unconstrained_candidates=np.where(any_fit, free_best + 1, 0).astype(np.int64),
        sweep_speedup=speed[:, searched, :], fits_grid=fits_searched,
        caveat=first.step.profile.caveat, setup=first.setup, min_gain=min_gain,
        domain=step_domain(first.step, drafting.method),
        model_acceptance_length=pick(claimed), shape_max_tokens=pick(most),
    )
    _warn_nothing_fits(checks, any_fit)
    if current is not None:
        result.current = current
        result.speedup_at_current = speed[:, current - 1, :]
        result.current_fits = fit[:, current - 1, :]
    return result


def _sweep(model: ModelConfig, accel: Accelerator, b_axis: np.ndarray, priced: np.ndarray, s_axis: np.ndarray,
           top: int, spec_kwargs: dict[str, Any], reserve_bytes: float, progress: Callable[[int], None] | None
           ) -> tuple[SpeedupResult, dict[str, np.ndarray], list[FitCheck]]:
    """Speedup and fit of every (batch, priced n, seq_len), in chunks along the batch axis, as
    (B, top, S) arrays over n = 1..top (an n the drafting cannot verify: speedup 0, no fit)."""
    step = max(1, CHUNK_POINTS // (priced.size * s_axis.size))
    parts: list[tuple[SpeedupResult, FitCheck]] = []
    for start in range(0, b_axis.size, step):
        chunk = b_axis[start:start + step]
        result = speedup(model, accel, chunk, priced, s_axis, **spec_kwargs)
        parts.append((result, check_fit(result.step.passes, Grid(chunk, priced, s_axis), reserve_bytes)))
        if progress is not None:
            progress(chunk.size * s_axis.size)
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
                                            f"{any_fit.size:,} (batch, seq_len) cells"), stacklevel=3)
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
