"""Step costs priced once over a grid, looked up while a simulation runs.

A simulation asks for thousands of steps; pricing each through the operation lists would
dominate its run time. So every step kind is priced VECTORIZED up front, through the same
public pricing as :func:`specroof.latency` and :func:`specroof.speedup` (``speedup_of`` on a
:class:`~specroof.speculation.study.Study`, ``latency_for_setup``), never a copy of it:

- decode steps: one ``speedup_of`` call over batch 1..B x candidates (K + 1 for each K asked,
  1 for plain decoding) x context buckets gives the speculative step (drafting included) and
  the plain step at every point;
- prefill chunks: one ``latency_for_setup`` call over chunk sizes x context buckets (batch 1,
  the chunk's tokens verified at once with causal attention, as
  :func:`specroof.speculation.workload.prefill_ms`), plus, when speculating, the drafter's own
  forward over the chunk (EAGLE/MTP heads, draft models; its per-step host time left out: the
  target's step pays it once).

A lookup rounds the context UP to the next bucket (buckets 2^(1/8) apart, <= 10% more context)
and a chunk UP to the next priced size, so a looked-up step is priced at a grid point that
:func:`specroof.latency` returns exactly (the test compares them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from specroof.cost.grid import Grid
from specroof.cost.operation import HOST_STEP
from specroof.cost.step import StepLatency, latency_for_setup
from specroof.errors import SpecroofError
from specroof.speculation.speedup import speedup_of
from specroof.speculation.study import Study

BUCKETS_PER_OCTAVE = 8
"""Context and chunk buckets per doubling: a looked-up step's context is at most 2^(1/8) - 1 = 9%
(10% with the rounding to whole tokens) above the true one; below ``EXACT_BELOW`` every count is
priced."""
EXACT_BELOW = 64
HOST_OPS = (HOST_STEP.name,)
"""Operations of the engine's per-step host time: a drafter's prefill rides in the target's
step, which pays them once."""


def buckets(largest: int, smallest: int = 1) -> np.ndarray:
    """Integers from ``smallest`` to at least ``largest``, 2^(1/8) apart (every integer below 64)."""
    if largest < smallest:
        raise SpecroofError(f"step-cost buckets need largest >= {smallest}, got {largest}")
    octaves = np.log2(max(largest, 2) / smallest) + 1.0 / BUCKETS_PER_OCTAVE
    geometric = np.ceil(smallest * 2.0 ** (np.arange(0, octaves * BUCKETS_PER_OCTAVE + 1) / BUCKETS_PER_OCTAVE))
    values = np.unique(np.concatenate([np.arange(smallest, min(EXACT_BELOW, largest) + 1), geometric.astype(np.int64)]))
    top = int(np.searchsorted(values, largest))
    return values[: top + 1]


def bucket_index(values: np.ndarray, wanted: int | float) -> int:
    """Index of the first bucket >= ``wanted`` (the last bucket when none is)."""
    return min(int(np.searchsorted(values, wanted)), values.size - 1)


@dataclass
class StepCosts:
    """Priced steps of one configuration (times in ms).

    ``decode_ms[n]``: the step of ``n`` candidates per sequence (n = K + 1; n = 1 is plain
    decoding) over ``batches`` x ``contexts``; ``tau[n]``: tokens a step of n candidates yields
    per sequence (the acceptance model's, what ``speedup`` reports); ``prefill_ms`` /
    ``draft_prefill_ms``: a chunk of ``chunks`` tokens at each starting context."""

    study: Study
    batches: np.ndarray
    contexts: np.ndarray
    chunks: np.ndarray
    decode_ms: dict[int, np.ndarray]
    tau: dict[int, float]
    prefill_ms: np.ndarray
    draft_prefill_ms: np.ndarray
    eager_ms: dict[int, np.ndarray]
    caps: dict[int, int]  # n -> the most tokens one step yields (depth + 1: n for a chain, less for a tree)

    @property
    def candidates(self) -> tuple[int, ...]:
        return tuple(sorted(self.decode_ms))

    def decode_point(self, n: int, batch: int, context: float) -> tuple[int, int, int]:
        """The grid point (batch, candidates, context bucket) a decode step is priced at."""
        if batch > int(self.batches[-1]):
            raise SpecroofError(f"batch {batch} is beyond the priced {int(self.batches[-1])}")
        return batch, n, int(self.contexts[bucket_index(self.contexts, context)])

    def decode(self, n: int, batch: int, context: float, eager: bool = False) -> float:
        """One decode step of ``batch`` sequences of ``n`` candidates at mean ``context``
        (``eager``: launched without CUDA graphs)."""
        table = self.eager_ms if eager else self.decode_ms
        if n not in table:
            raise SpecroofError(f"the {'eager ' if eager else ''}step of {n} candidates was not priced")
        return float(table[n][batch - 1, bucket_index(self.contexts, context)])

    def prefill(self, tokens: int, context: float, speculative: bool) -> float:
        """A prefill of ``tokens`` (the step's chunks together) starting at mean ``context``;
        ``speculative``: the drafter prefills them too."""
        i, j = bucket_index(self.chunks, tokens), bucket_index(self.contexts, context)
        return float(self.prefill_ms[i, j] + (self.draft_prefill_ms[i, j] if speculative else 0.0))


def price_steps(study: Study, candidates: Sequence[int], max_batch: int, max_context: int,
                max_chunk: int, eager: Sequence[int] = ()) -> StepCosts:
    """Price every step a simulation of ``study`` can take: decode steps of each of
    ``candidates`` (1 added: plain decoding) up to ``max_batch`` sequences and ``max_context``
    tokens, prefill chunks up to ``max_chunk`` tokens; ``eager``: candidate counts whose decode
    step is also priced without CUDA graphs (a dynamic-K schedule's uncaptured counts)."""
    batches = np.arange(1, max_batch + 1)
    contexts = buckets(max_context)
    decode, tau, caps = _decode_tables(study, sorted({1, *(int(n) for n in candidates)}), batches, contexts)
    eager_ms: dict[int, np.ndarray] = {}
    if eager:
        graphless = replace(study, setup=replace(study.setup, profile=study.setup.profile.with_overrides(cuda_graph=False)))
        eager_ms, _, _ = _decode_tables(graphless, sorted({int(n) for n in eager}), batches, contexts)
    chunks = buckets(max_chunk)
    chunk_grid = Grid.of([1], chunks, contexts)
    target = latency_for_setup(study.setup, chunk_grid).latency_ms[0]
    drafted = max(decode)  # the drafter's passes at a candidate count the study drafts
    draft = _draft_prefill_ms(study, chunk_grid, drafted) if drafted > 1 else np.zeros(target.shape)
    return StepCosts(study, batches, contexts, chunks, decode, tau, target, draft, eager_ms, caps)


def _decode_tables(study: Study, ns: list[int], batches: np.ndarray, contexts: np.ndarray
                   ) -> tuple[dict[int, np.ndarray], dict[int, float], dict[int, int]]:
    """Decode-step times (batch x context), tau and the most tokens a step yields, per candidate
    count: one speedup_of call."""
    priced = speedup_of(study.with_grid(Grid.of(batches, [n for n in ns if n > 1] or [1], contexts)),
                        fit_warning=False)
    spec = [n for n in ns if n > 1]
    decode = {n: np.ascontiguousarray(priced.latency_ms[:, j, :]) for j, n in enumerate(spec)}
    tau = {n: float(priced.acceptance_length[0, j, 0]) for j, n in enumerate(spec)}
    shape = priced.bound.shape_max if priced.bound is not None else np.full(len(spec), np.inf)
    caps = {n: int(min(n, shape[j])) for j, n in enumerate(spec)}
    if 1 in ns:
        decode[1], tau[1], caps[1] = np.ascontiguousarray(priced.ar_latency_ms[:, 0, :]), 1.0, 1
    return decode, tau, caps


def _draft_prefill_ms(study: Study, grid: Grid, candidates: int) -> np.ndarray:
    """The drafters' forward over each chunk (each draft model once, found among the passes of a
    step of ``candidates``), host time left out."""
    total = np.zeros(grid.shape[1:])
    seen: list[str] = []
    for one in study.with_grid(Grid.of([1], [candidates], [grid.seq_len[0]])).passes()[1:]:
        name = one.setup.model.name
        if name in seen:
            continue
        seen.append(name)
        total = total + _without_host(latency_for_setup(one.setup, grid))
    return total


def _without_host(step: StepLatency) -> np.ndarray:
    host = sum((step.ops_ms[name] for name in HOST_OPS if name in step.ops_ms), np.zeros(step.shape))
    return (step.latency_ms - host)[0]
