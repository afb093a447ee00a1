"""What each computing command takes: its options, declared once for the CLI and the explorer.

A command (``specroof speedup``) decorates itself with :func:`command_options` and adds only
its output options (format, chart files, engine export); the explorer's API reads
:func:`parameters` to take exactly the same settings, with the same types, choices and
ranges, from a URL. An option added here appears in both.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import click

from specroof.app.settings import (
    drafting_options,
    grid_options,
    model_options,
    speculation_options,
)
from specroof.speculation.schedule import DEFAULT_MIN_GAIN
from specroof.workload.draws import DEFAULT_SPREAD

DEFAULT_CANDIDATES = [1, 16, 32, 64]
"""speedup's candidate grid when neither --candidates nor a scenario gives one."""

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]

_PLAN: list[Decorator] = [
    click.option("--batch", default=None, metavar="LIST",
                 help="Batch sizes to plan for, e.g. 1,2,4 or 1..256 (powers of two) or 1:64:1. "
                      "[default: the scenario's, else 1..64]"),
    click.option("--seq-len", "seq_len", default=None, metavar="LIST",
                 help="Tokens already in the KV cache, e.g. 1024 or 512,4096. [default: the scenario's, else 1024]"),
    click.option("--max-candidates", type=int, default=64, show_default=True, metavar="N",
                 help="Search every n from 1 (no speculation) to N (also capped by the acceptance model)."),
    click.option("--objective", type=click.Choice(["speedup", "throughput"]), default="speedup", show_default=True,
                 help="Maximize speedup over plain decoding, or tokens/s (b * tau / T_spec)."),
    click.option("--current", type=int, default=None, metavar="N",
                 help="The candidate count you use today (n = k + 1 for k draft tokens): also report its speedup."),
    click.option("--reserve-gb", type=float, default=None, metavar="GB",
                 help="Memory kept free for CUDA context, workspaces and fragmentation. [default: 1 GiB]"),
    click.option("--min-gain", "min_gain", type=float, default=DEFAULT_MIN_GAIN, show_default=True,
                 metavar="FRACTION",
                 help="Speculate, or switch k in an exported schedule, only for a speedup gain above this "
                      "(0.01 = 1%)."),
]

_EXPLAIN: list[Decorator] = [
    click.option("--batch", type=int, default=1, show_default=True, metavar="B", help="Batch size."),
    click.option("--candidates", type=int, default=None, metavar="N",
                 help="Candidate tokens verified per sequence, root included (required)."),
    click.option("--seq-len", "seq_len", type=int, default=1024, show_default=True, metavar="S",
                 help="Tokens already in the KV cache."),
]

_OPS: list[Decorator] = [
    click.option("--batch", type=click.IntRange(min=1), default=1, show_default=True, help="Sequences in the batch."),
    click.option("--candidates", type=click.IntRange(min=1), default=1, show_default=True,
                 help="Candidate tokens verified per sequence (1 = plain decoding)."),
    click.option("--seq-len", "seq_len", type=click.IntRange(min=1), default=1024, show_default=True,
                 help="Tokens already in each sequence's KV cache."),
    click.option("--acceptance", default=None, metavar="SPEC",
                 help="Only shapes drafting: a tree acceptance model (medusa, positional) makes tree drafters "
                      "draft its best tree. [default: chains]"),
]

_SIMULATE: list[Decorator] = [  # the load options of simulate (its --executor, output and chart stay in the CLI)
    click.option("--rate", default=None, metavar="R|R,R|START:STOP:STEP",
                 help="Request rates (requests/s) to sweep, e.g. 0.5:16:0.5."),
    click.option("--concurrency", type=click.IntRange(min=1), default=None, metavar="N",
                 help="A closed loop instead of arrivals: N requests in flight, the next one sent when one ends."),
    click.option("--arrivals", default="poisson", show_default=True, metavar="poisson|KIND[:ARGS]|trace:FILE",
                 help="How requests arrive at each --rate (kinds of specroof.workload.arrivals)."),
    click.option("--requests", "count", type=click.IntRange(min=1), default=1000, show_default=True,
                 help="Requests per simulation."),
    click.option("--max-requests", type=click.IntRange(min=1), default=None, help="Cap on requests read from a trace."),
    click.option("--isl", type=click.IntRange(min=1), default=1024, show_default=True, help="Prompt tokens per request."),
    click.option("--osl", type=click.IntRange(min=1), default=256, show_default=True, help="Output tokens per request."),
    click.option("--k", "ks", default=None, metavar="K,K",
                 help="Draft tokens per step to simulate, each as its own configuration (speculation off always "
                      "runs). [default: 3 with a --method]"),
    click.option("--schedule", default=None, metavar="plan|FILE.json",
                 help="Also a dynamic-K configuration: the plan's per-batch K, or a JSON {batch: candidates}."),
    click.option("--slo", default=None, metavar="ttft=2s,tpot=50ms", help="Goodput: requests/s within every bound."),
    click.option("--acceptance-spread", "spread", type=float, default=DEFAULT_SPREAD, show_default=True,
                 metavar="SD",
                 help="Standard deviation of the per-request acceptance rate around the model's: the default is "
                      "fitted to SpecDecode-Bench's per-request traces; 0: every request accepts alike "
                      "(docs/simulate.md)."),
    click.option("--max-batched-tokens", type=click.IntRange(min=1), default=None,
                 help="Token budget per step. [default: the engine's]"),
    click.option("--max-sequences", type=click.IntRange(min=1), default=None,
                 help="Sequences running at once. [default: the engine's]"),
    click.option("--seed", type=int, default=0, show_default=True, help="Seed of arrivals and acceptance draws."),
]

_SPEEDUP_GRID = grid_options(candidates_default=f"the scenario's, else {','.join(map(str, DEFAULT_CANDIDATES))}")

COMMAND_OPTIONS: dict[str, list[Decorator]] = {
    "latency": [model_options, grid_options],
    "speedup": [speculation_options, model_options, _SPEEDUP_GRID],
    "plan": [speculation_options, model_options, *_PLAN],
    "explain": [speculation_options, model_options, *_EXPLAIN],
    "ops": [drafting_options, model_options, *_OPS],
    "simulate": [speculation_options, model_options, *_SIMULATE],
}
"""Command -> its computing options, top to bottom as ``--help`` lists them."""


def command_options(command: str) -> Decorator:
    """Decorate a click command with the computing options of ``command`` (in help order)."""
    def apply(func: Callable[..., Any]) -> Callable[..., Any]:
        for decorator in reversed(COMMAND_OPTIONS[command]):
            func = decorator(func)
        return func

    return apply


@functools.cache
def parameters(command: str) -> dict[str, click.Option]:
    """The options of ``command`` that a query may set, by name (e.g. ``seq_len``)."""
    probe = click.command(command)(command_options(command)(lambda **_: None))
    return {p.name: p for p in probe.params if isinstance(p, click.Option) and p.name}


@functools.cache
def simulate_load_keys() -> tuple[str, ...]:
    """Names of simulate's load options (rate, arrivals, ...): the rest of its options are the study's settings."""
    probe: Callable[..., Any] = lambda **_: None  # noqa: E731
    for decorator in reversed(_SIMULATE):
        probe = decorator(probe)
    return tuple(p.name for p in click.command("probe")(probe).params if p.name)
