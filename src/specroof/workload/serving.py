"""One configuration made ready to simulate: priced steps, scheduler rules, KV capacity.

``Serving.of(study, ...)`` prices every step the simulation can take (one vectorized call per
step kind, :mod:`specroof.workload.stepcosts`) and sizes the KV cache from the memory model
(:mod:`specroof.cost.memory`, the same footprint ``latency`` checks fit with):

    KV tokens = (memory_fraction x device memory - weights - draft weights - activations of a
                 full-budget step) / KV bytes per token (target and drafter)

``Serving.run(requests, schedule, ...)`` then simulates any request set against it, so a rate
sweep prices its steps once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from specroof.cost.grid import Grid
from specroof.cost.memory import footprint
from specroof.errors import SpecroofError
from specroof.speculation.drafting import Drafting
from specroof.speculation.study import Study
from specroof.workload.draws import AcceptanceDraws
from specroof.workload.kschedule import KSchedule
from specroof.workload.requests import RequestSet
from specroof.workload.scheduler import SchedulerRules, rules_for
from specroof.workload.simulator import SimulationResult, simulate
from specroof.workload.stepcosts import StepCosts, price_steps


def plain_study(study: Study) -> Study:
    """The same target without a drafter (speculation off: no draft weights, cache or passes)."""
    return replace(study, drafting=Drafting.of(method="none"), acceptance=None)


def kv_capacity_tokens(study: Study, rules: SchedulerRules, n: int) -> int:
    """Tokens of context the KV cache holds once weights and a full-budget step's activations
    are resident (per device; candidates ``n`` sizes the drafter's cache)."""
    contexts = [1024, 2048]
    grid = Grid.of([1], [max(n, 1)], contexts)
    memory = footprint(study.with_grid(grid).passes(), grid, reserve_bytes=0.0)
    per_sequence = memory.kv_cache_per_sequence[0, 0]
    per_token = float(per_sequence[1] - per_sequence[0]) / (contexts[1] - contexts[0])
    budget = Grid.of([1], [rules.max_batched_tokens], [1])  # the target's forward over a full-budget step
    activations = footprint(plain_study(study).with_grid(budget).passes(), budget, reserve_bytes=0.0).activation_bytes.max()
    room = rules.memory_fraction * memory.capacity_bytes - memory.weights_bytes - memory.draft_weights_bytes
    room -= float(activations)
    if per_token <= 0 or room <= 0:
        raise SpecroofError(f"{study.setup.model.name} leaves no room for a KV cache on "
                            f"{study.setup.hardware.display_name} ({room / 1e9:.1f} GB after weights and activations "
                            f"at {rules.memory_fraction:g} of memory)")
    return int(room // per_token)


@dataclass
class Serving:
    """A configuration ready to simulate (see the module docstring)."""

    costs: StepCosts
    rules: SchedulerRules
    kv_tokens: dict[int, int]  # largest candidates of a schedule -> KV tokens

    @classmethod
    def of(cls, study: Study, candidates: tuple[int, ...], max_context: int,
           rules: SchedulerRules | None = None, eager: tuple[int, ...] = ()) -> "Serving":
        """Price ``study``'s steps for every candidate count in ``candidates`` (1 always), and
        for ``eager`` counts also without CUDA graphs (dynamic-K schedules' uncaptured counts)."""
        rules = rules or rules_for(study.setup)
        max_batch = min(rules.max_sequences, rules.max_batched_tokens)
        eager = eager if rules.graphs_per_candidates else ()
        costs = price_steps(study, candidates, max_batch, max_context, rules.max_batched_tokens, eager)
        kv = {n: kv_capacity_tokens(study if n > 1 else plain_study(study), rules, n) for n in costs.candidates}
        return cls(costs, rules, kv)

    def kv_for(self, schedule: KSchedule) -> int:
        """The KV cache of a run: the drafter's weights and cache are there whenever the run
        speculates; a run without speculation serves without a drafter."""
        return self.kv_tokens[max(schedule.ns)]

    def run(self, requests: RequestSet, schedule: KSchedule, *, spread: float = 0.0, seed: int = 0,
            closed_loop: int | None = None, record: bool = False,
            progress: Callable[[int], None] | None = None) -> SimulationResult:
        """Simulate ``requests`` under ``schedule`` (its candidate counts must have been priced)."""
        missing = sorted(set(schedule.ns) - set(self.costs.candidates))
        if missing:
            raise SpecroofError(f"schedule {schedule.label} uses candidates {missing} that were not priced")
        draws = AcceptanceDraws.of({n: self.costs.tau[n] for n in set(schedule.ns)}, requests.count, spread, seed,
                                   self.costs.caps)
        return simulate(requests, self.costs, self.rules, schedule, draws, self.kv_for(schedule),
                        closed_loop=closed_loop, record=record, progress=progress)

