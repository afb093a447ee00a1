"""How a mixture-of-experts ``config.json`` lays out its MLPs: shared experts, dense layers and
grouped routing, read into the ModelConfig fields ``shared_experts``,
``shared_expert_intermediate_size``, ``dense_layers``, ``expert_groups`` and
``expert_groups_per_token``.

Each family spells these differently; every spelling below is read from the model's own
Hugging Face code (transformers 4.57 ``modeling_*.py``, or the checkpoint's remote code):

- shared experts, always active for every token of an MoE layer:
  DeepSeek-V2/V3, Kimi K2, GLM-4.5 (``n_shared_experts`` experts of width
  ``moe_intermediate_size``, run as one MLP of width ``n_shared_experts x moe_intermediate_size``);
  Qwen2-MoE, Qwen3-Next, Qwen3.5-MoE (one shared expert of width
  ``shared_expert_intermediate_size``); Llama-4 (``model_type`` ``llama4_text``: one shared
  expert of the routed experts' width ``intermediate_size`` in every MoE layer, no key says so:
  ``Llama4TextMoe.shared_expert``).
- dense layers (a gated MLP of width ``intermediate_size`` instead of experts): DeepSeek/GLM/Kimi
  make layer ``i`` MoE when ``i >= first_k_dense_replace and i % moe_layer_freq == 0``;
  Qwen-MoE when ``i not in mlp_only_layers and (i + 1) % decoder_sparse_step == 0``; Llama-4
  when ``i in moe_layers``, by default ``range(interleave_moe_layer_step - 1, L, step)``, and
  its dense layers are ``intermediate_size_mlp`` wide (``Llama4TextMLP``); Jamba when
  ``i % expert_layer_period == expert_layer_offset`` (default offset 1). A config that gives
  keys of several families is read conjunctively: a layer is MoE only if every rule says so.
- grouped routing (DeepSeek-V3 ``noaux_tc``: ``n_group`` groups, each token picks
  ``topk_group`` of them, then its top-k experts within): :mod:`specroof.cost.routing`.

``routed_scaling_factor`` (DeepSeek, GLM) multiplies the routed experts' output by a constant:
one multiply folded into the combine, no weights and no change to any operation's cost, so it
is read by nothing. ``norm_topk_prob`` and ``scoring_func`` likewise change values, not cost.

Every inconsistency is one :class:`SpecroofError` line naming the user's keys.
"""

from __future__ import annotations

from typing import Any

from specroof.checks import integer
from specroof.errors import SpecroofError

SHARED_COUNT_KEYS = ("n_shared_experts", "num_shared_experts")
"""Two spellings of the shared-expert count (DeepSeek/GLM/Kimi; Bailing, Kimi-K3)."""
SHARED_WIDTH_KEY = "shared_expert_intermediate_size"
"""Qwen's width of its (one) shared expert."""
MAX_LAID_OUT_LAYERS = 100_000
"""Most layers of an MoE model laid out one by one (published models have at most a few
hundred); a larger count is refused rather than enumerated."""
IMPLIED_SHARED = frozenset({"llama4_text", "llama4"})
"""``model_type`` values whose MoE layers carry one shared expert of the routed width with no key."""


def _int(cfg: dict[str, Any], key: str, label: str, least: int = 0) -> int | None:
    """The config's whole number under ``key`` (None when absent or null)."""
    value = cfg.get(key)
    if value is None:
        return None
    try:
        number = integer(value)
    except ValueError as err:
        raise SpecroofError(f"{label}: {key} {err}, got {value!r}") from None
    if number < least:
        raise SpecroofError(f"{label}: {key} must be at least {least}, got {value!r}")
    return number


def _layer_list(cfg: dict[str, Any], key: str, label: str, layers: int) -> set[int] | None:
    """A list of layer indices under ``key``, each within ``[0, layers)``."""
    value = cfg.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or any(isinstance(v, bool) or not isinstance(v, int) for v in value):
        raise SpecroofError(f"{label}: {key} must be a list of layer indices, got {value!r}")
    outside = [v for v in value if not 0 <= v < layers]
    if outside:
        raise SpecroofError(f"{label}: {key} names layer {outside[0]}, but num_hidden_layers = {layers} "
                            f"(layers 0 to {layers - 1})")
    return set(value)


def shared_experts(cfg: dict[str, Any], label: str, experts: int, expert_width: int) -> tuple[int, int]:
    """(shared experts per MoE layer, MLP width of one of them)."""
    given = [(k, _int(cfg, k, label)) for k in SHARED_COUNT_KEYS]
    given = [(k, v) for k, v in given if v]
    if len({v for _, v in given}) > 1:
        raise SpecroofError(f"{label}: {' and '.join(f'{k} = {v}' for k, v in given)} disagree (they name the "
                            "same quantity); keep one")
    count = given[0][1] if given else 0
    if count > experts:
        raise SpecroofError(f"{label}: {given[0][0]} = {count} shared experts is more than the {experts} routed "
                            "experts (num_experts / n_routed_experts)")
    width = _int(cfg, SHARED_WIDTH_KEY, label) or 0
    if width and not count:
        count = 1  # Qwen: one shared expert of this width
    if count and not width:
        width = expert_width  # DeepSeek/GLM/Kimi: each shared expert is a routed expert's width
    if not count and cfg.get("model_type") in IMPLIED_SHARED:
        count, width = 1, expert_width
    return count, width


def moe_layer_indices(cfg: dict[str, Any], label: str, layers: int) -> set[int]:
    """The layers whose MLP is a mixture of experts (every rule the config gives holds)."""
    if layers > MAX_LAID_OUT_LAYERS:
        raise SpecroofError(f"{label}: num_hidden_layers = {layers:,} is more MoE layers than specroof lays out "
                            f"(at most {MAX_LAID_OUT_LAYERS:,}; published models have a few hundred)")
    moe = set(range(layers))
    first_dense = _int(cfg, "first_k_dense_replace", label)
    if first_dense is not None:
        if first_dense > layers:
            raise SpecroofError(f"{label}: first_k_dense_replace = {first_dense} dense layers, but "
                                f"num_hidden_layers = {layers}")
        moe -= set(range(first_dense))
    freq = _int(cfg, "moe_layer_freq", label, least=1)
    if freq is not None:
        moe = {i for i in moe if i % freq == 0}
    dense_listed = _layer_list(cfg, "mlp_only_layers", label, layers)
    if dense_listed:
        moe -= dense_listed
    sparse_step = _int(cfg, "decoder_sparse_step", label, least=1)
    if sparse_step is not None:
        moe = {i for i in moe if (i + 1) % sparse_step == 0}
    period = _int(cfg, "expert_layer_period", label, least=1)
    if period is not None:  # Jamba: JambaConfig.layers_num_experts, offset 1 by default
        offset = _int(cfg, "expert_layer_offset", label)
        offset = 1 if offset is None else offset
        if offset >= period:
            raise SpecroofError(f"{label}: expert_layer_offset = {offset} must be smaller than expert_layer_period = "
                                f"{period} (no layer would be MoE)")
        moe = {i for i in moe if i % period == offset}
    listed = _layer_list(cfg, "moe_layers", label, layers)
    step = _int(cfg, "interleave_moe_layer_step", label, least=1)
    if listed is None and step is not None:
        listed = set(range(step - 1, layers, step))
    if listed is not None:
        moe &= listed
    return moe


def expert_groups(cfg: dict[str, Any], label: str, experts: int, per_token: int) -> tuple[int, int]:
    """(expert groups, groups each token picks); (1, 1) when routing is not grouped."""
    groups = _int(cfg, "n_group", label) or 1
    chosen = _int(cfg, "topk_group", label) or groups
    if groups == 1:
        return 1, 1
    if experts % groups:
        raise SpecroofError(f"{label}: n_group = {groups} does not divide the {experts} routed experts into equal "
                            "groups")
    if chosen > groups:
        raise SpecroofError(f"{label}: topk_group = {chosen} groups per token, but n_group = {groups} groups")
    if chosen * (experts // groups) < per_token:
        raise SpecroofError(f"{label}: topk_group = {chosen} groups of {experts // groups} experts hold fewer than "
                            f"the num_experts_per_tok = {per_token} experts each token picks")
    return groups, chosen


def moe_fields(cfg: dict[str, Any], label: str, layers: int, experts: int, per_token: int,
               expert_width: int) -> dict[str, Any]:
    """The ModelConfig fields of the MoE layout (none for a dense model: their defaults; a dense
    model's layout keys change nothing, except shared experts, which would be an MLP unpriced)."""
    if not experts:
        shared = [k for k in (*SHARED_COUNT_KEYS, SHARED_WIDTH_KEY) if _int(cfg, k, label)]
        if shared:
            raise SpecroofError(f"{label}: {shared[0]} = {cfg[shared[0]]!r} but no routed experts "
                                "(num_experts / n_routed_experts); shared experts belong to a mixture of experts")
        return {}
    count, width = shared_experts(cfg, label, experts, expert_width)
    groups, chosen = expert_groups(cfg, label, experts, per_token)
    return dict(shared_experts=count, shared_expert_intermediate_size=width,
                dense_layers=layers - len(moe_layer_indices(cfg, label, layers)),
                expert_groups=groups, expert_groups_per_token=chosen)


def dense_width(cfg: dict[str, Any], label: str) -> int | None:
    """Llama-4's dense-layer MLP width (``intermediate_size_mlp``; its ``intermediate_size`` is
    the experts'), None for every other family."""
    return _int(cfg, "intermediate_size_mlp", label, least=1)
