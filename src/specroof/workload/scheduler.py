"""The scheduler rules of one engine instance: what a continuous-batching step may hold.

Each engine fills a step from its running and waiting requests under a token budget and a
sequence cap; the rules below are the engines' serving defaults on an 80 GB-class GPU, with
the source of each number. ``rules_for(setup)`` picks them by the profile's ``engine`` and the
device (``serving`` and the other engine-less profiles take vLLM's, and the title of every
result names the engine whose rules ran).

A decoding sequence takes ``K + 1`` tokens of the budget (its last token and K drafts: the
verification step scores all of them), a prefilling one its chunk. KV capacity is checked with
the ``K + 1`` lookahead slots reserved before the step runs.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from specroof.errors import SpecroofError


@dataclass(frozen=True)
class SchedulerRules:
    """One engine's continuous-batching rules.

    ``max_batched_tokens``: tokens one step may hold (decode slots plus prefill chunks);
    ``max_sequences``: sequences running at once; ``mixed_prefill``: prefill chunks ride in the
    same step as decoding sequences (else a step is all prefill or all decode, prefill first);
    ``memory_fraction``: share of device memory the engine lets weights, activations and the
    KV cache take; ``graphs_per_candidates``: CUDA graphs are captured for one speculative token
    count, so under a dynamic-K schedule a step at any other count runs eagerly (the cost of
    switching); ``engine``: whose rules these are."""

    engine: str
    max_batched_tokens: int
    max_sequences: int
    mixed_prefill: bool
    memory_fraction: float
    graphs_per_candidates: bool = True

    def __post_init__(self) -> None:
        if self.max_batched_tokens < 1 or self.max_sequences < 1:
            raise SpecroofError(f"scheduler {self.engine}: token budget and sequence cap must be >= 1 "
                                f"(got {self.max_batched_tokens}, {self.max_sequences})")
        if not 0 < self.memory_fraction <= 1:
            raise SpecroofError(f"scheduler {self.engine}: memory fraction must be in (0, 1], got {self.memory_fraction}")

    def with_overrides(self, **values: Any) -> "SchedulerRules":
        """These rules with the given fields replaced (None leaves a field as it is)."""
        return replace(self, **{key: value for key, value in values.items() if value is not None})


RULES: dict[str, SchedulerRules] = {
    # vLLM V1 (v0.10-0.11), vllm/engine/arg_utils.py EngineArgs.get_batch_defaults: on a GPU
    # with >= 70 GiB that is not an A100 the OpenAI server defaults to max_num_batched_tokens =
    # 8192 and max_num_seqs = 1024 (else SMALL_GPU_VLLM below); chunked prefill is always on in
    # V1 and the scheduler puts running
    # (decoding) requests first, then prefill chunks in the rest of the budget
    # (vllm/v1/core/sched/scheduler.py); gpu_memory_utilization = 0.9 (EngineArgs default).
    # Its full decode graphs assume a uniform query length of 1 + num_speculative_tokens
    # (vllm/v1/worker/gpu_model_runner.py, uniform_decode_query_len): one K has graphs.
    "vllm": SchedulerRules("vllm", 8192, 1024, True, 0.9),
    # SGLang (v0.4.x-0.5), python/sglang/srt/server_args.py: chunked_prefill_size = 8192 on an
    # 80 GB-class GPU; enable_mixed_chunk = False, so a prefill batch runs on its own step and
    # decoding waits for it (scheduler.get_next_batch_to_run runs a new prefill batch first);
    # mem_fraction_static ~0.88 at tp 1 on an 80 GB GPU; max_running_requests is derived from
    # the KV pool, capped here at vLLM's 1024 (no fixed default to cite). Its CUDA graphs are
    # captured per batch size for speculative_num_draft_tokens (one K).
    "sglang": SchedulerRules("sglang", 8192, 1024, False, 0.88),
    # TensorRT-LLM (v1.0, PyTorch backend) trtllm-serve defaults: max_num_tokens = 8192,
    # max_batch_size = 2048; in-flight batching mixes context and generation requests in one
    # step; kv_cache_config.free_gpu_memory_fraction = 0.9; graphs captured for max_draft_len.
    "trtllm": SchedulerRules("trtllm", 8192, 2048, True, 0.9),
}
DEFAULT_ENGINE = "vllm"
SMALL_GPU_VLLM = SchedulerRules("vllm", 2048, 256, True, 0.9)
"""vLLM's OpenAI-server defaults on a GPU under 70 GiB or an A100 (the same get_batch_defaults:
a large budget on an A100 lost throughput, vLLM PR #17885)."""
LARGE_GPU_BYTES = 70 * 2**30


def rules_for(setup: Any) -> SchedulerRules:
    """The rules of the setup's engine on its device (vLLM's for a profile naming no engine)."""
    engine = getattr(setup.profile, "engine", "") or DEFAULT_ENGINE
    rules = RULES.get(engine, RULES[DEFAULT_ENGINE])
    device = setup.hardware
    if rules.engine == "vllm" and (device.memory_bytes < LARGE_GPU_BYTES or "a100" in device.name.lower()):
        return SMALL_GPU_VLLM
    return rules
