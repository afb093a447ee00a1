"""The checkpoint's weight precision, read from ``quantization_config`` (or ModelOpt's
``hf_quant_config.json``): which format, and which tensor groups are stored in it.

Formats read (anything else stays an unmodelled key: refused by name, or priced at
``--weight-dtype`` with a warning under ``--allow-unmodelled``):

- ``quant_method: fp8`` with ``weight_block_size: [128, 128]`` -> ``fp8_block`` (DeepSeek-V3/R1,
  Kimi K2, Qwen3-FP8, GLM-FP8); without a block size -> per-tensor ``fp8``;
- ``quant_method: mxfp4`` -> ``mxfp4`` (gpt-oss);
- ModelOpt: ``quant_method: modelopt`` (or the ``quantization`` table of
  ``hf_quant_config.json``) with ``quant_algo`` ``NVFP4`` -> ``nvfp4``, ``FP8`` -> ``fp8``.

Which groups: every linear layer of the decoder is quantized except the modules the
checkpoint lists as kept (``modules_to_not_convert``, ``ignore``, ``exclude_modules``). Each
listed name is mapped to a tensor group (:mod:`specroof.cost.precision`) by the module names
Hugging Face checkpoints use (``self_attn``/``linear_attn`` -> attention, ``mlp.experts`` ->
experts, ``shared_expert(s)`` and a dense ``mlp`` -> mlp, ``mlp.gate``/``router`` -> router,
``lm_head`` -> head, ``embed_tokens`` -> embed, ``mtp`` or a layer index past
``num_hidden_layers`` -> draft).
The embedding, the router and the LM head stay 16-bit (:data:`ALWAYS_KEPT`).
A group kept in some layers but not others is priced at the majority's precision, with a
warning naming the group and the count.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Any

from specroof.datafiles import read_json
from specroof.errors import SpecroofError, SpecroofWarning

WEIGHT_FORMATS = ("fp8_block", "fp8", "mxfp4", "nvfp4")
"""The checkpoint formats read (names as in :data:`specroof.cost.dtypes.BYTES`)."""
LINEAR_GROUPS = ("attention", "mlp", "experts")
"""Groups a quantized checkpoint stores in its format unless it lists them as kept."""
ALWAYS_KEPT = ("embed", "router", "head")
"""Groups no format read here quantizes: the embedding is a gather; every checkpoint read keeps
its router in 16 bits; the LM head is left out by Hugging Face's quantizers
(``transformers.integrations.get_keys_to_not_convert`` keeps the output embedding, and
DeepSeek-V3's own ``inference/model.py`` builds its head in the default dtype) and is listed
in every ModelOpt exclude list read."""

_LAYER = re.compile(r"(?:^|\.)layers\.(\d+|\*)(?:\.|\*|$)")
_RULES = (("head", "head"), ("embed", "embed"), ("shared_expert", "mlp"), ("experts", "experts"),
          ("attn", "attention"), ("attention", "attention"), ("indexer", "attention"),
          ("mlp.gate.", "router"), ("router", "router"), ("eh_proj", "draft"), ("mtp", "draft"))
_IGNORED = ("norm", "visual", "vision", "mm_projector", "bias", "e_score_correction")


def quant_format(config: Any) -> str | None:
    """The weight format of a ``quantization_config`` (or hf_quant_config ``quantization``)
    table, or None where it is not one we read."""
    if not isinstance(config, dict):
        return None
    method = str(config.get("quant_method", "")).lower()
    algo = str(config.get("quant_algo", "")).upper()
    if method == "fp8" and not algo:
        return "fp8_block" if list(config.get("weight_block_size") or []) == [128, 128] else (
            None if config.get("weight_block_size") else "fp8")
    if method == "mxfp4":
        return "mxfp4"
    if method in ("modelopt", "") and algo in ("NVFP4", "FP8"):
        return algo.lower()
    return None


def _kept_names(config: dict[str, Any]) -> list[str]:
    names: list[str] = []
    for key in ("modules_to_not_convert", "ignore", "exclude_modules"):
        value = config.get(key) or []
        if not isinstance(value, list):
            raise SpecroofError(f"quantization_config {key} must be a list of module names, got {value!r}")
        names += [str(v) for v in value]
    return names


def _groups_of_name(name: str, num_layers: int) -> tuple[str | None, list[str]]:
    """(layer index or '*' or None, the groups a kept module name covers)."""
    low = name.lower()
    if any(word in low for word in _IGNORED):
        return None, []
    match = _LAYER.search(low)
    layer = match.group(1) if match else None
    if layer is not None and layer != "*" and int(layer) >= num_layers:
        return layer, ["draft"]  # a layer past the decoder: the MTP module
    for word, group in _RULES:
        if word in low:
            return layer, [group]
    if low.rstrip("*").endswith(("mlp.gate", ".gate")):
        return layer, ["router"]
    if "mlp" in low:
        return layer, ["mlp"]
    if match and low[match.end():].strip(".*") == "":  # a whole decoder layer
        return layer, ["attention", "mlp", "experts"]
    return layer, []


def kept_groups(config: dict[str, Any], num_layers: int, label: str) -> set[str]:
    """The groups the checkpoint keeps out of its format: listed in every layer (or by a
    wildcard), or in most layers (warned)."""
    layers: dict[str, set[str]] = {}
    for name in _kept_names(config):
        layer, groups = _groups_of_name(name, num_layers)
        for group in groups:
            layers.setdefault(group, set()).add("*" if layer in (None, "*") else layer)
    kept = set()
    for group, seen in layers.items():
        if "*" in seen or group == "draft" or len(seen) >= num_layers:
            kept.add(group)
            continue
        majority = len(seen) * 2 > num_layers
        kept.update([group] if majority else [])
        warnings.warn(SpecroofWarning(
            f"{label}: quantization_config keeps {group} unquantized in {len(seen)} of {num_layers} layers; "
            f"priced as {'unquantized' if majority else 'quantized'} in all of them"), stacklevel=2)
    return kept


def checkpoint_precision(cfg: dict[str, Any], num_layers: int, label: str) -> dict[str, Any]:
    """The ModelConfig fields ``quantization`` (the format) and ``quantization_kept`` (the
    groups it keeps unquantized) of a config.json (a ModelOpt ``hf_quant_config.json`` merged
    in as key ``quantization``); none for an unquantized or unread checkpoint."""
    table = cfg.get("quantization_config")
    if table is None and isinstance(cfg.get("quantization"), dict):
        table = cfg["quantization"]
    fmt = quant_format(table)
    if fmt is None:
        return {}
    kept = kept_groups(table, num_layers, label) | set(ALWAYS_KEPT)
    return {"quantization": fmt, "quantization_kept": tuple(sorted(kept)), "quantization_kv": kv_format(table)}


def kv_format(table: dict[str, Any]) -> str:
    """The KV-cache dtype a ModelOpt checkpoint was calibrated for (``kv_cache_quant_algo: FP8``,
    or ``kv_cache_scheme`` of 8-bit floats), '' if it names none: engines serving it default to
    it (vLLM ``--kv-cache-dtype auto`` reads the checkpoint's)."""
    scheme = table.get("kv_cache_scheme")
    fp8_scheme = isinstance(scheme, dict) and scheme.get("num_bits") == 8 and scheme.get("type") == "float"
    return "fp8" if str(table.get("kv_cache_quant_algo") or "").upper() == "FP8" or fp8_scheme else ""


def checkpoint_groups(fmt: str, kept: tuple[str, ...]) -> dict[str, str | None]:
    """{group: dtype} the checkpoint sets: its format for each linear group it quantizes, None
    (the unquantized default) for the MTP layers when it keeps them out. Drafting operations
    otherwise follow their own groups (an MTP layer's experts are the checkpoint's experts)."""
    if not fmt:
        return {}
    groups: dict[str, str | None] = {g: fmt for g in LINEAR_GROUPS if g not in kept}
    if "draft" in kept:
        groups["draft"] = None
    return groups


HF_QUANT_CONFIG = "hf_quant_config.json"
"""ModelOpt's file beside config.json (NVIDIA's NVFP4 / FP8 checkpoints) naming the format."""


def with_hf_quant_config(cfg: Any, path: Path) -> Any:
    """``cfg`` with the ``quantization`` table of an ``hf_quant_config.json`` beside ``path``
    merged in, when the config has no ``quantization_config`` of its own."""
    side = path.parent / HF_QUANT_CONFIG
    if not isinstance(cfg, dict) or cfg.get("quantization_config") is not None or not side.is_file():
        return cfg
    table = read_json(side, f"model config {side}")
    if not isinstance(table, dict) or not isinstance(table.get("quantization"), dict):
        raise SpecroofError(f"{side}: expected a JSON object with a 'quantization' table (ModelOpt's format)")
    return {**cfg, "quantization": table["quantization"]}
