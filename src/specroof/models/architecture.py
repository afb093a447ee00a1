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

from specroof.checks import (
    BOOL,
    NAME,
    NON_NEGATIVE_INT,
    POSITIVE_INT,
    TEXT,
    Check,
    check_fields,
    choice,
    declare,
    integer,
)
from specroof.datafiles import looks_like_path, packaged_names, read_json
from specroof.errors import SpecroofError, suggest
from specroof.models.hf import model_fields
from specroof.models.latent import latent_attention_parameters, latent_problem
from specroof.models.linear_layers import LINEAR_KINDS, linear_problem, linear_weight_delta
from specroof.models.quantization import WEIGHT_FORMATS, checkpoint_groups, with_hf_quant_config
from specroof.models.tensor_parallel import check_tensor_parallel
from specroof.models.unmodelled import Unmodelled
from specroof.models.windows import window_problem

_CATALOG = "specroof.models"


def shape_problem(model: "ModelConfig") -> str:
    """What breaks the rules that tie heads, experts and layers together, in words ('' if nothing)."""
    if model.num_heads % model.num_kv_heads:
        return (f"num_attention_heads {model.num_heads} is not divisible by num_key_value_heads "
                f"{model.num_kv_heads}; grouped-query attention shares each KV head among a whole number of "
                "query heads")
    # --- windows
    return (expert_problem(model)
            or window_problem(model.num_layers, model.window_layers, model.attention_window, model.window_kind,
                              model.max_position_embeddings)
            or linear_problem(model)  # --- linear attention
            or latent_problem(model))  # --- MLA


def expert_problem(model: "ModelConfig") -> str:
    """What breaks the experts' rules (routed, shared, dense layers, groups), '' if nothing."""
    if model.num_experts:
        if not 1 <= model.experts_per_token <= model.num_experts:
            return (f"num_experts_per_tok must be between 1 and the {model.num_experts} experts, "
                    f"got {model.experts_per_token}")
        if model.moe_intermediate_size < 1:
            return "a mixture of experts needs moe_intermediate_size >= 1"
        return moe_layout_problem(model)
    if model.experts_per_token or model.moe_intermediate_size:
        return "experts_per_token and moe_intermediate_size apply only when num_experts > 0"
    if model.shared_experts or model.dense_layers or model.expert_groups > 1 or model.expert_groups_per_token > 1:
        return "shared experts, dense layers and expert groups apply only when num_experts > 0"
    return ""


def moe_layout_problem(model: "ModelConfig") -> str:
    """What breaks the MoE layout (shared experts, dense layers, expert groups), '' if nothing."""
    if model.shared_experts > model.num_experts:
        return (f"{model.shared_experts} shared experts is more than the {model.num_experts} routed experts; "
                "a config with more always-active experts than routed ones is not a mixture of experts")
    if bool(model.shared_experts) != bool(model.shared_expert_intermediate_size):
        return "shared_experts and shared_expert_intermediate_size must both be set or both be 0"
    if model.dense_layers > model.num_layers:
        return f"{model.dense_layers} dense layers is more than the {model.num_layers} layers"
    groups, chosen = model.expert_groups, model.expert_groups_per_token
    if chosen > groups or model.num_experts % groups:
        return (f"{groups} expert groups with {chosen} per token: groups must divide the {model.num_experts} "
                "experts and a token cannot pick more groups than there are")
    if chosen * (model.num_experts // groups) < model.experts_per_token:
        return (f"{chosen} groups of {model.num_experts // groups} experts hold fewer than the "
                f"{model.experts_per_token} experts each token picks")
    return ""


@dataclass(frozen=True)
class ModelConfig:
    """Shapes of a Llama-style decoder (optionally mixture-of-experts).

    Only shapes matter for latency: weight values never change the time of a step.
    ``num_experts == 0`` means a dense model; otherwise every layer's MLP but the
    ``dense_layers`` is replaced by ``num_experts`` experts of width ``moe_intermediate_size`` of
    which ``experts_per_token`` are routed to per token, beside ``shared_experts`` that every
    token runs (:mod:`specroof.models.moe_layout`). ``mtp_layers``: multi-token-prediction modules shipped with the
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
    # --- MoE: shared experts, dense layers, grouped routing (specroof.models.moe_layout)
    shared_experts: int = declare(0, NON_NEGATIVE_INT, "experts", "always-active shared experts per MoE layer "
                                  "(n_shared_experts; 1 for Qwen's shared_expert_intermediate_size and Llama-4)")
    shared_expert_intermediate_size: int = declare(0, NON_NEGATIVE_INT, "elements", "MLP width of ONE shared "
                                                   "expert")
    dense_layers: int = declare(0, NON_NEGATIVE_INT, "layers", "layers of an MoE model whose MLP is dense "
                                "(intermediate_size wide) instead of experts (first_k_dense_replace, "
                                "mlp_only_layers, decoder_sparse_step, moe_layer_freq, interleave_moe_layer_step)")
    expert_groups: int = declare(1, POSITIVE_INT, "groups", "groups the routed experts are split into for "
                                 "group-limited routing (n_group; 1: not grouped)")
    expert_groups_per_token: int = declare(1, POSITIVE_INT, "groups", "expert groups each token picks its "
                                           "experts within (topk_group)")
    mtp_layers: int = declare(0, Check(integer, ge=0, le=64), "layers", "multi-token-prediction modules shipped "
                              "with the model (num_nextn_predict_layers)")
    max_position_embeddings: int | None = declare(None, POSITIVE_INT.or_none(), "tokens", "the longest context "
                                                  "the model was built for (None: the config does not say)")
    # --- windows (models/windows.py): sliding and chunked attention, attention sinks
    window_layers: int = declare(0, NON_NEGATIVE_INT, "layers", "layers that attend within a window "
                                 "(layer_types, sliding_window_pattern, max_window_layers, no_rope_layers)")
    attention_window: int = declare(0, NON_NEGATIVE_INT, "tokens", "keys a windowed layer's query sees: the "
                                    "sliding window or the chunk (sliding_window, attention_chunk_size); 0: none")
    window_kind: str = declare("", Check(choices=("", "sliding", "chunked")), "", "sliding (the last W tokens) or "
                               "chunked (the query's own chunk of W tokens); '' without windowed layers")
    attention_sinks: bool = declare(False, BOOL, "", "one learned sink logit per query head joins every "
                                    "softmax (gpt-oss)")
    # --- linear attention (models/linear_layers.py reads them; cost/architectures/linear.py prices them)
    linear_layers: int = declare(0, NON_NEGATIVE_INT, "layers", "layers that run a linear-attention / state-space "
                                 "recurrence instead of attention (full-attention layers: the rest)")
    linear_kind: str = declare("", choice("", *LINEAR_KINDS), "", "the recurrence of the linear layers: "
                               "gated_deltanet (Qwen3-Next, Qwen3.5), kda (Kimi Linear), mamba2; '' for none")
    linear_key_heads: int = declare(0, NON_NEGATIVE_INT, "heads", "key (and query) heads of a linear layer "
                                    "(linear_num_key_heads; Mamba-2: n_groups)")
    linear_value_heads: int = declare(0, NON_NEGATIVE_INT, "heads", "value heads of a linear layer: one state "
                                      "matrix each (linear_num_value_heads; Mamba-2: mamba_num_heads)")
    linear_key_head_dim: int = declare(0, NON_NEGATIVE_INT, "elements", "rows of one head's state "
                                       "(linear_key_head_dim; Mamba-2: ssm_state_size)")
    linear_value_head_dim: int = declare(0, NON_NEGATIVE_INT, "elements", "columns of one head's state "
                                         "(linear_value_head_dim; Mamba-2: mamba_head_dim)")
    linear_conv_kernel: int = declare(0, NON_NEGATIVE_INT, "tokens", "taps of the short causal convolution "
                                      "before the recurrence (linear_conv_kernel_dim)")
    linear_state_dtype: str = declare("", choice("", "fp32", "bf16", "fp16"), "", "dtype of the recurrent "
                                      "state (mamba_ssm_dtype); '' for the activation dtype")
    attention_output_gate: bool = declare(False, BOOL, "", "full-attention layers gate their output with a "
                                          "second query-sized projection (attn_output_gate; Qwen3-Next, Qwen3.5)")
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
    # --- precision
    quantization: str = declare("", choice("", *WEIGHT_FORMATS), "", "the checkpoint's weight format, from its "
                                "quantization_config ('' for none; specroof.models.quantization)")
    quantization_kept: tuple[str, ...] = declare(
        (), Check(build=lambda: tuple[str, ...], words="tensor group names"), "",
        "tensor groups the checkpoint keeps out of that format (modules_to_not_convert, ignore, exclude_modules)")
    quantization_kv: str = declare("", choice("", "fp8"), "", "the KV-cache dtype the checkpoint was quantized for "
                                   "(kv_cache_quant_algo); the default --kv-dtype ('' for none)")
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
    def checkpoint_precision(self) -> dict[str, str | None]:
        """{tensor group: the format it is stored in, or None for 16 bits} as the checkpoint
        ships (:func:`specroof.models.quantization.checkpoint_groups`)."""
        return checkpoint_groups(self.quantization, self.quantization_kept)

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
    def moe_layers(self) -> int:
        """Layers whose MLP is a mixture of experts (all layers but the dense ones; 0 if dense)."""
        return self.num_layers - self.dense_layers if self.is_moe else 0

    @property
    def mlp_width(self) -> int:
        """Intermediate width of one MLP (one expert's, for MoE)."""
        return self.moe_intermediate_size if self.is_moe else self.intermediate_size

    def parameter_count(self) -> int:
        """Number of weights, embeddings and LM head included (tied weights counted once)."""
        h = self.hidden_size
        attn = h * (self.q_dim + 2 * self.kv_dim) + self.q_dim * h
        attn = latent_attention_parameters(self) if self.is_mla else attn  # --- MLA
        sinks = self.num_heads if self.attention_sinks else 0  # --- windows: one sink logit per head
        per_layer = attn + 2 * h + sinks
        embed = self.vocab_size * h
        head = 0 if self.tie_word_embeddings else self.vocab_size * h
        return (self.num_layers * per_layer + self.mlp_parameter_count() + embed + head + h
                + linear_weight_delta(self, attn))  # --- linear

    def mlp_parameter_count(self) -> int:
        """Weights of every layer's MLP: dense layers' gated MLPs, MoE layers' router, routed
        and shared experts (each a gated MLP: 3 matrices)."""
        h = self.hidden_size
        dense = (self.num_layers - self.moe_layers) * 3 * h * self.intermediate_size
        shared = self.shared_experts * 3 * h * self.shared_expert_intermediate_size
        moe = self.num_experts * (3 * h * self.moe_intermediate_size + h) + shared
        return dense + self.moe_layers * moe

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
        return ModelConfig.from_hf_config(with_hf_quant_config(_read_json(path, str(path)), path), name or str(path))
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
