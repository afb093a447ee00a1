"""A plan as each engine's own configuration: vLLM, SGLang, TensorRT-LLM (or bare JSON).

Option names as the engines document them (checked in their documentation and source,
see ``docs/plan.md``):

- vLLM ``--speculative-config`` JSON: ``method`` ``eagle`` / ``eagle3`` / ``mtp`` / ``ngram``
  (``prompt_lookup_max``/``_min``) / ``draft_model`` / ``medusa``, ``model``,
  ``num_speculative_tokens``, and from v0.24 ``num_speculative_tokens_per_batch_size``
  ``[[start_bs, end_bs, K], ...]`` (Dynamic Speculative Decoding).
- SGLang ``--speculative-algorithm EAGLE | EAGLE3 | NEXTN | NGRAM | STANDALONE`` with
  ``--speculative-draft-model-path``, ``--speculative-num-steps``,
  ``--speculative-eagle-topk``, ``--speculative-num-draft-tokens``; one static setting per
  server.
- TensorRT-LLM ``speculative_config`` (``trtllm-serve --extra_llm_api_options FILE.yaml``):
  ``decoding_type`` ``Eagle3`` / ``MTP`` / ``NGram`` / ``DraftTarget``, ``max_draft_len``,
  ``speculative_model``, ``num_nextn_predict_layers`` (MTP), ``max_matching_ngram_size``
  (NGram); one static setting per server. Its PyTorch backend runs EAGLE-3 heads only.

Every launch also carries the plan's tensor parallelism, dtypes, batch cap and CUDA-graph sizes,
quoted so that it can be pasted (:mod:`specroof.speculation.launch`). A plan where nothing fits
gets no export (SpecroofError); batch sizes that do not fit are left out of the schedule and
the batch cap.
"""

from __future__ import annotations

import json
from typing import Any

from specroof.errors import SpecroofError, suggest
from specroof.speculation.drafting import TreeShape
from specroof.speculation.launch import (command, comment_safe, draft_ref, max_batch, max_batch_for, placeholder,
                                         sglang_flags, target_ref, trtllm_options, vllm_flags, yaml_str)
from specroof.speculation.plan import PlanResult, batch_ranges

ENGINES = ("json", "vllm", "sglang", "trtllm")


def export_table(plan_result: PlanResult, engine: str, seq_len: int | None = None,
                 min_gain: float | None = None) -> list[list[int]] | str:
    """The plan as an engine configuration.

    ``json``: the list ``[[start_batch, end_batch, k], ...]`` (see :func:`batch_ranges`).
    ``vllm`` / ``sglang`` / ``trtllm``: text with the ranges and the engine's own options.
    """
    key = str(engine).strip().lower()
    if key not in ENGINES:
        raise SpecroofError(f"unknown engine {engine!r}{suggest(key, ENGINES)}; valid: {', '.join(ENGINES)}")
    ranges = batch_ranges(plan_result, seq_len, min_gain)
    if key == "json":
        return ranges
    if plan_result.setup is None:
        raise SpecroofError("this plan has no resolved settings (tp, dtypes) to export; run specroof.plan() again")
    body = {"vllm": _vllm, "sglang": _sglang, "trtllm": _trtllm}[key](plan_result, ranges)
    return "\n".join(comment_safe(line) for line in _header(plan_result, ranges, seq_len) + body)


def _header(p: PlanResult, ranges: list[list[int]], seq_len: int | None) -> list[str]:
    if seq_len is not None or p.seq_len.size == 1:
        context = f"seq_len {seq_len if seq_len is not None else int(p.seq_len[0])}"
    else:
        context = (f"seq_len {', '.join(map(str, p.seq_len))} (per batch size, the n with the best "
                   "geometric-mean speedup over them)")
    s = p.setup
    lines = [f"# specroof plan: {p.model} on {p.hardware_display} x {s.tp} (tensor parallel), "
             f"{s.activation_dtype} activations, {s.weight_dtype} weights, {s.kv_dtype} KV cache, acceptance "
             f"{p.acceptance.describe()}, {p.drafting.describe()}, {context}",
             f"# planned batch sizes: {', '.join(map(str, p.batch))}; between two of them the smaller one's k applies;",
             f"# k switches only for a speedup gain above {100 * p.min_gain:g}% (--min-gain), never grows with batch"]
    top = max_batch(ranges)
    if top < int(p.batch.max()):
        lines.append(f"# batch sizes above {top} do not fit in {p.capacity_gb:.0f} GB per device (or the context): "
                     f"the schedule and the batch cap stop at {top}")
    lines += ["#", "#   batch sizes     k (speculative tokens)   n (verified per step)"]
    for start, end, k in ranges:
        label = f"{start}-{end}" if end != start else f"{start}"
        what = f"{k}" if k else "0 (speculation off)"
        lines.append(f"#   {label:<15} {what:<24} {k + 1}")
    lines.append("#")
    return lines


def _is_tree(p: PlanResult) -> bool:
    return p.drafting.tree is not None or p.acceptance.tree(1) is not None


def _tree(p: PlanResult, n: int) -> TreeShape:
    """The tree verified at ``n``: the explicit one, the acceptance model's best, or a chain."""
    if p.drafting.tree is not None:
        return p.drafting.tree
    paths = p.acceptance.tree(n)
    return TreeShape.of_paths(paths) if paths is not None else TreeShape(max(n - 1, 1), 1, n)


def _model_ref(name: str | None, what: str) -> str:
    """A marked placeholder for a checkpoint specroof cannot know (a draft head's)."""
    return placeholder(f"{what} for {name}" if name else what)


def _static_choice(ranges: list[list[int]]) -> list[tuple[str, int]]:
    """(label, k) per batch range, for engines that take one static setting per server."""
    return [(f"batch {start}-{end}" if end != start else f"batch {start}", k) for start, end, k in ranges]


# --------------------------------------------------------------------------- vLLM


_VLLM_METHOD = {"eagle": "eagle", "eagle3": "eagle3", "mtp": "mtp", "ngram": "ngram", "draft": "draft_model",
                "heads": "medusa", "none": "ngram"}


def _vllm(p: PlanResult, ranges: list[list[int]]) -> list[str]:
    k_max = max(k for _, _, k in ranges)
    flags, lines = vllm_flags(p, ranges)
    if k_max == 0:
        return lines + [f"# Speculation never beats plain decoding by more than {100 * p.min_gain:g}% in this plan: "
                        "launch vLLM without --speculative-config:", command("vllm", "serve", target_ref(p), *flags)]
    config: dict[str, Any] = {"method": _VLLM_METHOD[p.method]}
    if p.method == "draft":
        config["model"] = draft_ref(p)
    elif p.method in ("eagle", "eagle3"):
        config["model"] = _model_ref(p.model, f"{'EAGLE-3' if p.method == 'eagle3' else 'EAGLE'} head checkpoint")
    elif p.method == "heads":
        config["model"] = _model_ref(p.model, "Medusa heads checkpoint")
        lines.append("# vLLM's Medusa proposer drafts the top-1 token of each head (one chain, no tree) and its "
                     "source asserts that every step drafts exactly num_speculative_tokens: the batch-size "
                     "table is unlikely to work with it; use one fixed num_speculative_tokens (<= heads).")
    elif p.method in ("ngram", "none"):
        config.update(prompt_lookup_max=4, prompt_lookup_min=2)
        if p.method == "none":
            lines.append("# method none (free drafts) has no exact vLLM counterpart; n-gram prompt lookup is the "
                         "closest proposer whose drafting is nearly free.")
    elif p.method == "mtp":
        lines.append("# method mtp: vLLM >= 0.10.2 takes \"mtp\" for every MTP model (older releases: "
                     "\"deepseek_mtp\", \"glm4_moe_mtp\", ...); the MTP weights ship with the target checkpoint.")
    config["num_speculative_tokens"] = k_max
    config["num_speculative_tokens_per_batch_size"] = ranges
    lines += [
        "# vLLM: Dynamic Speculative Decoding (--speculative-config key num_speculative_tokens_per_batch_size,",
        "# entries [start_bs, end_bs, K], first range starting at 1, every K <= num_speculative_tokens;",
        "# batch sizes above the last range keep its K). Documented upstream from vLLM v0.24",
        "# (docs/features/speculative_decoding/dynamic_speculative_decoding.md); tested there with EAGLE,",
        "# EAGLE-3 and DFlash only, switched off when --data-parallel-size > 1. Older vLLM only had an",
        "# on/off threshold (speculative_disable_by_batch_size, V0 engine, ignored since v0.10): there,",
        "# set num_speculative_tokens to the k of your usual batch size instead.",
        "# --compilation-config: CUDA graphs for every batch size x (k + 1) tokens of the schedule.",
        command("vllm", "serve", target_ref(p), *flags, "--speculative-config", json.dumps(config)),
    ]
    if p.method == "heads" and p.heads is not None and k_max > p.heads:
        lines.append(f"# warning: vLLM's Medusa proposer drafts at most one token per head ({p.heads} heads), "
                     f"but the plan asks for k={k_max}.")
    if _is_tree(p):
        lines.append("# warning: this plan verifies token TREES of n nodes; vLLM's proposers verify one chain of "
                     "num_speculative_tokens tokens, so k here is a tree size, not a chain length. Re-plan with a "
                     "chain acceptance (chain:ALPHA or curve:FILE measured with chains) before using it in vLLM.")
    return lines


# --------------------------------------------------------------------------- SGLang


_SGLANG_ALGORITHM = {"eagle": "EAGLE", "eagle3": "EAGLE3", "mtp": "NEXTN", "ngram": "NGRAM", "none": "NGRAM",
                     "draft": "STANDALONE", "heads": "EAGLE"}


def _sglang(p: PlanResult, ranges: list[list[int]]) -> list[str]:
    lines = [
        "# SGLang takes ONE static setting per server (no batch-size table): pick the line for the batch",
        "# sizes you serve most (each line caps --max-running-requests at the largest planned batch its",
        "# setting fits at). Recent SGLang can adapt the draft depth at run time instead",
        "# (--speculative-adaptive with --speculative-adaptive-config FILE; EAGLE with",
        "# --speculative-eagle-topk 1, driven by the measured acceptance, per batch-size range).",
    ]
    algorithm = ["--speculative-algorithm", _SGLANG_ALGORITHM[p.method]]
    if p.method == "draft":
        algorithm += ["--speculative-draft-model-path", draft_ref(p)]
    elif p.method in ("eagle", "eagle3", "heads"):
        algorithm += ["--speculative-draft-model-path", _model_ref(p.model, "EAGLE draft head checkpoint")]
    if p.method == "heads":
        lines.append("# SGLang has no Medusa heads; EAGLE / EAGLE3 draft heads are its head-based drafting.")
    elif p.method == "none":
        lines.append("# method none (free drafts): NGRAM is SGLang's drafting without a draft model.")
    elif p.method == "mtp":
        lines.append("# method mtp: NEXTN runs the model's own MTP module (DeepSeek-V3 / GLM-4.5 style checkpoints).")
    server = ["python3", "-m", "sglang.launch_server", "--model-path", target_ref(p)]
    for label, k in _static_choice(ranges):
        flags, notes = sglang_flags(p, max(max_batch_for(p, k, ranges), 1))
        lines += [line for line in notes if line not in lines]
        if k == 0:
            lines.append(f"# {label}: speculation off, launch without --speculative-algorithm:")
            lines.append(command(*server, *flags))
            continue
        n = k + 1
        tree = _tree(p, n) if _is_tree(p) else TreeShape(k, 1, n)
        shape = [] if p.method in ("ngram", "none") else [
            "--speculative-num-steps", str(tree.steps), "--speculative-eagle-topk", str(tree.topk)]
        spec = [*algorithm, *shape, "--speculative-num-draft-tokens", str(n)]
        lines.append(f"# {label}: n = {n} tokens verified per step")
        lines.append(command(*server, *flags, *spec))
    return lines


# --------------------------------------------------------------------------- TensorRT-LLM


_TRTLLM_TYPE = {"eagle3": "Eagle3", "mtp": "MTP", "ngram": "NGram", "none": "NGram", "draft": "DraftTarget"}


def _trtllm(p: PlanResult, ranges: list[list[int]]) -> list[str]:
    lines = [
        "# TensorRT-LLM takes ONE static speculative_config per server (no batch-size table): pick the",
        "# block for the batch sizes you serve most; save it as extra.yaml and launch:",
        command("trtllm-serve", target_ref(p), "--extra_llm_api_options", "extra.yaml"),
    ]
    if p.method not in _TRTLLM_TYPE:
        what = "Medusa heads" if p.method == "heads" else "EAGLE-1/2 heads"
        return lines + [f"# TensorRT-LLM's PyTorch backend has no {what}: it drafts with Eagle3, MTP, NGram or "
                        "DraftTarget. Re-plan with --method eagle3, mtp, ngram or draft."]
    if _is_tree(p):
        lines.append("# note: the plan verifies trees; TensorRT-LLM verifies chains of max_draft_len tokens here.")
    for label, k in _static_choice(ranges):
        options, notes = trtllm_options(p, max(max_batch_for(p, k, ranges), 1))
        lines += [line for line in notes if line not in lines]
        if k == 0:
            lines += [f"# {label}: speculation off: no speculative_config", *options]
            continue
        config = [f"# {label}: n = {k + 1} tokens verified per step", *options, "speculative_config:",
                  f"  decoding_type: {_TRTLLM_TYPE[p.method]}", f"  max_draft_len: {k}"]
        if p.method == "eagle3":
            config.append(f"  speculative_model: {yaml_str(_model_ref(p.model, 'EAGLE-3 head checkpoint'))}")
        elif p.method == "draft":
            config.append(f"  speculative_model: {yaml_str(draft_ref(p))}")
        elif p.method == "mtp":
            config.append(f"  num_nextn_predict_layers: {k}")
        else:
            config.append("  max_matching_ngram_size: 4")
        lines += config
    return lines
