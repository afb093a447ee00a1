"""Keys of a ``config.json`` that contradict each other or cannot describe a model.

Hugging Face configs spell some quantities several ways (``num_local_experts`` in Mixtral,
``num_experts`` in Qwen-MoE, ``n_routed_experts`` in DeepSeek). The reader takes whichever is
present; when two spellings are present with different values, the file is ambiguous and
taking one silently would price the wrong model. Every message names the user's own keys.
"""

from __future__ import annotations

from typing import Any

from specroof.errors import SpecroofError

SYNONYMS: tuple[tuple[str, ...], ...] = (
    ("hidden_size", "n_embd", "d_model"),
    ("num_hidden_layers", "n_layer", "num_layers"),
    ("num_attention_heads", "n_head"),
    ("intermediate_size", "n_inner"),
    ("num_local_experts", "num_experts", "n_routed_experts"),
    ("num_experts_per_tok", "experts_per_token", "num_experts_per_token"),
    ("num_nextn_predict_layers", "mtp_num_hidden_layers"),
)
"""Groups of keys that name the same quantity (the reader's aliases)."""

EXPERT_KEYS = SYNONYMS[4]
PER_TOKEN_KEYS = SYNONYMS[5]
MTP_KEYS = SYNONYMS[6]
MAX_MTP_LAYERS = 64
"""More MTP modules than any published model ships (DeepSeek-V3, GLM-4.5, Qwen3-Next: 1)."""


def _given(cfg: dict[str, Any], key: str) -> bool:
    value = cfg.get(key)
    return value is not None and value != 0


def check_synonyms(cfg: dict[str, Any], label: str) -> None:
    """Refuse two spellings of one quantity with different values."""
    for group in SYNONYMS:
        present = [(k, cfg[k]) for k in group if _given(cfg, k)]
        if any(v != present[0][1] for _, v in present[1:]):
            listed = " and ".join(f"{k} = {v!r}" for k, v in present)
            raise SpecroofError(f"{label}: {listed} disagree (they name the same quantity); keep one")


def first_given(cfg: dict[str, Any], keys: tuple[str, ...]) -> tuple[str, Any]:
    """(key, value) of the first of ``keys`` set to something other than null or 0, or (keys[0], None)."""
    return next(((k, cfg[k]) for k in keys if _given(cfg, k)), (keys[0], None))


def check_experts(cfg: dict[str, Any], label: str, experts: int) -> int:
    """Experts per token, checked against the expert count, with the user's keys in messages."""
    expert_key = first_given(cfg, EXPERT_KEYS)[0]
    key, per_tok = first_given(cfg, PER_TOKEN_KEYS)
    if not experts:
        if per_tok:
            raise SpecroofError(f"{label}: {key} = {per_tok!r} but no expert count "
                                f"({', '.join(EXPERT_KEYS)}); add one, or drop {key} for a dense model")
        return 0
    if per_tok is None:
        raise SpecroofError(f"{label}: {expert_key} = {experts} but no {PER_TOKEN_KEYS[0]} "
                            "(experts each token is routed to)")
    if not isinstance(per_tok, int) or isinstance(per_tok, bool) or not 1 <= per_tok <= experts:
        raise SpecroofError(f"{label}: {key} must be between 1 and {expert_key} = {experts}, got {per_tok!r}")
    return per_tok


def check_mtp(cfg: dict[str, Any], label: str) -> int:
    """MTP modules shipped with the model, named by the user's key in any error."""
    key, value = first_given(cfg, MTP_KEYS)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_MTP_LAYERS:
        raise SpecroofError(f"{label}: {key} must be a whole number from 0 to {MAX_MTP_LAYERS} "
                            f"(MTP modules shipped with the model), got {value!r}")
    return value
