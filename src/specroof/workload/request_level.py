"""Request-level throughput: whole requests served as a batch, expected values.

:func:`specroof.speedup` compares one step with one step; a serving benchmark measures whole
requests. A batch of b requests (the SpecDecode-Bench protocol: one prompt replicated b times,
arXiv 2601.11580; or b rows of a file of prompt/output lengths) is served as:

1. the prefill of every prompt, in chunks of the engine's token budget (the drafter prefills
   too when speculating); each request's first token comes when its last chunk is done;
2. decode steps: each running request gains tau(n) tokens per step on average, its context
   growing by as much; a request leaves the batch once its output is done, so the batch
   shrinks and later steps are priced at the smaller batch.

Every step is priced by :class:`~specroof.workload.stepcosts.StepCosts` (the same pricing as
``latency``/``speedup``). This is the expected-value timeline (tau per step, no draw); the
simulator (:mod:`specroof.workload.simulator`) in a closed loop at concurrency b reproduces
it. :mod:`specroof.speculation.workload` keeps the closed form on means (one step priced at
the mean context) that the end-to-end validation uses.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from specroof.errors import SpecroofError
from specroof.workload.stepcosts import StepCosts


@dataclass(frozen=True)
class RequestLevel:
    """One batch of requests served to completion (times in seconds)."""

    batch: int
    candidates: int
    acceptance_length: float
    output_tokens: int
    makespan_s: float
    mean_ttft_s: float
    mean_tpot_s: float
    mean_e2e_s: float

    @property
    def tokens_per_s(self) -> float:
        """Generated tokens per second over the batch's whole run, prefill included."""
        return self.output_tokens / self.makespan_s


def prefill_timeline(costs: StepCosts, prompts: np.ndarray, budget: int, speculative: bool) -> tuple[float, np.ndarray]:
    """Time of prefilling ``prompts`` in order, ``budget`` tokens a step, and when each prompt's
    last chunk ends (seconds)."""
    done_s = np.zeros(prompts.size)
    left = prompts.astype(np.int64).copy()
    now, index = 0.0, 0
    while index < prompts.size:
        room, tokens, weighted, finishing = budget, 0, 0.0, []
        while room > 0 and index < prompts.size:
            take = int(min(left[index], room))
            weighted += take * float(prompts[index] - left[index])
            tokens, room, left[index] = tokens + take, room - take, left[index] - take
            if left[index] == 0:
                finishing.append(index)
                index += 1
        now += costs.prefill(tokens, weighted / tokens, speculative) / 1e3
        done_s[finishing] = now
    return now, done_s


def decode_timeline(costs: StepCosts, n: int, prompts: np.ndarray, outputs: np.ndarray,
                    start_s: float) -> np.ndarray:
    """When each request's last token comes, decoding from ``start_s`` with tau(n) tokens per
    step per request (the first token came with the prefill)."""
    tau = costs.tau[n]
    generated = np.ones(prompts.size)
    finish = np.full(prompts.size, start_s)
    active = outputs > 1
    now = start_s
    while np.any(active):
        context = float(np.mean(prompts[active] + generated[active]))
        now += costs.decode(n, int(np.count_nonzero(active)), context) / 1e3
        generated[active] += tau
        ended = active & (generated >= outputs)
        finish[ended] = now
        active &= ~ended
    return finish


def request_level(costs: StepCosts, prompts: np.ndarray, outputs: np.ndarray, n: int, budget: int) -> RequestLevel:
    """One batch of ``prompts``/``outputs`` (one request each) served with ``n`` candidates."""
    prompts, outputs = np.asarray(prompts, dtype=np.int64), np.asarray(outputs, dtype=np.int64)
    if prompts.size == 0 or prompts.shape != outputs.shape or np.any(prompts < 1) or np.any(outputs < 1):
        raise SpecroofError("a request-level batch needs prompt and output lengths >= 1, one of each per request")
    if n not in costs.tau:
        raise SpecroofError(f"candidates {n} were not priced")
    prefill_s, first_s = prefill_timeline(costs, prompts, budget, speculative=n > 1)
    finish = decode_timeline(costs, n, prompts, outputs, prefill_s)
    with np.errstate(invalid="ignore"):
        tpot = np.where(outputs > 1, (finish - first_s) / np.maximum(outputs - 1, 1), np.nan)
    return RequestLevel(int(prompts.size), n, costs.tau[n], int(outputs.sum()), float(finish.max()),
                        float(first_s.mean()), float(np.nanmean(tpot)) if np.any(outputs > 1) else float("nan"),
                        float(finish.mean()))


def served_in_batches(costs: StepCosts, prompts: np.ndarray, outputs: np.ndarray, batch: int, n: int,
                      budget: int) -> RequestLevel:
    """A file of requests served ``batch`` at a time, in order (the last batch may be smaller):
    throughput over all of them, request means over all of them."""
    parts = [request_level(costs, prompts[i:i + batch], outputs[i:i + batch], n, budget)
             for i in range(0, len(prompts), batch)]
    sizes = np.array([p.batch for p in parts], dtype=float)
    makespan = sum(p.makespan_s for p in parts)

    def mean(field: str) -> float:
        return float(np.average([getattr(p, field) for p in parts], weights=sizes))

    return RequestLevel(batch, n, costs.tau[n], sum(p.output_tokens for p in parts), makespan,
                        mean("mean_ttft_s"), mean("mean_tpot_s"), mean("mean_e2e_s"))
