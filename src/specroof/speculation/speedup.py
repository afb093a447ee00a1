"""``speedup()``: how much faster speculative decoding generates, over a grid.

speedup(b, n, s) = tau(n) * T_plain(b, s) / T_spec(b, n, s), where T_plain is a decoding
step (one token per sequence), T_spec the verification step of n candidates plus drafting,
and tau(n) the mean tokens a speculative step yields (acceptance model). Throughput is
b * tau / T_spec tokens per second.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from specroof.cost.step import StepLatency, as_grid, latency_for_setup, setup_step
from specroof.errors import SpecroofError
from specroof.hardware.accelerator import Accelerator
from specroof.models.architecture import ModelConfig
from specroof.speculation.acceptance import AcceptanceModel, parse_acceptance
from specroof.speculation.drafting import DEFAULT_HEADS, METHODS, draft_ms, heads_ms


@dataclass
class SpeedupResult:
    """Speedup and its ingredients on the (batch, candidates, seq_len) grid.

    ``latency_ms`` is the speculative step (verification + drafting), ``ar_latency_ms`` the
    plain decoding step, ``verify_ms`` / ``draft_ms`` the two parts of ``latency_ms``,
    ``acceptance_length`` tau(n) broadcast to the grid.
    """

    step: StepLatency
    acceptance: AcceptanceModel
    method: str
    speedup: np.ndarray
    acceptance_length: np.ndarray
    latency_ms: np.ndarray
    ar_latency_ms: np.ndarray
    verify_ms: np.ndarray
    draft_ms: np.ndarray

    @property
    def batch(self) -> np.ndarray:
        return self.step.batch

    @property
    def candidates(self) -> np.ndarray:
        return self.step.candidates

    @property
    def seq_len(self) -> np.ndarray:
        return self.step.seq_len

    @property
    def throughput(self) -> np.ndarray:
        """Generated tokens per second over the whole batch."""
        return self.step.batch[:, None, None] * self.acceptance_length / (self.latency_ms * 1e-3)

    def to_records(self) -> list[dict[str, Any]]:
        """latency()'s records plus ar_latency_ms, draft_ms, acceptance_length, speedup.

        ``latency_ms`` is the speculative step; when the method drafts, ``ops_ms`` gains a
        ``draft`` entry so that it still sums to ``latency_ms``.
        """
        records = self.step.to_records()
        flat = zip(self.latency_ms.ravel(), self.ar_latency_ms.ravel(), self.draft_ms.ravel(),
                   self.acceptance_length.ravel(), self.speedup.ravel(), self.throughput.ravel())
        for record, (lat, ar, draft, tau, speed, tput) in zip(records, flat):
            if self.method != "none":
                record["ops_ms"]["draft"] = float(draft)  # so ops_ms sums to latency_ms
            record.update(latency_ms=float(lat), ar_latency_ms=float(ar), draft_ms=float(draft),
                          acceptance_length=float(tau), speedup=float(speed), tokens_per_s=float(tput))
        return records


def speedup(model: str | Path | ModelConfig, hardware: str | Path | Accelerator,
            batch: int | Iterable[int] = 1, candidates: int | Iterable[int] = (1, 16, 32, 64),
            seq_len: int | Iterable[int] = 1024, acceptance: str | AcceptanceModel = "log:0.477",
            method: str = "none", draft_model: str | Path | ModelConfig | None = None,
            heads: int = DEFAULT_HEADS, max_depth: int | None = None, **options: Any) -> SpeedupResult:
    """Speedup of speculative decoding over plain decoding at every grid point.

    ``acceptance``: a spec (``log:0.477``, ``chain:0.8``, ``medusa:vicuna-7b``,
    ``positional:...``, ``curve:FILE``) or an AcceptanceModel. ``method``: ``none`` (free
    drafts), ``heads`` (``heads`` Medusa heads) or ``draft`` (needs ``draft_model``).
    Other options as for :func:`specroof.latency`.
    """
    model_acc = acceptance if isinstance(acceptance, AcceptanceModel) else parse_acceptance(str(acceptance), max_depth)
    if draft_model is not None and method == "none":
        method = "draft"
    if draft_model is not None and method != "draft":
        raise SpecroofError(f"a draft model applies only to method 'draft', not {method!r}")
    if method not in METHODS:
        raise SpecroofError(f"unknown drafting method {method!r}; valid: {', '.join(METHODS)}")
    if method == "draft" and draft_model is None:
        raise SpecroofError("method 'draft' needs a draft model (--draft-model NAME, e.g. llama-68m)")
    setup = setup_step(model, hardware, **options)
    n_axis = as_grid(candidates, "candidates")
    tau = model_acc.tau(n_axis)  # raises for budgets the model cannot serve
    step = latency_for_setup(setup, batch, n_axis, seq_len)
    ones = np.flatnonzero(n_axis == 1)
    if ones.size:  # the grid already holds the plain step
        plain = step.latency_ms[:, ones[:1], :]
    else:
        plain = latency_for_setup(setup, step.batch, [1], step.seq_len).latency_ms  # (B, 1, S)
    b = step.batch.astype(float)[:, None, None]
    n = step.candidates.astype(float)[None, :, None]
    if method == "heads":
        extra = np.broadcast_to(heads_ms(setup, b, n, heads), step.shape)
    elif method == "draft":
        extra = draft_ms(setup, draft_model, step.batch, step.candidates, step.seq_len)
    else:
        extra = np.zeros(step.shape)
    # Plain decoding needs no drafting: at n = 1 the speculative step is the plain step.
    extra = np.where(n == 1, 0.0, extra)
    spec = step.latency_ms + extra
    tau_grid = np.broadcast_to(tau[None, :, None], step.shape).astype(float)
    ar = np.broadcast_to(plain, step.shape)
    return SpeedupResult(
        step=step, acceptance=model_acc, method=method, speedup=tau_grid * ar / spec,
        acceptance_length=tau_grid, latency_ms=spec, ar_latency_ms=ar, verify_ms=step.latency_ms,
        draft_ms=extra,
    )
