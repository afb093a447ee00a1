"""Error bands from residuals: the statistics, shared by ``tools/make_error_bands.py`` and its test.

A *residual* is the signed relative error of one held-out prediction, ``predicted / measured
- 1``, tagged with the domain it was measured in (:data:`KEYS`). A *band* is an interval
``[q_low, q_high]`` of residuals that a new prediction's residual falls in with a stated
probability. With ``n`` exchangeable residuals, the interval from the ``j``-th smallest to the
``j``-th largest contains a new one with probability ``(n + 1 - 2j) / (n + 1)`` (split
conformal prediction; no distribution assumed), so:

- ``n >= 9``: ``j = floor(0.1 (n + 1))``, the largest ``j`` whose coverage is still at least
  :data:`TARGET_COVERAGE` (80%);
- ``4 <= n < 9``: too few for a signed 80% interval, so the conservative symmetric interval
  ``+-max |r|`` (coverage ``n / (n + 1)``, 80% to 89%);
- ``n < 4``: no band of its own; the domain falls back to a coarser one (:data:`FALLBACK`).

The band is then widened, never narrowed, to contain 0, so the prediction itself is always
inside its own band. A predicted value ``p`` then means the measured one lies in
``[p / (1 + q_high), p / (1 + q_low)]``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

TARGET_COVERAGE = 0.80
MIN_RESIDUALS = 4
"""Fewest residuals a domain needs for a band of its own (symmetric rule: coverage 4/5)."""
SIGNED_RULE_MIN = 9
"""Fewest residuals for the signed quantile rule at 80%: j = floor(0.1 x 10) = 1."""

KEYS = ("profile", "method", "family", "gpu", "tp", "batch")
"""A domain: engine or implementation profile, drafting method, architecture family, catalog
GPU, tensor parallelism, batch range (:data:`BATCH_RANGES`)."""

FALLBACK = ((), ("batch",), ("batch", "tp"), ("batch", "tp", "family"), ("batch", "tp", "family", "method"),
            ("batch", "tp", "family", "method", "gpu"), KEYS)
"""Keys made wildcards ('*') at each fallback level: level 0 is the exact domain; a record that
matches only partially takes the first level that has a band. Batch is dropped first (the
cost model's regime changes with it least surprisingly), the profile last (a profile's
kernels are what most errors come from); level 6 pools every held-out residual."""

BATCH_RANGES = ((1, 1), (2, 8), (9, 32), (33, 128), (129, None))
"""Batch ranges of a domain: batch 1 (weights stream, latency-bound), small, medium, the
range where GEMMs turn compute-bound, and beyond every validation's largest batch (128)."""

ANY = "*"


def batch_range(batch: int) -> str:
    """The label of the batch range holding ``batch`` (``"1"``, ``"2-8"``, ..., ``"129+"``)."""
    for lo, hi in BATCH_RANGES:
        if batch >= lo and (hi is None or batch <= hi):
            return _label(lo, hi)
    raise ValueError(f"batch must be >= 1, got {batch}")


def _label(lo: int, hi: int | None) -> str:
    return f"{lo}+" if hi is None else (str(lo) if lo == hi else f"{lo}-{hi}")


BATCH_LABELS = tuple(_label(lo, hi) for lo, hi in BATCH_RANGES)
BATCH_STARTS = np.array([lo for lo, _ in BATCH_RANGES])


@dataclass(frozen=True)
class Residual:
    """One held-out (or, where ``held_out`` is false, in-sample) prediction's signed relative error."""

    quantity: str  # "speedup" or "latency"
    evidence: str  # "step" (a whole step or speedup) or "kernel" (one kernel's time)
    held_out: bool
    source: str  # the validation it comes from (one unit of leave-one-validation-out)
    profile: str
    method: str
    family: str
    gpu: str
    tp: int
    batch: int
    value: float  # predicted / measured - 1

    def key(self, wild: Iterable[str] = ()) -> tuple[str, ...]:
        wild = set(wild)
        raw = {"profile": self.profile, "method": self.method, "family": self.family, "gpu": self.gpu,
               "tp": str(self.tp), "batch": batch_range(self.batch)}
        return tuple(ANY if k in wild else raw[k] for k in KEYS)


@dataclass(frozen=True)
class Band:
    """The band of one domain at one fallback level."""

    quantity: str
    key: tuple[str, ...]
    level: int
    n: int
    q_low: float
    q_high: float
    coverage: float
    rule: str
    held_out: bool
    evidence: str
    sources: str


def interval(values: Sequence[float]) -> tuple[float, float, float, str] | None:
    """(q_low, q_high, coverage, rule) of residuals ``values``; None if fewer than MIN_RESIDUALS."""
    r = np.sort(np.asarray(values, dtype=float))
    n = r.size
    if n < MIN_RESIDUALS:
        return None
    if n < SIGNED_RULE_MIN:
        h = float(np.max(np.abs(r)))
        return -h, h, n / (n + 1), "symmetric max |r|"
    j = math.floor((1 - TARGET_COVERAGE) / 2 * (n + 1) + 1e-9)
    lo, hi = float(r[j - 1]), float(r[n - j])
    return min(lo, 0.0), max(hi, 0.0), (n + 1 - 2 * j) / (n + 1), f"order statistics {j} and {n + 1 - j} of {n}"


def bands(residuals: Sequence[Residual]) -> list[Band]:
    """Every band of every fallback level, per quantity.

    In-sample residuals (``held_out`` false) make bands only at levels that keep their
    profile: they describe that profile alone and never narrow a pooled band.
    """
    groups: dict[tuple[str, int, tuple[str, ...]], list[Residual]] = {}
    for r in residuals:
        for level, wild in enumerate(FALLBACK):
            if not r.held_out and "profile" in wild:
                continue
            groups.setdefault((r.quantity, level, r.key(wild)), []).append(r)
    out = []
    for (quantity, level, key), members in sorted(groups.items()):
        if len({m.held_out for m in members}) > 1:  # a profile with both kinds: keep the held-out ones
            members = [m for m in members if m.held_out]
        got = interval([m.value for m in members])
        if got is None:
            continue
        lo, hi, coverage, rule = got
        out.append(Band(quantity, key, level, len(members), lo, hi, coverage, rule, members[0].held_out,
                        "+".join(sorted({m.evidence for m in members})),
                        _sources(members)))
    return out


def _sources(members: Sequence[Residual]) -> str:
    """``calibration (3 validations); e2e (8 validations)``: the validations behind a band."""
    units: dict[str, set[str]] = {}
    for m in members:
        units.setdefault(m.source.split(":")[0], set()).add(m.source)
    return "; ".join(f"{family} ({len(names)} validation{'s' if len(names) > 1 else ''})"
                     for family, names in sorted(units.items()))
