"""vLLM's own work around a speculative step (the V1 engine), one member per version range.

What vLLM runs besides the model's passes, read from its code (vllm-project/vllm; citations per
operation below and in ``docs/engine-work-vllm.md``):

- **EAGLE-3 hidden-state capture** (verification): the target returns three auxiliary hidden
  states, each ``hidden_states + residual`` of a chosen layer (an add: read 2, write 1 row), and
  the model runner concatenates them to ``[T, 3h]`` (``torch.cat``: read 3, write 3 rows)
  before the drafter's fc (the fc itself is priced by :mod:`specroof.cost.drafting_ops`);
- **the proposer's inputs** (first drafting pass): the target's hidden states (after the fc)
  copied into the proposer's persistent buffer, ``[T, h]`` read and written;
- **EAGLE-3's drafter input** (every pass): ``hidden_norm`` of the hidden state and the
  ``torch.cat`` of embedding and hidden state to ``[T, 2h]`` (``llama_eagle3.py``
  ``LlamaDecoderLayer.forward``); the qkv GEMM over ``[T, 2h]`` is priced by drafting_ops;
- **the draft-to-target vocabulary map** (every EAGLE-3 pass whose head has a reduced
  vocabulary): ``Eagle3LlamaForCausalLM.compute_logits`` fills a ``[rows, V_target]`` tensor with
  -inf and scatters the ``[rows, V_draft]`` logits into it (``arange + d2t`` for the indices),
  then the proposer's argmax reads the full row;
- **the draft argmax** (every pass, every method): ``logits.argmax(dim=-1)`` over each sampled
  row (one per sequence, or per tree branch);
- **host launches per drafting pass**: the proposer's Python loop launches eager PyTorch ops,
  Triton kernels and CUDA-graph replays, each costing the host ``launch_overhead_us``; the loop
  does not synchronize, so the GPU waits only for what exceeds the pass's own GPU time;
- **input preparation the GPU waits for** (v0.10): after the rejection sampler the host reads
  the accepted tokens back (a synchronization) and prepares the drafter's inputs on the CPU;
- **n-gram matching on the CPU** (``method ngram``): per sequence and step, the numba KMP
  search over the whole context (``host_ngram_seq_us`` + context x ``host_ngram_token_ns``).

Already priced elsewhere, not repeated here: the EAGLE/EAGLE-3 fc and MTP projection
(:mod:`specroof.cost.drafting_ops`), the drafter's KV writes (the profile's elementwise passes
include RoPE and the KV-cache write), the first pass over every verified token (the draft
"prefill" of the newly accepted tokens), rejection sampling (the profile's ``sampling_passes``)
and the host time per engine step (``host_step_us``).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from specroof.cost.engine_work.base import ENGINE_WORK, EngineWork, SpeculativeStep, engine_operation
from specroof.cost.grid import Grid
from specroof.cost.operation import OVERHEAD_GROUP, ArrayLike, ElementwiseShape, HostShape, Operation, operation
from specroof.cost.passes import Pass
from specroof.cost.pricing import price
from specroof.cost.setup import StepSetup
from specroof.errors import SpecroofWarning

AUX_CAPTURE = engine_operation(
    "vllm_aux_hidden", OVERHEAD_GROUP, "#6f4e37", "v",
    "vLLM EAGLE-3: capture of three target hidden states (hidden + residual) and their concatenation [T, 3h]")
DRAFT_INPUTS = engine_operation(
    "vllm_draft_inputs", OVERHEAD_GROUP, "#8c6d31", "v",
    "vLLM proposer: the target's hidden states copied into the drafter's input buffer [T, h]")
EAGLE3_INPUT = engine_operation(
    "vllm_eagle3_input", OVERHEAD_GROUP, "#bd9e39", "v",
    "vLLM EAGLE-3 drafter: hidden_norm and the concatenation of embedding and hidden state [T, 2h]")
D2T_MAP = engine_operation(
    "vllm_d2t_map", OVERHEAD_GROUP, "#e7ba52", "v",
    "vLLM EAGLE-3: draft logits scattered into a -inf filled target-vocabulary row (draft-to-target map)")
DRAFT_ARGMAX = engine_operation(
    "vllm_draft_argmax", OVERHEAD_GROUP, "#e7cb94", "v", "vLLM proposer: argmax over each sampled row's logits")
DRAFT_HOST = engine_operation(
    "vllm_draft_host", OVERHEAD_GROUP, "#843c39", "8",
    "vLLM proposer: host launches of a drafting pass the GPU waits for (beyond the pass's own GPU time)")
PREP_HOST = engine_operation(
    "vllm_prep_host", OVERHEAD_GROUP, "#a55194", "8",
    "vLLM proposer: input preparation on the host after reading back the accepted tokens (GPU idle)")
NGRAM_HOST = engine_operation(
    "vllm_ngram_host", OVERHEAD_GROUP, "#d6616b", "8", "vLLM n-gram proposer: CPU matching over every context")

AUX_ROW_PASSES = 15.0
"""Rows of [T, h] moved per verified token by the EAGLE-3 capture: three adds (read 2, write 1)
and the concatenation (read 3, write 3): ``vllm/model_executor/models/llama.py`` LlamaModel.forward
(``aux_hidden_states.append(hidden_states + residual)``), ``gpu_model_runner.py`` (``torch.cat``)."""
AUX_KERNELS = 4.0
INPUT_ROW_PASSES = 2.0
"""The proposer's ``self.hidden_states[:num_tokens] = target_hidden_states``: read and write a row."""
EAGLE3_INPUT_ROW_PASSES = 6.0
"""hidden_norm reads and writes a row (2); the cat reads two and writes two (4)."""
EAGLE3_INPUT_KERNELS = 2.0
D2T_INDEX_BYTES = 40.0
"""Per draft-vocabulary entry: ``torch.arange`` writes an int64 (8), ``base + d2t`` reads two
and writes one (24), the scatter reads the index (8)."""
D2T_KERNELS = 4.0
"""arange, add, new_full, index_put."""


@dataclass(frozen=True)
class Launches:
    """Host launches of the proposer (eager PyTorch ops, Triton kernels, CUDA-graph replays) per
    drafting pass, counted from the code of a version: ``first`` the pass over the verified
    tokens, ``later`` each later pass; ``eagle3_first`` / ``eagle3`` what EAGLE-3 adds to them
    (the aux concat and fc launch, the draft-to-target map when compute_logits runs eagerly)."""

    first: int
    later: int
    eagle3_first: int
    eagle3: int

    def per_pass(self, method: str, first: bool) -> int:
        """Launches of one pass of ``method``; a draft model's passes are all alike (later)."""
        opening = first and method != "draft"
        extra = (self.eagle3_first if opening else self.eagle3) if method == "eagle3" else 0
        return (self.first if opening else self.later) + extra


@dataclass(frozen=True)
class VllmWork(EngineWork):
    """vLLM's work around a speculative step for one version range.

    ``dense`` / ``moe``: the proposer's launches for a dense / MoE target (they run different
    model runners in v0.25+; None: as dense). ``prep_exposed``: launches of input preparation
    the GPU waits for once per step (v0.10: after the accepted tokens are read back).
    ``eager_drafter``: the drafter's forward runs without CUDA graphs (v0.8), so each of its
    kernels is a launch too. Under a profile with ``cuda_graph`` off the step already prices
    the pass's kernel launches (its ``launch`` wait): the loop's launches are then added whole.
    ``v1_draft_models``: the V1 engine drafts with a separate draft model (v0.12+, PR #24322);
    before, vLLM ran draft models on its V0 worker, which is not modelled (said in a warning).
    ``eagle3_prep``: launches EAGLE-3 adds to the exposed preparation (v0.10 gathers each of
    the three captured hidden states where EAGLE-1 gathers one)."""

    dense: Launches = Launches(0, 0, 0, 0)
    moe: Launches | None = None
    prep_exposed: int = 0
    eagle3_prep: int = 0
    eager_drafter: bool = False
    v1_draft_models: bool = True

    def launches(self, target: StepSetup) -> Launches:
        return self.moe if target.model.is_moe and self.moe is not None else self.dense

    def verification(self, setup: StepSetup, grid: Grid, step: SpeculativeStep) -> list[Operation]:
        on = step.speculating(grid)
        ops: list[Operation] = []
        if step.method == "eagle3":
            rows = AUX_ROW_PASSES * grid.tokens * setup.model.hidden_size * on
            ops.append(operation(AUX_CAPTURE, ElementwiseShape(rows, AUX_KERNELS * on)))
        drafting = (grid.per_column(step.steps) > 0).astype(float)
        prep = self.prep_exposed + (self.eagle3_prep if step.method == "eagle3" else 0)
        if prep and np.any(drafting):
            us = prep * setup.profile.launch_overhead_us * drafting * on
            ops.append(operation(PREP_HOST, HostShape(us)))
        if step.method == "ngram":
            ops.append(operation(NGRAM_HOST, HostShape(ngram_us(setup, grid) * on)))
        return ops

    def drafting_pass(self, target: StepSetup, drafted: Pass, grid: Grid, step: SpeculativeStep,
                      width: ArrayLike, first: bool) -> list[Operation]:
        drafter = drafted.setup
        if step.method == "draft" and not self.v1_draft_models:
            warnings.warn(SpecroofWarning(
                f"{self.description}: draft models ran on vLLM's V0 speculative worker, not modelled; priced with "
                "the V1 proposer's loop (vLLM v0.12+, PR #24322)"), stacklevel=2)
        column = grid.per_column(width)
        gpu = _gpu_ops(target, drafter, grid, step, column, first)
        gpu_s, kernels = _gpu_time(drafter, drafted.operations + gpu)
        launch_s = target.profile.launch_overhead_us * 1e-6
        loop = self.launches(target).per_pass(step.method, first)
        if drafter.profile.cuda_graph:
            own = kernels if self.eager_drafter else 0.0
            waits = np.maximum((loop + own) * launch_s - gpu_s, 0.0) * 1e6
        else:  # an eager profile: the step prices the pass's launch wait, against all its time (this one's too)
            waits = np.full_like(gpu_s, loop * launch_s * 1e6)
        return [op.drafting(1.0) for op in gpu + [operation(DRAFT_HOST, HostShape(waits))]]


def ngram_us(setup: StepSetup, grid: Grid) -> np.ndarray:
    """CPU n-gram matching per step: every sequence searches its whole context (prompt and
    output) with the numba KMP matcher, one thread (``vllm/v1/spec_decode/ngram_proposer.py``)."""
    prof = setup.profile
    return grid.b * (prof.host_ngram_seq_us + grid.s * prof.host_ngram_token_ns * 1e-3)


def _gpu_ops(target: StepSetup, drafter: StepSetup, grid: Grid, step: SpeculativeStep, width: np.ndarray,
             first: bool) -> list[Operation]:
    """The GPU work vLLM adds to one drafting pass over ``width`` tokens per sequence."""
    h = target.model.hidden_size
    tokens = grid.b * width
    rows = grid.b * (1.0 if first else width)  # sampled rows: each sequence's last token, or each branch
    logit_bytes = target.activation_bytes
    draft_vocab, target_vocab = drafter.model.vocab_size, target.model.vocab_size
    ops: list[Operation] = []
    if first and step.method in ("eagle", "eagle3", "mtp"):
        ops.append(operation(DRAFT_INPUTS, ElementwiseShape(INPUT_ROW_PASSES * tokens * h, 1.0)))
    argmax_vocab = draft_vocab
    if step.method == "eagle3":
        ops.append(operation(EAGLE3_INPUT, ElementwiseShape(EAGLE3_INPUT_ROW_PASSES * tokens * h,
                                                            EAGLE3_INPUT_KERNELS)))
        if draft_vocab < target_vocab:
            moved = rows * (target_vocab + 2.0 * draft_vocab) * logit_bytes + D2T_INDEX_BYTES * draft_vocab
            ops.append(operation(D2T_MAP, ElementwiseShape(moved, D2T_KERNELS, 1.0)))
            argmax_vocab = target_vocab
    ops.append(operation(DRAFT_ARGMAX, ElementwiseShape(rows * argmax_vocab * logit_bytes, 1.0, 1.0)))
    return ops


def _gpu_time(setup: StepSetup, ops: list[Operation]) -> tuple[np.ndarray, np.ndarray]:
    """GPU seconds and kernels of ``ops`` (host operations left out)."""
    seconds: ArrayLike = 0.0
    kernels: ArrayLike = 0.0
    for op in ops:
        if op.timed and not isinstance(op.shape, HostShape):
            cost, count = price(op, setup), np.asarray(op.count, dtype=float)
            seconds = seconds + np.asarray(cost.seconds, dtype=float) * count
            kernels = kernels + np.asarray(cost.kernels, dtype=float) * count
    return np.asarray(seconds, dtype=float), np.asarray(kernels, dtype=float)


# Launch counts, each from the version's code (docs/engine-work-vllm.md lists every launch).
V0_10_LAUNCHES = Launches(first=14, later=27, eagle3_first=6, eagle3=4)
"""vLLM v0.10 (``vllm/v1/spec_decode/eagle.py`` EagleProposer.propose): each later pass updates
positions, sequence lengths and the slot mapping with 16 small torch ops, builds the attention
metadata (2), copies input ids, positions and hidden states into the graph buffers (3), replays
the drafter's piecewise CUDA graph around its eager attention (2 replays + 2 kernels), runs
compute_logits eagerly (the LM head GEMM, 1) and the argmax (1): 27. The first pass shifts the
input ids (2), copies positions and hidden states (2), builds metadata (2), runs the model (4),
gathers the sampled rows (1), the LM head (1) and the argmax (1): 13, plus one fallback copy: 14.
EAGLE-3 adds the aux concat and the fc launch on the first pass (2) and the eager draft-to-target
map (arange, add, new_full, index_put: 4) on every pass."""
V0_8_LAUNCHES = Launches(first=10, later=23, eagle3_first=6, eagle3=4)
"""vLLM v0.8 (V1 ``EagleProposer``, before PR #17211 / #17504 captured the drafter): v0.10's
loop without the piecewise graph's 2 replays and 2 eager attention kernels, since the whole
drafter forward runs eagerly and each of its kernels is counted as a launch of its own."""
V0_10_PREP = 20
"""v0.10 (``gpu_model_runner.py`` propose_draft_token_ids, ``EagleProposer.prepare_inputs``): the
host reads the accepted tokens back, counts rejections per request, and computes the kept
token indices, query starts and sequence lengths with about ten numpy/torch CPU ops, copies
them to the GPU (3) and gathers the target's tokens, positions and hidden states (4), the next
token ids (2): about 20 launches the GPU waits for, once per step. PR #24539 (v0.11) moved this
to the GPU without a synchronization ("padded drafter batch")."""
V0_10_EAGLE3_PREP = 2
"""v0.10 (``gpu_model_runner.py`` propose_draft_token_ids, after ``EagleProposer.prepare_inputs``):
EAGLE-1 gathers the kept tokens' hidden states once (``hidden_states[token_indices]``); EAGLE-3
gathers each of the three captured states before concatenating them (``torch.cat([h[token_indices]
for h in aux_hidden_states], dim=-1)``; the cat is counted in ``eagle3_first``): 2 launches more,
in the same exposed preparation. v0.11's padded batch slices instead (views, no launch)."""
V0_11_LAUNCHES = Launches(first=20, later=27, eagle3_first=6, eagle3=4)
"""v0.11 (padded drafter batch, PR #24539): the input preparation runs as GPU kernels
(``prepare_next_token_ids_padded``, ``prepare_inputs_padded``: about 6 launches) inside the first
pass, overlapped; the loop is v0.10's (its fusion, PR #33503, came in 2026)."""
MRV1_FUSED_LAUNCHES = Launches(first=19, later=12, eagle3_first=6, eagle3=4)
"""vLLM v0.25 model runner V1 (MoE targets; ``vllm/v1/spec_decode/llm_base_proposer.py``): one
fused Triton kernel updates positions, slot mapping and sequence lengths (PR #33503), then
metadata (2), two buffer copies, the piecewise graph (4), the int cast, LM head and argmax."""
MRV2_LAUNCHES = Launches(first=8, later=5, eagle3_first=2, eagle3=0)
"""vLLM v0.25 model runner V2 (dense targets; ``vllm/v1/worker/gpu/spec_decode/eagle/speculator.py``):
each draft step is one FULL CUDA graph (model, logits, d2t, argmax and the input update),
launched after the slot-mapping kernel, the metadata build (2) and the step counter's fill: 5;
the prefill: the hidden-state copy, three parameter copies, prepare_eagle_inputs, its graph and
prepare_eagle_decode: 8; EAGLE-3 adds the aux concat and the fc launch."""

ENGINE_WORK.register(VllmWork(
    name="vllm-0.8", description="vLLM v0.8 (V1 EagleProposer before CUDA graphs for the drafter: every kernel eager)",
    source="vllm-project/vllm v0.8.x: vllm/v1/spec_decode/eagle.py; CUDA graphs for EAGLE came with PR #17211, "
           "for EAGLE-3 with PR #17504 (2025-05, v0.9)",
    dense=V0_8_LAUNCHES, prep_exposed=V0_10_PREP, eagle3_prep=V0_10_EAGLE3_PREP, eager_drafter=True,
    v1_draft_models=False))
ENGINE_WORK.register(VllmWork(
    name="vllm-0.10", description="vLLM v0.10 (V1 EagleProposer, synchronous input preparation, eager draft loop)",
    source="vllm-project/vllm v0.10.x: vllm/v1/spec_decode/eagle.py, vllm/v1/worker/gpu_model_runner.py",
    dense=V0_10_LAUNCHES, prep_exposed=V0_10_PREP, eagle3_prep=V0_10_EAGLE3_PREP, v1_draft_models=False))
ENGINE_WORK.register(VllmWork(
    name="vllm-0.11", description="vLLM v0.11 (padded drafter batch: no synchronization before drafting)",
    source="vllm-project/vllm v0.11.x: vllm/v1/spec_decode/eagle.py (PR #24539)", dense=V0_11_LAUNCHES,
    v1_draft_models=False))
ENGINE_WORK.register(VllmWork(
    name="vllm-mrv2", description="vLLM v0.25+ (model runner V2 for dense targets: one CUDA graph per draft step)",
    source="vllm-project/vllm: vllm/v1/worker/gpu/spec_decode/eagle/speculator.py (model runner V2), "
           "vllm/v1/spec_decode/llm_base_proposer.py (V1, MoE targets)",
    dense=MRV2_LAUNCHES, moe=MRV1_FUSED_LAUNCHES))
