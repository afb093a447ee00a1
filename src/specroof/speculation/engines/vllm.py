"""vLLM: ``vllm serve`` with ``--speculative-config`` and a batch-size table of k; acceptance
from its Prometheus counters (:mod:`specroof.speculation.engines.vllm_metrics`).

``--speculative-config`` JSON: ``method`` (this engine's spellings in ``method_names.toml``),
``model``, ``num_speculative_tokens``, and from v0.24 ``num_speculative_tokens_per_batch_size``
``[[start_bs, end_bs, K], ...]`` (Dynamic Speculative Decoding,
``docs/features/speculative_decoding/dynamic_speculative_decoding.md``, PR #32374), as the vLLM
documentation and source state them (see ``docs/plan.md``). For vLLM before v0.24 the export
adds one commented ``num_speculative_tokens`` line per batch range (the one-k form).
``specroof check`` reads the launch back (``docs/check.md``).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from specroof.speculation.engines.config_check.vllm_config import RUNNER_V2_METHODS
from specroof.speculation.engines.engine import ENGINES, Engine, MetricsReader, Spelling, spellings_of
from specroof.speculation.engines.vllm_metrics import parse_vllm_metrics
from specroof.speculation.launch import (
    command,
    is_tree,
    max_batch_for,
    static_choice,
    target_ref,
    vllm_flags,
    weights_ref,
)

if TYPE_CHECKING:
    from specroof.speculation.plan import PlanResult

_DYNAMIC_K = [
    "# vLLM: Dynamic Speculative Decoding (--speculative-config key num_speculative_tokens_per_batch_size,",
    "# entries [start_bs, end_bs, K], first range starting at 1, every K <= num_speculative_tokens;",
    "# batch sizes above the last range keep its K). Documented upstream from vLLM v0.24",
    "# (docs/features/speculative_decoding/dynamic_speculative_decoding.md); tested there with EAGLE,",
    "# EAGLE-3 and DFlash only, switched off when --data-parallel-size > 1. Older vLLM only had an",
    "# on/off threshold (speculative_disable_by_batch_size, V0 engine, ignored since v0.10): there,",
    "# use the one-k line of your usual batch sizes, commented out below the launch.",
    "# --compilation-config: CUDA graphs for every batch size x (k + 1) tokens of the schedule.",
]


def write(p: PlanResult, ranges: list[list[int]], spelling: Spelling) -> list[str]:
    """``vllm serve`` with the schedule as ``num_speculative_tokens_per_batch_size``."""
    k_max = max(k for _, _, k in ranges)
    flags, lines = vllm_flags(p, ranges)
    if k_max == 0:
        return lines + [f"# Speculation never beats plain decoding by more than {100 * p.min_gain:g}% in this plan: "
                        "launch vLLM without --speculative-config:", command("vllm", "serve", target_ref(p), *flags)]
    if not spelling.supported:
        return lines + [VLLM.refusal(spelling)]
    config = _base_config(p, spelling)
    if spelling.note:
        lines.append(f"# {spelling.note}")
    config["num_speculative_tokens"] = k_max
    if p.setup.draft_tp:  # --- parallel: the draft at its own TP
        config["draft_tensor_parallel_size"] = p.setup.draft_tp
    config["num_speculative_tokens_per_batch_size"] = ranges
    env, runner = _runner(str(spelling.name), len(ranges))
    lines += [*_DYNAMIC_K, *runner,
              command(*env, "vllm", "serve", target_ref(p), *flags, "--speculative-config", json.dumps(config))]
    lines += _one_k_lines(p, ranges, spelling)
    if spelling.name == "medusa" and p.heads is not None and k_max > p.heads:
        lines.append(f"# warning: vLLM's Medusa proposer drafts at most one token per head ({p.heads} heads), "
                     f"but the plan asks for k={k_max}.")
    if is_tree(p):
        lines.append("# warning: this plan verifies token TREES of n nodes; vLLM's proposers verify one chain of "
                     "num_speculative_tokens tokens, so k here is a tree size, not a chain length. Re-plan with a "
                     "chain acceptance (chain:ALPHA or curve:FILE measured with chains) before using it in vLLM.")
    return lines


def _runner(method: str, n_ranges: int) -> tuple[list[str], list[str]]:
    """(environment words, comment lines): vLLM's V1 model runner runs a per-batch table with
    piecewise CUDA graphs only (it overrides FULL_AND_PIECEWISE; issue #49548 measured 59.6 -> 50.0
    tok/s single-stream); model runner V2 keeps full graphs with it since PR #45953 (2026-07) for
    the methods it runs (``RUNNER_V2_METHODS``)."""
    if n_ranges == 1:
        return [], []
    if method in RUNNER_V2_METHODS:
        return ["VLLM_USE_V2_MODEL_RUNNER=1"], [
            "# VLLM_USE_V2_MODEL_RUNNER=1: model runner V2 keeps full CUDA graphs with the table (PR #45953,",
            "# 2026-07); the V1 runner drops to piecewise graphs for it (issue #49548: -14% single-stream)."]
    return [], [f"# warning: vLLM runs this table with piecewise CUDA graphs only (V1 runner; model runner V2, which "
                f"keeps full graphs, does not run method {method}; issue #49548 measured -14% single-stream): "
                "compare with the one-k lines below."]


def _base_config(p: PlanResult, spelling: Spelling) -> dict[str, Any]:
    config: dict[str, Any] = {"method": spelling.name}
    model = weights_ref(p, spelling)
    if model is not None:
        config["model"] = model
    config.update(spelling.config)
    return config


def _one_k_lines(p: PlanResult, ranges: list[list[int]], spelling: Spelling) -> list[str]:
    """The fallback for vLLM before v0.24: one ``num_speculative_tokens`` per server, a commented
    line per batch range (its batch cap: the largest planned batch its k fits at)."""
    if len(ranges) == 1:
        return ["# vLLM before v0.24: drop num_speculative_tokens_per_batch_size (one k at every batch size here)."]
    lines = ["# vLLM before v0.24 (no per-batch table): one num_speculative_tokens per server; uncomment the line "
             "of the batch sizes you serve most:"]
    for label, k in static_choice(ranges):
        cap = max(max_batch_for(p, k, ranges), 1)
        flags, _ = vllm_flags(p, [[1, cap, k]])
        if k == 0:
            lines += [f"# {label}: speculation off:", "# " + command("vllm", "serve", target_ref(p), *flags)]
            continue
        config = {**_base_config(p, spelling), "num_speculative_tokens": k}
        lines += [f"# {label}: k = {k}:", "# " + command("vllm", "serve", target_ref(p), *flags, "--speculative-config",
                                                         json.dumps(config))]
    return lines


VLLM = ENGINES.register(Engine(
    name="vllm", display_name="vLLM", description="vllm serve --speculative-config, with a batch-size table of k",
    write=write, spellings=spellings_of("vllm"), profile="vllm", kernel_backend="vllm",
    metrics=MetricsReader("vllm-metrics", "vllm-metrics:FILE[:MODEL]", parse_vllm_metrics)))
