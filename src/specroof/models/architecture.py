"""Decoder-only model shapes, read from Hugging Face ``config.json`` files.

The catalog (``models/catalog/<name>.json``) stores each model in the Hugging Face format
itself, so a catalog entry and a user's own ``config.json`` go through the same reader and
there is one place where keys are interpreted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from specroof.datafiles import looks_like_path, packaged_names, read_json
from specroof.errors import SpecroofError, suggest

_CATALOG = "specroof.models"


@dataclass(frozen=True)
class ModelConfig:
    """Shapes of a Llama-style decoder (optionally mixture-of-experts).

    Only shapes matter for latency: weight values never change the time of a step.
    ``num_experts == 0`` means a dense model; otherwise every layer's MLP is replaced by
    ``num_experts`` experts of width ``moe_intermediate_size`` of which ``experts_per_token``
    are routed to per token. ``mtp_layers``: multi-token-prediction modules shipped with the
    model (DeepSeek-V3, GLM-4.5, Qwen3-Next: ``num_nextn_predict_layers``), 0 for none.
    """

    name: str
    hidden_size: int
    intermediate_size: int
    num_layers: int
    num_heads: int
    num_kv_heads: int
    head_dim: int
    vocab_size: int
    tie_word_embeddings: bool = False
    num_experts: int = 0
    experts_per_token: int = 0
    moe_intermediate_size: int = 0
    mtp_layers: int = 0
    source: str = ""

    @property
    def is_moe(self) -> bool:
        return self.num_experts > 0

    @property
    def q_dim(self) -> int:
        """Width of the query projection output (heads x head_dim)."""
        return self.num_heads * self.head_dim

    @property
    def kv_dim(self) -> int:
        """Width of each of the key and value projection outputs (KV heads x head_dim)."""
        return self.num_kv_heads * self.head_dim

    @property
    def mlp_width(self) -> int:
        """Intermediate width of one MLP (one expert's, for MoE)."""
        return self.moe_intermediate_size if self.is_moe else self.intermediate_size

    def parameter_count(self) -> int:
        """Number of weights, embeddings and LM head included (tied weights counted once)."""
        h = self.hidden_size
        attn = h * (self.q_dim + 2 * self.kv_dim) + self.q_dim * h
        experts = max(self.num_experts, 1)
        mlp = experts * 3 * h * self.mlp_width + (h * self.num_experts if self.is_moe else 0)
        per_layer = attn + mlp + 2 * h
        embed = self.vocab_size * h
        head = 0 if self.tie_word_embeddings else self.vocab_size * h
        return self.num_layers * per_layer + embed + head + h

    @classmethod
    def from_hf_config(cls, config: dict[str, Any], name: str) -> "ModelConfig":
        """Read the standard Hugging Face keys; raise SpecroofError naming what is wrong."""
        if not isinstance(config, dict):
            raise SpecroofError(f"model config {name!r} is not a JSON object")
        cfg = dict(config)
        # Some multimodal / nested configs keep the language model under text_config.
        if "hidden_size" not in cfg and isinstance(cfg.get("text_config"), dict):
            cfg = {**cfg, **cfg["text_config"]}

        def need(key: str, *aliases: str) -> int:
            for k in (key, *aliases):
                if k in cfg and cfg[k] is not None:
                    return _positive_int(cfg[k], k, name)
            raise SpecroofError(
                f"model config {name!r} is missing {key!r}; a Hugging Face config.json "
                "needs hidden_size, intermediate_size, num_hidden_layers, "
                "num_attention_heads and vocab_size"
            )

        hidden = need("hidden_size", "n_embd", "d_model")
        layers = need("num_hidden_layers", "n_layer", "num_layers")
        heads = need("num_attention_heads", "n_head")
        vocab = need("vocab_size")
        kv_heads = _positive_int(cfg.get("num_key_value_heads") or heads, "num_key_value_heads", name)
        if "head_dim" in cfg and cfg["head_dim"] is not None:
            head_dim = _positive_int(cfg["head_dim"], "head_dim", name)
        else:
            if hidden % heads:
                raise SpecroofError(
                    f"model config {name!r}: hidden_size {hidden} is not divisible by "
                    f"num_attention_heads {heads}; set head_dim explicitly"
                )
            head_dim = hidden // heads
        if heads % kv_heads:
            raise SpecroofError(
                f"model config {name!r}: num_attention_heads {heads} is not divisible by "
                f"num_key_value_heads {kv_heads}"
            )
        experts = 0
        for key in ("num_local_experts", "num_experts", "n_routed_experts"):
            if cfg.get(key):
                experts = _positive_int(cfg[key], key, name)
                break
        per_tok = 0
        moe_width = 0
        if experts:
            per_tok = _positive_int(cfg.get("num_experts_per_tok") or 0, "num_experts_per_tok", name)
            if per_tok > experts:
                raise SpecroofError(
                    f"model config {name!r}: num_experts_per_tok {per_tok} exceeds the "
                    f"{experts} experts"
                )
            width = cfg.get("moe_intermediate_size") or cfg.get("intermediate_size")
            if width is None:
                raise SpecroofError(
                    f"model config {name!r} is a mixture of experts but has neither "
                    "moe_intermediate_size nor intermediate_size"
                )
            moe_width = _positive_int(width, "moe_intermediate_size", name)
        intermediate = cfg.get("intermediate_size")
        if intermediate is None:
            if not experts:
                need("intermediate_size", "n_inner")
            intermediate = moe_width
        intermediate = _positive_int(intermediate, "intermediate_size", name)
        mtp_layers = 0
        for key in ("num_nextn_predict_layers", "mtp_num_hidden_layers"):
            if cfg.get(key):
                mtp_layers = _positive_int(cfg[key], key, name)
                break
        return cls(
            name=name,
            hidden_size=hidden,
            intermediate_size=intermediate,
            num_layers=layers,
            num_heads=heads,
            num_kv_heads=kv_heads,
            head_dim=head_dim,
            vocab_size=vocab,
            tie_word_embeddings=bool(cfg.get("tie_word_embeddings", False)),
            num_experts=experts,
            experts_per_token=per_tok,
            moe_intermediate_size=moe_width,
            mtp_layers=mtp_layers,
            source=str(cfg.get("_source", "")),
        )


def _positive_int(value: Any, key: str, name: str) -> int:
    if (isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value)
            or value != int(value) or value <= 0):
        raise SpecroofError(f"model config {name!r}: {key} must be a positive integer, got {value!r}")
    return int(value)


@lru_cache(maxsize=1)
def catalog_names() -> tuple[str, ...]:
    """Names of the shipped models (file names of ``models/catalog/*.json``)."""
    return packaged_names(_CATALOG, "catalog", ".json")


def _read_json(path: Path | Any, label: str) -> dict[str, Any]:
    return read_json(path, f"model config {label}")


def load_model(model: "str | Path | ModelConfig") -> ModelConfig:
    """A ModelConfig from a catalog name, a path to a ``config.json``, or the object itself."""
    if isinstance(model, ModelConfig):
        return model
    if looks_like_path(model, ".json"):
        path = Path(model)
        if not path.exists():
            raise SpecroofError(f"model config file not found: {path}")
        if path.is_dir():
            path = path / "config.json"
        name = path.parent.name if path.name == "config.json" else path.stem
        return ModelConfig.from_hf_config(_read_json(path, str(path)), name or str(path))
    if not isinstance(model, str):
        raise SpecroofError(f"model must be a name, a path or a ModelConfig, got {type(model).__name__}")
    key = model.strip().lower()
    if key not in catalog_names():
        raise SpecroofError(
            f"unknown model {model!r}{suggest(key, catalog_names())}; "
            "run `specroof models` for the list, or pass a path to a config.json"
        )
    return _catalog_entry(key)


@lru_cache(maxsize=64)
def _catalog_entry(name: str) -> ModelConfig:
    """A catalog model, read once (calibration prices the same model hundreds of times)."""
    file = resources.files(_CATALOG) / "catalog" / f"{name}.json"
    return ModelConfig.from_hf_config(_read_json(file, name), name)
