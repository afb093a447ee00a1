"""Multi-head latent attention (MLA) and DeepSeek sparse attention (DSA) keys of a ``config.json``.

MLA (DeepSeek-V2/V3/R1, Kimi K2) caches one compressed latent per token and layer instead of
per-head keys and values: ``kv_lora_rank`` latent elements plus ``qk_rope_head_dim`` shared
RoPE key elements. Queries are compressed to ``q_lora_rank`` first (0: a plain ``q_proj``);
each head's key is ``qk_nope_head_dim`` (up-projected from the latent) + ``qk_rope_head_dim``
wide, its value ``v_head_dim``. DSA (DeepSeek-V3.2) adds a lightning indexer of
``index_n_heads`` heads of ``index_head_dim`` that picks ``index_topk`` tokens each query
attends to. Field names equal the Hugging Face keys, so every message names the user's keys.
"""

from __future__ import annotations

from typing import Any

MLA_KEYS = ("q_lora_rank", "kv_lora_rank", "qk_rope_head_dim", "qk_nope_head_dim", "v_head_dim")
DSA_KEYS = ("index_topk", "index_n_heads", "index_head_dim")
_MLA_NEEDS = ("qk_rope_head_dim", "qk_nope_head_dim", "v_head_dim")


def latent_fields(hf: dict[str, Any]) -> dict[str, int]:
    """The MLA and DSA fields of a checked config (absent or null keys: 0). Without
    ``kv_lora_rank`` the model is not MLA and every field is 0: such keys describe another
    design (DeepSeek-V4's compressed MQA writes ``q_lora_rank`` and the indexer keys without a
    latent cache), which :mod:`specroof.models.unmodelled` names instead of pricing it as MLA."""
    if not hf.get("kv_lora_rank"):
        return dict.fromkeys(MLA_KEYS + DSA_KEYS, 0)
    return {key: int(hf.get(key) or 0) for key in MLA_KEYS + DSA_KEYS}


def latent_problem(model: Any) -> str:
    """What makes the MLA / DSA fields of ``model`` inconsistent, in words naming the keys ('' if nothing)."""
    if not model.kv_lora_rank:
        given = [f"{key} = {getattr(model, key)}" for key in MLA_KEYS + DSA_KEYS if getattr(model, key)]
        return (f"{', '.join(given)} given without kv_lora_rank; these fields describe multi-head latent "
                "attention, which needs kv_lora_rank > 0") if given else ""
    missing = [key for key in _MLA_NEEDS if not getattr(model, key)]
    if missing:
        return (f"kv_lora_rank = {model.kv_lora_rank} (multi-head latent attention) needs "
                f"{', '.join(missing)} > 0 as well")
    dsa = [model.index_topk, model.index_n_heads, model.index_head_dim]
    if any(dsa) and not all(dsa):
        shown = ", ".join(f"{k} = {v}" for k, v in zip(DSA_KEYS, dsa))
        return f"sparse attention needs all of index_topk, index_n_heads and index_head_dim > 0, got {shown}"
    return ""


def latent_attention_parameters(model: Any) -> int:
    """Weights of one MLA layer's attention (the indexer's included under DSA), the same sum the
    builder's operations hold (:mod:`specroof.cost.architectures.mla`): q_a (or a plain q), q_b,
    kv_a, kv_b (W_UK and W_UV), o_proj; the latent norms are not counted, as no norm inside
    attention is."""
    h, heads = model.hidden_size, model.num_heads
    q_in = model.q_lora_rank or h
    q = (h * model.q_lora_rank if model.q_lora_rank else 0) + q_in * heads * (model.qk_nope_head_dim
                                                                              + model.qk_rope_head_dim)
    kv = h * (model.kv_lora_rank + model.qk_rope_head_dim) + model.kv_lora_rank * heads * (
        model.qk_nope_head_dim + model.v_head_dim)
    indexer = 0
    if model.index_topk:
        dim, index_heads = model.index_head_dim, model.index_n_heads
        indexer = q_in * index_heads * dim + h * (dim + index_heads)
    return q + kv + heads * model.v_head_dim * h + indexer
