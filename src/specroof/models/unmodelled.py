"""``config.json`` keys that change the cost of a step but are not modelled yet.

A Hugging Face config can describe more than the Llama-style decoder specroof prices today
(shared experts, dense first layers, windows, linear attention...). Such a key is never
dropped silently: :func:`find_unmodelled` lists every one whose value would change the cost,
and :func:`check_unmodelled` turns the list into one ``error:`` (naming each key and what it
would misprice) or, with ``allow_unmodelled=True`` (CLI ``--allow-unmodelled``), one
``warning:`` per key, and the model is priced without it.

``UNMODELLED`` is the one table of these keys. When a builder for a key lands (the
frontier-models work), delete the key's row here: nothing else lists it. Each row says what
the key changes, what would be mispriced, and when its value provably changes nothing
(``null``, ``false``, ``0``, an empty list):
such values are accepted without a word.

Window keys (``sliding_window``, ``attention_chunk_size``, ``use_sliding_window``,
``max_window_layers``, ``sliding_window_pattern``, ``no_rope_layers`` and the window types of
``layer_types``) are modelled (:mod:`specroof.models.windows`), and so are gpt-oss's attention
sinks; ``layer_types`` stays here only for types that are not attention over a window.

A catalog entry (or a user's file) may accept named keys itself with
``"_specroof_allow_unmodelled": ["key", ...]``: those keys are then priced without them and
warned about on every use, as ``--allow-unmodelled`` would.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from specroof.errors import SpecroofError, SpecroofWarning
from specroof.models.linear_layers import LINEAR_LAYER_TYPE, MODELLED_KEYS
from specroof.models.quantization import quant_format
from specroof.models.windows import FULL_TYPES, WINDOW_TYPES

ALLOW_KEY = "_specroof_allow_unmodelled"
"""A config's own list of unmodelled keys it accepts being priced without (warned on use)."""


@dataclass(frozen=True)
class KeyRule:
    """One unmodelled key: what it changes, what is mispriced if ignored, when it is harmless.

    ``harmless(value, config)`` is True when the value provably leaves the cost unchanged.
    ``skewed_routing_only`` marks keys that change the cost only under a skewed router law
    (``--moe-routing zipf:S``).
    """

    changes: str
    mispriced: str
    harmless: Callable[[Any, dict[str, Any]], bool]
    skewed_routing_only: bool = False


@dataclass(frozen=True)
class Unmodelled:
    """One finding: the user's key, its value, and what ignoring it misprices."""

    key: str
    value: Any
    changes: str
    mispriced: str
    accepted: bool = False
    skewed_routing_only: bool = False

    def describe(self) -> str:
        return f"{self.key} = {_show(self.value)} ({self.changes}: {self.mispriced})"


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


# --------------------------------------------------------------------------- predicates


def _absent(value: Any, cfg: dict[str, Any] | None = None) -> bool:
    return value is None or value is False or value == 0 or value == [] or value == {} or value == ""


def _one(value: Any, cfg: dict[str, Any]) -> bool:
    return _absent(value) or value == 1


def _layer_types_harmless(value: Any, cfg: dict[str, Any]) -> bool:
    """Every type is full, windowed or linear attention (modelled: :mod:`specroof.models.windows`,
    :mod:`specroof.models.linear_layers`)."""
    if _absent(value):
        return True
    return isinstance(value, list) and all(
        isinstance(v, str) and (v in FULL_TYPES or v in WINDOW_TYPES or v == LINEAR_LAYER_TYPE)  # --- linear: modelled
        for v in value)


def _quantization_read(value: Any, cfg: dict[str, Any]) -> bool:
    """A quantization_config whose format :mod:`specroof.models.quantization` reads."""
    return _absent(value) or quant_format(value) is not None


def _latent_or_absent(value: Any, cfg: dict[str, Any]) -> bool:
    """Absent, or part of an MLA config (kv_lora_rank set: models/latent.py prices it)."""
    return _absent(value) or bool(cfg.get("kv_lora_rank"))


def _v_head_dim_harmless(value: Any, cfg: dict[str, Any]) -> bool:
    """Also a plain model's own head width (head_dim, else hidden_size / num_attention_heads)."""
    heads, hidden = cfg.get("num_attention_heads"), cfg.get("hidden_size")
    implied = hidden // heads if isinstance(heads, int) and isinstance(hidden, int) and heads > 0 else None
    return _latent_or_absent(value, cfg) or value == (cfg.get("head_dim") or implied)


# --------------------------------------------------------------------------- the table

_LATENT = ("latent-attention keys without kv_lora_rank (another design than MLA, e.g. DeepSeek-V4's "
           "compressed MQA)", "priced as plain attention with head_dim: the query compression, shared RoPE key "
           "and indexer are left out")
_SHARED = ("always-active shared expert", "its weights and FLOPs are left out of every MoE layer (Nemotron-H's "
           "non-gated shared experts are not modelled)")
_LINEAR = ("linear-attention / state-space layers", "they are priced as attention layers with a KV cache, "
           "not a fixed recurrent state and a chunked scan")

UNMODELLED: dict[str, KeyRule] = {
    **{key: KeyRule(*_LATENT, _latent_or_absent) for key in ("q_lora_rank", "qk_rope_head_dim", "qk_nope_head_dim",
                                                             "index_topk", "index_n_heads", "index_head_dim")},
    "v_head_dim": KeyRule(*_LATENT, _v_head_dim_harmless),
    "moe_shared_expert_intermediate_size": KeyRule(*_SHARED, _absent),
    "layer_types": KeyRule("per-layer attention types", "every layer is priced as full attention",
                           _layer_types_harmless),
    "hybrid_override_pattern": KeyRule(*_LINEAR, _absent),
    "attn_layer_period": KeyRule(*_LINEAR, _one),
    "moe_num_experts": KeyRule("routed experts under ERNIE-4.5's spelling", "the model is priced as dense: "
                               "its experts, shared experts and MoE layers are left out", _absent),  # --- MoE
    "mtp_use_dedicated_embeddings": KeyRule("an MTP module with its own embedding table (Qwen3.5)", "the module "
                                            "is priced with the target's shared embedding", _absent),  # --- MoE
    "quantization_config": KeyRule("the checkpoint's quantization", "a quant_method specroof does not read "
                                   "(it reads fp8, fp8 128x128 blocks, mxfp4, ModelOpt NVFP4/FP8): weights are "
                                   "priced at --weight-dtype (default: --dtype); set --weight-dtype to match",
                                   _quantization_read),
}
"""Key -> rule. Delete a key's row when its builder lands; nothing else lists these keys."""


_LINEAR_PREFIXES = ("linear_", "mamba_", "ssm_")
"""Keys of linear-attention and state-space layers not read yet (Mamba-2's, Nemotron-H's): the
Gated DeltaNet and KDA keys are read by :mod:`specroof.models.linear_layers` (its MODELLED_KEYS)."""


def _rule_for(key: str) -> KeyRule | None:
    if key in MODELLED_KEYS:  # --- linear attention
        return None
    if key in UNMODELLED:
        return UNMODELLED[key]
    if key.startswith(_LINEAR_PREFIXES):
        return KeyRule(*_LINEAR, _absent)
    return None


def find_unmodelled(cfg: dict[str, Any], label: str = "model config") -> tuple[Unmodelled, ...]:
    """Every key of ``cfg`` (a config with any ``text_config`` merged in) whose value changes the
    cost but is not modelled, in the file's order."""
    accepted = cfg.get(ALLOW_KEY) or []
    if not isinstance(accepted, list) or not all(isinstance(k, str) for k in accepted):
        raise SpecroofError(f"{label}: {ALLOW_KEY} must be a list of key names, got {accepted!r}")
    found = []
    for key, value in cfg.items():
        rule = _rule_for(key)
        if rule is None or rule.harmless(value, cfg):
            continue
        mispriced = rule.mispriced
        found.append(Unmodelled(key, value, rule.changes, mispriced, key in accepted, rule.skewed_routing_only))
    return tuple(found)


def describe_all(found: list[Unmodelled]) -> str:
    """``key = value, key = value (what they change: what is mispriced)`` per kind of finding."""
    groups: dict[tuple[str, str], list[Unmodelled]] = {}
    for f in found:
        groups.setdefault((f.changes, f.mispriced), []).append(f)
    return "; ".join(", ".join(f"{f.key} = {_show(f.value)}" for f in group) + f" ({changes}: {mispriced})"
                     for (changes, mispriced), group in groups.items())


def check_unmodelled(label: str, found: tuple[Unmodelled, ...], allow: bool, skewed_routing: bool = False) -> None:
    """Refuse the findings in one error, or warn once per key when allowed. Grouped-routing keys count
    only under a skewed router law: under uniform routing each token still picks each expert
    with probability k/E, so the expected experts a step reads does not change.
    """
    fixed = [f for f in found if skewed_routing or not f.skewed_routing_only]
    refused = [f for f in fixed if not (allow or f.accepted)]
    if refused:
        raise SpecroofError(
            f"{label} has {'a key' if len(refused) == 1 else f'{len(refused)} keys'} that specroof does not "
            f"model yet: {describe_all(refused)}. Pass --allow-unmodelled (allow_unmodelled=True) to "
            "price it without them (one warning per key)")
    for f in fixed:
        _warn(label, f)


def _warn(label: str, finding: Unmodelled) -> None:
    """One warning per key: issued from this one line, so Python's registry shows each message
    once however many setups (target, MTP module, plan chunks) price the same config."""
    warnings.warn(SpecroofWarning(f"{label}: ignoring {finding.describe()}"), stacklevel=1)
