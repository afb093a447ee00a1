"""The validation layer: one schema per kind of data file, checked with pydantic.

Every value that enters specroof from outside (a Hugging Face ``config.json``, a hardware or
calibrated-profile TOML, an implementation profile, a scenario, a measurement line) passes
through one of these schemas, so type, finiteness and range are checked in one place and
every failure reads the same: ``<file or object>: <key> <what is wrong>, got <value>``.
``ModelConfig`` and ``Accelerator`` objects built in Python go through the same schemas.

This module imports pydantic, which takes a while to import; it is itself imported only by
the loaders, inside functions, so ``specroof --help`` never pays for it.

Why the custom number types: pydantic's lax mode reads the string ``"false"`` as False and
``"3"`` as 3, and its strict mode refuses ``4096.0`` for an integer. A data file should get
neither: strings are never numbers or booleans, integral floats are integers, booleans are
never numbers, NaN and infinity are never accepted, and integers too large for a float are
an error rather than an OverflowError later.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any, Literal

from specroof.errors import SpecroofError, suggest

try:
    from pydantic import (
        AliasChoices,
        BaseModel,
        BeforeValidator,
        ConfigDict,
        Field,
        ValidationError,
        field_validator,
        model_validator,
    )
except ImportError:  # a broken install: say how to fix it rather than print a traceback
    raise SpecroofError("specroof needs pydantic 2 to read data files; pip install 'pydantic>=2'") from None

from specroof.cost.operation import STEP_OPERATIONS

#: Largest integer size accepted anywhere (model widths, vocabularies, SM counts, grid axes).
MAX_INT = 1_000_000_000
#: Largest float accepted for a physical quantity: far beyond any device, small enough that
#: products of a few of them stay finite.
MAX_FLOAT = 1e12


# --------------------------------------------------------------------------- scalar types


def _kind(value: Any) -> str:
    return "a string" if isinstance(value, str) else type(value).__name__


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"must be a number, not {_kind(value)}")
    try:
        number = float(value)
    except OverflowError:
        raise ValueError("is too large to be a number of this kind") from None
    if not math.isfinite(number):
        raise ValueError("must be a finite number (not NaN or infinity)")
    return number


def _integer(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"must be an integer, not {_kind(value)}")
    if isinstance(value, float):
        if not math.isfinite(value) or value != int(value):
            raise ValueError("must be a whole number")
        value = int(value)
    if abs(value) > MAX_INT:
        raise ValueError(f"must be at most {MAX_INT:,}")
    return value


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("must be true or false (a boolean, not a string or number)")
    return value


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"must be a string, not {_kind(value)}")
    return value


PositiveFloat = Annotated[float, BeforeValidator(_number), Field(gt=0, le=MAX_FLOAT)]
NonNegativeFloat = Annotated[float, BeforeValidator(_number), Field(ge=0, le=MAX_FLOAT)]
Fraction = Annotated[float, BeforeValidator(_number), Field(gt=0, le=1)]
PositiveInt = Annotated[int, BeforeValidator(_integer), Field(ge=1)]
NonNegativeInt = Annotated[int, BeforeValidator(_integer), Field(ge=0)]
Bool = Annotated[bool, BeforeValidator(_boolean)]
Text = Annotated[str, BeforeValidator(_text)]


def _name(value: Any) -> str:
    if not _text(value).strip():
        raise ValueError("must be a non-empty string")
    return value


Name = Annotated[str, BeforeValidator(_name), Field(max_length=500)]


class _Schema(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


# --------------------------------------------------------------------------- error translation


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _location(loc: tuple[Any, ...], quote: bool) -> str:
    # A key from the file may hold a newline or other control character: shown escaped, so
    # the message stays one line.
    parts = [str(p) if str(p).isprintable() else repr(str(p))[1:-1]
             for p in loc if p not in ("function-before", "function-after")]
    if not parts:
        return ""
    if quote:
        return "'" + parts[0] + "'" + "".join(f"[{p!r}]" if not p.isdigit() else f"[{p}]" for p in parts[1:])
    out = parts[0]
    for p in parts[1:]:
        out += f"[{p}]" if p.isdigit() else f".{p}"
    return out


def _message(error: dict[str, Any], known: tuple[str, ...], quote: bool, hint: str) -> str:
    kind = error["type"]
    loc = _location(tuple(error["loc"]), quote)
    if kind == "missing":
        return f"missing required key {loc}{hint}"
    if kind == "extra_forbidden":
        name = str(error["loc"][-1])
        return f"unknown key {loc}{suggest(name, known)}"
    msg = str(error["msg"])
    msg = re.sub(r"^(Value|Assertion) error, ", "", msg)
    msg = msg.replace("Input should be", "must be")
    for words, sign in (("greater than or equal to", ">="), ("less than or equal to", "<="),
                        ("greater than", ">"), ("less than", "<")):
        msg = msg.replace(f"must be {words} ", f"must be {sign} ")
    msg = {"list_type": "must be a list", "dict_type": "must be a table/object",
           "model_type": "must be a table/object"}.get(kind, msg)
    if not loc:
        return msg
    value = error.get("input")
    said = kind.startswith("value_error") and ("got" in msg or isinstance(value, (list, tuple, dict)))
    got = "" if said else f", got {_show(value)}"
    return f"{loc} {msg}{got}"


def check(schema: type[BaseModel], data: Any, label: str, *, quote: bool = False, hint: str = "") -> Any:
    """``schema`` validated from ``data``; a SpecroofError ``"<label>: <key> <problem>"`` if not.

    ``quote`` writes keys as ``'ops_ms'['qkv_proj']`` (the measurement files' style) instead of
    ``ops_ms.qkv_proj``; ``hint`` is added to a missing-key message. Only the first problem is
    described (one line), with a count of the others.
    """
    if not isinstance(data, dict):
        raise SpecroofError(f"{label or 'value'}: expected a table/object of keys, got {_kind(data)}")
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        known = tuple(schema.model_fields)
        more = f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})" if len(errors) > 1 else ""
        prefix = f"{label}: " if label else ""
        raise SpecroofError(f"{prefix}{_message(errors[0], known, quote, hint)}{more}") from None
    except RecursionError:
        raise SpecroofError(f"{label or 'value'}: nested too deeply") from None


# --------------------------------------------------------------------------- models


def _present(data: Any) -> Any:
    """Keys set to null count as absent (Hugging Face configs write ``null`` for defaults)."""
    return {k: v for k, v in data.items() if v is not None} if isinstance(data, dict) else data


class HFConfig(BaseModel):
    """The keys of a Hugging Face ``config.json`` that shape a decoder (others are ignored)."""

    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True)

    hidden_size: PositiveInt = Field(validation_alias=AliasChoices("hidden_size", "n_embd", "d_model"))
    num_hidden_layers: PositiveInt = Field(
        validation_alias=AliasChoices("num_hidden_layers", "n_layer", "num_layers"))
    num_attention_heads: PositiveInt = Field(validation_alias=AliasChoices("num_attention_heads", "n_head"))
    vocab_size: PositiveInt
    intermediate_size: PositiveInt | None = Field(None, validation_alias=AliasChoices("intermediate_size", "n_inner"))
    num_key_value_heads: PositiveInt | None = None
    head_dim: PositiveInt | None = None
    tie_word_embeddings: Bool = False
    num_local_experts: NonNegativeInt | None = None
    num_experts: NonNegativeInt | None = None
    n_routed_experts: NonNegativeInt | None = None
    num_experts_per_tok: NonNegativeInt | None = None
    experts_per_token: NonNegativeInt | None = None
    num_experts_per_token: NonNegativeInt | None = None
    moe_intermediate_size: PositiveInt | None = None
    num_nextn_predict_layers: NonNegativeInt | None = None
    mtp_num_hidden_layers: NonNegativeInt | None = None
    max_position_embeddings: PositiveInt | None = Field(None, validation_alias=AliasChoices(
        "max_position_embeddings", "max_sequence_length", "n_positions"))
    source: Text = Field("", validation_alias="_source")

    @model_validator(mode="before")
    @classmethod
    def _drop_nulls(cls, data: Any) -> Any:
        return _present(data)


class ModelShape(_Schema):
    """The fields of :class:`specroof.models.ModelConfig`, with the rules that tie them."""

    name: Name
    hidden_size: PositiveInt
    intermediate_size: PositiveInt
    num_layers: PositiveInt
    num_heads: PositiveInt
    num_kv_heads: PositiveInt
    head_dim: PositiveInt
    vocab_size: PositiveInt
    tie_word_embeddings: Bool = False
    num_experts: NonNegativeInt = 0
    experts_per_token: NonNegativeInt = 0
    moe_intermediate_size: NonNegativeInt = 0
    mtp_layers: Annotated[int, BeforeValidator(_integer), Field(ge=0, le=64)] = 0
    max_position_embeddings: PositiveInt | None = None
    source: Text = ""
    unmodelled: tuple[Any, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> "ModelShape":
        if self.num_heads % self.num_kv_heads:
            raise ValueError(f"num_attention_heads {self.num_heads} is not divisible by "
                             f"num_key_value_heads {self.num_kv_heads}; grouped-query attention shares "
                             "each KV head among a whole number of query heads")
        if self.num_experts:
            if not 1 <= self.experts_per_token <= self.num_experts:
                raise ValueError(f"num_experts_per_tok must be between 1 and the {self.num_experts} experts, "
                                 f"got {self.experts_per_token}")
            if self.moe_intermediate_size < 1:
                raise ValueError("a mixture of experts needs moe_intermediate_size >= 1")
        elif self.experts_per_token or self.moe_intermediate_size:
            raise ValueError("experts_per_token and moe_intermediate_size apply only when num_experts > 0")
        return self


# --------------------------------------------------------------------------- hardware

_DTYPE_KEY = re.compile(r"^[a-z][a-z0-9_]{0,15}$")


class AcceleratorSpec(_Schema):
    """The datasheet fields of :class:`specroof.hardware.Accelerator`."""

    name: Name
    display_name: Name
    memory_gb: PositiveFloat = Field(le=1e6)
    memory_bandwidth_gbps: PositiveFloat = Field(le=1e6)
    sm_count: PositiveInt = Field(le=1_000_000)
    peak_tflops: dict[str, PositiveFloat] = Field(min_length=1)
    vendor: Text = ""
    l2_cache_mb: NonNegativeFloat = Field(0.0, le=1e6)
    interconnect_gbps: NonNegativeFloat = Field(0.0, le=1e6)
    interconnect: Text = ""
    interconnect_domain_gpus: NonNegativeInt = Field(0, le=100_000)
    tdp_w: NonNegativeFloat = Field(0.0, le=1e6)
    sources: dict[str, Text] = Field(default_factory=dict)
    profile_base: Name | None = None
    profile_overrides: dict[str, Any] = Field(default_factory=dict)
    calibrated_from: Text = ""

    @field_validator("peak_tflops")
    @classmethod
    def _dtype_names(cls, value: dict[str, float]) -> dict[str, float]:
        for key, tflops in value.items():
            if not _DTYPE_KEY.match(key):
                raise ValueError(f"has a dtype name {key!r} that is not a dtype (fp16, bf16, fp8, int8, fp32...)")
            if tflops > 1e6:
                raise ValueError(f"{key} = {tflops:g} TFLOP/s is beyond any device (is it in FLOP/s?)")
        return value

    @field_validator("profile_overrides")
    @classmethod
    def _profile_fields(cls, value: dict[str, Any]) -> dict[str, Any]:
        return profile_fields(value, "")


class HardwareFile(_Schema):
    """Top-level keys of a hardware TOML: a catalog-style device or a calibrated profile.

    Only which keys may appear, and the types of the links (``base``, ``profile_base``) and
    tables, are checked here; the datasheet values are checked by :class:`AcceleratorSpec`
    once a ``base`` device has been merged in.
    """

    name: Name | None = None
    display_name: Name | None = None
    vendor: Text | None = None
    memory_gb: Any = None
    memory_bandwidth_gbps: Any = None
    sm_count: Any = None
    peak_tflops: Any = None
    l2_cache_mb: Any = None
    interconnect_gbps: Any = None
    interconnect: Text | None = None
    interconnect_domain_gpus: Any = None
    tdp_w: Any = None
    sources: dict[str, Text] | None = None
    base: Name | None = None
    profile_base: Name | None = None
    calibrated_from: Text | None = None
    profile: dict[str, Any] | None = None
    fit: dict[str, Any] | None = None


# --------------------------------------------------------------------------- implementation profile

_OPERATORS = STEP_OPERATIONS
Microseconds = Annotated[float, BeforeValidator(_number), Field(ge=0, le=1e7)]
Passes = Annotated[float, BeforeValidator(_number), Field(ge=0, le=1000)]
Tile = Annotated[int, BeforeValidator(_integer), Field(ge=1, le=65536)]


def _tile(value: Any) -> tuple[int, int]:
    if isinstance(value, (str, bytes, dict)) or not hasattr(value, "__len__") or len(value) != 2:
        raise ValueError(f"each tile must be a [rows, cols] pair of integers, got {_show(value)}")
    return value


AllreduceGpus = Annotated[int, BeforeValidator(_integer), Field(ge=2, le=4096)]
Bandwidth = Annotated[float, BeforeValidator(_number), Field(gt=0, le=1e7)]  # GB/s


def _allreduce_row(value: Any) -> Any:
    if isinstance(value, (str, bytes, dict)) or not hasattr(value, "__len__") or len(value) != 5:
        raise ValueError("each row must be [gpus, latency_us, oneshot_gbps, twoshot_us, busbw_gbps], "
                         f"got {_show(value)}")
    return value


def _engine_name(value: Any) -> Any:
    if value in ("", "vllm", "sglang", "trtllm"):
        return value
    raise ValueError(f"must be one of vllm, sglang, trtllm (or empty), got {_show(value)}")


class ProfileFields(_Schema):
    """Every field of :class:`specroof.cost.profile.ImplementationProfile`, all optional."""

    name: Name | None = None
    description: Text | None = None
    caveat: Text | None = None
    attention: Literal["fused", "unfused"] | None = None
    decode_attention_kernel: Literal["split_kv", "per_head", "paged"] | None = None
    tree_attention_kernel: Literal["split_kv", "per_head", "paged"] | None = None
    attention_q_block: Annotated[int, BeforeValidator(_integer), Field(ge=1, le=65536)] | None = None
    attention_cta_bandwidth_gbps: Annotated[float, BeforeValidator(_number), Field(gt=0, le=1e6)] | None = None
    attention_ctas_per_sm: Annotated[int, BeforeValidator(_integer), Field(ge=1, le=1024)] | None = None
    attention_compute_efficiency: Fraction | None = None
    gqa_kv_expand: Bool | None = None
    split_kv_combine: Bool | None = None
    attention_mask_kernels: Passes | None = None
    bandwidth_efficiency: Fraction | None = None
    compute_efficiency: Fraction | None = None
    gemm_tiles: list[Annotated[tuple[Tile, Tile], BeforeValidator(_tile)]] | None = Field(None, min_length=1,
                                                                                         max_length=64)
    gemm_split_k: Bool | None = None
    gemm_tile_policy: Literal["fastest", "fill", "rows"] | None = None
    gemm_fixed_us: Microseconds | None = None
    gemm_l2_spill_penalty: Annotated[float, BeforeValidator(_number), Field(ge=0, le=100)] | None = None
    elementwise_hidden_passes: Passes | None = None
    elementwise_qkv_passes: Passes | None = None
    elementwise_intermediate_passes: Passes | None = None
    elementwise_final_passes: Passes | None = None
    elementwise_kernels_per_layer: Annotated[int, BeforeValidator(_integer), Field(ge=0, le=10000)] | None = None
    elementwise_efficiency: Fraction | None = None
    moe_kernel: Literal["grouped", "per_expert", "fused"] | None = None
    moe_dispatch_kernels_per_expert: Passes | None = None
    moe_dispatch_kernels_per_layer: Passes | None = None
    cuda_graph: Bool | None = None
    kernel_overhead_us: Microseconds | None = None
    launch_overhead_us: Microseconds | None = None
    fuse_qkv: Bool | None = None
    fuse_gate_up: Bool | None = None
    operators: list[Literal[_OPERATORS]] | None = Field(None, min_length=1)  # type: ignore[valid-type]
    softmax_passes: Passes | None = None
    allreduce_latency_us: Microseconds | None = None
    interconnect_efficiency: Fraction | None = None
    host_step_us: Microseconds | None = None
    host_draft_pass_us: Microseconds | None = None
    sampling_passes: Passes | None = None
    sampling_kernels: Annotated[int, BeforeValidator(_integer), Field(ge=0, le=10000)] | None = None
    cuda_graph_sizes: list[Annotated[int, BeforeValidator(_integer), Field(ge=1, le=100_000_000)]] | None = Field(
        None, max_length=100_000)
    cuda_graph_unit: Literal["tokens", "batch"] | None = None
    engine: Annotated[str, BeforeValidator(_engine_name)] | None = None
    gemm_overlap_q: Annotated[float, BeforeValidator(_number), Field(ge=0, le=100)] | None = None
    gemm_w8a8: Bool | None = None
    gemm_quantize_us: Microseconds | None = None
    attention_call_us: Microseconds | None = None
    attention_prefill_call_us: Microseconds | None = None
    attention_prefill_block_us: Microseconds | None = None
    attention_seq_us: Microseconds | None = None
    attention_kv_head_us: Microseconds | None = None
    attention_q_head_us: Microseconds | None = None
    attention_bandwidth_efficiency: Annotated[float, BeforeValidator(_number), Field(ge=0, le=1)] | None = None
    attention_causal: Bool | None = None
    allreduce_fits: list[Annotated[tuple[AllreduceGpus, Microseconds, Bandwidth, Microseconds, Bandwidth],
                                   BeforeValidator(_allreduce_row)]] | None = Field(None, max_length=64)
    moe_fixed_us: Microseconds | None = None
    moe_compute_efficiency: Fraction | None = None
    moe_bandwidth_efficiency: Fraction | None = None
    moe_tile_m: Tile | None = None
    extra: dict[str, Any] | None = None

    @field_validator("operators", mode="before")
    @classmethod
    def _some_operators(cls, value: Any) -> Any:
        if isinstance(value, (list, tuple)) and not value:
            raise ValueError("must name at least one operator (" + ", ".join(_OPERATORS) + "); "
                             "a step without operators takes no time")
        if isinstance(value, (list, tuple)):
            unknown = [op for op in value if op not in _OPERATORS]
            if unknown:
                raise ValueError(f"has unknown operator(s) {', '.join(map(repr, unknown))}{suggest(str(unknown[0]), _OPERATORS)}"
                                 f"; valid: {', '.join(_OPERATORS)}")
            return list(value)
        return value


def profile_fields(data: dict[str, Any], label: str = "profile") -> dict[str, Any]:
    """``data`` (a subset of profile fields) checked and normalized; tiles and operators as tuples."""
    checked = check(ProfileFields, data, label)
    out = {k: getattr(checked, k) for k in data}
    if out.get("gemm_tiles") is not None:
        out["gemm_tiles"] = tuple(tuple(t) for t in out["gemm_tiles"])
    if out.get("operators") is not None:
        out["operators"] = tuple(out["operators"])
    if out.get("allreduce_fits") is not None:
        out["allreduce_fits"] = tuple(tuple(float(x) for x in row) for row in out["allreduce_fits"])
    if out.get("cuda_graph_sizes") is not None:  # sizes a step is padded up to: a sorted set
        out["cuda_graph_sizes"] = tuple(sorted(set(out["cuda_graph_sizes"])))
    return out


# --------------------------------------------------------------------------- scenarios

#: Most values one grid axis of a scenario may list.
MAX_AXIS_VALUES = 100_000
GridAxis = Annotated[list[Annotated[int, BeforeValidator(_integer), Field(ge=1, le=100_000_000)]],
                     Field(min_length=1, max_length=MAX_AXIS_VALUES)]


class ScenarioGrid(_Schema):
    batch: GridAxis | None = None
    candidates: GridAxis | None = None
    seq_len: GridAxis | None = None


class ScenarioFile(_Schema):
    name: Name | None = None
    description: Text = ""
    model: Name | None = None
    hardware: Name | None = None
    dtype: Name | None = None
    weight_dtype: Name | None = None
    kv_dtype: Name | None = None
    attention: Literal["fused", "unfused"] | None = None
    cuda_graph: Bool | None = None
    profile: Name | None = None
    tp: Annotated[int, BeforeValidator(_integer), Field(ge=1, le=4096)] | None = None
    acceptance: Name | None = None
    method: Name | None = None
    draft_model: Name | None = None
    heads: Annotated[int, BeforeValidator(_integer), Field(ge=1, le=64)] | None = None
    max_depth: Annotated[int, BeforeValidator(_integer), Field(ge=1, le=1024)] | None = None
    grid: ScenarioGrid = Field(default_factory=ScenarioGrid)
    reference: Text = ""
    profile_overrides: dict[str, Any] = Field(default_factory=dict)

    @field_validator("profile_overrides")
    @classmethod
    def _profile_fields(cls, value: dict[str, Any]) -> dict[str, Any]:
        return profile_fields(value, "")

    @field_validator("method")
    @classmethod
    def _known_method(cls, value: str | None) -> str | None:
        from specroof.speculation.methods import METHODS  # the methods' registry owns the names

        if value is not None and value not in METHODS:
            names = METHODS.names()
            raise ValueError(f"must be one of {', '.join(names)}, got {value!r}{suggest(value, names)}")
        return value


# --------------------------------------------------------------------------- measurements

MsValue = Annotated[float, BeforeValidator(_number), Field(gt=0, le=1e9)]


class MeasurementRow(BaseModel):
    """One line of a measurement file; keys specroof does not know are kept."""

    model_config = ConfigDict(extra="allow", frozen=True, defer_build=True)

    model: Name
    hardware: Name
    dtype: Name
    batch: Annotated[int, BeforeValidator(_integer), Field(ge=1, le=100_000_000)]
    candidates: Annotated[int, BeforeValidator(_integer), Field(ge=1, le=100_000_000)]
    seq_len: Annotated[int, BeforeValidator(_integer), Field(ge=1, le=100_000_000)] | None = None
    latency_ms: MsValue
    ops_ms: dict[str, MsValue] | None = None
    cuda_graph: Bool | None = None
    eager_latency_ms: MsValue | None = None
    heads: Annotated[int, BeforeValidator(_integer), Field(ge=1, le=64)] | None = None

    @model_validator(mode="after")
    def _seq_len_needed(self) -> "MeasurementRow":
        if self.seq_len is None and self.heads is None:
            raise ValueError("missing required key 'seq_len' (only Medusa-head rows, with 'heads', may omit it)")
        return self
