"""Which engine a config is for, and its reading as :class:`ServeConfig` records.

A text is a launch if a non-comment line runs ``vllm serve`` / ``vllm.entrypoints`` (or the
``vllm/vllm-openai`` container), ``sglang.launch_server`` / ``sglang_router.launch_server`` /
``sglang serve`` (each such command is checked on its own); else a
JSON object is a vLLM ``--speculative-config``; else it is read as a TensorRT-LLM
``extra_llm_api_options`` YAML. ``engine`` forces the reading.
"""

from __future__ import annotations

import re

from specroof.errors import SpecroofError
from specroof.speculation.engines.config_check import sglang_config, trtllm_config, vllm_config
from specroof.speculation.engines.config_check.argv import Command, commands
from specroof.speculation.engines.config_check.record import ServeConfig
from specroof.speculation.engines.config_check.values import json_object

ENGINE_NAMES = ("vllm", "sglang", "trtllm")
_LAUNCH = {
    "vllm": re.compile(r"(^|[\s/])vllm(\s+serve\b|\.entrypoints)|vllm/vllm-openai"),
    "sglang": re.compile(r"sglang(_router)?\.launch_server|(^|[\s/])sglang\s+serve\b"),
    "trtllm": re.compile(r"(^|[\s/])trtllm-serve\b"),
}


def read_config(text: str, where: str, engine: str | None = None) -> list[ServeConfig]:
    """Every launch in ``text`` read as a :class:`ServeConfig` (one for a JSON or YAML file)."""
    if engine is not None and engine not in ENGINE_NAMES:
        raise SpecroofError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINE_NAMES)}")
    kind = engine or _detect(text, where)
    if kind == "trtllm":
        return [trtllm_config.from_options(_trtllm_options(text, where), where)]
    if kind == "vllm" and not _launch_engines(text) and text.lstrip().startswith("{"):
        return [vllm_config.from_json(json_object(text, where), where)]
    found = [c for c in commands(text, where) if _engine_of(c) == kind]
    if not found:
        raise SpecroofError(f"{where}: no {kind} launch command found")
    if len(found) > 1:  # an export's launch for a batch range that does not speculate has nothing to check
        found = [c for c in found if _speculates(c)] or found[:1]
    reader = vllm_config.from_command if kind == "vllm" else sglang_config.from_command
    many = len(found) > 1
    return [reader(c, f"{where}:{c.line}" if many else where) for c in found]


def _detect(text: str, where: str) -> str:
    launches = _launch_engines(text)
    if len(launches) > 1:
        raise SpecroofError(f"{where}: launch lines of several engines ({', '.join(sorted(launches))}); "
                            "check one engine's file at a time")
    if launches:
        return launches.pop()
    stripped = text.lstrip()
    if not stripped:
        raise SpecroofError(f"{where}: empty; give a vLLM --speculative-config JSON or launch line, an SGLang "
                            "launch line or a TensorRT-LLM extra_llm_api_options YAML")
    if stripped.startswith("{"):
        return "vllm"
    options = trtllm_config.load_yaml(text, where)
    if isinstance(options, dict) and ("speculative_config" in options or "cuda_graph_config" in options):
        return "trtllm"
    raise SpecroofError(f"{where}: cannot tell which engine this config is for (no vllm serve / "
                        "sglang.launch_server line, no JSON object, no speculative_config YAML); "
                        "name it with --engine vllm|sglang|trtllm")


def _launch_engines(text: str) -> set[str]:
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    body = "\n".join(lines)
    return {name for name, pattern in _LAUNCH.items() if pattern.search(body)}


def _trtllm_options(text: str, where: str) -> dict:
    """The YAML options; a ``trtllm-serve`` line in the text (an export's launch) is skipped."""
    kept = "\n".join(line for line in text.splitlines() if not _LAUNCH["trtllm"].search(line))
    if not any(line.strip() and not line.lstrip().startswith("#") for line in kept.splitlines()):
        raise SpecroofError(f"{where}: a trtllm-serve launch line and no options; check the YAML file its "
                            "--extra_llm_api_options names instead")
    options = trtllm_config.load_yaml(kept, where)
    if not isinstance(options, dict):
        raise SpecroofError(f"{where}: expected a YAML mapping of LLM API options, got {type(options).__name__}")
    return options


def _speculates(command: Command) -> bool:
    """Whether a launch sets speculative decoding at all (any ``--speculative...`` option)."""
    return any(name.lstrip("-").replace("_", "-").startswith(("speculative", "num-speculative"))
               for name in command.options)


def _engine_of(command: Command) -> str | None:
    words = " ".join([*command.program, *(f"{name} {' '.join(values)}" for name, values in command.options.items())])
    return next((name for name, pattern in _LAUNCH.items() if pattern.search(words)), None)
