"""TensorRT-LLM: ``trtllm-serve MODEL --extra_llm_api_options FILE.yaml``; the export is the
launch line and that YAML file (``specroof check`` reads the export as it is, skipping the
launch line).

``decoding_type`` (this engine's spellings in ``method_names.toml``), ``max_draft_len``,
``speculative_model``, ``num_nextn_predict_layers`` (MTP), ``max_matching_ngram_size`` (NGram),
as the LLM API reference (1.x) states them; its PyTorch backend runs EAGLE-3 heads only. It
reports no acceptance specroof reads.

The per-batch form is ``speculative_config.draft_len_schedule`` (``tensorrt_llm/llmapi/
llm_args.py`` ``DecodingBaseConfig``): ``{largest batch size: draft length}``, batches above the
last key not speculating. That reading is TensorRT-LLM's since PR #10860 (merged 2026-03-13, the
one-model EAGLE-3 path) and PR #12262 (2026-03, every other drafting algorithm); PR #8194's first
form (keys = smallest batch sizes, two-model and n-gram drafters only) reads the same mapping
differently. For TensorRT-LLM before those PRs the export adds the one-k form, one commented
``speculative_config`` per batch range.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from specroof.speculation.engines.engine import ENGINES, Engine, Spelling, spellings_of
from specroof.speculation.launch import (
    command,
    is_tree,
    max_batch,
    max_batch_for,
    static_choice,
    target_ref,
    trtllm_options,
    weights_ref,
    yaml_str,
)

if TYPE_CHECKING:
    from specroof.speculation.plan import PlanResult

DEFAULT_MAX_NUM_TOKENS = 8192
"""TensorRT-LLM's default token budget per step (``max_num_tokens``), draft tokens included."""


def write(p: PlanResult, ranges: list[list[int]], spelling: Spelling) -> list[str]:
    """The ``extra_llm_api_options`` YAML with the schedule as ``draft_len_schedule``."""
    lines = ["# TensorRT-LLM: save the options below this launch line as extra.yaml and launch:",
             command("trtllm-serve", target_ref(p), "--extra_llm_api_options", "extra.yaml")]
    if not spelling.supported:
        return lines + [TRTLLM.refusal(spelling)]
    if is_tree(p):
        lines.append("# note: the plan verifies trees; TensorRT-LLM verifies chains of max_draft_len tokens here.")
    if spelling.note:
        lines.append(f"# {spelling.note}")
    k_max = max(k for _, _, k in ranges)
    options, notes = trtllm_options(p, max(max_batch(ranges), 1))
    lines += notes + options + _budget(ranges)
    if k_max == 0:
        return lines + ["# speculation never pays in this plan: no speculative_config"]
    schedule = {end: k for _, end, k in ranges if k > 0}
    lines += ["# draft_len_schedule {largest batch size: draft length} (TensorRT-LLM since PR #10860 / #12262,",
              "# 2026-03; batches above the last key do not speculate):"]
    lines += _speculative_config(p, spelling, k_max)
    if len(ranges) > 1:
        lines.append("  draft_len_schedule: {" + ", ".join(f"{end}: {k}" for end, k in schedule.items()) + "}")
        lines += _one_k_blocks(p, ranges, spelling)
    return lines


def _budget(ranges: list[list[int]]) -> list[str]:
    """``max_num_tokens`` when a full batch's verification step needs more than the default."""
    need = max(end * (k + 1) for _, end, k in ranges)
    return [f"max_num_tokens: {need}"] if need > DEFAULT_MAX_NUM_TOKENS else []


def _one_k_blocks(p: PlanResult, ranges: list[list[int]], spelling: Spelling) -> list[str]:
    """For TensorRT-LLM without ``draft_len_schedule``: one commented options block per batch range."""
    lines = ["# TensorRT-LLM before PR #10860 (one static speculative_config per server): use the block of the batch "
             "sizes you serve most instead:"]
    for label, k in static_choice(ranges):
        options, _ = trtllm_options(p, max(max_batch_for(p, k, ranges), 1))
        block = options + (_speculative_config(p, spelling, k) if k > 0 else [])
        lines.append(f"# {label}: " + (f"n = {k + 1} tokens verified per step" if k > 0 else "speculation off"))
        lines += ["#   " + line for line in block]
    return lines


def _speculative_config(p: PlanResult, spelling: Spelling, k: int) -> list[str]:
    config = ["speculative_config:", f"  decoding_type: {spelling.name}", f"  max_draft_len: {k}"]
    model = weights_ref(p, spelling)
    if model is not None:
        config.append(f"  speculative_model: {yaml_str(model)}")
    if spelling.depth_key:
        config.append(f"  {spelling.depth_key}: {k}")
    config += [f"  {key}: {_yaml_value(value)}" for key, value in spelling.config.items()]
    if spelling.method == "eagle3" and p.setup is not None and p.setup.profile.speculation_work == "trtllm_two_model":
        config.append("  eagle3_one_model: false")  # the path --profile trtllm-two-model priced
    return config


def _yaml_value(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value) if isinstance(value, (int, float)) \
        else yaml_str(value)


TRTLLM = ENGINES.register(Engine(
    name="trtllm", display_name="TensorRT-LLM",
    description="trtllm-serve with an extra_llm_api_options YAML, a draft_len_schedule of k per batch size",
    write=write, spellings=spellings_of("trtllm"), profile="trtllm", kernel_backend="trtllm"))
