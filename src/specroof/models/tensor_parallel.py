"""Which tensor-parallel degrees an engine can run a model at: the sizes it splits must divide.

What vLLM requires (``vllm/model_executor/layers/linear.py`` and
``vocab_parallel_embedding.py``; SGLang's layers are derived from the same code):

- query heads: ``QKVParallelLinear`` takes ``divide(total_num_heads, tp_size)``, and
  ``ModelConfig.verify_with_parallel_config`` refuses heads not divisible by the TP size;
- KV heads: split when ``tp < kv_heads`` (``divide(total_num_kv_heads, tp_size)``), else
  replicated ``divide(tp_size, total_num_kv_heads)`` times, so one must divide the other;
- intermediate size: ``MergedColumnParallelLinear`` (gate/up) and ``RowParallelLinear``
  (down) take ``divide(size, tp_size)`` of each MLP's width (an MoE model's expert width,
  ``FusedMoE`` without expert parallelism);
- vocabulary: ``VocabParallelEmbedding`` and ``ParallelLMHead`` first pad it up to a multiple
  of 64 (``DEFAULT_VOCAB_PADDING_SIZE``), then take ``divide(padded, tp_size)``: the padded
  vocabulary must divide, which any power of two up to 64 does.

- linear-attention heads (Gated DeltaNet, KDA): ``Qwen3NextGatedDeltaNet`` and
  ``KimiDeltaAttention`` take ``divide(num_k_heads, tp_size)`` and ``divide(num_v_heads, tp_size)``.

``divide`` asserts exact divisibility, so an engine fails at start-up on any other degree.
"""

from __future__ import annotations

from typing import Any

from specroof.errors import SpecroofError, shown

VOCAB_PADDING = 64
"""vLLM's ``DEFAULT_VOCAB_PADDING_SIZE``: the vocabulary is padded up to a multiple of it."""

MAX_TP = 1024
"""Largest degree examined (above any NVLink domain; :mod:`specroof.cost.setup` bounds it further)."""


def padded_vocab(vocab_size: int) -> int:
    """The vocabulary as vLLM lays it out: rounded up to a multiple of 64."""
    return -(-vocab_size // VOCAB_PADDING) * VOCAB_PADDING


def tp_conflicts(model: Any, tp: int) -> list[str]:
    """The sizes of ``model`` that ``tp`` does not split as engines require (empty: it runs)."""
    sizes = []
    if model.num_heads % tp:
        sizes.append(f"{model.num_heads} attention heads")
    kv = model.num_kv_heads
    if kv % tp and tp % kv:
        sizes.append(f"{kv} KV heads (one must divide the other)")
    widths = {"intermediate size": model.mlp_width}
    if model.is_moe and model.dense_layers and model.intermediate_size != model.mlp_width:
        widths["dense intermediate size"] = model.intermediate_size  # the dense-MLP layers'
    if model.is_moe and model.shared_experts:  # one MLP of all shared experts, split like the others
        widths["shared-expert width"] = model.shared_experts * model.shared_expert_intermediate_size
    for label, width in widths.items():
        if width % tp:
            sizes.append(f"{label} {width}")
    if getattr(model, "linear_layers", 0):  # --- linear attention: vLLM's Qwen3NextGatedDeltaNet divides both
        sizes += [f"{n} linear-attention {what} heads" for n, what in
                  ((model.linear_key_heads, "key"), (model.linear_value_heads, "value")) if n % tp]
    vocab = padded_vocab(model.vocab_size)
    if vocab % tp:
        sizes.append(f"vocabulary {model.vocab_size} (padded to {vocab})")
    return sizes


def check_tensor_parallel(model: Any, tp: Any) -> None:
    """SpecroofError, one line naming every size ``tp`` does not divide, and the degrees that work."""
    if isinstance(tp, bool) or not isinstance(tp, int) or tp < 1:
        raise SpecroofError(f"tensor parallelism must be a positive integer, got {shown(tp)}")
    if tp > MAX_TP:
        raise SpecroofError(f"--tp {shown(tp)} is more devices than specroof prices (at most {MAX_TP}, and only "
                            "within one interconnect domain)")
    conflicts = tp_conflicts(model, tp)
    if conflicts:
        fits = [p for p in range(1, min(model.num_heads, 128) + 1) if not tp_conflicts(model, p)]
        raise SpecroofError(f"--tp {tp} does not divide the {', '.join(conflicts)} of {model.name}; engines split each "
                            f"evenly over the devices; use one of {', '.join(map(str, fits))}")
