"""Request-level speedup: whole requests, their prefill included.

:func:`specroof.speedup` compares one decoding step with one verification step. Serving
benchmarks measure something else: generated-token throughput over whole requests. A batch of
requests pays one prefill of its prompts, the same with or without speculation, then its
decode steps: ``output`` of them without speculation, ``output / tau`` with it. So

    speedup = (P + output x T_plain) / (P + output / tau x T_spec)

with ``P`` the prefill of the batch's prompts. The prefill does not speed up, so a workload with
long prompts and large batches gains less than its decode steps do.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

from specroof.cost.step import latency
from specroof.errors import SpecroofError
from specroof.speculation.speedup import speedup

_DRAFTING_KEYWORDS = frozenset(inspect.signature(speedup).parameters) - frozenset(inspect.signature(latency).parameters)
"""speedup()'s keywords that describe drafting and acceptance, not the step's setup: the prefill
(a plain forward) takes the rest (dtype, tp, profile, profile fields)."""


@dataclass(frozen=True)
class Workload:
    """A batch's requests as means over requests, in tokens.

    ``context_tokens`` is the token-weighted mean KV length of the decode steps (each output
    token is decoded at its own context length; the mean weighted by tokens prices them)."""

    prompt_tokens: int
    output_tokens: int
    context_tokens: int

    def __post_init__(self) -> None:
        for name in ("prompt_tokens", "output_tokens", "context_tokens"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise SpecroofError(f"workload {name} must be a whole number >= 1, got {value!r}")


@dataclass(frozen=True)
class WorkloadSpeedup:
    """One batch of requests, with and without speculation (times in ms)."""

    prefill_ms: float  # one forward over the batch's prompts
    plain_step_ms: float  # one decoding step of the batch
    spec_step_ms: float  # one speculative step (drafting + verification)
    acceptance_length: float  # tokens gained per speculative step (tau)
    output_tokens: int

    @property
    def step_speedup(self) -> float:
        """The decode steps' speedup, tau x T_plain / T_spec (what :func:`specroof.speedup` gives)."""
        return self.acceptance_length * self.plain_step_ms / self.spec_step_ms

    @property
    def speedup(self) -> float:
        """Generated-token throughput over whole requests, speculative over plain."""
        return request_speedup(self.prefill_ms, self.output_tokens, self.plain_step_ms, self.spec_step_ms,
                               self.acceptance_length)


def request_speedup(prefill_ms: float, output_tokens: int, plain_step_ms: float, spec_step_ms: float,
                    acceptance_length: float) -> float:
    """``(P + out x T_plain) / (P + out / tau x T_spec)``: the prefill is paid once either way."""
    if min(plain_step_ms, spec_step_ms, acceptance_length, output_tokens) <= 0 or prefill_ms < 0:
        raise SpecroofError("request speedup needs positive step times, acceptance length and output tokens "
                            f"and a prefill time >= 0 (got P={prefill_ms}, out={output_tokens}, "
                            f"T_plain={plain_step_ms}, T_spec={spec_step_ms}, tau={acceptance_length})")
    plain_ms = prefill_ms + output_tokens * plain_step_ms
    speculative_ms = prefill_ms + output_tokens / acceptance_length * spec_step_ms
    return plain_ms / speculative_ms


def prefill_ms(model: Any, hardware: Any, batch: int, prompt_tokens: int, **options: Any) -> float:
    """One forward over ``batch`` prompts of ``prompt_tokens`` each: a step verifying every prompt
    token at once (causal attention over the prompt itself), priced like any other step.
    ``options`` may be :func:`specroof.speedup`'s: those about drafting and acceptance are left
    out (the prefill is a plain forward)."""
    setup = {key: value for key, value in options.items() if key not in _DRAFTING_KEYWORDS}
    step = latency(model, hardware, batch=[batch], candidates=[prompt_tokens], seq_len=[1], **setup)
    return float(step.latency_ms[0, 0, 0])


def workload_speedup(model: Any, hardware: Any, workload: Workload, batch: int, candidates: int,
                     acceptance_length: float | None = None, **options: Any) -> WorkloadSpeedup:
    """A batch of ``workload`` requests, decoded plainly and with ``candidates`` per step.

    ``options`` are :func:`specroof.speedup`'s (method, acceptance, tree, dtype, tp, profile...);
    the decode steps are priced at ``workload.context_tokens``. ``acceptance_length`` replaces
    the acceptance model's tau where the tokens gained per step were measured directly (an
    engine's trace averaged over every step, matched or not)."""
    result = speedup(model, hardware, batch=[batch], candidates=[candidates], seq_len=[workload.context_tokens],
                     **options)
    tau = float(result.acceptance_length[0, 0, 0]) if acceptance_length is None else acceptance_length
    return WorkloadSpeedup(prefill_ms(model, hardware, batch, workload.prompt_tokens, **options),
                           float(result.ar_latency_ms[0, 0, 0]), float(result.latency_ms[0, 0, 0]), tau,
                           workload.output_tokens)
