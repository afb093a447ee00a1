"""How much one measured grid point allocates, estimated before anything is allocated.

The harness skips points that would not fit instead of failing half way. Its numbers differ
from the cost model's memory footprint on purpose: it allocates no embedding table, and it
budgets for eager temporaries and SDPA's unfused fallback (an fp32 score matrix).
"""

from __future__ import annotations

from dataclasses import dataclass

from specroof.cost.dtypes import BYTES
from specroof.models.architecture import ModelConfig

GB = 1e9
ACTIVATION_SLACK = 1.5
"""Slack on the activation estimate: temporaries of eager kernels, allocator rounding."""


@dataclass(frozen=True)
class MemoryEstimate:
    """Bytes one grid point needs: weights (shared by all points), KV cache, activations."""

    weights: int
    kv_cache: int
    activations: int

    @property
    def total(self) -> int:
        return self.weights + self.kv_cache + self.activations


def allocated_weight_bytes(model: ModelConfig, dtype: str = "fp16") -> int:
    """Bytes of the weights the harness allocates: every layer and the LM head, but no input
    embedding table (its step starts from hidden states). This is the cost model's weight
    footprint (:mod:`specroof.cost.memory`) less that table; a tied model keeps its one table
    as the LM head."""
    untied_head = 0 if model.tie_word_embeddings else model.vocab_size * model.hidden_size
    return int(BYTES[dtype] * (model.parameter_count() - untied_head))


def estimate_memory(model: ModelConfig, batch: int, candidates: int, seq_len: int,
                    dtype: str = "fp16", gqa_mode: str = "enable_gqa") -> MemoryEstimate:
    """Conservative memory estimate of one grid point, before anything is allocated.

    KV cache: ``2 * layers * batch * kv_heads * (seq_len + candidates) * head_dim`` elements.
    Activations: the step's largest temporaries summed (including an fp32 score matrix, in
    case attention falls back to the unfused math kernel), times a slack factor.
    """
    e = int(BYTES[dtype])
    b, n, s = batch, candidates, seq_len
    total_len = s + n
    t = b * n
    h, q, kv, d = model.hidden_size, model.q_dim, model.kv_dim, model.head_dim
    kv_cache = e * 2 * model.num_layers * b * model.num_kv_heads * total_len * d
    residual = 4 * t * h * e + 2 * t * h * 4  # hidden, residual sums, fp32 norm temporaries
    attention = (
        t * (q + 2 * kv) * e  # fused qkv output
        + 3 * t * (q + kv) * e  # RoPE chunk/cat temporaries
        + t * q * e  # attention output
        + 2 * b * model.num_heads * n * total_len * 4  # fp32 scores and probabilities (math path)
        + n * total_len  # boolean mask
    )
    if gqa_mode in ("repeat_interleave", "mask_aware") and model.num_kv_heads != model.num_heads:
        attention += 2 * b * model.num_heads * total_len * d * e
    if model.is_moe:
        routed = t * model.experts_per_token
        mlp = t * model.num_experts * 4 * 2 + routed * (2 * h + 4 * model.mlp_width) * e
    else:
        mlp = t * 2 * model.intermediate_size * e + 2 * t * model.intermediate_size * e
    lm_head = t * model.vocab_size * e + t * h * 4
    activations = int(ACTIVATION_SLACK * (residual + attention + mlp + lm_head))
    return MemoryEstimate(allocated_weight_bytes(model, dtype), int(kv_cache), activations)


def format_gb(nbytes: float) -> str:
    """Bytes as GB with three significant digits: '13.5 GB', '0.0512 GB'."""
    value = nbytes / GB
    return f"{value:.1f} GB" if value >= 100 else f"{value:.3g} GB"
