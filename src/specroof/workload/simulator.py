"""A discrete-event simulation of one engine instance serving arriving requests.

The simulator only decides what is in each step; :class:`~specroof.workload.stepcosts.StepCosts`
prices it (the same operation lists as :func:`specroof.latency`). One event is one engine step:

1. requests that have arrived join the waiting queue (FCFS);
2. the decoding sequences (prefill done) are scheduled first, each taking n = K + 1 tokens of
   the budget, n from the schedule at that batch size; the KV cache must hold every running
   sequence's context plus the n lookahead slots of each decoding one, else the latest admitted
   sequence is preempted (recompute: its cache is dropped and its prompt and generated tokens
   are prefilled again when it is re-admitted, at the head of the queue, as vLLM does);
3. the rest of the budget takes prefill chunks: sequences mid-prefill first, then waiting
   requests while the sequence cap and the KV cache allow (an engine without mixed steps runs
   prefill on its own step, ahead of decoding);
4. the step's time: the decode step (b, n, mean context) plus the prefill chunks' marginal
   time, prefill(c) - prefill(1) (the step reads the weights and pays its host time once); a
   step that is all prefill costs prefill(c); under a dynamic-K schedule an engine that
   captures CUDA graphs for one K (the schedule's largest) runs the other counts' steps eagerly;
5. each decoding sequence gains 1 + min(K, G) tokens (its per-request acceptance draw), a
   sequence whose prefill ends gains its first token; a sequence done leaves the batch (in a
   closed loop a new request arrives at once).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from specroof.errors import SpecroofError
from specroof.workload.draws import AcceptanceDraws
from specroof.workload.kschedule import KSchedule
from specroof.workload.requests import RequestSet
from specroof.workload.scheduler import SchedulerRules
from specroof.workload.stepcosts import StepCosts


@dataclass
class StepRecord:
    """One simulated step: when it started, its time, and what it held."""

    start_s: float
    time_ms: float
    decode_batch: int
    candidates: int
    decode_context: float
    prefill_tokens: int
    prefill_context: float


@dataclass
class SimulationResult:
    """Per-request times (seconds) and the steps taken."""

    arrival_s: np.ndarray
    first_token_s: np.ndarray
    finish_s: np.ndarray
    output_tokens: np.ndarray
    itl_s: np.ndarray  # every gap between two emissions of one request (prefill steps it waited through included)
    steps: int
    preemptions: int
    candidates_used: dict[int, int]  # n -> decode steps that used it
    records: list[StepRecord] | None = None


class _Engine:
    """The simulation state: one instance of the engine, its queue and its running batch."""

    def __init__(self, requests: RequestSet, costs: StepCosts, rules: SchedulerRules, schedule: KSchedule,
                 draws: AcceptanceDraws, kv_tokens: int, closed_loop: int | None) -> None:
        self.arrival = requests.arrival_s.copy()
        self.prompt, self.output = requests.prompt_tokens, requests.output_tokens
        count = requests.count
        self.target = self.prompt.copy()  # tokens to prefill before decoding (prompt; + generated after preemption)
        self.cached = np.zeros(count, dtype=np.int64)
        self.generated = np.zeros(count, dtype=np.int64)
        self.first = np.full(count, np.nan)
        self.last = np.full(count, np.nan)  # when each request last emitted tokens
        self.finish = np.full(count, np.nan)
        self.costs, self.rules, self.schedule, self.draws = costs, rules, schedule, draws
        self.kv_tokens, self.closed_loop = kv_tokens, closed_loop
        self.waiting: deque[int] = deque()
        self.running: list[int] = []
        self.next_arrival, self.done, self.now = 0, 0, 0.0
        self.preemptions, self.itl = 0, [np.zeros(0)]
        self.used: dict[int, int] = {}
        if closed_loop is not None:  # the first `concurrency` requests start together, the rest on completions
            self.arrival[:] = np.inf
            self.arrival[:closed_loop] = 0.0

    def arrive(self) -> None:
        while self.next_arrival < self.arrival.size and self.arrival[self.next_arrival] <= self.now:
            self.waiting.append(self.next_arrival)
            self.next_arrival += 1

    def rows(self) -> np.ndarray:
        return np.fromiter(self.running, dtype=np.int64, count=len(self.running))

    def decoding(self) -> np.ndarray:
        rows = self.rows()
        return rows[self.cached[rows] >= self.target[rows]]

    def kv_used(self) -> int:
        return int(self.cached[self.running].sum()) if self.running else 0

    def preempt_for(self, n: int) -> np.ndarray:
        """The decoding sequences of this step after preempting until their lookahead fits."""
        decode = self.decoding()
        while decode.size and self.kv_used() + n * decode.size > self.kv_tokens:
            victim = self.running.pop()
            self.preemptions += 1
            self.target[victim] = self.prompt[victim] + self.generated[victim]
            self.cached[victim] = 0
            self.waiting.appendleft(victim)
            decode = self.decoding()
        return decode

    def plan_prefill(self, budget: int, admit: bool = True) -> list[tuple[int, int]]:
        """(request, chunk) pairs filling ``budget`` tokens: mid-prefill first, then admissions, as
        vLLM's scheduler admits (vllm/v1/core/sched/scheduler.py): none in a step that preempted
        (``admit`` False: it schedules waiting requests only ``if not preempted_reqs``), and the
        head of the queue only if its whole chunk, min(tokens left, budget), fits the free cache
        (``allocate_slots`` fails, admission stops). Without these, a victim was re-admitted with a
        sliver of cache and preempted again, step after step, and throughput fell past capacity."""
        chunks: list[tuple[int, int]] = []
        free = self.kv_tokens - self.kv_used()
        rows = self.rows()
        for r in rows[self.cached[rows] < self.target[rows]]:  # mid-prefill, in admission order
            if budget <= 0 or free <= 0:
                return chunks
            take = min(int(self.target[r] - self.cached[r]), budget, free)
            chunks.append((int(r), take))
            budget, free = budget - take, free - take
        while admit and budget > 0 and self.waiting and len(self.running) < self.rules.max_sequences:
            take = min(int(self.target[self.waiting[0]]), budget)  # the chunk the budget allows, not cut to
            if take > free:  # the free cache: vLLM admits a request only if that chunk's blocks fit
                break
            r = self.waiting.popleft()
            self.running.append(r)
            chunks.append((r, take))
            budget, free = budget - take, free - take
        return chunks

    def compose(self) -> tuple[np.ndarray, int, list[tuple[int, int]]]:
        """What the next step holds: decoding sequences, their candidates, prefill chunks."""
        decode = self.decoding()
        if not self.rules.mixed_prefill and (self.waiting or decode.size < len(self.running)):
            chunks = self.plan_prefill(self.rules.max_batched_tokens)
            if chunks:
                return decode[:0], 1, chunks
        before = self.preemptions
        decode = self.preempt_for(self.schedule.candidates_at(max(decode.size, 1)))
        n = self.schedule.candidates_at(max(decode.size, 1))
        decode = decode[: min(self.rules.max_batched_tokens // n, int(self.costs.batches[-1]))]
        budget = self.rules.max_batched_tokens - n * decode.size
        admit = self.preemptions == before
        chunks = self.plan_prefill(budget, admit) if self.rules.mixed_prefill or not decode.size else []
        return decode, n, chunks

    def price(self, decode: np.ndarray, n: int, chunks: list[tuple[int, int]]) -> StepRecord:
        decode_context = float(self.cached[decode].mean()) if decode.size else 0.0
        tokens = sum(c for _, c in chunks)
        prefill_context = (sum(float(self.cached[r]) * c for r, c in chunks) / tokens) if tokens else 0.0
        eager = self.rules.graphs_per_candidates and n in self.schedule.uncaptured
        time_ms = self.costs.decode(n, decode.size, decode_context, eager) if decode.size else 0.0
        if tokens:
            speculative = self.schedule.speculates
            chunk_ms = self.costs.prefill(tokens, prefill_context, speculative)
            if decode.size:
                chunk_ms -= self.costs.prefill(1, prefill_context, speculative)
            time_ms += chunk_ms
        return StepRecord(self.now, time_ms, int(decode.size), n, decode_context, tokens, prefill_context)

    def advance(self, decode: np.ndarray, n: int, chunks: list[tuple[int, int]], time_ms: float) -> None:
        """Apply one step ending ``time_ms`` from now: tokens, first tokens, completions."""
        self.now += time_ms / 1e3
        if chunks:
            rows = np.fromiter((r for r, _ in chunks), dtype=np.int64, count=len(chunks))
            self.cached[rows] += np.fromiter((c for _, c in chunks), dtype=np.int64, count=len(chunks))
            ended = rows[self.cached[rows] >= self.target[rows]]  # a prefill's end yields a token
            if ended.size:
                self.emit(ended, np.ones(ended.size, dtype=np.int64))
        if decode.size:
            self.used[n] = self.used.get(n, 0) + 1
            self.emit(decode, self.draws.tokens(decode, n))

    def emit(self, rows: np.ndarray, tokens: np.ndarray) -> None:
        gained = np.minimum(tokens, self.output[rows] - self.generated[rows])
        started = self.generated[rows] > 0
        self.itl.append(self.now - self.last[rows[started]])
        self.first[rows[~started]] = self.now
        self.last[rows] = self.now
        self.generated[rows] += gained
        self.cached[rows] += np.where(self.cached[rows] >= self.target[rows], gained, 0)
        for r in rows[self.generated[rows] >= self.output[rows]]:
            self.finish[r] = self.now
            self.running.remove(int(r))
            self.done += 1
            if self.closed_loop is not None and self.done + self.closed_loop - 1 < self.arrival.size:
                self.arrival[self.done + self.closed_loop - 1] = self.now


def simulate(requests: RequestSet, costs: StepCosts, rules: SchedulerRules, schedule: KSchedule,
             draws: AcceptanceDraws, kv_tokens: int, closed_loop: int | None = None, record: bool = False,
             progress: Callable[[int], None] | None = None) -> SimulationResult:
    """Serve ``requests`` (or, with ``closed_loop=c``, keep c of them in flight, each next one
    arriving when one finishes) until all are done. ``record``: keep every step's record."""
    _check_fits(requests, kv_tokens, max(schedule.ns))
    engine = _Engine(requests, costs, rules, schedule, draws, kv_tokens, closed_loop)
    records: list[StepRecord] = []
    steps, reported = 0, 0
    while engine.done < requests.count:
        engine.arrive()
        if not engine.running and not engine.waiting:
            engine.now = float(engine.arrival[engine.next_arrival])
            continue
        decode, n, chunks = engine.compose()
        if not decode.size and not chunks:
            raise SpecroofError("the simulation made no progress: a request does not fit the KV cache and the budget")
        step = engine.price(decode, n, chunks)
        engine.advance(decode, n, chunks, step.time_ms)
        steps += 1
        if record:
            records.append(step)
        if progress is not None and engine.done > reported:
            progress(engine.done - reported)
            reported = engine.done
    return SimulationResult(engine.arrival, engine.first, engine.finish, engine.output, np.concatenate(engine.itl),
                            steps, engine.preemptions, engine.used, records if record else None)


def _check_fits(requests: RequestSet, kv_tokens: int, lookahead: int) -> None:
    """A request must fit the KV cache alone, its lookahead slots included."""
    longest = int((requests.prompt_tokens + requests.output_tokens).max())
    if longest + lookahead > kv_tokens:
        raise SpecroofError(f"a request of {longest:,} tokens (prompt + output, + {lookahead} lookahead) does not "
                            f"fit the KV cache of {kv_tokens:,} tokens this configuration leaves")
