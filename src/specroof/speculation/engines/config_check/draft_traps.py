"""The traps of the drafter: draft tensor parallelism, a K above the depth the head or the MTP
modules were trained for, and a draft context window shorter than the served context.

Draft TP (vLLM only; SGLang and TensorRT-LLM run the drafter at the target's TP, with no
setting to read): ``SpeculativeConfig._verify_and_get_draft_tp`` (``vllm/config/speculative.py``)
refuses a ``draft_tensor_parallel_size`` other than 1 or the target's TP, and the V1 draft-model
proposer (``vllm/v1/spec_decode/draft_model.py``, ``_raise_if_draft_tp_mismatch``) requires the
target's TP. Trained depth: the MTP modules a checkpoint ships (``num_nextn_predict_layers``,
from ``--model``) or an EAGLE head's training depth (``trained_depth.toml``, or ``--trained-k``);
engines reuse the last module past that depth, which it was never trained for. Context: the
served context (``--max-model-len``, ``--context-length``, ``max_seq_len``, else the target's
``max_position_embeddings``) against the draft's ``max_position_embeddings`` (``--draft-model``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

from specroof.datafiles import read_toml
from specroof.errors import SpecroofError
from specroof.speculation.engines.config_check.record import NA, OK, TRAP, UNKNOWN, Finding, ServeConfig

HEAD_METHODS = ("eagle", "eagle3")


@dataclass(frozen=True)
class DraftFacts:
    """What the configs of the models say: the target's MTP modules and context, the draft's
    context, and a head's trained depth given on the command line (None: not given)."""

    mtp_layers: int | None = None
    target_context: int | None = None
    draft_context: int | None = None
    trained_k: int | None = None


def draft_tp_check(cfg: ServeConfig) -> Finding:
    name = "draft TP"
    if cfg.engine != "vllm":
        return Finding(name, NA, "the drafter runs at the target's tensor parallelism (no separate setting)")
    draft_tp = cfg.draft_tp.value
    if draft_tp is None or draft_tp == cfg.tp:
        return Finding(name, OK, f"the drafter runs at the target's TP ({cfg.tp})")
    fix = f"draft_tensor_parallel_size {cfg.tp} (or leave it out)"
    if draft_tp != 1:
        return Finding(name, TRAP, f"draft_tensor_parallel_size {draft_tp} with target TP {cfg.tp}: vLLM takes only 1 "
                       "or the target's TP and refuses to start", fix)
    if cfg.method == "draft_model":
        return Finding(name, TRAP, f"draft_tensor_parallel_size 1 with target TP {cfg.tp}: vLLM V1's draft-model "
                       "proposer requires the target's TP and refuses to start", fix)
    return Finding(name, OK, f"draft_tensor_parallel_size 1 with target TP {cfg.tp}: the draft step runs unsplit "
                   "on one GPU per replica")


def depth_check(cfg: ServeConfig, facts: DraftFacts) -> Finding:
    name = "draft depth"
    if cfg.method == "mtp":
        if facts.mtp_layers is None:
            return Finding(name, UNKNOWN, f"K = {cfg.k} MTP drafts; give --model (the target's config.json) to "
                           "compare K with its num_nextn_predict_layers")
        return _compare(name, cfg.k, facts.mtp_layers, "MTP module(s) the checkpoint ships (num_nextn_predict_layers)",
                        "positions past them reuse the last module, which was trained for one step ahead")
    if cfg.method not in HEAD_METHODS:
        return Finding(name, NA, f"method {cfg.method}: no trained draft depth (a draft model or a lookup)")
    trained, origin = facts.trained_k, "--trained-k"
    if trained is None and cfg.draft in trained_depths():
        trained, origin = trained_depths()[cfg.draft]
    if trained is None:
        return Finding(name, UNKNOWN, f"the trained depth of head {cfg.draft or '(not named)'} is not in "
                       "trained_depth.toml", "give --trained-k N from the head's model card")
    return _compare(name, cfg.k, trained, f"steps the head was trained for ({origin})",
                    "acceptance past them falls faster than the head's measured curve")


def _compare(name: str, k: int, trained: int, what: str, why: str) -> Finding:
    if trained < 1:
        return Finding(name, TRAP, f"K = {k} but there are no {what}", "use another drafting method")
    if k <= trained:
        return Finding(name, OK, f"K = {k} within the {trained} {what}")
    return Finding(name, TRAP, f"K = {k} exceeds the {trained} {what}: {why}",
                   f"K <= {trained}, or measure acceptance at K = {k} (specroof acceptance --from vllm-metrics:FILE)")


def context_check(cfg: ServeConfig, facts: DraftFacts) -> Finding:
    name = "draft context"
    if cfg.method in ("mtp", "ngram"):
        return Finding(name, NA, f"method {cfg.method}: the drafter has no context window of its own")
    served, origin = cfg.served_context.value, cfg.served_context.origin
    if served is None and facts.target_context is not None:
        served, origin = facts.target_context, "the target's max_position_embeddings"
    window, where = facts.draft_context, "the draft's max_position_embeddings"
    if window is None and cfg.draft_context.known:
        window, where = cfg.draft_context.value, f"the speculative config's {cfg.draft_context.origin}"
    if served is None or window is None:
        missing = "the served context (set it, or give --model)" if served is None else \
            "the draft's window (give --draft-model, its config.json)"
        return Finding(name, UNKNOWN, f"cannot compare: {missing} is unknown")
    if served <= window:
        return Finding(name, OK, f"served context {served} ({origin}) within the draft's {window} ({where})")
    flag = {"vllm": "--max-model-len", "sglang": "--context-length", "trtllm": "max_seq_len:"}[cfg.engine]
    return Finding(name, TRAP, f"served context {served} tokens ({origin}) exceeds the draft's window {window} "
                   f"({where}): past it the draft runs beyond the positions it was built for and acceptance "
                   "collapses, or the engine stops speculating there", f"{flag} {window}, or a draft with a longer window")


@cache
def trained_depths() -> dict[str, tuple[int, str]]:
    """HF id -> (trained depth, source) from ``trained_depth.toml``; rows are checked."""
    file = resources.files("specroof.speculation.engines.config_check") / "trained_depth.toml"
    table: dict[str, tuple[int, str]] = {}
    for i, row in enumerate(read_toml(file, "trained_depth.toml").get("head", [])):
        where = f"trained_depth.toml head {i + 1}"
        if set(row) != {"repo", "method", "trained_k", "source"}:
            raise SpecroofError(f"{where}: expected keys repo, method, trained_k, source; got {', '.join(sorted(row))}")
        if not (isinstance(row["trained_k"], int) and row["trained_k"] >= 1 and str(row["source"]).strip()):
            raise SpecroofError(f"{where}: trained_k must be a whole number >= 1 and source must name where it is stated")
        table[str(row["repo"])] = (row["trained_k"], f"trained_depth.toml: {row['source'].split(' ')[0]}")
    return table
