"""TensorRT-LLM (PyTorch backend): what its EAGLE-3 and MTP paths launch around the model's passes.

Two members, chosen by the profile's ``speculation_work`` (docs/engine-work-trtllm.md):

- ``trtllm_one_model``: ``Eagle3OneModelWorker`` (``eagle3_one_model: true``, the LLM API's
  default since PR #4289, 2025-05) and ``MTPEagleWorker`` (an MTP module reused for every draft
  token). The drafter runs inside the target's forward, in the same CUDA graph: after the
  target's logits, the worker accepts the draft tokens, prepares the first drafter inputs, then
  loops ``max_draft_len`` drafter forwards, each followed by an argmax over the draft logits and
  a few index updates, all on the GPU, with no host work between passes
  (``tensorrt_llm/_torch/speculative/eagle3.py`` and ``mtp.py``, read at commits 001e670 and
  f933a60 of 2025; the same structure in both).
- ``trtllm_two_model``: ``eagle3_one_model: false``. The drafter is a second
  ``PyTorchModelEngine`` driven by ``ModelDrafter`` (``speculative/model_drafter.py``); the
  target's captured hidden states go through a gather buffer (``Eagle3ResourceManager``, the
  indices built in Python lists by ``Eagle3SpecMetadata.prepare``). Since PR #7100 (2025-08)
  its drafting loop (``drafting_loops.py`` ``ChainDrafter``) is one CUDA graph of the draft
  engine per step; before, one engine forward per draft token with its own host work, the
  profile's ``host_draft_pass_us``.

Each operation is what the code launches on top of the passes :mod:`specroof.cost.drafting_ops`
already prices (the fc, the drafter's layer, its LM head) and the target's sampling the profile
prices (``sampling_passes``). Small index kernels move a few bytes: they cost their
``kernel_overhead_us`` each, which is what they cost on the GPU. Methods other than EAGLE-3 and
MTP get nothing here (n-gram and draft-model paths are not modelled: the docs say so).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from specroof.cost.architectures.decoder import LOGITS_BYTES
from specroof.cost.engine_ops import padded_tokens
from specroof.cost.engine_work.base import ENGINE_WORK, EngineWork, SpeculativeStep, engine_operation
from specroof.cost.grid import Grid
from specroof.cost.operation import DRAFTING, OVERHEAD_GROUP, ArrayLike, ElementwiseShape, Operation, operation
from specroof.cost.passes import Pass
from specroof.cost.setup import StepSetup

SOURCE = ("NVIDIA/TensorRT-LLM tensorrt_llm/_torch/speculative/eagle3.py (Eagle3OneModelWorker, Eagle3SpecMetadata), "
          "mtp.py (MTPWorker, MTPEagleWorker), model_drafter.py, drafting_loops.py (ChainDrafter); commits "
          "001e670, f933a60, 000a01d, 029c15c, 03dd9bb")

CAPTURE = engine_operation(
    "trtllm_eagle3_capture", OVERHEAD_GROUP, "#c5b0d5", "^",
    "TensorRT-LLM EAGLE-3: the target's hidden states at three layers summed with their residual and "
    "copied into the drafter's input buffer")
ACCEPT = engine_operation(
    "trtllm_accept", OVERHEAD_GROUP, "#dbdb8d", "v",
    "TensorRT-LLM: greedy acceptance of the draft tokens (compare, cumprod, sum) and the step's "
    "token bookkeeping (drafter input shift, gather ids, next tokens for the overlap scheduler)")
RELAXED = engine_operation(
    "trtllm_relaxed_accept", OVERHEAD_GROUP, "#9edae5", "d",
    "TensorRT-LLM MTP relaxed acceptance: softmax and top-k over every verified token's logits")
DRAFT_SAMPLE = engine_operation(
    "trtllm_draft_sample", DRAFTING, "#c49c94", "x",
    "TensorRT-LLM: argmax over one drafting pass's logits (and the EAGLE-3 draft-to-target token map)")
DRAFT_UPDATE = engine_operation(
    "trtllm_draft_update", DRAFTING, "#f7b6d2", "+",
    "TensorRT-LLM: per drafting pass, the last tokens' hidden states gathered, positions and KV "
    "lengths advanced")
DRAFT_GATHER = engine_operation(
    "trtllm_draft_gather", DRAFTING, "#e7cb94", "<",
    "TensorRT-LLM two-model EAGLE-3: the captured hidden states gathered from the resource "
    "manager's buffer for a drafter forward, and the drafter's own last layer captured back")

CAPTURED_LAYERS = 3
"""Eagle3*SpecMetadata.__post_init__: layers (1, L/2 - 1, L - 4) of the target are captured."""
CAPTURE_PASSES = 5.0
"""Per captured layer and token, passes over a hidden-width row: ``hidden_states + residual``
reads two and writes one (3); the copy (one-model ``copy_``, two-model ``index_copy_``) reads it
and writes it into the buffer (2)."""
CAPTURE_KERNELS = 2.0
"""Per captured layer: the add and the copy (the two-model ``.to(dtype)`` is a no-op in bf16)."""
ACCEPT_KERNELS = {"eagle3": 7.0, "mtp": 2.0}
"""Greedy acceptance per step. EAGLE-3 (``sample_and_accept_draft_tokens``): ones, the target
tokens' copy into ``accepted_tokens``, the compare, int cast, cumprod, sum and add (7); the
argmax itself is the profile's sampling. MTP: a zeroed buffer and the fused
``mtp_sampling_and_accepted_draft_tokens_op`` (2)."""
PREPARE_KERNELS = {"eagle3": 16.0, "mtp": 18.0}
"""Once per step around the drafter loop. EAGLE-3: ``prepare_for_spec_dec`` (2 copies), the
first drafter inputs (input-id shift copy, index_put, concat: 3), the first pass's gather ids
(multiply, cast, add, subtract, add, concat: 6), after the loop ``torch.stack`` (1), the restore
(2 copies) and ``next_new_tokens`` (gather, concat: 2): 16. MTP Eagle (``MTPEagleWorker.forward``):
seq-len clones (2), ``cumsum`` and subtract for the last-token indices (2), the first drafter
inputs (shift copy, index_put, concat: 3), gather ids (6), stack (1), restore (2),
``next_new_tokens`` (2): 18."""
CHAIN_STEP_KERNELS = 27.0
"""Two-model, once per step, the capturable drafting loop's bookkeeping (``drafting_loops.py``):
``save_metadata_state`` (seq-len, KV-length and hidden-state index clones: 5),
``prepare_for_generation`` (KV-length updates, last-token indices by ``cumsum``, positions, seq-len
fills, the read/write indices rebuilt: 15), the restore (5) and the two ``torch.stack`` (2). The
acceptance itself runs in the target's sampler on the host (``TorchSampler``): no kernels. The
0.20 loop (one engine forward per token) is priced alike."""
ID_PASSES = 4.0
"""Passes over the int32 ids of every verified token: the target tokens copied into
``accepted_tokens`` (read, write) and the drafter's shifted input ids (read, write)."""
UPDATE_KERNELS_FIRST = 10.0
"""First drafter pass: two gathers of the last tokens' rows (for the LM head and the next
input), position gather and +1 (2), seq-len fills (2), ``on_update``'s copies and the KV-length
subtract and context add (4)."""
UPDATE_KERNELS_LATER = 5.0
"""Later passes: the two gathers, position gather and +1, ``kv_lens_cuda += 1``."""
UPDATE_ROWS = 4.0
"""Passes over a hidden-width row per sequence and drafter pass: two gathers, each a read and a write."""
SAMPLE_KERNELS = {"eagle3": 4.0, "mtp": 3.0}
"""Per drafter pass: argmax, then for EAGLE-3 the ``d2t`` gather and add and the int32 cast (4);
MTP: the ``.float()`` upcast, argmax and cast (3)."""
INDEX_BYTES = 4.0
"""int32 token ids and indices."""
RELAXED_PASSES = 3.0
"""Relaxed acceptance (``use_relaxed_acceptance_for_thinking``): ``softmax`` over the fp32 logits
reads and writes them (2), ``topk`` reads them (1); then ``mtp_relaxed_acceptance_op``."""
RELAXED_KERNELS = 3.0
GATHER_WIDTH = 3.0
"""Two-model: the first drafter forward reads the three captured layers ([T, 3h]); later ones
gather the same row width before keeping the first ``h`` columns (``get_hidden_states``)."""


def _method(step: SpeculativeStep) -> str | None:
    """The TensorRT-LLM path this member prices: EAGLE-3 or MTP (None: not modelled here)."""
    return step.method if step.method in ("eagle3", "mtp") else None


def _sequences(setup: StepSetup, grid: Grid) -> np.ndarray:
    """Sequences a batch-captured CUDA graph runs (the batch padded to its captured size)."""
    return padded_tokens(setup.profile, grid.b, 1.0)


def _bookkeeping(setup: StepSetup, grid: Grid, kernels: float, spec: np.ndarray) -> list[Operation]:
    """Acceptance and the per-step drafter bookkeeping: ``kernels`` index kernels over ``b x n`` ids."""
    ids = ID_PASSES * padded_tokens(setup.profile, grid.b, grid.n)
    return [operation(ACCEPT, ElementwiseShape(ids * spec, kernels * spec, INDEX_BYTES))]


def _capture(setup: StepSetup, grid: Grid, spec: np.ndarray) -> Operation:
    """The three captured hidden states of every token the target verified."""
    tokens = padded_tokens(setup.profile, grid.b, grid.n)
    rows = CAPTURED_LAYERS * CAPTURE_PASSES * tokens * setup.model.hidden_size
    return operation(CAPTURE, ElementwiseShape(rows * spec, CAPTURED_LAYERS * CAPTURE_KERNELS * spec))


def _relaxed(setup: StepSetup, grid: Grid, spec: np.ndarray) -> list[Operation]:
    """MTP's relaxed acceptance over every verified token's logits (0 top-k: strict)."""
    if setup.profile.relaxed_acceptance_topk <= 0:
        return []
    logits = padded_tokens(setup.profile, grid.b, grid.n) * setup.model.vocab_size
    return [operation(RELAXED, ElementwiseShape(RELAXED_PASSES * logits * spec, RELAXED_KERNELS * spec,
                                                LOGITS_BYTES))]


def _draft_sample(drafter: StepSetup, sequences: np.ndarray, method: str) -> Operation:
    """Argmax over one pass's draft logits (fp32, the draft vocabulary), one row per sequence."""
    logits = sequences * drafter.model.vocab_size
    return operation(DRAFT_SAMPLE, ElementwiseShape(logits, SAMPLE_KERNELS[method], LOGITS_BYTES)).drafting(1.0)


def _draft_update(drafter: StepSetup, sequences: np.ndarray, first: bool) -> Operation:
    """The last tokens' hidden states gathered, positions and KV lengths advanced."""
    rows = UPDATE_ROWS * sequences * drafter.model.hidden_size
    kernels = UPDATE_KERNELS_FIRST if first else UPDATE_KERNELS_LATER
    return operation(DRAFT_UPDATE, ElementwiseShape(rows, kernels)).drafting(1.0)


@dataclass(frozen=True)
class OneModelWork(EngineWork):
    """EAGLE-3 one-model and MTP Eagle: the drafter loop inside the target's CUDA graph."""

    def verification(self, setup: StepSetup, grid: Grid, step: SpeculativeStep) -> list[Operation]:
        method = _method(step)
        if method is None:
            return []
        spec = step.speculating(grid)
        ops = _bookkeeping(setup, grid, ACCEPT_KERNELS[method] + PREPARE_KERNELS[method], spec)
        if method == "eagle3":
            ops.append(_capture(setup, grid, spec))
        return ops + (_relaxed(setup, grid, spec) if method == "mtp" else [])

    def drafting_pass(self, target: StepSetup, drafted: Pass, grid: Grid, step: SpeculativeStep,
                      width: ArrayLike, first: bool) -> list[Operation]:
        drafter = drafted.setup
        method = _method(step)
        if method is None:
            return []
        sequences = _sequences(target, grid)
        return [_draft_sample(drafter, sequences, method), _draft_update(drafter, sequences, first)]


@dataclass(frozen=True)
class TwoModelWork(OneModelWork):
    """EAGLE-3 two-model: a separate draft engine, one engine forward (and host step) per draft
    token. MTP stays one-model (``MTPEagleWorker``: ``mtp_eagle_one_model`` defaults to true)."""

    def verification(self, setup: StepSetup, grid: Grid, step: SpeculativeStep) -> list[Operation]:
        if step.method != "eagle3":
            return super().verification(setup, grid, step)
        spec = step.speculating(grid)
        return _bookkeeping(setup, grid, CHAIN_STEP_KERNELS, spec) + [_capture(setup, grid, spec)]

    def drafting_pass(self, target: StepSetup, drafted: Pass, grid: Grid, step: SpeculativeStep,
                      width: ArrayLike, first: bool) -> list[Operation]:
        drafter = drafted.setup
        if step.method != "eagle3":
            return super().drafting_pass(target, drafted, grid, step, width, first)
        sequences = _sequences(target, grid)
        per_sequence = grid.per_column(width)
        tokens = padded_tokens(target.profile, grid.b, per_sequence)
        h = target.model.hidden_size
        # gather [T, 3h] from the buffer (read and write), then the drafter's own last layer
        # captured back for the next pass (CAPTURE_PASSES per row, its add and index_copy_)
        rows = 2.0 * GATHER_WIDTH * tokens * h + CAPTURE_PASSES * tokens * h
        gather = operation(DRAFT_GATHER, ElementwiseShape(rows, 1.0 + CAPTURE_KERNELS)).drafting(1.0)
        return [gather, _draft_sample(drafter, sequences, "eagle3"), _draft_update(drafter, sequences, first)]


ENGINE_WORK.register(OneModelWork(
    name="trtllm_one_model", source=SOURCE,
    description="TensorRT-LLM one-model EAGLE-3 / MTP Eagle: hidden-state capture, greedy acceptance, the "
                "drafter loop's argmax and index updates inside the target's CUDA graph"))
ENGINE_WORK.register(TwoModelWork(
    name="trtllm_two_model", source=SOURCE,
    description="TensorRT-LLM two-model EAGLE-3: a separate draft engine, its hidden-state gathers and "
                "sampler per draft token (host time per pass: host_draft_pass_us)"))
