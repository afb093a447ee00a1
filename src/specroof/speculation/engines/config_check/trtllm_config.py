"""TensorRT-LLM: an ``extra_llm_api_options`` YAML (``trtllm-serve MODEL --extra_llm_api_options FILE``).

LLM API options read (``tensorrt_llm/llmapi/llm_args.py``, 1.x): ``speculative_config``
(``decoding_type``, ``max_draft_len``, ``num_nextn_predict_layers``, ``speculative_model``,
``draft_len_schedule``, ``max_concurrency``), ``max_batch_size`` (default 2048),
``max_num_tokens`` (default 8192: the tokens one step schedules, draft tokens included),
``cuda_graph_config`` (``batch_sizes``, ``max_batch_size``; in requests; unset maximum: 128,
``CudaGraphConfig``; ``cuda_graph_config: null`` turns graphs off), ``tensor_parallel_size``,
``max_seq_len``.

``draft_len_schedule`` maps batch sizes to draft lengths. Since PR #10860 (merged 2026-03-13,
"Dynamic draft length on spec decode one-model path") a key is the *largest* batch size of its
draft length (``{4: 4, 8: 2, 32: 1}``: batches 1-4 draft 4, 5-8 draft 2, 9-32 draft 1, above 32
no speculation); the first form (PR #8194, two-model and n-gram drafters only) read keys as
*smallest* batch sizes and required ``{1: max_draft_len}``. YAML is parsed with PyYAML,
imported only here.
"""

from __future__ import annotations

from typing import Any

from specroof.errors import SpecroofError
from specroof.speculation.engines.config_check.record import Capture, ServeConfig, Setting
from specroof.speculation.engines.config_check.values import whole, whole_list

DEFAULT_MAX_BATCH = 2048
DEFAULT_MAX_TOKENS = 8192
DEFAULT_GRAPH_BATCH = 128
STAGE1_FORM = "stage-1 form"

_METHODS = {"eagle3": "eagle3", "eagle": "eagle", "mtp": "mtp", "ngram": "ngram", "drafttarget": "draft_model",
            "draft_target": "draft_model", "medusa": "medusa"}


def load_yaml(text: str, where: str) -> Any:
    """The YAML document in ``text``; a syntax error is one line naming where."""
    import yaml  # lazy: `specroof --help` does not pay for it

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise SpecroofError(f"{where}{at}: not valid YAML ({problem})") from None
    except RecursionError:
        raise SpecroofError(f"{where}: YAML nested too deeply") from None


def from_options(options: dict[str, Any], label: str) -> ServeConfig:
    """The LLM API options of one server."""
    spec = options.get("speculative_config")
    if not isinstance(spec, dict):
        raise SpecroofError(f"{label}: no speculative_config mapping (speculation is off): nothing to check")
    where = f"{label}: speculative_config"
    kind = str(spec.get("decoding_type", "")).strip()
    if not kind:
        raise SpecroofError(f"{where}: no decoding_type (Eagle3, MTP, NGram, DraftTarget, ...)")
    raw_k = spec.get("max_draft_len", spec.get("num_nextn_predict_layers"))
    if raw_k is None:
        raise SpecroofError(f"{where}: no max_draft_len (the draft length K)")
    k = whole(raw_k, f"{where} max_draft_len", 1)
    max_batch = _setting(options, "max_batch_size", label, DEFAULT_MAX_BATCH)
    schedule, note = _schedule(spec.get("draft_len_schedule"), k, max_batch.value or DEFAULT_MAX_BATCH, where)
    return ServeConfig(
        engine="trtllm", label=label, method=_METHODS.get(kind.lower(), kind.lower()), k=k, max_seqs=max_batch,
        capture=_capture(options, label), tp=whole(options.get("tensor_parallel_size", 1),
                                                   f"{label}: tensor_parallel_size", 1),
        budget=_setting(options, "max_num_tokens", label, DEFAULT_MAX_TOKENS), schedule=schedule,
        schedule_note=note, draft=str(spec.get("speculative_model") or spec.get("speculative_model_dir") or ""),
        served_context=_setting(options, "max_seq_len", label, None))


def _setting(options: dict[str, Any], key: str, label: str, default: int | None) -> Setting:
    if options.get(key) is None:
        return Setting(default, f"TensorRT-LLM default {default}" if default else "not set")
    return Setting(whole(options[key], f"{label}: {key}", 1), key)


def _schedule(raw: Any, k: int, max_batch: int, where: str) -> tuple[tuple[tuple[int, int, int], ...] | None, str]:
    """``draft_len_schedule`` as ranges, read as TensorRT-LLM reads it since PR #10860."""
    if raw is None:
        return None, ""
    if not isinstance(raw, dict) or not raw:
        raise SpecroofError(f"{where} draft_len_schedule: expected a mapping {{batch_size: draft_len}}")
    table = sorted((whole(b, f"{where} draft_len_schedule key", 1), whole(v, f"{where} draft_len_schedule value"))
                   for b, v in raw.items())
    ranges, start = [], 1
    for bound, draft in table:
        if draft > k:
            raise SpecroofError(f"{where} draft_len_schedule: draft length {draft} at batch {bound} exceeds "
                                f"max_draft_len {k}")
        ranges.append((start, bound, draft))
        start = bound + 1
    if start <= max_batch:
        ranges.append((start, max_batch, 0))
    note = STAGE1_FORM if table[0][0] == 1 and len(table) > 1 else "draft_len_schedule"
    return tuple(ranges), note


def _capture(options: dict[str, Any], label: str) -> Capture:
    if "cuda_graph_config" in options and options["cuda_graph_config"] is None:
        return Capture("requests", Setting(None, "eager"), disabled="CUDA graphs off by choice "
                                                                    "(cuda_graph_config: null)")
    config = options.get("cuda_graph_config") or {}
    if not isinstance(config, dict):
        raise SpecroofError(f"{label}: cuda_graph_config: expected a mapping or null")
    if config.get("batch_sizes"):
        sizes = tuple(sorted(set(whole_list(config["batch_sizes"], f"{label}: cuda_graph_config.batch_sizes"))))
        return Capture("requests", Setting(sizes[-1], "cuda_graph_config.batch_sizes"), sizes)
    if config.get("max_batch_size"):
        top = whole(config["max_batch_size"], f"{label}: cuda_graph_config.max_batch_size", 1)
        return Capture("requests", Setting(top, "cuda_graph_config.max_batch_size"))
    return Capture("requests", Setting(DEFAULT_GRAPH_BATCH, f"TensorRT-LLM default {DEFAULT_GRAPH_BATCH}"))
