"""The layout options of an exported launch command: expert parallelism and data-parallel
attention (:mod:`specroof.cost.parallel`), each engine in its own spelling.

- vLLM 0.10+: ``--data-parallel-size D`` with ``--tensor-parallel-size tp / D`` (its GPUs are
  TP x DP), ``--enable-expert-parallel`` (experts split over all TP x DP GPUs, so only
  ``ep = tp`` has a spelling);
- SGLang 0.5: ``--ep-size N``, ``--enable-dp-attention --dp D``, and with both the DeepEP
  all-to-all ``--moe-a2a-backend deepep`` (older releases: ``--enable-deepep-moe``);
- TensorRT-LLM LLM API: ``moe_expert_parallel_size``, ``enable_attention_dp`` (attention data-
  parallel over every GPU: only ``dp = tp``).

A layout an engine cannot spell is exported as its nearest form with a note saying so.
"""

from __future__ import annotations

from typing import Any


def layout_label(s: Any) -> str:
    """The layout in words for an export's header ("tensor parallel" for plain TP)."""
    parts = ["tensor parallel"]
    if s.ep > 1:
        parts.append(f"experts over {s.ep}")
    if s.dp_attention > 1:
        parts.append(f"attention data-parallel in {s.dp_attention} groups")
    if s.draft_tp:
        parts.append(f"draft at tp {s.draft_tp}")
    return ", ".join(parts)


def vllm_layout(s: Any, notes: list[str]) -> list[str]:
    """Flags after ``--tensor-parallel-size tp / dp``."""
    flags = ["--data-parallel-size", str(s.dp_attention)] if s.dp_attention > 1 else []
    if s.ep > 1:
        flags.append("--enable-expert-parallel")
        if s.ep != s.tp:
            notes.append(f"# --ep {s.ep}: vLLM splits experts over all {s.tp} GPUs (TP x DP); priced with {s.ep}.")
    return flags


def sglang_layout(s: Any, notes: list[str]) -> list[str]:
    """Flags after ``--tp-size tp``."""
    flags = ["--ep-size", str(s.ep)] if s.ep > 1 else []
    if s.dp_attention > 1:
        flags += ["--enable-dp-attention", "--dp", str(s.dp_attention)]
        if s.ep > 1:
            flags += ["--moe-a2a-backend", "deepep"]
    return flags


def trtllm_layout(s: Any, notes: list[str]) -> list[str]:
    """YAML lines of the LLM API options."""
    lines = [f"moe_expert_parallel_size: {s.ep}"] if s.ep > 1 else []
    if s.dp_attention > 1:
        lines.append("enable_attention_dp: true")
        if s.dp_attention != s.tp:
            notes.append(f"# --dp-attention {s.dp_attention}: TensorRT-LLM's attention DP spans all {s.tp} GPUs; "
                         f"priced with {s.dp_attention} groups.")
    return lines
