"""What every engine launch of a plan carries besides speculation: model, parallelism, dtypes,
batch cap and CUDA-graph sizes, and the quoting that keeps a pasted command inert.

Engine flags, checked against the engines' own documentation and source with the search tool:

- vLLM (engine arguments and ``CompilationConfig`` as documented for v0.19; the batch-size
  table of speculative tokens needs v0.24): ``--tensor-parallel-size``, ``--dtype
  float16|bfloat16|auto``, ``--quantization fp8`` (weights quantized at load), ``--kv-cache-dtype
  fp8``, ``--max-num-seqs``, and ``--compilation-config '{"cudagraph_capture_sizes": [...]}'``.
  vLLM captures graphs per *token* count; a speculative decode step of ``b`` sequences runs
  ``b x (k + 1)`` tokens, so the sizes are vLLM's default pattern of batch sizes (1, 2, 4, then
  steps of 8 to 256, then of 16), each times ``k + 1`` for the k the schedule gives it, plus each
  range's largest batch times its ``k + 1`` (so every batch size of the schedule is covered).
- SGLang (server arguments, docs.sglang.io): ``--tp-size``, ``--dtype``, ``--quantization fp8``,
  ``--kv-cache-dtype fp8_e4m3``, ``--max-running-requests``, ``--cuda-graph-max-bs`` (SGLang
  counts graphs in requests and sizes each for its ``--speculative-num-draft-tokens``).
- TensorRT-LLM (LLM API options of ``trtllm-serve --extra_llm_api_options FILE.yaml``, 1.x, as
  in its ``examples/configs`` serving recipes): ``tensor_parallel_size``, ``dtype``,
  ``max_batch_size``, ``cuda_graph_config: {enable_padding, max_batch_size}`` (in requests),
  ``kv_cache_config: {dtype: fp8}``. Its PyTorch backend takes quantized weights from a
  pre-quantized checkpoint (ModelOpt), not from a flag.

Every value pasted into a shell line goes through :func:`shlex.quote`, every value in YAML
through a JSON string (valid YAML), and comment lines have control characters escaped, so a
model folder named ``$(rm -rf ~)`` or holding a newline stays text.
"""

from __future__ import annotations

import json
import shlex
from typing import TYPE_CHECKING, Any

import numpy as np

from specroof.speculation.drafting import TreeShape
from specroof.speculation.engines.engine import Spelling
from specroof.speculation.launch_parallel import sglang_layout, trtllm_layout, vllm_layout
from specroof.speculation.methods.checkpoints import priced_head
from specroof.speculation.schedule import batch_scores

if TYPE_CHECKING:  # annotations only: plan.py reaches the engines registry through the acceptance specs
    from specroof.speculation.plan import PlanResult

_VLLM_DTYPE = {"fp16": "float16", "bf16": "bfloat16", "fp32": "float32", "fp8": "auto"}
_TORCH_DTYPE = {"fp16": "float16", "bf16": "bfloat16", "fp32": "float32", "fp8": "auto"}


def quote(value: Any) -> str:
    """One shell word."""
    return shlex.quote(str(value))


def command(*words: Any) -> str:
    """A shell command line with every word quoted (flags stay bare: quote() leaves them as they are)."""
    return " ".join(quote(w) for w in words)


def yaml_str(value: Any) -> str:
    """A YAML scalar for any text: a JSON string is a valid double-quoted YAML scalar."""
    return json.dumps(str(value))


def printable(text: str) -> str:
    """``text`` with control characters (a newline in a folder name) written as escapes: one line."""
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in str(text))


def placeholder(what: str) -> str:
    """A value the user must fill in, marked ``<...>`` (quoted like any other word when pasted)."""
    return f"<{printable(what)}>"


def comment_safe(line: str) -> str:
    """A comment line with control characters escaped, so it stays one line."""
    return printable(line) if line.startswith("#") else line


def target_ref(p: PlanResult) -> str:
    """The target's Hugging Face id when the catalog knows it, else a marked placeholder."""
    model = p.setup.model if p.setup is not None else None
    repo = model.hf_repo if model is not None else None
    return repo or placeholder(f"HF id or path of {p.model}")


def draft_ref(p: PlanResult) -> str:
    """The draft model's Hugging Face id when known (method ``draft``), else a marked placeholder."""
    draft = p.drafting.draft_model
    repo = draft.hf_repo if draft is not None else None
    return repo or placeholder(f"HF id or path of {p.draft_model}")


def weights_ref(p: PlanResult, spelling: Spelling) -> str | None:
    """What the engine loads to draft ``spelling.method``: the draft model's id, a marked
    placeholder for a separate checkpoint, or None (no weights, or weights in the target)."""
    if spelling.weights in ("", "target"):
        return None
    if spelling.weights == "draft-model":
        return draft_ref(p)
    head = priced_head(p.setup.model, p.drafting.draft_vocab) if p.drafting.method == "eagle3" and p.setup else None
    if head is not None:  # the published head whose vocabulary the plan priced
        return head.repo
    return placeholder(f"{spelling.weights} for {p.model}" if p.model else spelling.weights)


def is_tree(p: PlanResult) -> bool:
    """Whether the plan verifies token trees (an explicit --tree, or a tree acceptance model)."""
    return p.drafting.tree is not None or p.acceptance.tree(1) is not None


def tree_at(p: PlanResult, n: int) -> TreeShape:
    """The tree verified at ``n``: the explicit one, the acceptance model's best, or a chain."""
    if p.drafting.tree is not None:
        return p.drafting.tree
    paths = p.acceptance.tree(n)
    return TreeShape.of_paths(paths) if paths is not None else TreeShape(max(n - 1, 1), 1, n)


def static_choice(ranges: list[list[int]]) -> list[tuple[str, int]]:
    """(label, k) per batch range, for engines that take one static setting per server."""
    return [(f"batch {start}-{end}" if end != start else f"batch {start}", k) for start, end, k in ranges]


def max_batch(ranges: list[list[int]]) -> int:
    """The largest batch size the schedule covers (every larger planned one does not fit)."""
    return int(ranges[-1][1])


def max_batch_for(p: PlanResult, k: int, ranges: list[list[int]]) -> int:
    """The largest planned batch size up to which ``k`` fits at every smaller planned size too
    (the batch cap for a server that runs ``k`` at every batch), at most :func:`max_batch`."""
    batches, first = np.unique(p.batch, return_index=True)
    if k >= p.fits_grid.shape[1]:
        return 0
    _, usable, _ = batch_scores(p.sweep_speedup[first], p.fits_grid[first])
    ok = np.cumprod(usable[:, k]).astype(bool)
    fitting = batches[ok & (batches <= max_batch(ranges))]
    return int(fitting[-1]) if fitting.size else 0


def vllm_capture_sizes(ranges: list[list[int]]) -> list[int]:
    """Token counts to capture: vLLM's default batch pattern times k + 1, and each range's end."""
    top = max_batch(ranges)
    pattern = [1, 2, 4, *range(8, 256, 8), *range(256, top + 1, 16)]
    sizes = {end * (k + 1) for _, end, k in ranges}
    for b in pattern:
        k = next((k for start, end, k in ranges if start <= b <= end), None)
        if k is not None:
            sizes.add(b * (k + 1))
    return sorted(sizes)


def vllm_flags(p: PlanResult, ranges: list[list[int]]) -> tuple[list[str], list[str]]:
    """(flags, notes): parallelism, dtypes, batch cap and capture sizes for ``vllm serve``."""
    s, notes = p.setup, []
    flags = ["--tensor-parallel-size", str(s.tp // s.dp_attention), "--dtype", _VLLM_DTYPE[s.activation_dtype]]
    flags += vllm_layout(s, notes)  # --- parallel
    flags += _weight_flags(s.weight_dtype, notes, "vLLM")
    if s.kv_dtype == "fp8":
        flags += ["--kv-cache-dtype", "fp8"]
    sizes = vllm_capture_sizes(ranges)
    flags += ["--max-num-seqs", str(max_batch(ranges)), "--compilation-config",
              json.dumps({"cudagraph_capture_sizes": sizes})]
    if sizes[-1] > 2048:  # vLLM's smallest default token budget per step; it drops capture sizes above the budget
        flags += ["--max-num-batched-tokens", str(sizes[-1])]
    return flags, notes


def sglang_flags(p: PlanResult, batch_cap: int) -> tuple[list[str], list[str]]:
    """(flags, notes) for ``sglang.launch_server``: parallelism, dtypes, batch cap, graph batch."""
    s, notes = p.setup, []
    flags = ["--tp-size", str(s.tp), "--dtype", _VLLM_DTYPE[s.activation_dtype]]
    flags += sglang_layout(s, notes)  # --- parallel
    flags += _weight_flags(s.weight_dtype, notes, "SGLang")
    if s.kv_dtype == "fp8":
        flags += ["--kv-cache-dtype", "fp8_e4m3"]
    flags += ["--max-running-requests", str(batch_cap), "--cuda-graph-max-bs", str(batch_cap)]
    return flags, notes


def trtllm_options(p: PlanResult, batch_cap: int) -> tuple[list[str], list[str]]:
    """(YAML lines, notes): the LLM API options besides speculative_config."""
    s, notes = p.setup, []
    lines = [f"tensor_parallel_size: {s.tp}", f"dtype: {_TORCH_DTYPE[s.activation_dtype]}",
             f"max_batch_size: {batch_cap}", "cuda_graph_config:", "  enable_padding: true",
             f"  max_batch_size: {batch_cap}"]
    lines += trtllm_layout(s, notes)  # --- parallel
    if s.kv_dtype == "fp8":
        lines += ["kv_cache_config:", "  dtype: fp8"]
    if s.weight_dtype not in ("fp16", "bf16", "fp32"):
        notes.append(f"# weights in {s.weight_dtype}: TensorRT-LLM reads them from a checkpoint quantized to "
                     f"{s.weight_dtype} (ModelOpt); serve that checkpoint instead of the 16-bit one.")
    return lines, notes


def _weight_flags(weight_dtype: str, notes: list[str], engine: str) -> list[str]:
    if weight_dtype == "fp8":
        return ["--quantization", "fp8"]
    if weight_dtype in ("int8", "int4"):
        notes.append(f"# weights in {weight_dtype}: {engine} reads the quantization from a checkpoint quantized to "
                     f"{weight_dtype} (GPTQ, AWQ, ...); serve that checkpoint (no flag to add).")
    if weight_dtype in ("fp8_block", "mxfp4", "nvfp4"):  # block-scaled formats: cost/precision
        notes.append(f"# weights in {weight_dtype}: {engine} reads the format from the checkpoint's quantization "
                     "config (fp8 128x128 blocks, MXFP4, ModelOpt NVFP4); serve such a checkpoint (no flag to add).")
    return []
