"""Linear-attention layers of a hybrid model, read from its ``config.json``.

Hybrid models interleave full-attention layers with layers that keep a fixed recurrent state
instead of a KV cache. Which layers, and the state's shape, are spelled per family:

- Qwen3-Next / Qwen3.5 (Gated DeltaNet): ``layer_types`` lists ``"linear_attention"`` per
  layer, or (older configs) ``full_attention_interval: N`` makes every N-th layer full
  attention (layers N-1, 2N-1, ...: ``Qwen3NextConfig`` in Hugging Face transformers builds
  ``layer_types`` this way). The state of one layer is ``linear_num_value_heads`` matrices of
  ``linear_key_head_dim x linear_value_head_dim``; the short convolution runs over q, k and v
  with ``linear_conv_kernel_dim`` taps; ``mamba_ssm_dtype`` is the state's dtype (Qwen3.5).
- Kimi Linear (KDA): ``linear_attn_config`` with ``kda_layers`` (the linear layers, 1-based),
  ``num_heads`` and ``head_dim`` (keys and values alike) and ``short_conv_kernel_size``.

Mamba-2 layers (Nemotron-H's ``hybrid_override_pattern``) are priced by the same builder once
read (``linear_kind = "mamba2"``), but their configs also split the MLP into layers of its own,
which no builder models yet: the pattern stays an unmodelled key
(:mod:`specroof.models.unmodelled`).
"""

from __future__ import annotations

from typing import Any

from specroof.errors import SpecroofError

LINEAR_KINDS = ("gated_deltanet", "kda", "mamba2")
"""The recurrences a linear layer can run (``linear_kind``); '' for a model without them."""

LINEAR_LAYER_TYPE = "linear_attention"
"""The ``layer_types`` entry of a Gated DeltaNet layer (Qwen3-Next, Qwen3.5)."""

_STATE_DTYPES = {"float32": "fp32", "fp32": "fp32", "bfloat16": "bf16", "bf16": "bf16", "float16": "fp16",
                 "fp16": "fp16"}

MODELLED_KEYS = frozenset({
    "linear_num_key_heads", "linear_num_value_heads", "linear_key_head_dim", "linear_value_head_dim",
    "linear_conv_kernel_dim", "linear_attn_config", "mamba_ssm_dtype", "full_attention_interval", "attn_output_gate",
})
"""The config keys this module reads (the unmodelled-key table skips them)."""

_GDN_DIMS = (("linear_key_heads", "linear_num_key_heads"), ("linear_value_heads", "linear_num_value_heads"),
             ("linear_key_head_dim", "linear_key_head_dim"), ("linear_value_head_dim", "linear_value_head_dim"),
             ("linear_conv_kernel", "linear_conv_kernel_dim"))


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def _gdn_layers(cfg: dict[str, Any], layers: int, label: str) -> int:
    """Gated DeltaNet layers: from ``layer_types``, else ``full_attention_interval``."""
    types = cfg.get("layer_types")
    if isinstance(types, list) and LINEAR_LAYER_TYPE in types:
        return types.count(LINEAR_LAYER_TYPE)
    interval = cfg.get("full_attention_interval")
    if interval is None:
        return 0
    if _count(interval) is None:
        raise SpecroofError(f"{label}: full_attention_interval must be a whole number of layers >= 1, "
                            f"got {interval!r}")
    return layers - layers // interval if interval > 1 else 0


def _gdn(cfg: dict[str, Any], layers: int, label: str) -> dict[str, Any]:
    count = _gdn_layers(cfg, layers, label)
    if not count:
        return {}
    out: dict[str, Any] = {"linear_layers": count, "linear_kind": "gated_deltanet"}
    missing = []
    for field, key in _GDN_DIMS:
        value = _count(cfg.get(key))
        if value is None:
            missing.append(key)
        out[field] = value or 0
    if missing:
        raise SpecroofError(f"{label}: {count} linear-attention layers but no {', '.join(missing)} "
                            "(the recurrent state's shape); add them")
    out["linear_state_dtype"] = _state_dtype(cfg, label)
    return out


def _kda(cfg: dict[str, Any], label: str) -> dict[str, Any]:
    spec = cfg.get("linear_attn_config")
    if not spec:
        return {}
    if not isinstance(spec, dict):
        raise SpecroofError(f"{label}: linear_attn_config must be an object, got {spec!r}")
    layers = spec.get("kda_layers")
    if layers is None or layers == []:
        return {}
    if not isinstance(layers, list) or not all(_count(x) for x in layers):
        raise SpecroofError(f"{label}: linear_attn_config.kda_layers must be a list of layer numbers (1-based), "
                            f"got {layers!r}"[:300])
    heads, dim, conv = (_count(spec.get(k)) for k in ("num_heads", "head_dim", "short_conv_kernel_size"))
    missing = [k for k, v in (("num_heads", heads), ("head_dim", dim), ("short_conv_kernel_size", conv)) if v is None]
    if missing:
        raise SpecroofError(f"{label}: linear_attn_config lists {len(layers)} kda_layers but no "
                            f"{', '.join(missing)} (the recurrent state's shape); add them")
    return {"linear_layers": len(set(layers)), "linear_kind": "kda", "linear_key_heads": heads,
            "linear_value_heads": heads, "linear_key_head_dim": dim, "linear_value_head_dim": dim,
            "linear_conv_kernel": conv, "linear_state_dtype": _state_dtype(cfg, label)}


def _state_dtype(cfg: dict[str, Any], label: str) -> str:
    value = cfg.get("mamba_ssm_dtype")
    if value is None:
        return ""
    if value not in _STATE_DTYPES:
        raise SpecroofError(f"{label}: mamba_ssm_dtype {value!r} is not one of {', '.join(_STATE_DTYPES)}")
    return _STATE_DTYPES[value]


GATED_ATTENTION_TYPES = ("qwen3_next",)
"""model_type whose full-attention layers gate their output without saying so in a key: Hugging
Face's ``Qwen3NextAttention`` makes q_proj ``num_heads x head_dim x 2`` wide (query and gate),
TensorRT-LLM's passes ``attn_output_gate=True``; Qwen3.5 configs write ``attn_output_gate``."""


def linear_fields(cfg: dict[str, Any], layers: int, label: str) -> dict[str, Any]:
    """The ModelConfig ``linear_*`` fields a config gives ({} for a model without linear layers)
    and its hybrid full-attention layers' output gate; SpecroofError naming the user's keys for
    a state without its shape or more linear layers than the model has."""
    out = _kda(cfg, label) or _gdn(cfg, layers, label)
    gate = cfg.get("attn_output_gate")
    if gate is True or (gate is None and cfg.get("model_type") in GATED_ATTENTION_TYPES):
        out["attention_output_gate"] = True
    if out.get("linear_layers", 0) > layers:
        raise SpecroofError(f"{label}: {out['linear_layers']} linear-attention layers but num_hidden_layers is "
                            f"{layers}")
    return out


def linear_problem(model: Any) -> str:
    """What breaks the rules of the ``linear_*`` fields, in words ('' if nothing)."""
    if not model.linear_layers:
        return ""
    if model.linear_layers > model.num_layers:
        return f"linear_layers {model.linear_layers} exceeds the {model.num_layers} layers"
    if model.linear_kind not in LINEAR_KINDS:
        return f"linear_kind must be one of {', '.join(LINEAR_KINDS)}, got {model.linear_kind!r}"
    dims = ("linear_key_heads", "linear_value_heads", "linear_key_head_dim", "linear_value_head_dim",
            "linear_conv_kernel")
    missing = [d for d in dims if getattr(model, d) < 1]
    if missing:
        return f"{model.linear_layers} linear layers need {', '.join(missing)} >= 1 (the recurrent state's shape)"
    if model.linear_value_heads % model.linear_key_heads:
        return (f"linear_value_heads {model.linear_value_heads} is not a multiple of linear_key_heads "
                f"{model.linear_key_heads}")
    return ""


def projection_widths(model: Any, key_heads: int, value_heads: int) -> tuple[int, int, int]:
    """(input-projection width, gate up-projection width (KDA; else 0), conv channels) of one
    linear layer with ``key_heads`` and ``value_heads`` (one device's share under tensor
    parallelism); the recipe is :mod:`specroof.cost.architectures.linear`'s."""
    key, value = key_heads * model.linear_key_head_dim, value_heads * model.linear_value_head_dim
    if model.linear_kind == "kda":
        return 3 * value + value_heads + 2 * model.linear_key_head_dim, value, 3 * value
    if model.linear_kind == "mamba2":
        return 2 * value + 2 * key + value_heads, 0, value + 2 * key
    return 2 * key + 2 * value + 2 * value_heads, 0, 2 * key + value


def linear_layer_weights(model: Any) -> int:
    """Weights of one linear layer on one device at tensor parallelism 1: the projections, the
    conv taps, A_log and dt_bias per value head, the gated norm's weight, the output projection."""
    h, hv, dv = model.hidden_size, model.linear_value_heads, model.linear_value_head_dim
    width, gate, conv = projection_widths(model, model.linear_key_heads, hv)
    return h * width + 2 * model.linear_key_head_dim * gate + conv * model.linear_conv_kernel + 2 * hv + dv + hv * dv * h


def linear_weight_delta(model: Any, attention_weights: int) -> int:
    """What a model's linear layers and gated attention change in its parameter count, given the
    ``attention_weights`` of one full-attention layer as counted for every layer: the linear
    layers' own weights instead of attention's, and the output gate's q-sized projection."""
    full_layers = model.num_layers - model.linear_layers
    gate = full_layers * model.hidden_size * model.num_heads * model.head_dim if model.attention_output_gate else 0
    if not model.linear_layers:
        return gate
    return model.linear_layers * (linear_layer_weights(model) - attention_weights) + gate
