"""TensorRT-LLM: ``trtllm-serve --extra_llm_api_options FILE.yaml`` with one static
``speculative_config`` per server.

``decoding_type`` (this engine's spellings in ``method_names.toml``), ``max_draft_len``,
``speculative_model``, ``num_nextn_predict_layers`` (MTP), ``max_matching_ngram_size`` (NGram),
as the LLM API reference (1.x) states them; its PyTorch backend runs EAGLE-3 heads only. It
reports no acceptance specroof reads.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from specroof.speculation.engines.engine import ENGINES, Engine, Spelling, spellings_of
from specroof.speculation.launch import (
    command,
    is_tree,
    max_batch_for,
    static_choice,
    target_ref,
    trtllm_options,
    weights_ref,
    yaml_str,
)

if TYPE_CHECKING:
    from specroof.speculation.plan import PlanResult


def write(p: PlanResult, ranges: list[list[int]], spelling: Spelling) -> list[str]:
    """One ``speculative_config`` block per batch range (the setting is static per server)."""
    lines = [
        "# TensorRT-LLM takes ONE static speculative_config per server (no batch-size table): pick the",
        "# block for the batch sizes you serve most; save it as extra.yaml and launch:",
        command("trtllm-serve", target_ref(p), "--extra_llm_api_options", "extra.yaml"),
    ]
    if not spelling.supported:
        return lines + [TRTLLM.refusal(spelling)]
    if is_tree(p):
        lines.append("# note: the plan verifies trees; TensorRT-LLM verifies chains of max_draft_len tokens here.")
    if spelling.note:
        lines.append(f"# {spelling.note}")
    for label, k in static_choice(ranges):
        options, notes = trtllm_options(p, max(max_batch_for(p, k, ranges), 1))
        lines += [line for line in notes if line not in lines]
        if k == 0:
            lines += [f"# {label}: speculation off: no speculative_config", *options]
            continue
        lines += [f"# {label}: n = {k + 1} tokens verified per step", *options, *_speculative_config(p, spelling, k)]
    return lines


def _speculative_config(p: PlanResult, spelling: Spelling, k: int) -> list[str]:
    config = ["speculative_config:", f"  decoding_type: {spelling.name}", f"  max_draft_len: {k}"]
    model = weights_ref(p, spelling)
    if model is not None:
        config.append(f"  speculative_model: {yaml_str(model)}")
    if spelling.depth_key:
        config.append(f"  {spelling.depth_key}: {k}")
    config += [f"  {key}: {_yaml_value(value)}" for key, value in spelling.config.items()]
    return config


def _yaml_value(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value) if isinstance(value, (int, float)) \
        else yaml_str(value)


TRTLLM = ENGINES.register(Engine(
    name="trtllm", display_name="TensorRT-LLM",
    description="trtllm-serve with an extra_llm_api_options YAML, one static speculative_config per server",
    write=write, spellings=spellings_of("trtllm"), profile="trtllm", kernel_backend="trtllm"))
