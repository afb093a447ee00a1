"""Research code's per-step work: Medusa, Hydra and EAGLE-2/3 as Spec-Bench runs them, as operations.

The research implementations (hemingkx/Spec-Bench at fd2c1cd, which vendors FasterDecoding/Medusa,
SafeAILab/EAGLE and Hydra; transformers 4.37.1, greedy, batch 1) run a speculative step as eager
PyTorch calls from Python, around the model's forward: they build the fp32 tree attention mask
each forward, gather the logits of every root-to-leaf path, compare them with the candidates
(cumprod of matches), read the accepted length back to the host many times (every CUDA scalar
used as an index or a slice bound is an ``.item()``), copy the accepted tokens' KV into place,
and (EAGLE-2) rebuild the next tree, partly on the CPU. No CUDA graph hides any of it.

Each part is an operation priced by the existing pricing functions:

- GPU work as elementwise operations with its bytes (the eager attention's scores, the paths'
  logits gathered, the mask's passes, the KV compaction). Kernels launched while the GPU still
  runs the forward (the eager attention, the gathers and the acceptance up to its first sync)
  count in the eager pass's launch model (``launch_overhead_us`` per kernel,
  :func:`specroof.cost.pricing.price_launch`), which lets them hide under GPU time;
- host work as host operations, paid in full: the kernels launched while the GPU waits for them
  (before the forward, after a synchronization: ``launch_overhead_us`` each), each
  synchronization (``host_sync_us``) and each PyTorch call on a CPU tensor (``host_cpu_op_us``;
  the KV cache's lengths live on the CPU and are read and bumped in every layer).

The counts are data (``research.toml``, each with the code it was read from); the per-kernel and
per-call host times are profile fields with their evidence (``cost/profiles.toml`` [research]).
Every operation vanishes on the plain step (the baseline is transformers' ``generate``, whose
own loop costs are the profile's, not these). Methods other than ``heads`` (Medusa; Hydra is
priced as Medusa), ``eagle`` and ``eagle3`` get nothing added, and a warning says so.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np

from specroof.cost.engine_work.base import ENGINE_WORK, EngineWork, SpeculativeStep, engine_operation
from specroof.cost.grid import Grid
from specroof.cost.operation import (
    ATTENTION_GROUP,
    OVERHEAD_GROUP,
    ArrayLike,
    ElementwiseShape,
    HostShape,
    Operation,
    operation,
)
from specroof.cost.passes import Pass
from specroof.cost.setup import StepSetup
from specroof.datafiles import read_toml
from specroof.errors import SpecroofWarning

FAMILIES = {"heads": "heads", "eagle": "eagle", "eagle3": "eagle"}
"""The registered methods whose research code is counted, and the table of research.toml each reads."""
MASK_BYTES = 4.0
"""The research models force the attention mask to fp32 (``_prepare_decoder_attention_mask``)."""

EAGER_ATTENTION = engine_operation("research_eager_attention", ATTENTION_GROUP, "#e6550d", "s",
                                   "research code: the verification's eager attention beyond a fused kernel (scale, "
                                   "fp32 mask add, fp32 softmax, cast: the scores through memory)")
TREE_MASK = engine_operation("research_tree_mask", OVERHEAD_GROUP, "#8c6d31", "s",
                             "research code: the verification forward's fp32 attention mask, tree applied, built "
                             "eagerly every step")
PATH_LOGITS = engine_operation("research_path_logits", OVERHEAD_GROUP, "#bd9e39", "p",
                               "research code: the logits (and hidden states) of every root-to-leaf path gathered, "
                               "and the acceptance's compare and cumprod up to its first sync (launched while the "
                               "GPU still runs the forward)")
LAUNCHES = engine_operation("research_launches", OVERHEAD_GROUP, "#e7ba52", "*",
                            "research code: kernels launched while the GPU waits (the tree mask and candidates "
                            "before the forward, the accepted path's bookkeeping and the next tree's selection "
                            "after a sync): each launch in full")
KV_COMPACTION = engine_operation("research_kv_compaction", OVERHEAD_GROUP, "#843c39", "d",
                                 "research code: the accepted tokens' KV gathered and copied into place, all layers")
SYNCS = engine_operation("research_syncs", OVERHEAD_GROUP, "#ad494a", "8",
                         "research code: host-device synchronizations (.item(), .tolist(), CUDA scalars as indices)")
CPU_CALLS = engine_operation("research_cpu", OVERHEAD_GROUP, "#d6616b", "8",
                             "research code: PyTorch calls on CPU tensors (KV lengths in every layer, the tree mask "
                             "built row by row)")
PASS_WORK = engine_operation("research_pass_work", OVERHEAD_GROUP, "#e7969c", "x",
                             "research code: a drafting pass's mask, embedding, concatenation and tree selection, and "
                             "its copy of the whole draft KV (torch.cat)")
PASS_SYNCS = engine_operation("research_pass_syncs", OVERHEAD_GROUP, "#7b4173", "8",
                              "research code: a drafting pass's synchronization (the tree mask's boolean index)")


@lru_cache(maxsize=1)
def counts() -> dict[str, Any]:
    """The counts read from the research code (research.toml, shipped beside this module)."""
    return read_toml(resources.files("specroof.cost.engine_work") / "research.toml", "research.toml")


def tree_paths(step: SpeculativeStep, grid: Grid) -> tuple[np.ndarray, np.ndarray]:
    """(drafted levels, root-to-leaf paths) per column. A tree known only by its shape has at
    most ``n - depth`` leaves (its deepest path holds ``depth`` inner nodes): that bound is used."""
    depth = grid.per_column(np.maximum(grid.candidates - 1.0, 0.0) if step.depth is None else step.depth)
    leaves = grid.per_column(1.0 if step.leaves is None else step.leaves)
    return depth, np.where(np.isnan(leaves), np.maximum(grid.n - depth, 1.0), leaves)


@dataclass(frozen=True)
class ResearchWork(EngineWork):
    """The research implementations' eager per-step work (research.toml, Spec-Bench fd2c1cd)."""

    def verification(self, setup: StepSetup, grid: Grid, step: SpeculativeStep) -> list[Operation]:
        family = _family(step.method)
        if family is None:
            return []
        _say_batch(grid)
        spec = step.speculating(grid)
        forward, own = counts()["forward"], counts()[family]
        depth, leaves = tree_paths(step, grid)
        ops = [_eager_attention(setup, forward, grid, spec), _tree_mask(forward, grid, spec),
               _path_logits(setup, grid, step, family, spec, leaves * (depth + 1.0)),
               _kv_compaction(setup, grid, spec, depth + 1.0)]
        serial = forward["mask_kernels"] + own["serial_kernels"] + own["kv_compaction_kernels"]
        syncs = forward["mask_syncs"] + own["syncs"]
        cpu = (forward["cpu_ops_per_layer"] * setup.model.num_layers + own["cpu_ops"]
               + own.get("cpu_ops_per_tree_token", 0.0) * np.maximum(grid.n - 1.0, 0.0))
        prof = setup.profile
        return ops + [operation(LAUNCHES, HostShape(serial * prof.launch_overhead_us * spec)),
                      operation(SYNCS, HostShape(syncs * prof.host_sync_us * spec)),
                      operation(CPU_CALLS, HostShape(cpu * prof.host_cpu_op_us * spec))]

    def drafting_pass(self, target: StepSetup, drafted: Pass, grid: Grid, step: SpeculativeStep,
                      width: ArrayLike, first: bool) -> list[Operation]:
        drafter = drafted.setup
        if FAMILIES.get(step.method) != "eagle":  # the verification hook has said what is not counted
            return []
        table = counts()["eagle_pass"]
        spec = step.speculating(grid)
        tokens = grid.per_column(width)
        kernels = table["forward_kernels"] + table["kv_concat_kernels"] + (0.0 if first else table["later_kernels"])
        if step.method == "eagle3":
            kernels += counts()["eagle3"]["d2t_kernels_per_pass"]
        ops = [operation(PASS_WORK, ElementwiseShape(_pass_elements(drafter, grid, tokens, first) * spec,
                                                     kernels * spec)).drafting(1.0)]
        if not first:
            syncs = table["later_syncs"] * drafter.profile.host_sync_us
            ops.append(operation(PASS_SYNCS, HostShape(syncs * spec)).drafting(1.0))
        return ops


def _family(method: str) -> str | None:
    """The research.toml table of ``method``; None (and one warning) for methods not counted."""
    family = FAMILIES.get(method)
    if family is None and method != "none":
        warnings.warn(SpecroofWarning(
            f"profile research: the research code of method {method!r} is not modelled (only heads, eagle, eagle3: "
            "docs/engine-work-research.md); its step is the eager model's passes alone"), stacklevel=2)
    return family


def _say_batch(grid: Grid) -> None:
    """Research code runs one sequence (every Spec-Bench inference script asserts it)."""
    if np.any(grid.batch > 1):
        warnings.warn(SpecroofWarning(
            "profile research: the research implementations run batch 1 only; larger batches are priced with "
            "their per-step bytes scaled by the batch and their kernels and host calls as at batch 1"), stacklevel=2)


def _eager_attention(setup: StepSetup, forward: dict[str, Any], grid: Grid, spec: np.ndarray) -> Operation:
    """The research models' matmul-softmax-matmul attention in every layer, beyond the fused
    kernel the profile prices: its extra kernels and the [heads, n, context + n] scores' passes."""
    m = setup.model
    scores = grid.b * m.num_heads * grid.n * (grid.s + grid.n)
    elements = forward["eager_attention_score_passes"] * scores * m.num_layers
    kernels = forward["eager_attention_kernels_per_layer"] * m.num_layers
    return operation(EAGER_ATTENTION, ElementwiseShape(elements * spec, kernels * spec))


def _tree_mask(forward: dict[str, Any], grid: Grid, spec: np.ndarray) -> Operation:
    """The [n, context + n] fp32 mask's ``mask_passes`` passes (its kernels are serial launches)."""
    elements = forward["mask_passes"] * grid.b * grid.n * (grid.s + grid.n)
    return operation(TREE_MASK, ElementwiseShape(elements * spec, 0.0 * spec, MASK_BYTES))


def _path_logits(setup: StepSetup, grid: Grid, step: SpeculativeStep, family: str, spec: np.ndarray,
                 rows: np.ndarray) -> Operation:
    """Every path's logits gathered (read + write) and read again by the acceptance's argmax;
    Medusa also copies the hidden states and stacks its heads' logits and gathers them per path,
    EAGLE gathers the paths' hidden states."""
    vocab, hidden = setup.model.vocab_size, setup.model.hidden_size
    if family == "heads":
        heads = float(step.heads or 0)
        elements = 2.0 * rows * vocab * (1.0 + heads) + 2.0 * grid.n * (heads * vocab + hidden) + rows * vocab
    else:
        elements = 3.0 * rows * vocab + 2.0 * rows * hidden
    kernels = counts()[family]["async_kernels"]
    return operation(PATH_LOGITS, ElementwiseShape(grid.b * elements * spec, kernels * spec))


def _kv_compaction(setup: StepSetup, grid: Grid, spec: np.ndarray, accepted: np.ndarray) -> Operation:
    """The accepted tokens' K and V in every layer gathered (read + write) then copied (read +
    write) into place: at most the deepest path's tokens (the hook does not see the acceptance).
    Its two kernels follow a sync: serial launches."""
    m = setup.model
    per_token = 2.0 * m.num_layers * m.num_kv_heads * m.head_dim
    elements = 4.0 * grid.b * accepted * per_token
    return operation(KV_COMPACTION, ElementwiseShape(elements * spec, 0.0 * spec))


def _pass_elements(drafter: StepSetup, grid: Grid, tokens: np.ndarray, first: bool) -> np.ndarray:
    """A drafting pass's traffic: its fp32 mask's passes, the whole draft KV copied by torch.cat
    (read + write), and on later passes the log-softmax (read + write) and top-k (read) over
    every drafted token's logits."""
    m = drafter.model
    mask = counts()["forward"]["mask_passes"] * tokens * (grid.s + tokens) * MASK_BYTES / drafter.activation_bytes
    kv = 2.0 * 2.0 * m.num_layers * m.num_kv_heads * m.head_dim * (grid.s + tokens)
    select = 0.0 if first else 3.0 * tokens * m.vocab_size
    return grid.b * (mask + kv + select)


ENGINE_WORK.register(ResearchWork(
    name="research",
    description="research code's eager per-step Python work (Medusa, Hydra, EAGLE-2/3 as Spec-Bench runs them)",
    source="hemingkx/Spec-Bench@fd2c1cd7d2201ef71db4c5f4e455008f017967bf (model/medusa, model/eagle2, "
           "model/eagle3; transformers 4.37.1)",
))
