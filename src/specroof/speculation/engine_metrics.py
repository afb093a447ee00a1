"""Acceptance read from the engines' own metrics: vLLM's Prometheus counters, SGLang's accept length.

Two sources, each turned into a measured tau(n) curve (a :class:`CurveAcceptance` that names
where it came from and never extrapolates):

- ``vllm-metrics:FILE[:MODEL]``: vLLM's Prometheus counters (:mod:`specroof.speculation.engines.vllm_metrics`);
- ``sglang:FILE[:N]``: SGLang's accept length (:mod:`specroof.speculation.engines.sglang_metrics`).

Each engine names its reader in the engines registry (``Engine.metrics``), which the acceptance
specs read. This module holds what they share: the curve type, the assumption they make, and
the ``FILE[:EXTRA]`` argument split.

Acceptance is assumed independent of batch size and of context length: the engines' counters
average over whatever batches and contexts they served, and the curve is used at every batch
size and sequence length of the study.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from specroof.errors import SpecroofError
from specroof.speculation.acceptance import CurveAcceptance

ASSUMPTION = ("acceptance is assumed independent of batch size and context length "
              "(the engine's counters average over the batches and contexts it served)")
"""The one assumption every engine-metrics curve makes, said in headers, docs and docstrings."""


class EngineAcceptance(CurveAcceptance):
    """A tau(n) curve measured by an inference engine, with what was read to build it.

    It is a :class:`CurveAcceptance` (exact at the measured points, linear between them,
    refusing budgets beyond the last) whose :meth:`describe` names the source spec. ``counters``
    holds the raw numbers read, ``position_rates`` the per-position acceptance probabilities
    when the engine reported them, ``notes`` how the numbers were combined.

    Acceptance is assumed independent of batch size and of context length (see ``ASSUMPTION``).
    """

    def __init__(self, points: Sequence[tuple[float, float]], spec: str, engine: str,
                 counters: dict[str, Any], position_rates: Sequence[float] | None = None,
                 position_counts: Sequence[float] | None = None, notes: Sequence[str] = (),
                 counts: str = "positions") -> None:
        super().__init__(points, name=spec)
        self.spec = spec
        self.engine = engine
        if counts not in ("positions", "nodes"):
            raise ValueError(f"counts must be 'positions' (of a chain) or 'nodes' (of a tree), got {counts!r}")
        self.counts = counts  # what the engine's n counts: said by its reader, which knows its counters
        self.counters = dict(counters)
        self.position_rates = None if position_rates is None else [float(p) for p in position_rates]
        self.position_counts = None if position_counts is None else [float(c) for c in position_counts]
        self.notes = list(notes)
        self.assumption = ASSUMPTION

    def describe(self) -> str:
        return self.spec

    def _limit_reason(self) -> str:
        k = self.max_candidates - 1
        return (f"{self.spec} measured tau only up to n={self.max_candidates} ({k} draft token"
                f"{'s' if k != 1 else ''} per step); refusing to extrapolate")

    def rows(self) -> list[dict[str, Any]]:
        """One record per measured budget n: the draft position it adds, its rate, and tau(n).

        With per-position counters every n from 1 to k + 1 is measured; otherwise only n = 1
        and n = k + 1 (the points in between are the curve's linear interpolation and are not
        listed).
        """
        rows: list[dict[str, Any]] = []
        for n, tau in zip(self.candidates, self.acceptance):
            n = int(n)
            row: dict[str, Any] = {"candidates": n, "draft_position": None, "accepted": None,
                                   "acceptance_rate": None, "acceptance_length": float(tau)}
            if n > 1 and self.position_rates is not None:
                row["draft_position"] = n - 2
                row["acceptance_rate"] = self.position_rates[n - 2]
                if self.position_counts is not None:
                    count = self.position_counts[n - 2]
                    row["accepted"] = int(count) if count.is_integer() else count
            rows.append(row)
        return rows


def split_file_arg(kind: str, args: str, extra: str) -> tuple[Path, str | None]:
    """``FILE`` or ``FILE:EXTRA``: a path that exists whole wins, else the shortest existing prefix.

    Any existing path that is not a directory is taken (a FIFO or a device too), so that the
    reader says what it is rather than "not found".
    """
    if _exists_not_dir(args):
        return Path(args), None
    for i, ch in enumerate(args):  # the first ':' after an existing file (a model name may hold ':')
        if ch == ":" and _exists_not_dir(args[:i]):
            return Path(args[:i]), args[i + 1:].strip() or None
    file_part, sep, _ = args.rpartition(":")
    for candidate in (args, file_part if sep else ""):
        if candidate and _is_dir(candidate):
            raise SpecroofError(f"{kind}:{args}: {candidate!r} is a directory; give a file ({kind}:FILE[:{extra}])")
    tried = f"{args!r}" + (f" (nor {file_part!r})" if sep and file_part else "")
    raise SpecroofError(f"{kind} file {tried} not found; give {kind}:FILE[:{extra}] with an existing file")


def _exists_not_dir(path: str) -> bool:
    try:
        p = Path(path)
        return p.exists() and not p.is_dir()
    except (OSError, ValueError):  # a name too long for the file system, a NUL byte
        return False


def _is_dir(path: str) -> bool:
    try:
        return Path(path).is_dir()
    except (OSError, ValueError):
        return False
