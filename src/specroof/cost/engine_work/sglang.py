"""SGLang's own work around a speculative step: its EAGLE worker, its n-gram worker, its host time.

Read from SGLang's released sources (the ``sglang`` wheels on PyPI, ``sglang/srt/speculative``),
v0.4.10.post2 and v0.5.10 for the spec-v1 worker (``eagle_worker.py``, ``eagle_utils.py`` /
``eagle_info.py``, ``build_eagle_tree.py``), v0.5.12 for spec v2 (``eagle_worker_v2.py``) and
``ngram_worker.py``. EAGLE, EAGLE-3, MTP (``NEXTN`` is renamed ``EAGLE``) and a draft model
(``STANDALONE``, 0.5) share the EAGLE worker. Per speculative step it runs, besides the model's
passes (priced from the model: :mod:`specroof.cost.drafting_ops`):

- the draft preparation: KV slots and their ``req_to_token`` entries for ``steps x topk`` draft
  tokens per sequence (``assign_draft_cache_locs``), positions, the draft graph's inputs and its
  attention metadata (FlashInfer: KV indices for every branch and step);
- drafting (inside the draft CUDA graph): after each drafting forward a softmax and top-k over the
  draft vocabulary, and ``select_top_k_tokens``: the top-k of the ``topk^2`` expanded scores, the
  gather of their tokens and hidden states;
- the tree (``build_tree_kernel_efficient``): the top ``n - 1`` scores of all levels, their sort
  and tokens, the tree mask (``FULL_MASK``: one byte per (draft token, context token), filled and
  then written by the kernel), positions and the three ``retrive_*`` arrays;
- verification: the target's EAGLE-3 hidden states (three ``hidden + residual`` sums and their
  concatenation), the tree mask copied into the verify graph, ``verify_tree_greedy``, the accept
  index, freeing the rejected tokens' KV slots and writing the accepted ones' ``req_to_token``
  (page size 1, the default: indices only, no KV data moves), and the gathers of the accepted
  tokens' hidden states (and, in spec v1, of their fp32 logits);
- the host time of all that, which the overlap scheduler hides only where it runs (spec v2).

The n-gram worker (0.5: ``ngram_worker.py``) matches each sequence's suffix in a C++ trie on the
CPU, then builds each sequence's mask from a host tensor over its whole context
(``USE_FULL_MASK``), copies it to the GPU and concatenates: launches and traffic per sequence
and per context token.

Accepted tokens are priced at their most, ``steps + 1`` per sequence (the count the draft-extend
graph is captured for): a step's price does not depend on acceptance in this floor.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from specroof.cost.engine_work.base import ENGINE_WORK, EngineWork, SpeculativeStep, engine_operation
from specroof.cost.grid import Grid
from specroof.cost.operation import OVERHEAD_GROUP, ArrayLike, ElementwiseShape, HostShape, Operation, operation
from specroof.cost.passes import Pass
from specroof.cost.setup import StepSetup
from specroof.errors import SpecroofWarning

FP32, INT64, INT32, BOOL = 4.0, 8.0, 4.0, 1.0
"""Bytes per element of the worker's tensors: scores and logits, token ids and KV slot indices,
``req_to_token`` entries and KV indices, mask entries."""

EAGLE_WORKER_METHODS = ("eagle", "eagle3", "mtp", "draft")
"""Methods SGLang runs with its EAGLE worker (``speculative_algorithm`` EAGLE, EAGLE3, NEXTN, STANDALONE)."""

DRAFT_PREPARE_KERNELS = 15.0
"""``_draft_preprocess_decode``: ``assign_draft_cache_locs`` (1), ``torch.sum(seq_lens)`` (1),
positions' ``repeat_interleave`` (2), the draft ForwardBatch's positions (2), the draft graph's
input copies (seq_lens, out_cache_loc, positions, hidden states, topk_p, topk_index,
req_pool_indices, accept lengths: 8), ``generate_draft_decode_kv_indices`` (1)."""
TREE_BUILD_KERNELS = 12.0
"""``build_tree_kernel_efficient``: score and token concatenations (2), ``torch.topk`` (1), sort
(1), gather (1), verified-token concatenation (1), parents concatenation (1), the mask's
``torch.full`` (1), the three ``retrive_*`` fills (3) and the sgl-kernel build kernel (1)."""
VERIFY_KERNELS = 24.0
"""Spec-v1 ``verify`` without the accepted-logits gather: ``prepare_for_verify`` (2), the mask's
copy into the verify graph (1), ``verify_tree_greedy`` (1), accept-index filter (3), predict
gather (1), evict mask (2), the rejected slots' boolean index (2), the allocator's free (1),
accepted slots (1), ``assign_req_to_token_pool`` and its ends (3), ``seq_lens.add_`` (2), the
accepted hidden states (2), the accept index, predictions and lengths copied to the host (3)."""
LOGITS_GATHER_KERNELS = 1.0
"""Spec v1 only: ``logits_output.next_token_logits[accepted_indices]`` (eagle_worker.py verify;
eagle_worker_v2.py gathers no target logits)."""
INDEX_BYTES_PER_TOKEN = 48.0
"""The verify's index traffic per verified token: the slots read and freed (int64), the accept
index, predictions and evict mask, ``req_to_token`` writes: about six int64 passes."""
EAGLE3_CAPTURE_KERNELS, EAGLE3_CAPTURE_PASSES = 4.0, 15.0
"""EAGLE-3's target hidden states (models/llama.py, layers/logits_processor.py): three
``hidden_states + residual`` (read 2, write 1 each: 9 passes over [T, h]) and their
``torch.cat`` to [T, 3h] (read and write: 6 passes)."""
FIRST_PASS_KERNELS = 16.0
"""The draft-extend pass after verification: ``create_extend_after_decode_spec_info`` (1), its
batch fields (3), the draft-extend graph's input copies (6), ``capture_for_decode``'s softmax and
top-k (2), ``select_top_k_tokens`` at step 0 (hidden and parent ``repeat_interleave``: 4)."""
LATER_PASS_KERNELS = 12.0
"""Each later drafting forward: ``select_top_k_tokens`` (expanded scores' product, their top-k,
token gather, parent index arithmetic (4), hidden-state gather: 8), ``positions.add_`` (1),
softmax (1) and top-k (1) of its output; one more for EAGLE-3's ``hot_token_id`` map (both passes)."""
SOFTMAX_TOPK_PASSES = 3.0
"""Softmax reads and writes the fp32 draft logits, top-k reads the probabilities."""
NGRAM_SEQUENCE_LAUNCHES = 4.0
"""Per sequence (ngram_worker.py, ``USE_FULL_MASK``): the host ``torch.ones`` mask over its
context and its trie mask copied to the GPU (2), ``torch.cat`` (1), ``.to(torch.bool)`` (1)."""
NGRAM_STEP_LAUNCHES = 4.0
"""Per step: the draft tokens' copy, ``reconstruct_indices_from_tree_mask``, the masks'
``torch.cat`` and ``prepare_for_verify``'s ``req_to_token`` write."""
NGRAM_MASK_BYTES = 19.0
"""Per (draft token, context token) of a sequence: the fp32 ones land on the GPU (write 4), the
concatenation reads and writes them (8), the cast to bool reads 4 and writes 1, the batch's
concatenation reads and writes 1 (2)."""

DRAFT_PREPARE = engine_operation("sglang_draft_prepare", OVERHEAD_GROUP, "#8c564b", "v",
                                 "SGLang: draft KV slots, positions, draft graph inputs and attention metadata")
TREE_BUILD = engine_operation("sglang_tree_build", OVERHEAD_GROUP, "#e377c2", "v",
                              "SGLang: the tree's top-n scores, tokens, mask, positions and retrieve arrays")
HIDDEN_CAPTURE = engine_operation("sglang_hidden_capture", OVERHEAD_GROUP, "#7f7f7f", "v",
                                  "SGLang: the target's three EAGLE-3 hidden states summed and concatenated")
VERIFY_ACCEPT = engine_operation("sglang_verify_accept", OVERHEAD_GROUP, "#bcbd22", "v",
                                 "SGLang: verify_tree_greedy, accept index, KV slot free/assign, accepted gathers")
DRAFT_SELECT = engine_operation("sglang_draft_select", OVERHEAD_GROUP, "#17becf", "v",
                                "SGLang: softmax and top-k of a draft pass, top-k of topk^2, hidden gathers")
SPEC_HOST = engine_operation("sglang_speculative_host", OVERHEAD_GROUP, "#9edae5", "v",
                             "SGLang: host time of a speculative step the overlap scheduler does not hide")
NGRAM_MASK = engine_operation("sglang_ngram_mask", OVERHEAD_GROUP, "#c49c94", "v",
                              "SGLang n-gram: each sequence's full-context tree mask built and copied")
NGRAM_HOST = engine_operation("sglang_ngram_host", OVERHEAD_GROUP, "#f7b6d2", "v",
                              "SGLang n-gram: eager launches per sequence and per step on the host")


def overlapped(setup: StepSetup, grid: Grid, step: SpeculativeStep) -> np.ndarray:
    """1.0 on the columns whose speculative step runs under the overlap scheduler (SGLang's spec
    v2: ``speculative_host_overlap`` all, or chain where a drafting pass takes one token per
    sequence), else 0.0; shaped (1, N, 1)."""
    mode = setup.profile.speculative_host_overlap
    chain = (grid.per_column(step.topk) <= 1.0).astype(float)
    return {"all": np.ones_like(chain), "chain": chain}.get(mode, np.zeros_like(chain))


def _accepted(grid: Grid, step: SpeculativeStep) -> np.ndarray:
    """Most tokens a sequence accepts in one step: ``steps + 1``, at most the verified tokens."""
    return np.minimum(grid.n, grid.per_column(step.steps) + 1.0)


def _tree_operations(setup: StepSetup, grid: Grid, step: SpeculativeStep, spec: np.ndarray) -> list[Operation]:
    """Draft preparation and the tree's construction, once per step."""
    b, n, s = grid.b, grid.n, grid.s
    steps, topk = grid.per_column(step.steps), grid.per_column(step.topk)
    h = setup.model.hidden_size
    prepare_bytes = INT32 * b * s * (1.0 + topk * steps) + 2.0 * setup.activation_bytes * b * h
    scores = b * (topk + np.maximum(steps - 1.0, 0.0) * topk * topk)
    tree_bytes = (3.0 * FP32 + 2.0 * INT64) * scores + BOOL * b * (s * n + 2.0 * n * n) + 7.0 * INT64 * b * n
    return [
        operation(DRAFT_PREPARE, ElementwiseShape(prepare_bytes * spec, DRAFT_PREPARE_KERNELS * spec, 1.0)),
        operation(TREE_BUILD, ElementwiseShape(tree_bytes * spec, TREE_BUILD_KERNELS * spec, 1.0)),
    ]


def _verify_operations(setup: StepSetup, grid: Grid, step: SpeculativeStep, spec: np.ndarray) -> list[Operation]:
    """The EAGLE-3 capture, verify and accept kernels, once per step. The n-gram worker
    (ngram_info.py) verifies the same way, always in spec v1, without hidden states, and may
    accept every verified token."""
    b, n, s = grid.b, grid.n, grid.s
    h, act = setup.model.hidden_size, setup.activation_bytes
    eagle3, ngram = step.method == "eagle3", step.method == "ngram"
    captured = 0.0 if ngram else (3.0 if eagle3 else 1.0) * h
    accepted = b * (n if ngram else _accepted(grid, step))
    v1 = 1.0 if ngram else 1.0 - overlapped(setup, grid, step)
    verify_bytes = (2.0 * BOOL * b * (s * n + n * n) + INDEX_BYTES_PER_TOKEN * b * n
                    + 4.0 * act * accepted * captured + v1 * 2.0 * FP32 * accepted * setup.model.vocab_size)
    kernels = VERIFY_KERNELS + v1 * LOGITS_GATHER_KERNELS
    ops = [operation(VERIFY_ACCEPT, ElementwiseShape(verify_bytes * spec, kernels * spec, 1.0))]
    if eagle3:
        elements = EAGLE3_CAPTURE_PASSES * grid.tokens * h
        ops.insert(0, operation(HIDDEN_CAPTURE, ElementwiseShape(elements * spec, EAGLE3_CAPTURE_KERNELS * spec)))
    return ops


def _host_operations(setup: StepSetup, grid: Grid, step: SpeculativeStep, spec: np.ndarray) -> list[Operation]:
    """The speculative step's host time where the overlap scheduler does not hide it."""
    us = setup.profile.speculative_host_us
    if not us:
        return []
    return [operation(SPEC_HOST, HostShape(us * spec * (1.0 - overlapped(setup, grid, step))))]


def _ngram_operations(setup: StepSetup, grid: Grid, spec: np.ndarray) -> list[Operation]:
    """The n-gram worker's per-sequence masks (GPU traffic per context token) and its eager
    launches (host: ``launch_overhead_us`` each; the trie match itself is not measured)."""
    b, n, s = grid.b, grid.n, grid.s
    mask_bytes = NGRAM_MASK_BYTES * b * n * s
    launches = NGRAM_SEQUENCE_LAUNCHES * b + NGRAM_STEP_LAUNCHES
    host_us = setup.profile.launch_overhead_us
    return [
        operation(NGRAM_MASK, ElementwiseShape(mask_bytes * spec, launches * spec, 1.0)),
        operation(NGRAM_HOST, HostShape(host_us * launches * spec)),
    ]


def _warn_unsupported(setup: StepSetup, method: str) -> None:
    """Say so when SGLang (this version) has no such speculation: it is priced all the same."""
    version = setup.profile.engine_version
    if method == "heads":
        why = "SGLang has no Medusa-style heads; priced with nothing of SGLang's added"
    elif method in ("ngram", "draft") and version.startswith("0.4"):
        why = f"SGLang {version} has no {method} speculation (added in 0.5); priced with 0.5's worker"
    else:
        return
    warnings.warn(SpecroofWarning(f"profile {setup.profile.name}: {why}"), stacklevel=2)


@dataclass(frozen=True)
class SGLangWork(EngineWork):
    """SGLang's EAGLE worker (EAGLE, EAGLE-3, MTP, draft model) and n-gram worker."""

    def verification(self, setup: StepSetup, grid: Grid, step: SpeculativeStep) -> list[Operation]:
        spec = step.speculating(grid)
        _warn_unsupported(setup, step.method)
        if step.method == "ngram":
            return _ngram_operations(setup, grid, spec) + _verify_operations(setup, grid, step, spec)
        if step.method not in EAGLE_WORKER_METHODS:
            return []
        return (_tree_operations(setup, grid, step, spec) + _verify_operations(setup, grid, step, spec)
                + _host_operations(setup, grid, step, spec))

    def drafting_pass(self, target: StepSetup, drafted: Pass, grid: Grid, step: SpeculativeStep,
                      width: ArrayLike, first: bool) -> list[Operation]:
        drafter = drafted.setup
        if step.method not in EAGLE_WORKER_METHODS:
            return []
        b, topk = grid.b, grid.per_column(step.topk)
        vocab, h, act = drafter.model.vocab_size, drafter.model.hidden_size, drafter.activation_bytes
        hot_map = 1.0 if step.method == "eagle3" else 0.0
        if first:
            rows = b  # capture_for_decode: the last token of each sequence
            captured = (3.0 if step.method == "eagle3" else 1.0) * h  # the accepted tokens' target states
            moved = 2.0 * act * b * (h * topk + captured * _accepted(grid, step))
            kernels = FIRST_PASS_KERNELS + hot_map
        else:
            rows = b * topk
            moved = 2.0 * act * rows * h + 3.0 * FP32 * rows * topk
            kernels = LATER_PASS_KERNELS + hot_map
        moved = moved + SOFTMAX_TOPK_PASSES * FP32 * rows * vocab
        return [operation(DRAFT_SELECT, ElementwiseShape(moved, kernels * np.ones_like(moved), 1.0)).drafting(1.0)]


ENGINE_WORK.register(SGLangWork(
    name="sglang",
    description="SGLang's EAGLE worker (draft preparation, tree construction, verify and accept kernels, "
                "draft top-k selection, host time unless overlapped) and n-gram worker (per-sequence masks)",
    source="sgl-project/sglang python/sglang/srt/speculative (eagle_worker.py, eagle_utils.py, build_eagle_tree.py "
           "at v0.4.10.post2 and v0.5.10; eagle_worker_v2.py and ngram_worker.py at v0.5.12)",
))
