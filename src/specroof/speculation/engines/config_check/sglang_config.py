"""SGLang: ``python -m sglang.launch_server ...`` (or ``sglang serve``) launch lines.

Server arguments read (docs.sglang.io server arguments; ``python/sglang/srt/server_args.py``):
``--speculative-algorithm``, ``--speculative-num-steps``, ``--speculative-eagle-topk``,
``--speculative-num-draft-tokens`` (tokens verified per request, root included: K + 1 for a
chain), ``--speculative-draft-model-path``, ``--speculative-adaptive`` with
``--speculative-adaptive-config FILE`` (adaptive steps: PR #21599, batch-size aware from PR
#24055), ``--max-running-requests``, ``--cuda-graph-max-bs`` / ``--cuda-graph-bs`` (CUDA graphs
counted in requests, each sized for the draft tokens), ``--disable-cuda-graph``,
``--tp-size``/``--tp``, ``--context-length``. SGLang sizes ``--cuda-graph-max-bs`` from the
GPU's memory when it is unset (``_handle_gpu_memory_settings``): the check cannot know that
value and says so. ``--chunked-prefill-size`` bounds prefill chunks, not the decode batch, so
SGLang has no decode token budget for K + 1 to eat.
"""

from __future__ import annotations

from specroof.errors import SpecroofError
from specroof.speculation.engines.config_check.argv import Command
from specroof.speculation.engines.config_check.record import Capture, ServeConfig, Setting
from specroof.speculation.engines.config_check.values import whole, whole_list

_METHODS = {"EAGLE": "eagle", "EAGLE3": "eagle3", "NEXTN": "mtp", "MTP": "mtp", "NGRAM": "ngram",
            "STANDALONE": "draft_model", "LOOKAHEAD": "ngram", "DFLASH": "dflash"}


def from_command(command: Command, label: str) -> ServeConfig:
    """One ``sglang.launch_server`` line."""
    cmd = Command(command.line, command.program, {n.replace("_", "-"): w for n, w in command.options.items()},
                  command.env)
    algorithm = cmd.value("--speculative-algorithm", "--speculative-algo")
    if not algorithm:
        raise SpecroofError(f"{label}: no --speculative-algorithm (speculation is off): nothing to check")
    steps = _int(cmd, label, "--speculative-num-steps")
    draft_tokens = _int(cmd, label, "--speculative-num-draft-tokens")
    topk = _int(cmd, label, "--speculative-eagle-topk") or 1
    if draft_tokens is None and steps is None:
        raise SpecroofError(f"{label}: give --speculative-num-draft-tokens or --speculative-num-steps "
                            "(the tokens drafted per step)")
    tokens = draft_tokens if draft_tokens is not None else steps * topk + 1
    max_seqs = Setting(_int(cmd, label, "--max-running-requests"),
                       "--max-running-requests" if cmd.has("--max-running-requests")
                       else "unset: SGLang sizes it from the KV-cache memory")
    notes = ()
    if cmd.has("--speculative-adaptive"):
        notes = ("adaptive steps (--speculative-adaptive): SGLang picks the draft depth at run time among its "
                 "candidate steps, each with its own CUDA graphs",)
    return ServeConfig(
        engine="sglang", label=label, method=_METHODS.get(algorithm.upper(), algorithm.lower()), k=tokens - 1,
        max_seqs=max_seqs, capture=_capture(cmd, label), tp=_int(cmd, label, "--tp-size", "--tp") or 1,
        draft=cmd.value("--speculative-draft-model-path") or "",
        served_context=Setting(_int(cmd, label, "--context-length"),
                               "--context-length" if cmd.has("--context-length") else "not set"),
        notes=notes)


def _int(cmd: Command, label: str, *names: str) -> int | None:
    raw = cmd.value(*names)
    return None if raw is None else whole(raw, f"{label}: {names[0]}", 1)


def _capture(cmd: Command, label: str) -> Capture:
    if cmd.has("--disable-cuda-graph"):
        return Capture("requests", Setting(None, "eager"), disabled="CUDA graphs off by choice (--disable-cuda-graph)")
    words = cmd.options.get("--cuda-graph-bs")
    if words:
        sizes = tuple(sorted(set(whole_list(" ".join(words), f"{label}: --cuda-graph-bs"))))
        return Capture("requests", Setting(sizes[-1], "--cuda-graph-bs"), sizes)
    top = _int(cmd, label, "--cuda-graph-max-bs")
    if top is not None:
        return Capture("requests", Setting(top, "--cuda-graph-max-bs"))
    return Capture("requests", Setting(None, "unset: SGLang picks --cuda-graph-max-bs from the GPU's memory"))
