"""Acceptance models: how many tokens one speculative step yields, ``tau(n)``.

``n`` counts the candidate tokens verified per sequence in one step, the root included (the
root is the base model's own next token, which is always right). So ``n = 1`` is plain
decoding and every model has ``tau(1) == 1``; verifying more candidates can never yield fewer
tokens, so ``tau`` is non-decreasing in ``n``.

A model assumes a drafting shape (a chain of n, or its own best tree); :meth:`AcceptanceModel.shaped_tau`
reads it over another (a tree of some depth and width), never above depth + 1 tokens
(:mod:`specroof.speculation.bounds`).

This module holds the common interface, the closed-form models (logarithmic fit, draft
chain) and measured curves. The tree models (Medusa heads, positional acceptance) live in
:mod:`specroof.speculation.trees`, and the ``KIND:ARGS`` syntax that builds any of them in
:mod:`specroof.speculation.acceptance_spec`.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from specroof.datafiles import csv_rows, read_text
from specroof.errors import SpecroofError


class AcceptanceModel(ABC):
    """Tokens per speculative step as a function of the candidate budget ``n``.

    Subclasses implement :meth:`_tau` on validated integer budgets; the base class does the
    checking once, so every model rejects non-integers, ``n < 1`` and budgets beyond
    ``max_candidates`` with the same messages.
    """

    max_candidates: int | None = None
    """Largest budget the model can answer for, or None when unbounded."""

    counts: str = "positions"
    """What ``n`` counts, which decides how the model reads a drafting shape it was not built
    for (:meth:`shaped_tau`): ``positions`` of one chain (tau(n) is the expected accepted
    prefix of n positions, each position's rate holding whatever width drafted it), or
    ``nodes`` of the tree its source verified (log:A, fitted over Medusa tree sizes)."""

    def tau(self, candidates: np.ndarray | Sequence[int] | int) -> np.ndarray:
        """Expected tokens per step for each budget; float array of the same shape."""
        n = as_candidates(candidates, self.max_candidates, self._limit_reason())
        result = np.asarray(self._tau(n), dtype=float)
        # A step cannot accept more tokens than it verifies: tau(n) <= n. A fitted formula
        # (log:A with a large A) can break this at small n; that is an error, not a number.
        over = n.size and np.any(result > n + 1e-9)
        if over:
            i = np.flatnonzero((result > n + 1e-9).ravel())[0]
            bad_n, bad_tau = int(n.ravel()[i]), float(result.ravel()[i])
            raise SpecroofError(f"{self.describe()} gives tau = {bad_tau:.3g} tokens at n = {bad_n}, more than the "
                                f"{bad_n} candidates verified; {self._overflow_hint()}")
        # tau(1) == 1 holds exactly, whatever rounding the formula does.
        return np.where(n == 1, 1.0, result)

    def shaped_tau(self, candidates: np.ndarray | Sequence[int] | int, depth: int | None = None,
                   width: int | None = None) -> np.ndarray:
        """Expected tokens per step when the n candidates are drafted at most ``depth`` deep
        (None: as the model assumes; ``width``, the branches per node, only matters to trees).

        A step accepts one path of the drafted tree, so it yields at most ``depth + 1`` tokens.
        A ``positions`` model answers its tau over the ``min(n, depth + 1)`` positions the
        path has (the tree's width already lives in each position's rate); a ``nodes`` model's
        tau(n) is capped at ``depth + 1``.
        """
        n = as_candidates(candidates, self.max_candidates, self._limit_reason())
        tau = self.tau(n)
        if depth is None:
            return tau
        positions = np.minimum(n, int(depth) + 1)
        if self.counts == "positions":
            return self.tau(positions)
        return np.minimum(tau, positions.astype(float))

    def shape_depth(self, candidates: np.ndarray) -> np.ndarray:
        """Depth of what the model assumes is drafted for each n: a chain of n - 1 tokens
        (tree models: the depth of their best n-node tree)."""
        return np.asarray(candidates, dtype=np.int64) - 1

    def _overflow_hint(self) -> str:
        """How to fix a model whose tau exceeds n (completes an error message)."""
        return "use a model whose acceptance length stays within the candidates"

    @abstractmethod
    def _tau(self, n: np.ndarray) -> np.ndarray:
        """tau on an integer array already checked to be within 1..max_candidates."""

    @abstractmethod
    def describe(self) -> str:
        """Short spec-like label, e.g. ``log:0.477``."""

    def tree(self, n: int) -> list[tuple[int, ...]] | None:
        """Rank paths of the n-node tree (root ``()`` first), or None if the model has no tree."""
        return None

    def _limit_reason(self) -> str:
        """Why budgets beyond ``max_candidates`` are refused (completes an error message)."""
        return f"{self.describe()} allows at most {self.max_candidates} candidates"

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.describe()}>"


def as_candidates(candidates: np.ndarray | Sequence[int] | int, max_candidates: int | None = None,
                  limit_reason: str = "") -> np.ndarray:
    """Validate budgets: integers >= 1 (and <= max_candidates); returns an int64 array."""
    raw = np.asarray(candidates)
    if raw.dtype == bool or not (np.issubdtype(raw.dtype, np.integer) or np.issubdtype(raw.dtype, np.floating)):
        raise SpecroofError(f"candidate counts must be integers >= 1, got {candidates!r}")
    if raw.size == 0:
        return raw.astype(np.int64)
    try:
        values = raw.astype(float)
    except OverflowError:
        raise SpecroofError(f"candidate counts must be integers >= 1, got {candidates!r}") from None
    if not np.all(np.isfinite(values)) or np.any(values != np.floor(values)) or values.min() < 1:
        bad = values[~np.isfinite(values) | (values != np.floor(values)) | (values < 1)].flat[0]
        raise SpecroofError(f"candidate counts must be integers >= 1 (n = 1 is plain decoding), got {bad:g}")
    n = raw.astype(np.int64)
    if max_candidates is not None and n.max() > max_candidates:
        raise SpecroofError(f"{limit_reason or f'at most {max_candidates} candidates are possible'}; "
                            f"got n={int(n.max())}")
    return n


class LogAcceptance(AcceptanceModel):
    """``tau = 1 + a ln n``: the fit Medusa's appendix G used (a = 0.477).

    A logarithm captures diminishing returns of wider trees without knowing the tree; it is
    a fit, so it grows without bound and should not be trusted far beyond the fitted range.
    """

    def __init__(self, a: float) -> None:
        a = _finite(a, "log acceptance coefficient A")
        if a < 0:
            raise SpecroofError(f"log:A needs A >= 0 (tau = 1 + A ln n must not fall), got {a:g}")
        self.a = a

    counts = "nodes"  # Medusa fitted tau against the size of its trees

    def _tau(self, n: np.ndarray) -> np.ndarray:
        return 1.0 + self.a * np.log(n)

    def _overflow_hint(self) -> str:
        # 1 + A ln n <= n for every n >= 2 exactly when A <= 1 / ln 2 (the bound is tightest at n = 2).
        return f"log:A stays within the candidates at every n only for A <= {1 / math.log(2):.4f}, or ask for larger n"

    def describe(self) -> str:
        return f"log:{self.a:g}"


class ChainAcceptance(AcceptanceModel):
    """A draft model proposes a chain of ``gamma = n - 1`` tokens, each accepted w.p. ``alpha``.

    The k-th draft token survives only if all before it did, so the expected yield is the
    geometric sum ``sum_{k=0}^{gamma} alpha^k = (1 - alpha^n) / (1 - alpha)``. It is evaluated
    as ``-expm1(n log1p(-d)) / d`` with ``d = 1 - alpha`` so it stays accurate as alpha -> 1,
    where the textbook form cancels catastrophically; alpha = 1 gives exactly ``n``.
    Independence is optimistic: real acceptance is over-dispersed (hard passages reject
    early), so prefer a measured curve when one exists.
    """

    def __init__(self, alpha: float) -> None:
        alpha = _finite(alpha, "chain acceptance rate ALPHA")
        if not 0.0 <= alpha <= 1.0:
            raise SpecroofError(f"chain:ALPHA needs a probability in [0, 1], got {alpha:g}")
        self.alpha = alpha

    def _tau(self, n: np.ndarray) -> np.ndarray:
        d = 1.0 - self.alpha
        if d == 0.0:
            return n.astype(float)
        if self.alpha == 0.0:
            return np.ones(n.shape)
        # log(alpha) accurately on both ends: log1p(-d) near 1 (d is exact there), log below.
        log_alpha = math.log1p(-d) if self.alpha >= 0.5 else math.log(self.alpha)
        return -np.expm1(n * log_alpha) / d

    def describe(self) -> str:
        return f"chain:{self.alpha:g}"


class CurveAcceptance(AcceptanceModel):
    """A measured ``tau(n)``: linear between measured points, exact at them.

    The point (1, 1) is implied (one candidate is plain decoding). Beyond the last point the
    model refuses to answer rather than extrapolate: acceptance curves flatten in ways no
    simple extrapolation knows.
    """

    def __init__(self, points: Sequence[tuple[float, float]] | np.ndarray, name: str | None = None) -> None:
        if not hasattr(points, "__len__") or isinstance(points, (str, bytes)):
            raise SpecroofError("curve points must be (candidates, acceptance_length) pairs")
        if len(points) == 0:
            raise SpecroofError("a curve needs at least one measured (candidates, acceptance_length) point")
        try:
            array = np.asarray(points, dtype=float)
        except (TypeError, ValueError, OverflowError):
            array = np.empty((0,))
        if array.ndim != 2 or array.shape[1] != 2:
            raise SpecroofError("curve points must be (candidates, acceptance_length) pairs")
        labels = [f"point ({c:g}, {t:g})" for c, t in array]
        self.candidates, self.acceptance = _check_curve(array[:, 0], array[:, 1], labels)
        self.name = name
        self.max_candidates = int(self.candidates[-1])

    @classmethod
    def from_csv(cls, path: str | Path) -> "CurveAcceptance":
        """Read ``candidates,acceptance_length`` rows ('#' comments allowed)."""
        path = Path(path)
        rows = _read_csv_rows(path, "acceptance curve")
        if not rows:
            raise SpecroofError(f"{path}: no data; expected a header 'candidates,acceptance_length' and rows")
        header_line, header = rows[0]
        columns = [c.strip().lower() for c in header]
        missing = [c for c in ("candidates", "acceptance_length") if c not in columns]
        if missing:
            raise SpecroofError(f"{path}:{header_line}: header lacks {', '.join(missing)}; "
                                "expected 'candidates,acceptance_length'")
        ci, ti = columns.index("candidates"), columns.index("acceptance_length")
        cands, taus, labels = [], [], []
        for line, row in rows[1:]:
            if len(row) < len(columns):
                raise SpecroofError(f"{path}:{line}: expected {len(columns)} values, got {len(row)}")
            cands.append(_number(row[ci], f"{path}:{line}", "candidates"))
            taus.append(_number(row[ti], f"{path}:{line}", "acceptance_length"))
            labels.append(f"{path}:{line}")
        if not cands:
            raise SpecroofError(f"{path}: header but no data rows; add lines like '16,2.3'")
        # Validate here, where line numbers are known; the constructor then re-checks cheaply.
        c, t = _check_curve(np.array(cands), np.array(taus), labels)
        return cls(np.column_stack([c, t]), name=str(path))

    def _tau(self, n: np.ndarray) -> np.ndarray:
        return np.interp(n, self.candidates, self.acceptance)

    def describe(self) -> str:
        return f"curve:{self.name}" if self.name else f"curve:{len(self.candidates)} points"

    def _limit_reason(self) -> str:
        return f"curve measured up to n={self.max_candidates}, refusing to extrapolate"


def _check_curve(cands: np.ndarray, taus: np.ndarray, labels: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Sort and validate measured points; add (1, 1). ``labels[i]`` names point i in errors."""
    for c, t, label in zip(cands, taus, labels):
        if not (math.isfinite(c) and math.isfinite(t)):
            raise SpecroofError(f"{label}: values must be finite numbers")
        if c < 1 or c != int(c):
            raise SpecroofError(f"{label}: candidates must be an integer >= 1, got {c:g}")
        if t < 1:
            raise SpecroofError(f"{label}: acceptance_length {t:g} is below 1 (a step always yields the root token)")
        if c == 1 and abs(t - 1) > 1e-9:
            raise SpecroofError(f"{label}: acceptance_length at 1 candidate must be 1 (plain decoding), got {t:g}")
        if t > c + 1e-9:
            raise SpecroofError(f"{label}: acceptance_length {t:g} exceeds candidates {c:g} "
                                "(a step cannot accept more tokens than it verifies)")
    seen: dict[int, str] = {}
    for c, label in zip(cands, labels):
        if int(c) in seen:
            raise SpecroofError(f"{label}: candidates {int(c)} appears twice (also {seen[int(c)]}); keep one")
        seen[int(c)] = label
    order = np.argsort(cands, kind="stable")
    cands, taus = cands[order], taus[order]
    ordered_labels = [labels[i] for i in order]
    for i in range(1, len(cands)):
        if taus[i] < taus[i - 1]:
            raise SpecroofError(f"{ordered_labels[i]}: acceptance_length falls from {taus[i - 1]:g} at "
                                f"n={int(cands[i - 1])} to {taus[i]:g} at n={int(cands[i])}; "
                                "more candidates cannot yield fewer tokens")
    if len(cands) == 0 or cands[0] != 1:
        cands, taus = np.concatenate([[1.0], cands]), np.concatenate([[1.0], taus])
    taus[0] = 1.0
    return cands, taus


def _read_csv_rows(path: Path, what: str) -> list[tuple[int, list[str]]]:
    """Non-blank, non-comment rows of a CSV file with their 1-based line numbers."""
    return csv_rows(read_text(path, f"{what} file {str(path)!r}"))


def _number(text: str, where: str, column: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise SpecroofError(f"{where}: {column} {text!r} is not a number") from None
    if not math.isfinite(value):
        raise SpecroofError(f"{where}: {column} must be finite, got {text!r}")
    return value


def _finite(value: float | str, what: str, example: str = "") -> float:
    """``float(value)``, or a SpecroofError naming ``what`` (and an ``example`` of valid input)."""
    hint = f"; e.g. {example}" if example else ""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise SpecroofError(f"{what}: {value!r} is not a number{hint}") from None
    if not math.isfinite(number):
        raise SpecroofError(f"{what} must be a finite number, got {value!r}{hint}")
    return number
