"""The Hugging Face ``config.json`` mapping: which keys shape a decoder, and how they become the
fields of :class:`specroof.models.architecture.ModelConfig`.

The keys are the Hugging Face vocabulary (with the synonyms older configs use), so they are
declared here and not on ``ModelConfig``; values are checked with the same scalar checks.
Keys set to ``null`` count as absent (Hugging Face configs write ``null`` for defaults).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from specroof.checks import BOOL, NON_NEGATIVE_INT, POSITIVE_INT, TEXT, Check, annotation, check, pydantic
from specroof.errors import SpecroofError
from specroof.models import conflicts, moe_layout
from specroof.models.latent import DSA_KEYS, MLA_KEYS, latent_fields
from specroof.models.linear_layers import linear_fields
from specroof.models.quantization import checkpoint_precision
from specroof.models.unmodelled import find_unmodelled
from specroof.models.windows import window_fields

_NEEDS = ("; a Hugging Face config.json needs hidden_size, intermediate_size, num_hidden_layers, "
          "num_attention_heads and vocab_size")

#: key -> (check, synonyms, required); values of every other key are ignored.
HF_KEYS: dict[str, tuple[Check, tuple[str, ...], bool]] = {
    "hidden_size": (POSITIVE_INT, ("n_embd", "d_model"), True),
    "num_hidden_layers": (POSITIVE_INT, ("n_layer", "num_layers"), True),
    "num_attention_heads": (POSITIVE_INT, ("n_head",), True),
    "vocab_size": (POSITIVE_INT, (), True),
    "intermediate_size": (POSITIVE_INT, ("n_inner",), False),
    "num_key_value_heads": (POSITIVE_INT, (), False),
    "head_dim": (POSITIVE_INT, (), False),
    "tie_word_embeddings": (BOOL, (), False),
    "num_local_experts": (NON_NEGATIVE_INT, (), False),
    "num_experts": (NON_NEGATIVE_INT, (), False),
    "n_routed_experts": (NON_NEGATIVE_INT, (), False),
    "num_experts_per_tok": (NON_NEGATIVE_INT, (), False),
    "experts_per_token": (NON_NEGATIVE_INT, (), False),
    "num_experts_per_token": (NON_NEGATIVE_INT, (), False),
    "moe_intermediate_size": (POSITIVE_INT, (), False),
    "num_nextn_predict_layers": (NON_NEGATIVE_INT, (), False),
    "mtp_num_hidden_layers": (NON_NEGATIVE_INT, (), False),
    "max_position_embeddings": (POSITIVE_INT, ("max_sequence_length", "n_positions"), False),
    # --- MLA and DSA (models/latent.py)
    **{key: (NON_NEGATIVE_INT, (), False) for key in MLA_KEYS + DSA_KEYS},
}
_DEFAULTS = {"tie_word_embeddings": False}


@lru_cache(maxsize=1)
def _schema() -> Any:
    pd = pydantic()
    fields: dict[str, Any] = {}
    for key, (kind, synonyms, required) in HF_KEYS.items():
        alias = pd.AliasChoices(key, *synonyms) if synonyms else None
        default = ... if required else _DEFAULTS.get(key)
        fields[key] = (annotation(kind if required or key in _DEFAULTS else kind.or_none()),
                       pd.Field(default, validation_alias=alias))
    fields["source"] = (annotation(TEXT), pd.Field("", validation_alias="_source"))
    return pd.create_model("HFConfig", __config__=pd.ConfigDict(extra="ignore", frozen=True), **fields)


def _read(config: Any, label: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the config with a nested text_config merged in, its checked keys)."""
    if not isinstance(config, dict):
        raise SpecroofError(f"{label} is not a JSON object")
    cfg = dict(config)
    # Some multimodal / nested configs keep the language model under text_config.
    if "hidden_size" not in cfg and isinstance(cfg.get("text_config"), dict):
        cfg = {**cfg, **cfg["text_config"]}
    conflicts.check_synonyms(cfg, label)
    present = {k: v for k, v in cfg.items() if v is not None}
    return cfg, check(_schema(), present, label, hint=_NEEDS).model_dump()


def _heads(hf: dict[str, Any], label: str) -> tuple[int, int, int]:
    """(query heads, KV heads, head width)."""
    heads = hf["num_attention_heads"]
    kv_heads = hf["num_key_value_heads"] if hf["num_key_value_heads"] is not None else heads
    if hf["head_dim"] is not None:
        head_dim = hf["head_dim"]
    elif hf["hidden_size"] % heads:
        raise SpecroofError(f"{label}: hidden_size {hf['hidden_size']} is not divisible by "
                            f"num_attention_heads {heads}; set head_dim explicitly")
    else:
        head_dim = hf["hidden_size"] // heads
    if heads % kv_heads:
        raise SpecroofError(f"{label}: num_attention_heads {heads} is not divisible by num_key_value_heads "
                            f"{kv_heads}; grouped-query attention shares each KV head among a whole "
                            "number of query heads")
    return heads, kv_heads, head_dim


def _widths(hf: dict[str, Any], label: str, experts: int) -> tuple[int, int]:
    """(dense MLP width, one expert's MLP width: 0 for a dense model)."""
    moe_width = 0
    if experts:
        moe_width = hf["moe_intermediate_size"] or hf["intermediate_size"] or 0
        if not moe_width:
            raise SpecroofError(f"{label} is a mixture of experts but has neither "
                                "moe_intermediate_size nor intermediate_size")
    intermediate = hf["intermediate_size"]
    if intermediate is None:
        if not experts:
            raise SpecroofError(f"{label} is missing 'intermediate_size'{_NEEDS}")
        intermediate = moe_width
    return intermediate, moe_width


def model_fields(config: Any, name: str) -> dict[str, Any]:
    """The ModelConfig fields a ``config.json`` gives; SpecroofError naming the file and key."""
    label = f"model config {name!r}"
    cfg, hf = _read(config, label)
    heads, kv_heads, head_dim = _heads(hf, label)
    experts = conflicts.first_given(hf, conflicts.EXPERT_KEYS)[1] or 0
    per_tok = conflicts.check_experts(hf, label, experts)
    intermediate, moe_width = _widths(hf, label, experts)
    intermediate = moe_layout.dense_width(cfg, label) or intermediate  # --- MoE: Llama-4's dense layers
    return dict(
        name=name, hidden_size=hf["hidden_size"], intermediate_size=intermediate,
        num_layers=hf["num_hidden_layers"], num_heads=heads, num_kv_heads=kv_heads, head_dim=head_dim,
        vocab_size=hf["vocab_size"], tie_word_embeddings=hf["tie_word_embeddings"], num_experts=experts,
        experts_per_token=per_tok, moe_intermediate_size=moe_width, mtp_layers=conflicts.check_mtp(hf, label),
        max_position_embeddings=hf["max_position_embeddings"], source=hf["source"],
        unmodelled=find_unmodelled(cfg, label), **latent_fields(hf),  # --- MLA
        **moe_layout.moe_fields(cfg, label, hf["num_hidden_layers"], experts, per_tok, moe_width),  # --- MoE
        **window_fields(cfg, label, hf["num_hidden_layers"], hf["max_position_embeddings"]),  # --- windows
        **linear_fields(cfg, hf["num_hidden_layers"], label),  # --- linear attention
        **checkpoint_precision(cfg, hf["num_hidden_layers"], label),
    )
