"""Decoder-only model shapes, read from Hugging Face ``config.json`` files.

The catalog (``models/catalog/<name>.json``) stores each model in the Hugging Face format
itself, so a catalog entry and a user's own ``config.json`` go through the same reader and
there is one place where keys are interpreted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from specroof.checks import BOOL, NAME, NON_NEGATIVE_INT, POSITIVE_INT, TEXT, Check, check_fields, declare, integer
from specroof.datafiles import looks_like_path, packaged_names, read_json
from specroof.errors import SpecroofError, suggest
from specroof.models.hf import model_fields
from specroof.models.latent import latent_attention_parameters, latent_problem
from specroof.models.tensor_parallel import check_tensor_parallel
from specroof.models.unmodelled import Unmodelled

_CATALOG = "specroof.models"


def shape_problem(model: "ModelConfig") -> str:
    """What breaks the rules that tie heads and experts together, in words ('' if nothing)."""
    if model.num_heads % model.num_kv_heads:
        return (f"num_attention_heads {model.num_heads} is not divisible by num_key_value_heads "
                f"{model.num_kv_heads}; grouped-query attention shares each KV head among a whole number of "
                "query heads")
    if model.num_experts:
        if not 1 <= model.experts_per_token <= model.num_experts:
            return (f"num_experts_per_tok must be between 1 and the {model.num_experts} experts, "
                    f"got {model.experts_per_token}")
        if model.moe_intermediate_size < 1:
            return "a mixture of experts needs moe_intermediate_size >= 1"
    elif model.experts_per_token or model.moe_intermediate_size:
        return "experts_per_token and moe_intermediate_size apply only when num_experts > 0"
    return latent_problem(model)


@dataclass(frozen=True)
class ModelConfig:
    """Shapes of a Llama-style decoder (optionally mixture-of-experts).

    Only shapes matter for latency: weight values never change the time of a step.
    ``num_experts == 0`` means a dense model; otherwise every layer's MLP is replaced by
    ``num_experts`` experts of width ``moe_intermediate_size`` of which ``experts_per_token``
    are routed to per token. ``mtp_layers``: multi-token-prediction modules shipped with the
    model (DeepSeek-V3, GLM-4.5, Qwen3-Next: ``num_nextn_predict_layers``), 0 for none.
    ``unmodelled``: the config's keys that change the cost but are not modelled yet
    (:mod:`specroof.models.unmodelled`); pricing refuses them unless allowed.
    ``max_position_embeddings``: the longest context the model was built for (None: the
    config does not say); ``source``: where the config came from (a Hugging Face URL names
    the checkpoint, see :attr:`hf_repo`).
    """

    name: str = declare(..., NAME, "", "the model's name (catalog name or the config's folder)")
    hidden_size: int = declare(..., POSITIVE_INT, "elements", "width of the residual stream (hidden_size)")
    intermediate_size: int = declare(..., POSITIVE_INT, "elements", "width of a dense MLP (intermediate_size)")
    num_layers: int = declare(..., POSITIVE_INT, "layers", "decoder layers (num_hidden_layers)")
    num_heads: int = declare(..., POSITIVE_INT, "heads", "query heads (num_attention_heads)")
    num_kv_heads: int = declare(..., POSITIVE_INT, "heads", "key/value heads; fewer than num_heads is "
                                "grouped-query attention (num_key_value_heads)")
    head_dim: int = declare(..., POSITIVE_INT, "elements", "width of one attention head (head_dim, else "
                            "hidden_size / num_heads)")
    vocab_size: int = declare(..., POSITIVE_INT, "tokens", "vocabulary size: rows of the embedding and LM head")
    tie_word_embeddings: bool = declare(False, BOOL, "", "the LM head reuses the embedding table")
    num_experts: int = declare(0, NON_NEGATIVE_INT, "experts", "routed experts per layer; 0 is a dense model")
    experts_per_token: int = declare(0, NON_NEGATIVE_INT, "experts", "experts each token is routed to "
                                     "(num_experts_per_tok)")
    moe_intermediate_size: int = declare(0, NON_NEGATIVE_INT, "elements", "MLP width of one expert")
    mtp_layers: int = declare(0, Check(integer, ge=0, le=64), "layers", "multi-token-prediction modules shipped "
                              "with the model (num_nextn_predict_layers)")
    max_position_embeddings: int | None = declare(None, POSITIVE_INT.or_none(), "tokens", "the longest context "
                                                  "the model was built for (None: the config does not say)")
    # --- MLA: multi-head latent attention (DeepSeek-V2/V3/R1, Kimi K2) and DSA (DeepSeek-V3.2)
    q_lora_rank: int = declare(0, NON_NEGATIVE_INT, "elements", "rank of MLA's query compression (0: a plain "
                               "q_proj)")
    kv_lora_rank: int = declare(0, NON_NEGATIVE_INT, "elements", "rank of MLA's compressed KV latent, cached "
                                "per token and layer (0: not MLA)")
    qk_rope_head_dim: int = declare(0, NON_NEGATIVE_INT, "elements", "MLA: RoPE part of each query/key head; "
                                    "the key part is shared by all heads and cached with the latent")
    qk_nope_head_dim: int = declare(0, NON_NEGATIVE_INT, "elements", "MLA: part of each query/key head "
                                    "without RoPE, up-projected from the latent")
    v_head_dim: int = declare(0, NON_NEGATIVE_INT, "elements", "MLA: width of each value head")
    index_topk: int = declare(0, NON_NEGATIVE_INT, "tokens", "DSA: tokens the lightning indexer selects for "
                              "each query to attend to (0: dense attention)")
    index_n_heads: int = declare(0, NON_NEGATIVE_INT, "heads", "DSA: heads of the lightning indexer")
    index_head_dim: int = declare(0, NON_NEGATIVE_INT, "elements", "DSA: width of one indexer head")
    source: str = declare("", TEXT, "", "where the config came from (a Hugging Face URL names the checkpoint)")
    unmodelled: tuple[Unmodelled, ...] = declare(
        (), Check(build=lambda: tuple[Any, ...], words="set by the reader"), "",
        "the config's keys that change the cost but are not modelled yet", compare=False, hash=False)

    @property
    def hf_repo(self) -> str | None:
        """The Hugging Face repository id (``org/name``) the config was read from, when its
        ``_source`` is a huggingface.co URL; None otherwise (a user's own config.json)."""
        match = re.match(r"https://huggingface\.co/([\w.-]+/[\w.-]+)(?:/|$)", self.source or "")
        return match.group(1) if match else None

    @property
    def is_moe(self) -> bool:
        return self.num_experts > 0

    @property
    def is_mla(self) -> bool:
        """Multi-head latent attention: one compressed latent cached per token and layer."""
        return self.kv_lora_rank > 0

    @property
    def is_dsa(self) -> bool:
        """DeepSeek sparse attention: each query attends to the indexer's ``index_topk`` tokens."""
        return self.index_topk > 0

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
        attn = latent_attention_parameters(self) if self.is_mla else attn  # --- MLA
        experts = max(self.num_experts, 1)
        mlp = experts * 3 * h * self.mlp_width + (h * self.num_experts if self.is_moe else 0)
        per_layer = attn + mlp + 2 * h
        embed = self.vocab_size * h
        head = 0 if self.tie_word_embeddings else self.vocab_size * h
        return self.num_layers * per_layer + embed + head + h

    def __post_init__(self) -> None:
        """Check every field (type, range, and the rules tying heads and experts together)."""
        label = f"model config {self.name!r}" if isinstance(self.name, str) else "ModelConfig"
        checked = check_fields(ModelConfig, {f.name: getattr(self, f.name) for f in fields(self)}, label)
        for key, value in checked.items():  # integral floats become ints
            object.__setattr__(self, key, value)
        problem = shape_problem(self)
        if problem:
            raise SpecroofError(f"{label}: {problem}")

    def check_tensor_parallel(self, tp: int) -> None:
        """Refuse a tensor-parallel degree that does not split the heads, KV heads, MLP width
        and (padded) vocabulary as engines require (:mod:`specroof.models.tensor_parallel`)."""
        check_tensor_parallel(self, tp)

    @classmethod
    def from_hf_config(cls, config: dict[str, Any], name: str) -> "ModelConfig":
        """Read the standard Hugging Face keys (:mod:`specroof.models.hf`); raise SpecroofError
        naming the file and key."""
        return cls(**model_fields(config, name))


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
