"""``specroof simulate`` without the command line: options in, rows and a title out.

The command parses flags and resolves the model settings; this module checks the load options,
builds the configurations (speculation off, each K, a schedule), prices their steps once and
runs the sweep. ``settings`` is the app's resolved settings (model, hardware, ``speculation()``,
``step``), read by attribute so this floor imports nothing above it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from specroof.datafiles import check_writable
from specroof.errors import SpecroofError
from specroof.speculation.study import Study
from specroof.workload.kschedule import KSchedule, read_schedule
from specroof.workload.metrics import parse_slo
from specroof.workload.requests import RequestSet
from specroof.workload.scheduler import rules_for
from specroof.workload.serving import Serving
from specroof.workload.sweep import LoadSpec, parse_rates, plan_schedule, sweep

DEFAULT_K = "3"
"""Draft tokens per step simulated when --k is not given (a common EAGLE/MTP setting)."""


def check_output(output_path: str | None) -> None:
    """Fail before the work when the output file cannot be written (a typo fails fast)."""
    if output_path is not None:
        check_writable(output_path, "simulation output")


def _ks(text: str) -> list[int]:
    try:
        ks = sorted({int(x) for x in text.split(",") if x.strip()})
    except ValueError:
        raise SpecroofError(f"--k {text!r}: give draft-token counts, e.g. 2,4") from None
    if not ks or ks[0] < 0:
        raise SpecroofError(f"--k {text!r}: draft-token counts must be >= 0")
    return ks


def _schedules(study: Study, options: dict[str, Any], max_batch: int) -> list[KSchedule]:
    """Speculation off, each K, and the optional schedule (plan or file)."""
    schedules = [KSchedule.fixed(1)]
    tree = study.drafting.tree
    if tree is not None and getattr(tree, "tokens", None):  # the tree fixes the tokens verified per step
        if options["ks"] is not None or options.get("schedule"):
            raise SpecroofError(f"{study.drafting.describe()} verifies {tree.tokens} tokens a step: drop "
                                "--k/--schedule, or drop tokens= from --tree")
        return [*schedules, KSchedule((1,), (int(tree.tokens),), f"tree n={tree.tokens}")]
    # method none drafts for free (an upper bound, as in speedup): its K configurations run too
    schedules += [_fixed(k + 1, tree is not None) for k in _ks(options["ks"] or DEFAULT_K) if k > 0]
    schedule = options.get("schedule")
    if schedule == "plan":
        schedules.append(plan_schedule(study, max_batch, options["isl"] + options["osl"] // 2))
    elif schedule is not None:
        if not Path(schedule).is_file():
            raise SpecroofError(f"--schedule {schedule!r}: give plan or a JSON file {{batch: candidates}}")
        schedules.append(read_schedule(schedule))
    return schedules


def _fixed(n: int, tree: bool) -> KSchedule:
    """A fixed configuration: K = n - 1 drafts, or a tree of n tokens."""
    return KSchedule((1,), (n,), f"tree n={n}") if tree else KSchedule.fixed(n)


def _load(options: dict[str, Any]) -> tuple[LoadSpec, list[float | None]]:
    rate, concurrency = options["rate"], options["concurrency"]
    trace = options["arrivals"].startswith("trace:")
    if concurrency is not None and (rate is not None or trace):
        raise SpecroofError("give either --concurrency (a closed loop) or --rate/--arrivals trace:FILE, not both")
    if concurrency is None and rate is None and not trace:
        raise SpecroofError("give --rate R (requests/s), --concurrency N, or --arrivals trace:FILE")
    if trace and rate is not None:
        raise SpecroofError("a trace sets its own arrival times: drop --rate")
    load = LoadSpec(options["arrivals"], options["count"], options["isl"], options["osl"], options["seed"],
                    options["max_requests"], concurrency)
    rates: list[float | None] = parse_rates(rate) if rate is not None else [None]
    return load, rates


def run_simulation(settings: Any, options: dict[str, Any],
                   progress_bar: Callable[[int, int], Any] | None = None,
                   budget: Callable[[RequestSet, int], None] | None = None
                   ) -> tuple[list[dict[str, Any]], str, str, dict[str, float] | None]:
    """(rows, title, caveat, slo bounds) of a ``simulate`` run.

    ``budget(first request set, simulations)`` is called before any step is priced, so a caller
    that caps the work (the explorer's server) refuses a sweep before it costs anything;
    ``options["workers"]`` (optional) is passed to :func:`sweep`."""
    slo = parse_slo(options["slo"]) if options.get("slo") else None
    load, rates = _load(options)
    study = Study.of(settings.model, settings.hardware, 1, 1, 1024, **settings.speculation(), **settings.step)
    rules = rules_for(study.setup).with_overrides(max_batched_tokens=options["max_batched_tokens"],
                                                          max_sequences=options["max_sequences"])
    schedules = _schedules(study, options, rules.max_sequences)
    first = load.requests(rates[0])  # also checks the arrivals spec before pricing
    if budget is not None:
        budget(first, len(rates) * len(schedules))
    ns = tuple(sorted({n for s in schedules for n in s.ns}))
    longest = int((first.prompt_tokens + first.output_tokens).max()) + max(ns) + 1
    limit = study.setup.model.max_position_embeddings
    if limit is not None and longest > limit:
        raise SpecroofError(f"requests of up to {longest - max(ns) - 1:,} tokens (prompt + output) are beyond "
                            f"{study.setup.model.name}'s max_position_embeddings of {limit:,}")
    serving = Serving.of(study, ns, longest, rules, tuple(sorted({n for s in schedules for n in s.uncaptured})))
    bar = progress_bar(first.count * len(rates) * len(schedules), len(rates) * len(schedules)) if progress_bar else None
    with bar if bar is not None else contextlib.nullcontext():
        rows = sweep(serving, load, schedules, rates, slo=slo, spread=options["spread"], executor=options["executor"],
                     progress=bar.update if bar is not None else None, workers=options.get("workers"))
    return rows, _title(study, rules, load, options), study.setup.profile.caveats, slo


def _title(study: Study, rules: Any, load: LoadSpec, options: dict[str, Any]) -> str:
    setup = study.setup
    acceptance = study.acceptance.describe() if study.acceptance is not None else "none"
    arrivals = f"closed loop of {load.concurrency}" if load.concurrency else load.arrivals
    return (f"{setup.model.name} on {setup.hardware.display_name}, profile {setup.profile.name} "
            f"({rules.engine} rules: {rules.max_batched_tokens} tokens/step, {rules.max_sequences} sequences, "
            f"{'mixed' if rules.mixed_prefill else 'separate'} prefill): load, {study.drafting.describe()}, "
            f"acceptance {acceptance} (spread {options['spread']:g}), ISL {load.prompt_tokens}, "
            f"OSL {load.output_tokens}, {arrivals}, {load.count} requests, seed {load.seed}")
