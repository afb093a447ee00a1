"""``speedup()``: how much faster speculative decoding generates, over a grid.

speedup(b, n, s) = tau(n) * T_plain(b, s) / T_spec(b, n, s), where T_plain is a decoding
step (one token per sequence), T_spec the verification step of n candidates plus drafting,
and tau(n) the mean tokens a speculative step yields (acceptance model). Throughput is
b * tau / T_spec tokens per second. tau never exceeds what the drafting shape can yield
(depth + 1 tokens; :mod:`specroof.speculation.bounds`), and each record says which side,
acceptance model or drafting shape, bounded it.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from specroof.bands import band_arrays, record_fields, step_domain
from specroof.cost.capacity import warn_unfit
from specroof.cost.finite import require_finite
from specroof.cost.setup import StepSetup
from specroof.cost.step import StepLatency, latency_for_setup, price_step
from specroof.errors import SpecroofWarning
from specroof.hardware.accelerator import Accelerator
from specroof.models.architecture import ModelConfig
from specroof.speculation.acceptance import AcceptanceModel
from specroof.speculation.bounds import AcceptanceBound, bound_acceptance, bound_warning
from specroof.speculation.default_acceptance import acceptance_source, resolve_acceptance
from specroof.speculation.drafting import Drafting, TreeShape, trees_of
from specroof.speculation.study import Study


@dataclass
class SpeedupResult:
    """Speedup and its ingredients on the (batch, candidates, seq_len) grid.

    ``step`` is the speculative step, every operation of it (drafting included), ``setup``
    the target's resolved settings;
    ``latency_ms`` its time, ``ar_latency_ms`` the plain decoding step's, ``verify_ms`` /
    ``draft_ms`` the two parts of ``latency_ms``, ``acceptance_length`` tau(n) broadcast to
    the grid, ``bound`` what the acceptance model claimed and the drafting shape allows.
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
    bound: AcceptanceBound | None = None

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
        speedup, tokens_per_s, acceptance_source (where tau came from), the acceptance bound
        (``acceptance_bound``: which side limited acceptance_length; ``model_acceptance_length``:
        the acceptance model's own claim; ``shape_max_tokens``: the most the drafting shape
        yields per step) and the error band (:meth:`band_records`)."""
        records = self.step.to_records()
        source = acceptance_source(self.acceptance)
        flat = zip(self.ar_latency_ms.ravel(), self.draft_ms.ravel(), self.acceptance_length.ravel(),
                   self.speedup.ravel(), self.throughput.ravel(), *self._bound_columns())
        for record, (ar, draft, tau, speed, tput, side, claimed, most), band in zip(records, flat,
                                                                                   self.band_records()):
            record.update(ar_latency_ms=float(ar), draft_ms=float(draft), acceptance_length=float(tau),
                          speedup=float(speed), tokens_per_s=float(tput), acceptance_bound=str(side),
                          model_acceptance_length=float(claimed), shape_max_tokens=float(most),
                          acceptance_source=source, **band)
        return records

    def _bound_columns(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """acceptance_bound, model_acceptance_length and shape_max_tokens over the grid."""
        bound = self.bound or bound_acceptance(self.acceptance, self.drafting, self.candidates)
        shape = self.acceptance_length.shape

        def full(per_n: np.ndarray) -> np.ndarray:
            return np.broadcast_to(np.asarray(per_n)[None, :, None], shape).ravel()

        return (full(bound.labels()), full(self.drafting.tokens_per_step(bound.claimed)),
                full(self.drafting.tokens_per_step(bound.shape_max)))

    def bands(self) -> dict[str, np.ndarray]:
        """Grid arrays: the error bands of speedup and latency_ms (``speedup_low``, ...),
        ``validated`` (of the speedup) and ``validation_note`` (:mod:`specroof.bands`)."""
        plain = np.broadcast_to((self.candidates == 1)[None, :, None], self.speedup.shape)
        return band_arrays(step_domain(self.step, self.method), self.batch,
                           {"speedup": self.speedup, "latency": self.latency_ms}, "speedup", plain)

    def band_records(self) -> list[dict[str, Any]]:
        """:meth:`bands` as one dict per grid point (the order of :meth:`to_records`)."""
        return record_fields(self.bands())


def speedup(model: str | Path | ModelConfig, hardware: str | Path | Accelerator,
            batch: int | Iterable[int] = 1, candidates: int | Iterable[int] = (1, 16, 32, 64),
            seq_len: int | Iterable[int] = 1024, acceptance: str | AcceptanceModel | None = None,
            method: str | None = None, draft_model: str | Path | ModelConfig | None = None,
            heads: int | None = None, max_depth: int | None = None, drafting: Drafting | None = None,
            tree: str | TreeShape | None = None, draft_vocab: int | None = None, proposal_rate: float | None = None,
            fit_warning: bool = True, **options: Any) -> SpeedupResult:
    """Speedup of speculative decoding over plain decoding at every grid point.

    ``acceptance``: a spec (``log:0.477``, ``chain:0.8``, ``medusa:vicuna-7b``,
    ``positional:...``, ``curve:FILE``, ``vllm-metrics:FILE[:MODEL]``, ``sglang:FILE[:N]``) or an
    AcceptanceModel; None takes the method's shipped default
    (:mod:`specroof.speculation.default_acceptance`, named in ``acceptance.describe()`` and each
    record's ``acceptance_source``); acceptance is assumed independent of batch size and context
    length (an engine-metrics curve holds at every batch size and seq_len of the grid). Drafting:
    ``method`` (``none``, ``heads``, ``draft``, ``eagle``, ``eagle3``, ``mtp``, ``ngram``) with
    its parameters (``heads``, ``draft_model``, ``tree``, ``draft_vocab``, ``proposal_rate``;
    see :mod:`specroof.speculation.drafting`), or an already built ``drafting``. Other
    options as for :func:`specroof.latency`.

    Tokens per step never exceed what the drafting shape yields (depth + 1): the acceptance
    model is read over the shape (:mod:`specroof.speculation.bounds`), and where that cuts its
    claim a SpecroofWarning names the model, the shape and the bound.

    A ``warning:`` names the first grid point that does not fit (``fit_warning=False`` leaves it
    to the caller, as :func:`specroof.plan` does: it searches past the points that fit on
    purpose); ``result.step.fit`` holds the check.
    """
    study = Study.of(model, hardware, batch, candidates, seq_len, acceptance=acceptance, method=method,
                     draft_model=draft_model, heads=heads, max_depth=max_depth, drafting=drafting, tree=tree,
                     draft_vocab=draft_vocab, proposal_rate=proposal_rate, **options)
    return speedup_of(study, fit_warning, stacklevel=3)


def speedup_of(study: Study, fit_warning: bool = True, stacklevel: int = 2) -> SpeedupResult:
    """:func:`speedup` of a built :class:`~specroof.speculation.study.Study` (its grid, drafting
    and acceptance; an acceptance of None takes the method's shipped default). ``stacklevel``:
    the frame the warnings name, as for :func:`warnings.warn` (2: the caller)."""
    setup, grid, drafting = study.setup, study.grid, study.drafting
    model_acc = study.acceptance or resolve_acceptance(None, drafting.method, model=setup.model.name)
    bound = bound_acceptance(model_acc, drafting, grid.candidates)  # raises for budgets the model cannot serve
    message = bound_warning(bound, model_acc, drafting)
    if message:
        warnings.warn(SpecroofWarning(message), stacklevel=stacklevel)
    step = price_step(drafting.passes(setup, grid, trees_of(model_acc, grid.candidates)), grid)
    ones = np.flatnonzero(grid.candidates == 1)
    if ones.size:  # the grid already holds the plain step (drafting is zero at n = 1)
        plain = step.latency_ms[:, ones[:1], :]
    else:
        plain = latency_for_setup(setup, grid.with_candidates([1])).latency_ms  # (B, 1, S)
    draft = step.drafting_ms
    tau_grid = grid.full(drafting.tokens_per_step(bound.tokens)[None, :, None]).astype(float)
    ar = grid.full(plain)
    if fit_warning:
        warn_unfit(step.fit, stacklevel=stacklevel + 1)
    ratio = tau_grid * ar / step.latency_ms
    require_finite(ratio, "speedup", {"batch": grid.batch, "candidates": grid.candidates, "seq_len": grid.seq_len})
    return SpeedupResult(
        step=step, setup=setup, acceptance=model_acc, drafting=drafting, speedup=ratio,
        acceptance_length=tau_grid, latency_ms=step.latency_ms, ar_latency_ms=ar,
        verify_ms=step.latency_ms - draft, draft_ms=draft, bound=bound,
    )
