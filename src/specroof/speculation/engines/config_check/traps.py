"""The traps of the step's shape: CUDA graphs that do not cover ``max_num_seqs x (K + 1)``, a
token budget eaten by K + 1 per sequence, and a per-batch schedule whose draft lengths fall
outside the captured graphs.

Why these cost speed: a decode step larger than every captured CUDA graph runs eagerly
(vLLM's dispatcher returns no graph above the largest capture size; SGLang and TensorRT-LLM
replay graphs only up to their graph batch), and in a speculative step every sequence brings
K + 1 tokens, not one. A step may schedule at most the token budget, so a full batch needs
``max_num_seqs x (K + 1)`` of it. vLLM captures decode graphs per token count; a per-batch
schedule whose draft length k has no captured size that is a multiple of k + 1 pads its step
into another k's graph and loses the full (uniform-decode) graph.
"""

from __future__ import annotations

import json

from specroof.speculation.engines.config_check.record import NA, OK, TRAP, UNKNOWN, Finding, ServeConfig
from specroof.speculation.engines.config_check.vllm_config import GRID_FINE_END

VLLM_BUDGET_SMALL = 2048
"""vllm serve's smaller default token budget (GPUs under 70 GiB, A100s)."""


def step_need(cfg: ServeConfig) -> tuple[int, str]:
    """(size, how it is counted): the largest decode step, in the capture's unit."""
    ranges = cfg.effective_schedule()
    if cfg.capture.unit == "requests":
        return ranges[-1][1], f"{ranges[-1][1]} requests ({cfg.max_seqs.origin})"
    end, k = max(((e, k) for _, e, k in ranges), key=lambda r: r[0] * (r[1] + 1))
    return end * (k + 1), f"{end} sequences x (K + 1 = {k + 1}) = {end * (k + 1)} tokens"


def capture_check(cfg: ServeConfig) -> Finding:
    """The largest CUDA graph covers the largest speculative decode step."""
    name, cap = "cuda-graph capture", cfg.capture
    if cap.disabled:
        return Finding(name, OK, f"{cap.disabled}: nothing to cover")
    served = cfg.served_context.value
    if cap.context_cap is not None and served is not None and served > cap.context_cap:
        return Finding(name, TRAP, f"--max-seq-len-to-capture {cap.context_cap} is below the served context {served} "
                       f"({cfg.served_context.origin}): sequences longer than it decode without CUDA graphs",
                       f"--max-seq-len-to-capture {served}")
    if not cfg.max_seqs.known:
        return Finding(name, UNKNOWN, f"batch cap unknown ({cfg.max_seqs.origin}); graphs up to "
                       f"{cap.largest.value or 'an unknown size'}", _cap_fix(cfg, None))
    need, how = step_need(cfg)
    if not cap.largest.known:
        return Finding(name, UNKNOWN, f"largest decode step {how}; largest graph unknown ({cap.largest.origin})",
                       _cap_fix(cfg, need))
    largest = cap.largest.value or 0
    if largest >= need:
        return Finding(name, OK, f"graphs up to {largest} {cap.unit} ({cap.largest.origin}) cover the largest "
                       f"decode step, {how}")
    return Finding(name, TRAP, f"the largest decode step, {how}, exceeds the largest CUDA graph, {largest} "
                   f"{cap.unit} ({cap.largest.origin}): larger steps run without CUDA graphs", _cap_fix(cfg, need))


def _cap_fix(cfg: ServeConfig, need: int | None) -> str:
    if cfg.engine == "sglang":
        return f"--cuda-graph-max-bs {need}" if need else "set --max-running-requests and --cuda-graph-max-bs to it"
    if cfg.engine == "trtllm":
        return f"cuda_graph_config: {{max_batch_size: {need}, enable_padding: true}}" if need else \
            "set max_batch_size and cuda_graph_config.max_batch_size to it"
    if need is None:
        return "set --max-num-seqs"
    top = vllm_grid_ceiling(need)
    fix = f"--compilation-config '{json.dumps({'max_cudagraph_capture_size': top})}'"
    if cfg.budget is not None and (cfg.budget.value or VLLM_BUDGET_SMALL) < top:
        fix += f" and --max-num-batched-tokens {top}"
    per = cfg.k + 1
    if cfg.capture.largest.known and (cfg.capture.largest.value or 0) >= per:
        fix += f" (or --max-num-seqs {(cfg.capture.largest.value or 0) // per})"
    return fix + "; specroof plan --export vllm writes the sizes"


def vllm_grid_ceiling(tokens: int) -> int:
    """The smallest size on vLLM's capture grid at or above ``tokens`` (an explicit maximum off
    the grid is truncated to the grid value below it)."""
    if tokens <= 4:
        return 1 << (tokens - 1).bit_length()
    if tokens <= GRID_FINE_END:
        return -(-tokens // 8) * 8
    return GRID_FINE_END - (-(tokens - GRID_FINE_END) // 16) * 16


def budget_check(cfg: ServeConfig) -> Finding:
    """The token budget holds a full batch's verification step."""
    name = "token budget"
    if cfg.budget is None:
        return Finding(name, NA, "SGLang's --chunked-prefill-size bounds prefill chunks only; the decode batch "
                       "has no token budget for K + 1 to eat")
    if not cfg.max_seqs.known:
        return Finding(name, UNKNOWN, f"batch cap unknown ({cfg.max_seqs.origin})")
    ranges = cfg.effective_schedule()
    need = max(e * (k + 1) for _, e, k in ranges)
    flag = "--max-num-batched-tokens" if cfg.engine == "vllm" else "max_num_tokens"
    fix = f"{flag} {need}" if cfg.engine == "vllm" else f"{flag}: {need}"
    budget = cfg.budget.value or 0
    if need <= budget:
        return Finding(name, OK, f"a full batch verifies {need} tokens, within {budget} ({cfg.budget.origin})")
    fits = budget // (cfg.k + 1)
    return Finding(name, TRAP, f"a full batch verifies {need} tokens but a step schedules at most {budget} "
                   f"({cfg.budget.origin}): only {fits} sequences verify per step and prefill gets what is left", fix)
