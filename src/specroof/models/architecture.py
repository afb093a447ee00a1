"""Decoder-only model shapes, read from Hugging Face ``config.json`` files.

The catalog (``models/catalog/<name>.json``) stores each model in the Hugging Face format
itself, so a catalog entry and a user's own ``config.json`` go through the same reader and
there is one place where keys are interpreted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from specroof.datafiles import looks_like_path, packaged_names, read_json
from specroof.errors import SpecroofError, suggest
from specroof.models import conflicts
from specroof.models.tensor_parallel import check_tensor_parallel
from specroof.models.unmodelled import Unmodelled, find_unmodelled

_CATALOG = "specroof.models"


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
    max_position_embeddings: int | None = None
    source: str = ""
    unmodelled: tuple[Unmodelled, ...] = field(default=(), compare=False, hash=False)

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

    def __post_init__(self) -> None:
        """Check every field (type, range, and the rules tying heads and experts together)."""
        from specroof.schemas import ModelShape, check

        label = f"model config {self.name!r}" if isinstance(self.name, str) else "ModelConfig"
        checked = check(ModelShape, {f.name: getattr(self, f.name) for f in fields(self)}, label)
        for f in fields(self):  # integral floats become ints
            object.__setattr__(self, f.name, getattr(checked, f.name))

    def check_tensor_parallel(self, tp: int) -> None:
        """Refuse a tensor-parallel degree that does not split the heads, KV heads, MLP width
        and (padded) vocabulary as engines require (:mod:`specroof.models.tensor_parallel`)."""
        check_tensor_parallel(self, tp)

    @classmethod
    def from_hf_config(cls, config: dict[str, Any], name: str) -> "ModelConfig":
        """Read the standard Hugging Face keys; raise SpecroofError naming the file and key."""
        from specroof.schemas import HFConfig, check

        label = f"model config {name!r}"
        if not isinstance(config, dict):
            raise SpecroofError(f"{label} is not a JSON object")
        cfg = dict(config)
        # Some multimodal / nested configs keep the language model under text_config.
        if "hidden_size" not in cfg and isinstance(cfg.get("text_config"), dict):
            cfg = {**cfg, **cfg["text_config"]}
        conflicts.check_synonyms(cfg, label)
        hf = check(HFConfig, cfg, label, hint=(
            "; a Hugging Face config.json needs hidden_size, intermediate_size, num_hidden_layers, "
            "num_attention_heads and vocab_size"))
        given = hf.model_dump()
        heads = hf.num_attention_heads
        kv_heads = hf.num_key_value_heads if hf.num_key_value_heads is not None else heads
        if hf.head_dim is not None:
            head_dim = hf.head_dim
        elif hf.hidden_size % heads:
            raise SpecroofError(f"{label}: hidden_size {hf.hidden_size} is not divisible by "
                                f"num_attention_heads {heads}; set head_dim explicitly")
        else:
            head_dim = hf.hidden_size // heads
        if heads % kv_heads:
            raise SpecroofError(f"{label}: num_attention_heads {heads} is not divisible by num_key_value_heads "
                                f"{kv_heads}; grouped-query attention shares each KV head among a whole "
                                "number of query heads")
        experts = conflicts.first_given(given, conflicts.EXPERT_KEYS)[1] or 0
        per_tok = conflicts.check_experts(given, label, experts)
        moe_width = 0
        if experts:
            moe_width = hf.moe_intermediate_size or hf.intermediate_size or 0
            if not moe_width:
                raise SpecroofError(f"{label} is a mixture of experts but has neither "
                                    "moe_intermediate_size nor intermediate_size")
        intermediate = hf.intermediate_size
        if intermediate is None:
            if not experts:
                raise SpecroofError(f"{label} is missing 'intermediate_size'; a Hugging Face config.json "
                                    "needs hidden_size, intermediate_size, num_hidden_layers, "
                                    "num_attention_heads and vocab_size")
            intermediate = moe_width
        mtp_layers = conflicts.check_mtp(given, label)
        return cls(
            name=name, hidden_size=hf.hidden_size, intermediate_size=intermediate,
            num_layers=hf.num_hidden_layers, num_heads=heads, num_kv_heads=kv_heads, head_dim=head_dim,
            vocab_size=hf.vocab_size, tie_word_embeddings=hf.tie_word_embeddings, num_experts=experts,
            experts_per_token=per_tok, moe_intermediate_size=moe_width, mtp_layers=mtp_layers,
            max_position_embeddings=hf.max_position_embeddings, source=hf.source,
            unmodelled=find_unmodelled(cfg, label),
        )


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
