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
(``null``, ``false``, ``0``, an empty list, a window at least the model's maximum context):
such values are accepted without a word.

Window keys (``sliding_window``, ``attention_chunk_size`` and the keys that say which layers
use them) are exact for any context that fits the window: a query attends to at most
``seq_len + candidates`` tokens, and when that is within the window the windowed layer reads
exactly what a full-attention layer reads. So a window finding carries ``exact_up_to_tokens``
and is checked against the requested contexts (:func:`check_context`), not at load time.

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

ALLOW_KEY = "_specroof_allow_unmodelled"
"""A config's own list of unmodelled keys it accepts being priced without (warned on use)."""


@dataclass(frozen=True)
class KeyRule:
    """One unmodelled key: what it changes, what is mispriced if ignored, when it is harmless.

    ``harmless(value, config)`` is True when the value provably leaves the cost unchanged.
    ``window`` marks keys that are exact up to a number of context tokens (see the module
    docstring); ``window_of(config)`` then gives that number. ``skewed_routing_only`` marks
    keys that change the cost only under a skewed router law (``--moe-routing zipf:S``).
    """

    changes: str
    mispriced: str
    harmless: Callable[[Any, dict[str, Any]], bool]
    window: bool = False
    skewed_routing_only: bool = False


@dataclass(frozen=True)
class Unmodelled:
    """One finding: the user's key, its value, and what ignoring it misprices."""

    key: str
    value: Any
    changes: str
    mispriced: str
    exact_up_to_tokens: int | None = None
    accepted: bool = False
    skewed_routing_only: bool = False

    def describe(self) -> str:
        shown = _show(self.value)
        exact = f"; exact while seq_len + candidates <= {self.exact_up_to_tokens}" if self.exact_up_to_tokens else ""
        return f"{self.key} = {shown} ({self.changes}: {self.mispriced}{exact})"


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


# --------------------------------------------------------------------------- predicates


def _absent(value: Any, cfg: dict[str, Any] | None = None) -> bool:
    return value is None or value is False or value == 0 or value == [] or value == {} or value == ""


def _one(value: Any, cfg: dict[str, Any]) -> bool:
    return _absent(value) or value == 1


def window_of(cfg: dict[str, Any]) -> int | None:
    """The attention window or chunk in tokens that this config's windowed layers use, if any."""
    if cfg.get("use_sliding_window") is False:
        return None
    for key in ("sliding_window", "attention_chunk_size"):
        value = cfg.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None


def _window_harmless(value: Any, cfg: dict[str, Any]) -> bool:
    """No window in effect, or a window at least the model's maximum context."""
    if _absent(value) or cfg.get("use_sliding_window") is False:
        return True
    window = window_of(cfg)
    if window is None:  # a pattern or flag with no window size: nothing is windowed
        return True
    longest = cfg.get("max_position_embeddings")
    return isinstance(longest, int) and window >= longest


_ATTENTION_LAYER_TYPES = {"full_attention", "attention", "global", "full"}
_WINDOW_LAYER_TYPES = {"sliding_attention", "chunked_attention", "local", "sliding", "local_attention"}


def _layer_types_harmless(value: Any, cfg: dict[str, Any]) -> bool:
    if _absent(value):
        return True
    kinds = set(value) if isinstance(value, list) and all(isinstance(v, str) for v in value) else {None}
    if kinds <= _ATTENTION_LAYER_TYPES:
        return True
    return kinds <= _ATTENTION_LAYER_TYPES | _WINDOW_LAYER_TYPES and _window_harmless(True, cfg)


def _only_windows(key: str, value: Any) -> bool:
    """``layer_types`` that mix only full and windowed attention: exact within the window."""
    return (key == "layer_types" and isinstance(value, list) and all(isinstance(v, str) for v in value)
            and set(value) <= _ATTENTION_LAYER_TYPES | _WINDOW_LAYER_TYPES)


def _no_grouping(value: Any, cfg: dict[str, Any]) -> bool:
    """Grouped routing that restricts nothing: one group, or every group allowed."""
    groups, allowed = cfg.get("n_group"), cfg.get("topk_group")
    return not isinstance(groups, int) or groups <= 1 or (isinstance(allowed, int) and allowed >= groups)


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
_SHARED = ("always-active shared expert", "its weights and FLOPs are left out of every MoE layer")
_LAYOUT = ("which layers are mixture-of-experts", "every layer is priced as MoE, so the dense layers' MLP "
           "is mispriced")
_WINDOW = ("attention window", "attention reads and the KV cache are priced over the whole context")
_LINEAR = ("linear-attention / state-space layers", "they are priced as attention layers with a KV cache, "
           "not a fixed recurrent state and a chunked scan")

UNMODELLED: dict[str, KeyRule] = {
    **{key: KeyRule(*_LATENT, _latent_or_absent) for key in ("q_lora_rank", "qk_rope_head_dim", "qk_nope_head_dim",
                                                             "index_topk", "index_n_heads", "index_head_dim")},
    "v_head_dim": KeyRule(*_LATENT, _v_head_dim_harmless),
    "n_shared_experts": KeyRule(*_SHARED, _absent),
    "num_shared_experts": KeyRule(*_SHARED, _absent),
    "shared_expert_intermediate_size": KeyRule(*_SHARED, _absent),
    "moe_shared_expert_intermediate_size": KeyRule(*_SHARED, _absent),
    "first_k_dense_replace": KeyRule(*_LAYOUT, _absent),
    "moe_layer_freq": KeyRule(*_LAYOUT, _one),
    "mlp_only_layers": KeyRule(*_LAYOUT, _absent),
    "decoder_sparse_step": KeyRule(*_LAYOUT, _one),
    "interleave_moe_layer_step": KeyRule(*_LAYOUT, _one),
    "moe_layers": KeyRule(*_LAYOUT, _absent),
    "sliding_window": KeyRule(*_WINDOW, _window_harmless, window=True),
    "attention_chunk_size": KeyRule("chunked attention", _WINDOW[1], _window_harmless, window=True),
    "use_sliding_window": KeyRule(*_WINDOW, _window_harmless, window=True),
    "max_window_layers": KeyRule(*_WINDOW, _window_harmless, window=True),
    "sliding_window_pattern": KeyRule(*_WINDOW, _window_harmless, window=True),
    "layer_types": KeyRule("per-layer attention types", "every layer is priced as full attention",
                           _layer_types_harmless),
    "full_attention_interval": KeyRule(*_LINEAR, _one),
    "hybrid_override_pattern": KeyRule(*_LINEAR, _absent),
    "attn_layer_period": KeyRule(*_LINEAR, _one),
    "n_group": KeyRule("grouped routing", "the skewed router law picks experts without the group limit",
                       _no_grouping, skewed_routing_only=True),
    "topk_group": KeyRule("grouped routing", "the skewed router law picks experts without the group limit",
                          _no_grouping, skewed_routing_only=True),
    "quantization_config": KeyRule("the checkpoint's quantization", "weights are priced at --weight-dtype "
                                   "(default: --dtype), not at the checkpoint's format; set --weight-dtype "
                                   "to match", _absent),
    "model_type": KeyRule("architecture", "", lambda v, cfg: not isinstance(v, str) or v not in _IMPLIED),
}
"""Key -> rule. Delete a key's row when its builder lands; nothing else lists these keys."""

_IMPLIED = {
    "llama4_text": "one shared expert per MoE layer (implied by the architecture, no key) is left out",
    "gpt_oss": "attention sinks (one learned logit per head, implied by the architecture) are left out",
}
"""model_type -> a cost the architecture implies without any key."""

_LINEAR_PREFIXES = ("linear_", "mamba_", "ssm_")
"""Keys of linear-attention and state-space layers (Qwen3-Next, Kimi Linear, Mamba-2)."""


def _rule_for(key: str) -> KeyRule | None:
    if key in UNMODELLED:
        return UNMODELLED[key]
    if key.startswith(_LINEAR_PREFIXES):
        return KeyRule(*_LINEAR, _absent)
    return None


_WINDOW_SIZES = ("sliding_window", "attention_chunk_size")


def find_unmodelled(cfg: dict[str, Any], label: str = "model config") -> tuple[Unmodelled, ...]:
    """Every key of ``cfg`` (a config with any ``text_config`` merged in) whose value changes the
    cost but is not modelled, in the file's order."""
    cfg = dict(cfg)
    for key in _WINDOW_SIZES:  # a window that is not a size would silently count as none
        value = cfg.get(key)
        if isinstance(value, float) and value.is_integer():
            cfg[key] = value = int(value)  # integral floats are integers, as everywhere in a config
        if value not in (None, False) and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise SpecroofError(f"{label}: {key} must be a positive whole number of tokens or null, got {value!r}")
    accepted = cfg.get(ALLOW_KEY) or []
    if not isinstance(accepted, list) or not all(isinstance(k, str) for k in accepted):
        raise SpecroofError(f"{label}: {ALLOW_KEY} must be a list of key names, got {accepted!r}")
    found = []
    for key, value in cfg.items():
        rule = _rule_for(key)
        if rule is None or rule.harmless(value, cfg):
            continue
        mispriced = _IMPLIED[value] if key == "model_type" else rule.mispriced
        window = window_of(cfg) if rule.window or _only_windows(key, value) else None
        found.append(Unmodelled(key, value, rule.changes, mispriced, window, key in accepted,
                                rule.skewed_routing_only))
    return tuple(found)


def describe_all(found: list[Unmodelled]) -> str:
    """``key = value, key = value (what they change: what is mispriced)`` per kind of finding."""
    groups: dict[tuple[str, str], list[Unmodelled]] = {}
    for f in found:
        groups.setdefault((f.changes, f.mispriced), []).append(f)
    return "; ".join(", ".join(f"{f.key} = {_show(f.value)}" for f in group) + f" ({changes}: {mispriced})"
                     for (changes, mispriced), group in groups.items())


def check_unmodelled(label: str, found: tuple[Unmodelled, ...], allow: bool, skewed_routing: bool = False) -> None:
    """Refuse the context-independent findings in one error, or warn once per key when allowed.

    Window findings are left to :func:`check_context`, which knows the requested contexts;
    the error names them too, so one message lists every key. Grouped-routing keys count
    only under a skewed router law: under uniform routing each token still picks each expert
    with probability k/E, so the expected experts a step reads does not change.
    """
    fixed = [f for f in found if f.exact_up_to_tokens is None and (skewed_routing or not f.skewed_routing_only)]
    refused = [f for f in fixed if not (allow or f.accepted)]
    if refused:
        windows = [f for f in found if f.exact_up_to_tokens is not None]
        also = (f"; exact only while seq_len + candidates <= {windows[0].exact_up_to_tokens:,}: "
                f"{', '.join(f.key for f in windows)}") if windows else ""
        raise SpecroofError(
            f"{label} has {'a key' if len(refused) == 1 else f'{len(refused)} keys'} that specroof does not "
            f"model yet: {describe_all(refused)}{also}. Pass --allow-unmodelled (allow_unmodelled=True) to "
            "price it without them (one warning per key)")
    for f in fixed:
        _warn(label, f)


def check_context(label: str, found: tuple[Unmodelled, ...], context_tokens: int, allow: bool) -> None:
    """Window findings against the longest requested context (``seq_len + candidates``).

    Within the window the price is exact and nothing is said; beyond it, an error (or one
    warning per key when allowed).
    """
    beyond = [f for f in found if f.exact_up_to_tokens is not None and context_tokens > f.exact_up_to_tokens]
    if not beyond:
        return
    refused = [f for f in beyond if not (allow or f.accepted)]
    if refused:
        window = refused[0].exact_up_to_tokens
        raise SpecroofError(
            f"{label}: contexts up to {context_tokens:,} tokens (seq_len + candidates) exceed its attention "
            f"window of {window:,} tokens, which specroof does not model yet: {describe_all(refused)}. Keep "
            f"seq_len + candidates <= {window:,} (exact), or pass --allow-unmodelled (allow_unmodelled=True) "
            "to price the whole context")
    for f in beyond:
        _warn(label, f)


def _warn(label: str, finding: Unmodelled) -> None:
    """One warning per key: issued from this one line, so Python's registry shows each message
    once however many setups (target, MTP module, plan chunks) price the same config."""
    warnings.warn(SpecroofWarning(f"{label}: ignoring {finding.describe()}"), stacklevel=1)
