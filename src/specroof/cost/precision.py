"""Weights as deployed: one precision per tensor group, each run by its own kernels.

A checkpoint is rarely one dtype. DeepSeek-V3 stores its projections in fp8 with 128 x 128
block scales but its router, norms, embedding and LM head in bf16; gpt-oss stores its experts
in MXFP4 and the rest in bf16; NVIDIA's NVFP4 checkpoints keep attention (and often the MTP
layer) in 16 bits. So a step's weights are split into *tensor groups*:

    attention   q/k/v (and MLA/DSA/linear-attention) projections, o_proj
    mlp         a dense MLP, and the shared experts every token runs
    experts     the routed experts of MoE layers
    router      the MoE router
    head        the LM head (the vocabulary projection)
    embed       the token embedding table
    draft       every drafting operation (a draft model, EAGLE/MTP/Medusa heads); when not set,
                each drafting operation follows its own group (an MTP layer's experts follow
                ``experts``)

and :class:`Precision` holds one dtype per group (a ``default`` for the groups not named).
``--weight-dtype`` takes the plain form (``fp8``: every group) or the per-group form
(``experts=mxfp4,attention=bf16``, optionally after a plain default: ``nvfp4,head=bf16``).
Without it, the checkpoint's ``quantization_config`` (:mod:`specroof.models.quantization`) sets
its quantized groups, and the rest run at ``--dtype``.

Operations learn their group from :data:`GROUP_OF` (by operation name; an MoE-shaped
operation is always ``experts``), not from their builders: :func:`with_precision` rescales
the weights each builder priced at the default dtype and marks the operation with its
group's dtype, and pricing (:func:`specroof.cost.pricing.price`) prices it under that dtype's
setup (:class:`WeightVariant`: its bytes, its tensor-core rate, and the engine's kernel
parameters fitted for that format, ``engine_kernels.toml``).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from specroof.cost.dtypes import BYTES, check_dtype, format_compute_dtype
from specroof.cost.operation import (
    ALLREDUCE,
    ATTENTION,
    DENSE_DOWN_PROJ,
    DENSE_GATE_UP_PROJ,
    DOWN_PROJ,
    DRAFTING,
    DSA_INDEXER,
    DSA_INDEXER_PROJ,
    EAGLE_FC,
    ELEMENTWISE,
    EMBEDDING,
    GATE_UP_PROJ,
    HOST_DRAFT_PASS,
    HOST_STEP,
    KV_A_PROJ,
    KV_B_PROJ,
    LAUNCH,
    LINEAR_CONV,
    LINEAR_IN_PROJ,
    LINEAR_NORM,
    LINEAR_OUT_PROJ,
    LINEAR_ROLLBACK,
    LINEAR_SCAN,
    LM_HEAD,
    MEDUSA_BLOCK,
    MEDUSA_ELEMENTWISE,
    MEDUSA_VOCAB,
    MLA_ATTENTION,
    MLA_BMM,
    MOE_COMBINE_A2A,
    MOE_DISPATCH,
    MOE_DISPATCH_A2A,
    MOE_ROUTER,
    MTP_INPUT,
    MTP_PROJ,
    O_PROJ,
    Q_A_PROJ,
    Q_PROJ,
    QKV_PROJ,
    REGISTRY,
    SAMPLING,
    SHARED_DOWN_PROJ,
    SHARED_GATE_UP_PROJ,
    WINDOW_ATTENTION,
    MoEShape,
    Operation,
    OpInfo,
)
from specroof.errors import SpecroofError, SpecroofWarning, suggest

GROUPS = ("attention", "mlp", "experts", "router", "head", "embed", "draft")
"""The tensor groups one precision setting applies to."""

GROUP_OF: dict[OpInfo, str] = {
    QKV_PROJ: "attention", O_PROJ: "attention",
    GATE_UP_PROJ: "mlp", DOWN_PROJ: "mlp",
    MOE_ROUTER: "router", LM_HEAD: "head", EMBEDDING: "embed",
    EAGLE_FC: "draft", MTP_PROJ: "draft", MEDUSA_BLOCK: "draft", MEDUSA_VOCAB: "draft",
    # the projections of latent (MLA, DSA) and linear attention are attention weights in checkpoints
    Q_A_PROJ: "attention", Q_PROJ: "attention", KV_A_PROJ: "attention", KV_B_PROJ: "attention",
    MLA_BMM: "attention", DSA_INDEXER_PROJ: "attention", LINEAR_IN_PROJ: "attention", LINEAR_OUT_PROJ: "attention",
    # shared experts and an MoE model's dense layers are MLPs (quantized with the MLPs; vLLM and
    # ModelOpt exclude them or not by module name, as the checkpoint's list says)
    SHARED_GATE_UP_PROJ: "mlp", SHARED_DOWN_PROJ: "mlp", DENSE_GATE_UP_PROJ: "mlp", DENSE_DOWN_PROJ: "mlp",
}
"""Operation -> tensor group. An MoE-shaped operation (``gate_up_proj`` of an MoE layer) is
``experts`` whatever its identity. A new operation with weights adds its line here (the test
of this module fails for a registered operation in neither table)."""

WEIGHTLESS = frozenset({ATTENTION, ELEMENTWISE, ALLREDUCE, MOE_DISPATCH, LAUNCH, SAMPLING, HOST_STEP,
                        HOST_DRAFT_PASS, MEDUSA_ELEMENTWISE, WINDOW_ATTENTION, MOE_DISPATCH_A2A, MOE_COMBINE_A2A,
                        MLA_ATTENTION, DSA_INDEXER, LINEAR_SCAN, LINEAR_ROLLBACK, LINEAR_CONV, LINEAR_NORM,
                        MTP_INPUT})
"""Operations that hold no quantizable weights (norm weights, held by ``elementwise``, are
never quantized in a checkpoint: they stay at the default dtype)."""


@dataclass(frozen=True)
class Precision:
    """The weights' dtype per tensor group: ``groups`` the groups set (sorted (group, dtype)
    pairs), the others at ``default``. ``named``: the groups ``--weight-dtype`` set, and
    ``plain``: whether it gave a plain dtype, so another checkpoint's modules (a draft model, an
    EAGLE head) get the setting with their own checkpoint's groups (:meth:`for_checkpoint`)."""

    default: str
    groups: tuple[tuple[str, str], ...] = ()
    named: tuple[tuple[str, str], ...] = ()
    plain: bool = False

    def for_checkpoint(self, checkpoint: dict[str, str | None], available: tuple[str, ...] = ()) -> "Precision":
        """This setting over another checkpoint's groups ({group: format or None}); a format
        with no priced variant here (``available``: the formats the setup can price) stays at
        the default, with a warning."""
        groups = {} if self.plain else {g: d or self.default for g, d in checkpoint.items()}
        groups.update(dict(self.named))
        missing = sorted({d for d in groups.values() if d != self.default and d not in available})
        if missing:
            warnings.warn(SpecroofWarning(f"a drafter's checkpoint stores weights as {', '.join(missing)}, which the "
                                          f"target's setting does not run: priced at {self.default}; set "
                                          "--weight-dtype draft=... to choose"), stacklevel=3)
            groups = {g: (self.default if d in missing else d) for g, d in groups.items()}
        return replace(self, groups=tuple(sorted(groups.items())))

    def of(self, group: str | None) -> str:
        """The dtype of ``group``'s weights (the default for None or a group not named)."""
        return dict(self.groups).get(group, self.default) if group else self.default

    @property
    def dtypes(self) -> tuple[str, ...]:
        """Every dtype some group runs at other than the default."""
        return tuple(sorted({d for _, d in self.groups if d != self.default}))

    def describe(self) -> str:
        """``experts=mxfp4, rest bf16`` (or just ``bf16``)."""
        named = [f"{g}={d}" for g, d in self.groups if d != self.default]
        return ", ".join(named + [f"rest {self.default}"]) if named else self.default


def parse_weight_dtype(text: str | None) -> tuple[str | None, dict[str, str]]:
    """(plain dtype or None, {group: dtype}) from ``fp8``, ``experts=mxfp4,attention=bf16`` or
    ``nvfp4,head=bf16``; SpecroofError naming the bad item."""
    if text is None:
        return None, {}
    if not isinstance(text, str):
        raise SpecroofError(f"--weight-dtype must be text such as fp8 or experts=mxfp4,attention=bf16, got {text!r}")
    plain: str | None = None
    groups: dict[str, str] = {}
    for item in (part.strip() for part in text.split(",")):
        if not item:
            raise SpecroofError(f"--weight-dtype {text!r} has an empty item; write e.g. experts=mxfp4,attention=bf16")
        if "=" not in item:
            if plain is not None:
                raise SpecroofError(f"--weight-dtype {text!r} names two plain dtypes ({plain}, {item}); "
                                    "give one, then group=dtype items")
            plain = check_dtype(item, tuple(BYTES), "weight dtype")
            continue
        group, _, dtype = (s.strip().lower() for s in item.partition("="))
        if group not in GROUPS:
            raise SpecroofError(f"--weight-dtype: unknown tensor group {group!r}{suggest(group, GROUPS)}; "
                                f"groups: {', '.join(GROUPS)}")
        if group in groups:
            raise SpecroofError(f"--weight-dtype {text!r} sets {group} twice")
        groups[group] = check_dtype(dtype, tuple(BYTES), f"weight dtype for {group}")
    return plain, groups


def resolve_precision(text: str | None, checkpoint: dict[str, str | None], activation: str) -> Precision:
    """The precision of a step: ``--weight-dtype`` over the checkpoint's groups (``checkpoint``:
    {group: format, or None for its unquantized dtype}, from the model's ``quantization_config``)
    over the activations' dtype. A plain ``--weight-dtype`` replaces the checkpoint's groups;
    group items change only the groups they name."""
    plain, named = parse_weight_dtype(text)
    setting = Precision(plain or activation, named=tuple(sorted(named.items())), plain=plain is not None)
    return setting.for_checkpoint(checkpoint, tuple(BYTES))


@dataclass(frozen=True)
class WeightVariant:
    """How GEMMs of one weight dtype run on the device: the profile with the engine's kernels
    fitted for that format, and the tensor-core rate."""

    dtype: str
    profile: Any
    compute_dtype: str


EVERY_GROUP = "every group"


def group_compute_dtype(dtype: str, activation: str, accel: Any, groups: str,
                        legacy: Callable[[str], str], flag: str = "--weight-dtype") -> str:
    """The tensor-core rate of ``dtype`` weights on ``accel`` (``legacy(dtype)``: the rule of the
    formats without block scales); SpecroofError naming the device and the groups if the
    device cannot run them."""
    rates = tuple(accel.peak_tflops)
    if dtype == "nvfp4" and "fp4" not in rates:
        raise SpecroofError(
            f"{accel.name} cannot run nvfp4 weights ({groups}): NVFP4 GEMMs need FP4 tensor cores "
            f"(Blackwell: b200, gb200); pick another {flag} for {groups}, e.g. fp8_block or mxfp4")
    compute = format_compute_dtype(dtype, activation, rates) or legacy(dtype)
    try:
        accel.peak_flops(compute)
    except SpecroofError as exc:
        if groups == EVERY_GROUP:
            raise
        raise SpecroofError(f"{exc} (the {dtype} weights of {groups})") from None
    return compute


def weight_variants(precision: Precision, accel: Any, activation: str, profile_for: Callable[[str], Any],
                    legacy: Callable[[Any, str, str], str]) -> tuple[WeightVariant, ...]:
    """One :class:`WeightVariant` per dtype a group runs at other than the default
    (``profile_for(dtype)``: the step's profile with that format's fitted kernels;
    ``legacy(profile, dtype, activation)``: the compute rule of plain dtypes)."""
    out = []
    for dtype in precision.dtypes:
        named = ",".join(g for g, d in precision.groups if d == dtype)
        prof = profile_for(dtype)
        compute = group_compute_dtype(dtype, activation, accel, named, lambda d, p=prof: legacy(p, d, activation))
        out.append(WeightVariant(dtype, prof, compute))
    return tuple(out)


def tensor_group(op: Operation, precision: Precision) -> str | None:
    """The tensor group of ``op``'s weights (None: no group, the default dtype)."""
    if op.group == DRAFTING and "draft" in dict(precision.groups):
        return "draft"
    if isinstance(op.shape, MoEShape):
        return "experts"
    return GROUP_OF.get(REGISTRY.get(op.info.base_name))


def with_precision(precision: Precision | None, operations: list[Operation]) -> list[Operation]:
    """``operations`` (weights priced at ``precision.default``) with each one's weights at its
    group's dtype and marked with it, so pricing runs its format's kernels."""
    if precision is None or not precision.dtypes:
        return operations
    out = []
    for op in operations:
        dtype = precision.of(tensor_group(op, precision))
        if op.weight_dtype is not None or dtype == precision.default:
            out.append(op)
            continue
        scale = BYTES[dtype] / BYTES[precision.default]
        out.append(replace(op, weight_bytes=op.weight_bytes * scale, weight_dtype=dtype))
    return out
