"""A per-batch schedule that downgrades CUDA graphs, and TensorRT-LLM's two schedule forms.

vLLM (``num_speculative_tokens_per_batch_size``) captures decode graphs per token count: the
batch range ``[start, end]`` drafting k needs graphs of up to ``end x (k + 1)`` tokens, and a
full (uniform-decode) graph only exists at a captured size that is a multiple of k + 1; with
none in the range's span its steps are padded into another draft length's graph and run
piecewise at best (the downgrade users see as "dynamic speculation made it slower").
SGLang and TensorRT-LLM size graphs in requests and capture each draft length (SGLang's
adaptive candidates, TensorRT-LLM's per-draft-length graphs since PR #10860), so for them only
the coverage of the batch range counts.
"""

from __future__ import annotations

from specroof.speculation.engines.config_check.record import NA, OK, TRAP, UNKNOWN, Finding, ServeConfig
from specroof.speculation.engines.config_check.trtllm_config import STAGE1_FORM

NAME = "per-batch schedule"


def schedule_check(cfg: ServeConfig) -> Finding:
    """Every batch range of the schedule keeps its CUDA graphs."""
    if cfg.schedule is None:
        return Finding(NAME, NA, cfg.notes[0] if cfg.notes else
                       f"one K = {cfg.k} at every batch size (no per-batch schedule)")
    if cfg.schedule_note == STAGE1_FORM:
        return _stage1(cfg)
    if cfg.capture.disabled:
        return Finding(NAME, OK, f"{cfg.capture.disabled}: no graphs to lose")
    why, fix = cfg.schedule_downgrade
    if why:
        return Finding(NAME, TRAP, why, fix)
    problems = [p for p in (_range_problem(cfg, s, e, k) for s, e, k in cfg.effective_schedule() if k > 0) if p]
    if not problems:
        return Finding(NAME, OK, f"every batch range of {cfg.schedule_note} keeps CUDA graphs "
                       f"({cfg.capture.largest.origin})")
    fix = ("capture every range's sizes: --compilation-config '{\"cudagraph_capture_sizes\": [...]}' with "
           "b x (k + 1) for each range (specroof plan --export vllm writes them)" if cfg.engine == "vllm" else
           "raise the graph batch to the schedule's last batch size")
    return Finding(NAME, TRAP, "; ".join(problems), fix)


def _range_problem(cfg: ServeConfig, start: int, end: int, k: int) -> str:
    per = (k + 1) if cfg.capture.unit == "tokens" else 1
    low, high = start * per, end * per
    largest = cfg.capture.largest.value
    if largest is not None and high > largest:
        return (f"batches {start}-{end} (K={k}) reach {high} {cfg.capture.unit}, above the largest graph "
                f"({largest}): they run without CUDA graphs")
    sizes = cfg.capture.sizes
    if cfg.capture.unit == "tokens" and k < cfg.k and sizes is not None:
        if not any(low <= size <= high and size % per == 0 for size in sizes):
            return (f"batches {start}-{end} (K={k}) have no captured size that is a multiple of {per} in "
                    f"{low}-{high} tokens: their steps pad into another K's graph (piecewise at best)")
    return ""


def _stage1(cfg: ServeConfig) -> Finding:
    """A ``draft_len_schedule`` with key 1 and more keys: read differently by the stage-1
    form (key = smallest batch size of its draft length) and by TensorRT-LLM since PR #10860;
    which one the user meant cannot be told, so the finding gives the current form of the other."""
    assert cfg.schedule is not None
    ranges = list(cfg.schedule)
    if len(ranges) > 1 and ranges[-1][2] == 0:  # the implicit "off above the last key" tail
        ranges = ranges[:-1]
    keys, values = [end for _, end, _ in ranges], [k for _, _, k in ranges]
    top = cfg.max_seqs.value or keys[-1]
    ends = [nxt - 1 for nxt in keys[1:]] + [max(top, keys[-1])]
    meant = list(zip(ends, values))
    while len(meant) > 1 and meant[-1][1] == 0:
        meant.pop()
    written = ", ".join(f"{key}: {k}" for key, k in zip(keys, values))
    return Finding(NAME, UNKNOWN, f"draft_len_schedule {{{written}}} has a key 1, so TensorRT-LLM versions read it "
                   "two ways: the stage-1 form (PR #8194) took each key as the SMALLEST batch size of its draft "
                   "length; since PR #10860 (2026-03) a key is the LARGEST batch size, and speculation is off above "
                   "the last key. If you meant the stage-1 reading, on a current TensorRT-LLM write",
                   f"draft_len_schedule: {{{', '.join(f'{e}: {k}' for e, k in meant)}}} "
                   "(keys = last batch size of each draft length)")
