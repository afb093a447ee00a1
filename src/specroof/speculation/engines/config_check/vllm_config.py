"""vLLM: a ``--speculative-config`` JSON alone, or ``vllm serve ...`` launch lines.

What is read, and vLLM's defaults when a setting is absent (checked in vLLM's source with
the research tools; versions named where the rule changed):

- ``--speculative-config`` (JSON, or the dotted ``--speculative-config.KEY VALUE`` form): ``method``, ``model``, ``num_speculative_tokens``,
  ``num_speculative_tokens_per_batch_size`` ``[[start_bs, end_bs, K], ...]`` (v0.24,
  ``docs/features/speculative_decoding/dynamic_speculative_decoding.md``),
  ``draft_tensor_parallel_size``, ``max_model_len`` (the draft's length: longer sequences are not
  speculated); the pre-JSON flags ``--speculative-model`` /
  ``--num-speculative-tokens`` / ``--speculative-draft-tensor-parallel-size`` too.
- ``--max-num-seqs`` and ``--max-num-batched-tokens``: unset, ``vllm serve`` takes 256 and 2048
  on GPUs under 70 GiB and on A100s, 1024 and 8192 on the others (``get_batch_defaults``); the
  config cannot say which GPU it runs on, so it is read both ways and a check whose answer
  differs says so. ``--tensor-parallel-size``/``-tp``, ``--max-model-len``.
- CUDA graphs, in tokens: ``--compilation-config``/``-O`` JSON ``cudagraph_capture_sizes``,
  ``max_cudagraph_capture_size``, ``cudagraph_mode``; ``--cuda-graph-sizes`` (v0.10-v0.11,
  ``SchedulerConfig.cuda_graph_sizes``); ``--max-cudagraph-capture-size``; ``--enforce-eager``;
  ``--max-seq-len-to-capture`` (the V0-era cap on the context a graph is used for: longer
  sequences decode eagerly; read only when given, its default changed with the era).
  Unset, vLLM captures ``[1, 2, 4] + range(8, 256, 8) + range(256, max + 1, 16)`` up to
  ``max = min(2 x max_num_seqs, 512)`` tokens (``vllm/config/vllm.py`` ``_set_cudagraph_sizes``;
  the default is in tokens while a speculative step of b sequences runs b x (K + 1) tokens:
  vLLM issue #27325, PR #50488). Some releases scale that default by K + 1 (issue #32324);
  the check uses the smaller, v0.11 rule and says so. Sizes above the token budget are
  dropped, and an explicit maximum off that grid is truncated to the grid value below it
  (PR #37865: 42 -> 40).
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from specroof.errors import SpecroofError
from specroof.speculation.engines.config_check.argv import Command
from specroof.speculation.engines.config_check.record import Capture, ServeConfig, Setting
from specroof.speculation.engines.config_check.values import json_object, schedule_ranges, whole, whole_list

RUNNER_V2_METHODS = ("eagle", "eagle3", "mtp", "dflash")
"""Drafting methods vLLM's model runner V2 runs (``_get_v2_model_runner_unsupported_features``);
it keeps full CUDA graphs with a per-batch table since PR #45953 (2026-07)."""
_RUNNER_ENV = "VLLM_USE_V2_MODEL_RUNNER"

GPU_DEFAULTS = (("GPUs under 70 GiB and A100s", 256, 2048), ("other GPUs of 70 GiB or more", 1024, 8192))
"""``vllm serve``'s defaults of (max_num_seqs, max_num_batched_tokens) by GPU class
(``vllm/engine/arg_utils.py`` ``get_batch_defaults``; A100 excluded from the large ones by PR #17885)."""
DEFAULT_CAPTURE_CAP = 512
GRID_FINE_END = 256


def capture_grid(top: int) -> list[int]:
    """vLLM's default capture sizes up to ``top`` tokens."""
    grid = [1, 2, 4, *range(8, GRID_FINE_END, 8), *range(GRID_FINE_END, top + 1, 16)]
    return [size for size in grid if size <= top]


def from_json(spec: dict[str, Any], label: str) -> ServeConfig:
    """A ``--speculative-config`` JSON alone: every other setting at vLLM's default."""
    return _serve(spec, {}, label)


def from_command(command: Command, label: str) -> ServeConfig:
    """A ``vllm serve ...`` line."""
    opts = {name.replace("_", "-"): words for name, words in command.options.items()}
    cmd = Command(command.line, command.program, opts, command.env)
    spec: dict[str, Any] = {}
    text = cmd.value("--speculative-config")
    if text is not None:
        spec = json_object(text, f"{label}: --speculative-config")
    for name, words in cmd.options.items():  # --speculative-config.num_speculative_tokens 3 (dotted form)
        if name.startswith("--speculative-config.") and words:
            spec[name.split(".", 1)[1].replace("-", "_")] = _scalar(words[0])
    legacy = {"--speculative-model": "model", "--num-speculative-tokens": "num_speculative_tokens",
              "--speculative-draft-tensor-parallel-size": "draft_tensor_parallel_size"}
    for flag, key in legacy.items():
        if cmd.value(flag) is not None and key not in spec:
            spec[key] = cmd.value(flag)
    if not spec:
        raise SpecroofError(f"{label}: no --speculative-config (speculation is off): nothing to check")
    return _serve(spec, cmd.options, label, cmd)


def _serve(spec: dict[str, Any], opts: dict[str, list[str]], label: str, cmd: Command | None = None) -> ServeConfig:
    where = f"{label}: --speculative-config"
    if "num_speculative_tokens" not in spec:
        raise SpecroofError(f"{where}: no num_speculative_tokens (the draft length K)")
    k = whole(spec["num_speculative_tokens"], f"{where} num_speculative_tokens", 1)
    schedule = None
    if "num_speculative_tokens_per_batch_size" in spec:
        schedule = schedule_ranges(spec["num_speculative_tokens_per_batch_size"],
                                   f"{where} num_speculative_tokens_per_batch_size")
    value = cmd.value if cmd is not None else (lambda *names: None)
    base = ServeConfig(
        engine="vllm", label=label, method=str(spec.get("method") or _method(spec)), k=k,
        max_seqs=Setting(None, ""), capture=Capture("tokens", Setting(None, "")), tp=_tp(value, label),
        draft_tp=_setting(spec.get("draft_tensor_parallel_size"), "draft_tensor_parallel_size", label, None,
                          "not set (vLLM runs the drafter at the target's TP)"),
        schedule=schedule, draft=str(spec.get("model") or ""),
        draft_context=_setting(spec.get("max_model_len"), "max_model_len", label, None, "not set"),
        served_context=_setting(value("--max-model-len"), "--max-model-len", label, None, "not set"),
        schedule_note="num_speculative_tokens_per_batch_size" if schedule else "")
    if schedule is not None:
        base = replace(base, schedule_downgrade=_runner_downgrade(base.method, cmd.env if cmd else {}))
    variants = [_batch_limits(base, opts, value, label, gpu) for gpu in GPU_DEFAULTS]
    if variants[0] == variants[1]:  # both limits set: the GPU's defaults do not matter
        return variants[0]
    return replace(variants[0], alternatives=(variants[1],))


def _batch_limits(base: ServeConfig, opts: dict[str, list[str]], value: Any, label: str,
                  gpu: tuple[str, int, int]) -> ServeConfig:
    """``base`` with the batch cap, token budget and CUDA graphs read, unset ones at the
    defaults of one GPU class (``vllm/engine/arg_utils.py`` ``get_batch_defaults``)."""
    where, seqs_default, budget_default = gpu
    max_seqs = _setting(value("--max-num-seqs"), "--max-num-seqs", label, seqs_default,
                        f"vLLM default {seqs_default} on {where}")
    budget = _setting(value("--max-num-batched-tokens"), "--max-num-batched-tokens", label, budget_default,
                      f"vLLM default {budget_default} on {where}")
    capture = _capture(opts, value, label, max_seqs, budget)
    if value("--max-seq-len-to-capture") not in (None, ""):
        capture = replace(capture, context_cap=whole(value("--max-seq-len-to-capture"),
                                                      f"{label}: --max-seq-len-to-capture", 1))
    both_set = value("--max-num-seqs") not in (None, "") and value("--max-num-batched-tokens") not in (None, "")
    return replace(base, max_seqs=max_seqs, budget=budget, capture=capture, assumption="" if both_set else where)


def _runner_downgrade(method: str, env: dict[str, str]) -> tuple[str, str]:
    """(why, fix) when a per-batch table costs the full CUDA graphs: vLLM's V1 model runner
    overrides cudagraph_mode FULL_AND_PIECEWISE to PIECEWISE for Dynamic SD (its warning, seen on
    v0.27.1 in issue #48494; issue #49548 measured 59.6 -> 50.0 tok/s single-stream)."""
    if env.get(_RUNNER_ENV) == "1":
        return ("", "") if method in RUNNER_V2_METHODS else (
            f"{_RUNNER_ENV}=1 with method {method}: model runner V2 runs only {', '.join(RUNNER_V2_METHODS)}",
            "one num_speculative_tokens (drop the per-batch table) on the V1 runner")
    why = ("the per-batch table makes vLLM's V1 model runner override cudagraph_mode FULL_AND_PIECEWISE to "
           "PIECEWISE (issue #49548: 59.6 -> 50.0 tok/s single-stream)")
    if method in RUNNER_V2_METHODS:
        return why, f"launch with {_RUNNER_ENV}=1 (full graphs with the table since PR #45953)"
    return why, (f"one num_speculative_tokens (model runner V2, which keeps full graphs with the table, runs only "
                 f"{', '.join(RUNNER_V2_METHODS)})")


def _scalar(word: str) -> Any:
    """A dotted option's value: JSON when it parses (a number, a list), else the text."""
    try:
        return json.loads(word)
    except json.JSONDecodeError:
        return word


def _method(spec: dict[str, Any]) -> str:
    if "prompt_lookup_max" in spec or "prompt_lookup_min" in spec:
        return "ngram"
    return "draft_model" if spec.get("model") else "unknown"


def _tp(value: Any, label: str) -> int:
    text = value("--tensor-parallel-size", "-tp")
    return whole(text, f"{label}: --tensor-parallel-size", 1) if text is not None else 1


def _setting(raw: Any, name: str, label: str, default: int | None, origin: str) -> Setting:
    if raw is None or raw == "":
        return Setting(default, origin)
    return Setting(whole(raw, f"{label}: {name}", 1), name)


def _compilation(opts: dict[str, list[str]], label: str) -> dict[str, Any]:
    config: dict[str, Any] = {}
    for flag in ("-O", "--compilation-config"):
        words = opts.get(flag)
        if words and words[0].lstrip().startswith("{"):
            config.update(json_object(words[0], f"{label}: {flag}"))
    for name, words in opts.items():  # --compilation-config.max_cudagraph_capture_size 64
        if name.startswith("--compilation-config.") and words:
            config[name.split(".", 1)[1].replace("-", "_")] = words[0]
    return config


def _capture(opts: dict[str, list[str]], value: Any, label: str, max_seqs: Setting, budget: Setting) -> Capture:
    config = _compilation(opts, label)
    if value("--enforce-eager") is not None or str(config.get("cudagraph_mode", "")).upper() == "NONE":
        return Capture("tokens", Setting(None, "eager"), disabled="CUDA graphs off by choice (--enforce-eager "
                                                                  "or cudagraph_mode NONE)")
    ceiling = budget.value or 8192  # sizes above the token budget are dropped
    sizes_raw = config.get("cudagraph_capture_sizes")
    if sizes_raw is None and value("--cuda-graph-sizes") is not None:
        words = opts.get("--cuda-graph-sizes") or []
        listed = whole_list(" ".join(words), f"{label}: --cuda-graph-sizes")
        sizes_raw = list(listed) if len(listed) > 1 else None
        if len(listed) == 1:
            config.setdefault("max_cudagraph_capture_size", listed[0])
    if sizes_raw is not None:
        sizes = tuple(s for s in sorted(set(whole_list(sizes_raw, f"{label}: cudagraph_capture_sizes"))) if s <= ceiling)
        largest = Setting(sizes[-1] if sizes else 0, "cudagraph_capture_sizes")
        return Capture("tokens", largest, sizes)
    cap_raw = config.get("max_cudagraph_capture_size", value("--max-cudagraph-capture-size"))
    if cap_raw is not None:
        cap = min(whole(cap_raw, f"{label}: max_cudagraph_capture_size", 1), ceiling)
        grid = capture_grid(cap)
        return Capture("tokens", Setting(grid[-1], f"max_cudagraph_capture_size {cap}, on vLLM's grid"), tuple(grid))
    cap = min(2 * (max_seqs.value or 1), DEFAULT_CAPTURE_CAP, ceiling)
    grid = capture_grid(cap)
    return Capture("tokens", Setting(grid[-1], f"vLLM default min(2 x max_num_seqs, {DEFAULT_CAPTURE_CAP})"),
                   tuple(grid))
