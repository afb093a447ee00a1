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

from specroof.cost.grid import Grid
from specroof.cost.setup import StepSetup, setup_step
from specroof.cost.step import StepLatency, latency_for_setup, price_step
from specroof.hardware.accelerator import Accelerator
from specroof.models.architecture import ModelConfig
from specroof.speculation.acceptance import AcceptanceModel
from specroof.speculation.acceptance_spec import parse_acceptance
from specroof.speculation.drafting import Drafting, TreeShape, trees_of


@dataclass
class SpeedupResult:
    """Speedup and its ingredients on the (batch, candidates, seq_len) grid.

    ``step`` is the speculative step, every operation of it (drafting included), ``setup``
    the target's resolved settings;
    ``latency_ms`` its time, ``ar_latency_ms`` the plain decoding step's, ``verify_ms`` /
    ``draft_ms`` the two parts of ``latency_ms``, ``acceptance_length`` tau(n) broadcast to
    the grid.
    """

    step: StepLatency
    setup: StepSetup
    acceptance: AcceptanceModel
    drafting: Drafting
    speedup: np.ndarray
    acceptance_length: np.ndarray
    latency_ms: np.ndarray
    ar_latency_ms: np.ndarray
    verify_ms: np.ndarray
    draft_ms: np.ndarray

    @property
    def method(self) -> str:
        return self.drafting.method

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
        """latency()'s records (``ops_ms`` with the drafting operations, summing to the
        speculative step's ``latency_ms``) plus ar_latency_ms, draft_ms, acceptance_length,
        speedup and tokens_per_s."""
        records = self.step.to_records()
        flat = zip(self.ar_latency_ms.ravel(), self.draft_ms.ravel(), self.acceptance_length.ravel(),
                   self.speedup.ravel(), self.throughput.ravel())
        for record, (ar, draft, tau, speed, tput), band in zip(records, flat, self.band_records()):
            record.update(ar_latency_ms=float(ar), draft_ms=float(draft), acceptance_length=float(tau),
                          speedup=float(speed), tokens_per_s=float(tput), **band)
        return records

    def bands(self) -> dict[str, np.ndarray]:
        """Grid arrays: the error bands of speedup and latency_ms (``speedup_low``, ...),
        ``validated`` (of the speedup) and ``validation_note`` (:mod:`specroof.bands`)."""
        from specroof.bands import band_arrays, step_domain

        plain = np.broadcast_to((self.candidates == 1)[None, :, None], self.speedup.shape)
        return band_arrays(step_domain(self.step, self.method), self.batch,
                           {"speedup": self.speedup, "latency": self.latency_ms}, "speedup", plain)

    def band_records(self) -> list[dict[str, Any]]:
        """:meth:`bands` as one dict per grid point (the order of :meth:`to_records`)."""
        from specroof.bands import record_fields

        return record_fields(self.bands())


def speedup(model: str | Path | ModelConfig, hardware: str | Path | Accelerator,
            batch: int | Iterable[int] = 1, candidates: int | Iterable[int] = (1, 16, 32, 64),
            seq_len: int | Iterable[int] = 1024, acceptance: str | AcceptanceModel = "log:0.477",
            method: str | None = None, draft_model: str | Path | ModelConfig | None = None,
            heads: int | None = None, max_depth: int | None = None, drafting: Drafting | None = None,
            tree: str | TreeShape | None = None, draft_vocab: int | None = None, proposal_rate: float | None = None,
            **options: Any) -> SpeedupResult:
    """Speedup of speculative decoding over plain decoding at every grid point.

    ``acceptance``: a spec (``log:0.477``, ``chain:0.8``, ``medusa:vicuna-7b``,
    ``positional:...``, ``curve:FILE``, ``vllm-metrics:FILE[:MODEL]``, ``sglang:FILE[:N]``) or an
    AcceptanceModel; acceptance is assumed independent of batch size and context length (an
    engine-metrics curve holds at every batch size and seq_len of the grid). Drafting:
    ``method`` (``none``, ``heads``, ``draft``, ``eagle``, ``eagle3``, ``mtp``, ``ngram``) with
    its parameters (``heads``, ``draft_model``, ``tree``, ``draft_vocab``, ``proposal_rate``;
    see :mod:`specroof.speculation.drafting`), or an already built ``drafting``. Other
    options as for :func:`specroof.latency`.
    """
    model_acc = acceptance if isinstance(acceptance, AcceptanceModel) else parse_acceptance(str(acceptance), max_depth)
    drafting = Drafting.resolve(drafting, method, draft_model, heads, tree=tree, draft_vocab=draft_vocab,
                                proposal_rate=proposal_rate)
    setup = setup_step(model, hardware, **options)
    grid = Grid.of(batch, candidates, seq_len)
    drafting.check(setup.model, grid.candidates)
    tau = model_acc.tau(grid.candidates)  # raises for budgets the model cannot serve
    step = price_step(drafting.passes(setup, grid, trees_of(model_acc, grid.candidates)), grid)
    ones = np.flatnonzero(grid.candidates == 1)
    if ones.size:  # the grid already holds the plain step (drafting is zero at n = 1)
        plain = step.latency_ms[:, ones[:1], :]
    else:
        plain = latency_for_setup(setup, grid.with_candidates([1])).latency_ms  # (B, 1, S)
    draft = step.drafting_ms
    tau_grid = grid.full(drafting.tokens_per_step(tau)[None, :, None]).astype(float)
    ar = grid.full(plain)
    return SpeedupResult(
        step=step, setup=setup, acceptance=model_acc, drafting=drafting, speedup=tau_grid * ar / step.latency_ms,
        acceptance_length=tau_grid, latency_ms=step.latency_ms, ar_latency_ms=ar,
        verify_ms=step.latency_ms - draft, draft_ms=draft,
    )
