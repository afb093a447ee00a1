"""Which decoder layers attend within a window, read from a Hugging Face ``config.json``.

A windowed layer attends to a bounded span of keys instead of the whole context:

sliding
    each query at position ``p`` sees the keys in ``(p - W, p]`` (Hugging Face's
    ``sliding_window`` mask, ``kv_idx > q_idx - sliding_window``): Mistral, Gemma-2/3, Qwen2
    with ``use_sliding_window``, gpt-oss (``W = 128``).
chunked
    each query sees the keys of its own chunk of ``C`` tokens, from ``floor(p / C) C`` to ``p``
    (Llama-4's ``attention_chunk_size``).

Which layers are windowed, as the Hugging Face configuration classes derive ``layer_types``
(transformers 4.5x, ``configuration_<model>.py``), in this order:

1. ``layer_types`` as published (gpt-oss, and any config that writes it out), its sliding
   layers full under ``use_sliding_window: false`` (Qwen2Config then drops the window);
2. ``use_sliding_window: false``, or no window size: no layer;
3. ``max_window_layers`` (Qwen2 family): layers ``i >= max_window_layers`` slide;
4. ``sliding_window_pattern`` ``P`` (or the class default: Gemma-2 2, Gemma-3 6, Cohere2 4):
   layer ``i`` slides unless ``(i + 1) % P == 0``;
5. ``attention_chunk_size`` with ``no_rope_layers`` (Llama-4): layers with RoPE (1) are
   chunked, the NoPE layers (0) attend globally; without the list, Llama-4's default
   ``no_rope_layer_interval`` of 4 (every 4th layer global);
6. otherwise every layer (Mistral's ``sliding_window``).

Attention sinks (gpt-oss, ``model_type: gpt_oss``): one learned logit per query head that
joins each softmax's denominator (``sinks`` in the checkpoint's attention blocks). No key says
so: the architecture implies it.
"""

from __future__ import annotations

from typing import Any

from specroof.errors import SpecroofError

FULL_TYPES = frozenset({"full_attention", "attention", "global", "full"})
"""``layer_types`` values of a full-attention layer."""
WINDOW_TYPES = {"sliding_attention": "sliding", "sliding": "sliding", "local": "sliding",
                "local_attention": "sliding", "chunked_attention": "chunked"}
"""``layer_types`` values of a windowed layer -> window kind."""
DEFAULT_PATTERN = {"gemma2": 2, "gemma3": 6, "gemma3_text": 6, "cohere2": 4}
"""model_type -> the sliding pattern its configuration class uses when the config omits it."""
LLAMA4_NO_ROPE_INTERVAL = 4
"""Llama4TextConfig's default ``no_rope_layer_interval``: every 4th layer is NoPE (global)."""
SINK_MODEL_TYPES = frozenset({"gpt_oss"})
"""model_types whose attention carries one learned sink logit per head (GptOssAttention.sinks)."""
SIZE_KEY = {"sliding": "sliding_window", "chunked": "attention_chunk_size"}
FULL_ATTENTION = {"window_layers": 0, "attention_window": 0, "window_kind": "", "attention_sinks": False}
"""The window fields of a model whose layers all attend over the whole context: a drafter
derived from a windowed target (an EAGLE-3 head, an MTP module) is a plain decoder layer
(the published gpt-oss EAGLE-3 heads are Llama layers: full attention, no sinks)."""


def window_size(cfg: dict[str, Any], key: str, label: str) -> int | None:
    """A window key's size in tokens (None: null or false); an integral float is a whole
    number, anything else that is not a positive whole number is refused (it would silently
    count as no window)."""
    value = cfg.get(key)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if value is None or value is False:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise SpecroofError(f"{label}: {key} must be a positive whole number of tokens or null, got {value!r}")
    return value


def _pattern(cfg: dict[str, Any], count: int, label: str) -> list[str] | None:
    """Per-layer kinds from ``max_window_layers`` or a sliding pattern, None if neither applies."""
    if isinstance(cfg.get("max_window_layers"), int) and cfg.get("use_sliding_window") is not None:
        first = cfg["max_window_layers"]
        return ["sliding" if i >= first else "full" for i in range(count)]
    period = cfg.get("sliding_window_pattern", DEFAULT_PATTERN.get(str(cfg.get("model_type"))))
    if period is None:
        return None
    if isinstance(period, bool) or not isinstance(period, int) or period < 1:
        raise SpecroofError(f"{label}: sliding_window_pattern must be a positive whole number, got {period!r}")
    return ["sliding" if (i + 1) % period else "full" for i in range(count)]


def _chunked(cfg: dict[str, Any], count: int, label: str) -> list[str]:
    """Llama-4: layers with RoPE are chunked, the NoPE layers global."""
    flags = cfg.get("no_rope_layers")
    if flags is None and str(cfg.get("model_type", "")).startswith("llama4"):
        every = cfg.get("no_rope_layer_interval") or LLAMA4_NO_ROPE_INTERVAL
        flags = [int((i + 1) % every != 0) for i in range(count)]
    if flags is None:
        return ["chunked"] * count
    if not isinstance(flags, list) or len(flags) != count or any(f not in (0, 1) for f in flags):
        raise SpecroofError(f"{label}: no_rope_layers must list 0 or 1 for each of the num_hidden_layers = "
                            f"{count} layers, got {str(flags)[:60]}")
    return ["chunked" if f else "full" for f in flags]


def layer_kinds(cfg: dict[str, Any], count: int, label: str) -> list[str]:
    """Each layer's attention: ``full``, ``sliding``, ``chunked`` or ``other`` (a layer type
    that is not attention over a window, e.g. linear attention: another part prices it)."""
    types = cfg.get("layer_types")
    if isinstance(types, list) and types:
        if len(types) != count or not all(isinstance(t, str) for t in types):
            raise SpecroofError(f"{label}: layer_types must name one type for each of the num_hidden_layers = "
                                f"{count} layers, got {len(types)} entries")
        kinds = [WINDOW_TYPES.get(t, "full" if t in FULL_TYPES else "other") for t in types]
        if cfg.get("use_sliding_window") is False:  # Qwen2Config: no window at all, whatever the types say
            kinds = ["full" if k == "sliding" else k for k in kinds]
        return kinds
    if cfg.get("use_sliding_window") is False:
        return ["full"] * count
    if window_size(cfg, "sliding_window", label):
        return _pattern(cfg, count, label) or ["sliding"] * count
    if window_size(cfg, "attention_chunk_size", label):
        return _chunked(cfg, count, label)
    return ["full"] * count


def window_fields(cfg: dict[str, Any], label: str, count: int, longest: int | None) -> dict[str, Any]:
    """``window_layers``, ``attention_window``, ``window_kind`` and ``attention_sinks`` of a
    config; one SpecroofError naming the user's keys when they contradict each other."""
    sizes = {key: window_size(cfg, key, label) for key in SIZE_KEY.values()}  # refuse a bad size even if unused
    kinds = layer_kinds(cfg, count, label)
    windowed = {k for k in kinds if k in SIZE_KEY.keys()}
    sinks = cfg.get("model_type") in SINK_MODEL_TYPES
    if not windowed:
        return dict(window_layers=0, attention_window=0, window_kind="", attention_sinks=sinks)
    if len(windowed) > 1:
        raise SpecroofError(f"{label}: layer_types mixes sliding and chunked windows; specroof prices one "
                            "window kind per model")
    kind = windowed.pop()
    key = SIZE_KEY[kind]
    size = sizes[key]
    if size is None:
        raise SpecroofError(f"{label}: layer_types names {kind} layers but {key} (the window in tokens) is "
                            f"not set, got {cfg.get(key)!r}")
    if longest is not None and size > longest:
        raise SpecroofError(f"{label}: {key} = {size:,} is larger than max_position_embeddings = {longest:,}; a "
                            "window cannot exceed the longest context (set it to null for full attention)")
    return dict(window_layers=kinds.count(kind), attention_window=size, window_kind=kind, attention_sinks=sinks)


def window_problem(num_layers: int, window_layers: int, attention_window: int, window_kind: str,
                   longest: int | None) -> str:
    """What makes a model's window fields inconsistent, in words ('' if nothing)."""
    if window_layers > num_layers:
        return f"window_layers {window_layers} exceeds the model's {num_layers} layers"
    if window_layers and (attention_window < 1 or window_kind not in SIZE_KEY):
        return "window_layers > 0 needs attention_window >= 1 and window_kind 'sliding' or 'chunked'"
    if window_layers and longest is not None and attention_window > longest:
        return (f"attention_window {attention_window:,} is larger than max_position_embeddings {longest:,}; a "
                "window cannot exceed the longest context")
    return ""
