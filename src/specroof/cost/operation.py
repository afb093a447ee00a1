"""The operation: one entry of a step's explicit, ordered list of work.

A step (a decoding or verification forward, a drafting pass) is a list of
:class:`Operation`. Each carries its identity (name, group, kind, chart colour), how many
times it runs per step (``count``: layers, heads, draft passes), its shape as arrays over the
grid, and the bytes it keeps resident (weights) and alive (activations). Everything that
reads a step reads this list:

- pricing (:mod:`specroof.cost.pricing`): exactly one function per ``kind``;
- latency and ``ops_ms`` (:mod:`specroof.cost.step`), ``specroof ops``, ``explain``;
- the memory footprint (:mod:`specroof.cost.memory`): weights, activations and the KV cache
  (each operation's ``cache_bytes_per_token``), the embedding table included (an operation
  of the ``resident`` kind: held, not timed);
- charts: groups and colours; calibration and the measurement harness: operation names.

List builders (:mod:`specroof.cost.architectures`, one per model family, and
:mod:`specroof.cost.drafting_ops` for drafting) turn a model into its list. A new architecture
is a new builder, not new branches in the pricing.

Adding an operation: define its :class:`OpInfo` below and add it to :data:`REGISTRY` (its one
home: the name is written nowhere else in the package except, for timed operations, the
measurement harness), emit it from a builder with a shape of an existing kind, and it is
priced, shown and charted. A new kind needs a shape class here and one pricing function.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

ArrayLike = np.ndarray | float

KINDS = ("gemm", "attention", "elementwise", "communication", "moe", "host", "resident")
"""Pricing kinds; ``resident`` operations hold bytes (weights, a cache) but are not timed."""

LINEAR_GROUP = "linear layers"
ATTENTION_GROUP = "attention"
LM_HEAD_GROUP = "LM head"
OVERHEAD_GROUP = "elementwise/overhead"
DRAFTING = "drafting"
GROUP_ORDER = (LINEAR_GROUP, ATTENTION_GROUP, LM_HEAD_GROUP, OVERHEAD_GROUP, DRAFTING)
"""Groups in display order (explain's table and waterfall, charts' legends)."""

DRAFT_PREFIX = "draft:"
"""Operations of a draft model's decoding passes are its own operations under this prefix."""
DRAFT_COLOR = "#17becf"


@dataclass(frozen=True)
class OpInfo:
    """Who an operation is: its name, its group, and how charts draw it (its kind comes from
    its shape, so an MoE model's ``gate_up_proj`` is an ``moe`` operation, a dense one's a ``gemm``)."""

    name: str
    group: str
    color: str
    marker: str
    description: str

    @property
    def base_name(self) -> str:
        """The registered name, without the drafting prefix."""
        return self.name.removeprefix(DRAFT_PREFIX)

    def drafting(self) -> "OpInfo":
        """The same operation run by a draft model: the drafting group and colour."""
        return replace(self, name=DRAFT_PREFIX + self.name, group=DRAFTING, color=DRAFT_COLOR,
                       description=f"draft model: {self.description}")


# One colour per operation, the same in every chart (tab10 order). Builders and consumers use
# these objects, never the names: each name is written here only (and, for the operations it
# times alone, in the measurement harness).
QKV_PROJ = OpInfo("qkv_proj", LINEAR_GROUP, "#1f77b4", "o", "fused (or separate) q, k, v projections")
ATTENTION = OpInfo("attention", ATTENTION_GROUP, "#ff7f0e", "s", "attention of the new tokens over the KV cache")
WINDOW_ATTENTION = OpInfo("window_attention", ATTENTION_GROUP, "#fdae6b", "s",  # --- windows
                          "attention of the new tokens over at most the window (sliding or chunked layers)")
O_PROJ = OpInfo("o_proj", LINEAR_GROUP, "#2ca02c", "^", "attention output projection")
MOE_ROUTER = OpInfo("moe_router", LINEAR_GROUP, "#8c564b", "P", "router logits of a mixture-of-experts layer")
MOE_DISPATCH = OpInfo("moe_dispatch", OVERHEAD_GROUP, "#aec7e8", "d",
                      "MoE routing work outside the GEMMs: router softmax and top-k, per-expert token gather, "
                      "router-weight scaling and index_add_ back (per-expert implementations)")
GATE_UP_PROJ = OpInfo("gate_up_proj", LINEAR_GROUP, "#d62728", "D", "gate and up projections (per expert for MoE)")
DOWN_PROJ = OpInfo("down_proj", LINEAR_GROUP, "#9467bd", "v", "down projection (per expert for MoE)")
ELEMENTWISE = OpInfo("elementwise", OVERHEAD_GROUP, "#e377c2", "X",
                     "norms, RoPE, residual adds, SiLU, KV-cache writes, copies")
ALLREDUCE = OpInfo("allreduce", OVERHEAD_GROUP, "#7f7f7f", "h", "tensor-parallel all-reduces")
LM_HEAD = OpInfo("lm_head", LM_HEAD_GROUP, "#bcbd22", "p", "vocabulary projection of every token")
LAUNCH = OpInfo("launch", OVERHEAD_GROUP, "#c7c7c7", "*", "GPU idle while the host launches kernels (eager)")
SAMPLING = OpInfo("sampling", OVERHEAD_GROUP, "#aec7e8", "d",
                  "logits processing and (rejection) sampling over every verified token's fp32 logits")
HOST_STEP = OpInfo("host_step", OVERHEAD_GROUP, "#ffbb78", "8", "host and scheduler time per engine step")
HOST_DRAFT_PASS = OpInfo("host_draft_pass", DRAFTING, "#c49c94", "8", "host time per drafting pass")
EAGLE_FC = OpInfo("eagle_fc", DRAFTING, "#98df8a", "<",
                  "EAGLE's fusion of the target's hidden states (and token embedding) to the draft width")
MTP_PROJ = OpInfo("mtp_proj", DRAFTING, "#ff9896", "<", "MTP module's projection [T, 2h] x [2h, h]")
MTP_INPUT = OpInfo("mtp_input", DRAFTING, "#e7969c", "x",
                  "MTP module's input: RMSNorms of the token embedding (enorm) and hidden state (hnorm), concatenated")
MEDUSA_BLOCK = OpInfo("medusa_block", DRAFTING, "#17becf", "<", "Medusa heads' residual blocks [T, h] x [h, h]")
MEDUSA_VOCAB = OpInfo("medusa_vocab", DRAFTING, "#9edae5", ">", "Medusa heads' vocabulary projections [T, h] x [h, V]")
MEDUSA_ELEMENTWISE = OpInfo("medusa_elementwise", DRAFTING, "#dbdb8d", "x", "Medusa heads' SiLU and residual add")
# --- MoE: shared experts and the dense-MLP layers of an MoE model (cost/architectures/moe.py)
SHARED_GATE_UP_PROJ = OpInfo("shared_gate_up_proj", LINEAR_GROUP, "#c5b0d5", "D",
                             "gate and up projections of an MoE layer's always-active shared experts")
SHARED_DOWN_PROJ = OpInfo("shared_down_proj", LINEAR_GROUP, "#f7b6d2", "v",
                          "down projection of an MoE layer's always-active shared experts")
DENSE_GATE_UP_PROJ = OpInfo("dense_gate_up_proj", LINEAR_GROUP, "#ad494a", "D",
                            "gate and up projections of an MoE model's dense-MLP layers (first_k_dense_replace...)")
DENSE_DOWN_PROJ = OpInfo("dense_down_proj", LINEAR_GROUP, "#7b4173", "v",
                         "down projection of an MoE model's dense-MLP layers")
EMBEDDING = OpInfo("embedding", LINEAR_GROUP, "#393b79", "H",
                   "token embedding table: resident on the device; a step gathers only its T rows (not timed)")
# --- parallel: expert parallelism's all-to-all (cost/architectures/expert_parallel.py, cost/pricing_comm.py)
MOE_DISPATCH_A2A = OpInfo("moe_dispatch_a2a", OVERHEAD_GROUP, "#5254a3", "<",
                          "expert parallelism: all-to-all sending each token's hidden state to its experts' ranks")
MOE_COMBINE_A2A = OpInfo("moe_combine_a2a", OVERHEAD_GROUP, "#6b6ecf", ">",
                         "expert parallelism: all-to-all returning the expert outputs to their tokens' ranks")
# --- linear attention (cost/architectures/linear.py builds them, cost/pricing_linear.py prices the scan)
LINEAR_IN_PROJ = OpInfo("linear_in_proj", LINEAR_GROUP, "#8ca252", "o",
                        "linear-attention input projections (q, k, v, gates; one GEMM over their widths)")
LINEAR_CONV = OpInfo("linear_conv1d", OVERHEAD_GROUP, "#9c9ede", "x",
                     "linear-attention short causal convolution over q, k, v (reads and updates its window)")
LINEAR_SCAN = OpInfo("linear_scan", ATTENTION_GROUP, "#e7969c", "s",
                     "linear-attention recurrence: a chunked scan of the new tokens through each sequence's state")
LINEAR_ROLLBACK = OpInfo("linear_rollback", ATTENTION_GROUP, "#de9ed6", "d",
                         "linear-attention state checkpoints (one per extra candidate) to roll a rejected suffix back")
LINEAR_NORM = OpInfo("linear_gated_norm", OVERHEAD_GROUP, "#cedb9c", "X", "linear-attention gated RMSNorm of the output")
LINEAR_OUT_PROJ = OpInfo("linear_out_proj", LINEAR_GROUP, "#637939", "^", "linear-attention output projection")
LINEAR_OPERATIONS = (LINEAR_IN_PROJ, LINEAR_CONV, LINEAR_SCAN, LINEAR_ROLLBACK, LINEAR_NORM, LINEAR_OUT_PROJ)
# --- MLA / DSA (cost/architectures/latent.py, priced in cost/pricing_mla.py)
Q_A_PROJ = OpInfo("q_a_proj", LINEAR_GROUP, "#6baed6", "o", "MLA query down-projection to q_lora_rank "
                  "(replicated on every tensor-parallel rank)")
Q_PROJ = OpInfo("q_proj", LINEAR_GROUP, "#3182bd", "o", "MLA query projection to every head's nope + rope width "
                "(from the q latent, or from the hidden state when q_lora_rank is 0)")
KV_A_PROJ = OpInfo("kv_a_proj", LINEAR_GROUP, "#9ecae1", "o", "MLA projection to the cached latent "
                   "(kv_lora_rank + qk_rope_head_dim; replicated on every tensor-parallel rank)")
MLA_BMM = OpInfo("mla_bmm", ATTENTION_GROUP, "#fdae6b", "s", "MLA absorbed path: per-head batched GEMMs that "
                 "fold W_UK into the query and apply W_UV to the latent output")
KV_B_PROJ = OpInfo("kv_b_proj", ATTENTION_GROUP, "#fdd0a2", "s", "MLA naive path: up-projection of every context "
                   "token's latent into per-head keys and values")
MLA_ATTENTION = OpInfo("mla_attention", ATTENTION_GROUP, "#e6550d", "s", "latent attention over the compressed "
                       "cache (absorbed: one latent KV head; naive: per-head K and V); DSA: over the top-k tokens")
DSA_INDEXER_PROJ = OpInfo("dsa_indexer_proj", LINEAR_GROUP, "#c6dbef", "o", "DSA lightning indexer's query, "
                          "key and head-weight projections")
DSA_INDEXER = OpInfo("dsa_indexer", ATTENTION_GROUP, "#a63603", "s", "DSA lightning indexer: fp8 scores of every "
                     "query against every cached indexer key, and the top-k selection")
_LATENT_OPERATIONS = (Q_A_PROJ, Q_PROJ, KV_A_PROJ, MLA_BMM, KV_B_PROJ, MLA_ATTENTION, DSA_INDEXER_PROJ, DSA_INDEXER)

STEP_OPERATIONS = tuple(info.name for info in (
    QKV_PROJ, ATTENTION, O_PROJ, MOE_ROUTER, MOE_DISPATCH, GATE_UP_PROJ, DOWN_PROJ, ELEMENTWISE, ALLREDUCE, LM_HEAD))
"""The operations of a decoder step in step order: what a profile's ``operators`` selects from."""

REGISTRY: dict[str, OpInfo] = {info.name: info for info in (
    QKV_PROJ, ATTENTION, O_PROJ, MOE_ROUTER, MOE_DISPATCH, GATE_UP_PROJ, DOWN_PROJ, ELEMENTWISE, ALLREDUCE, LM_HEAD,
    LAUNCH, SAMPLING, HOST_STEP, HOST_DRAFT_PASS, EAGLE_FC, MTP_PROJ, MEDUSA_BLOCK, MEDUSA_VOCAB, MEDUSA_ELEMENTWISE,
    EMBEDDING, WINDOW_ATTENTION, MOE_DISPATCH_A2A, MOE_COMBINE_A2A, *LINEAR_OPERATIONS, *_LATENT_OPERATIONS,
    SHARED_GATE_UP_PROJ, SHARED_DOWN_PROJ, DENSE_GATE_UP_PROJ, DENSE_DOWN_PROJ, MTP_INPUT)}  # MoE's last
"""Every operation by name (``draft:`` names resolve through :func:`op_info`)."""


SELECTED_WITH: dict[str, str] = {
    WINDOW_ATTENTION.name: ATTENTION.name,
    SHARED_GATE_UP_PROJ.name: GATE_UP_PROJ.name, DENSE_GATE_UP_PROJ.name: GATE_UP_PROJ.name,  # --- MoE
    SHARED_DOWN_PROJ.name: DOWN_PROJ.name, DENSE_DOWN_PROJ.name: DOWN_PROJ.name,
}
"""Operations a profile's ``operators`` chooses under another step operation's name: a windowed
layer's attention is attention; an MoE model's shared experts and dense-MLP layers are gate-up
and down projections too."""


def selector(name: str) -> str:
    """The step operation whose presence in a profile's ``operators`` prices ``name``."""
    return SELECTED_WITH.get(name, name)


def op_info(name: str) -> OpInfo:
    """The identity of an operation name, including ``draft:`` names; KeyError if unknown."""
    if name.startswith(DRAFT_PREFIX):
        return REGISTRY[name[len(DRAFT_PREFIX):]].drafting()
    return REGISTRY[name]


# --------------------------------------------------------------------------- shapes, per kind


@dataclass(frozen=True, eq=False)
class GemmShape:
    """``groups`` independent products [m x k] x [k x n]; ``weight_matrices`` [k x n] operands
    are read from memory (default: one per group)."""

    m: ArrayLike
    n: int
    k: int
    groups: ArrayLike = 1.0
    weight_matrices: ArrayLike | None = None


@dataclass(frozen=True, eq=False)
class AttentionShape:
    """``batch`` sequences, each with ``queries`` new tokens attending over ``keys`` tokens."""

    batch: ArrayLike
    queries: ArrayLike
    keys: ArrayLike
    q_heads: int
    kv_heads: int
    head_dim: int


@dataclass(frozen=True, eq=False)
class ElementwiseShape:
    """``elements`` elements read or written, by ``kernels`` kernels (an array when the kernel
    count follows the grid, e.g. one set per MoE expert touched); each element is
    ``bytes_per_element`` bytes (default: the activation dtype's)."""

    elements: ArrayLike
    kernels: ArrayLike
    bytes_per_element: float | None = None


@dataclass(frozen=True, eq=False)
class AllreduceShape:
    """One all-reduce of ``elements`` activation elements over ``devices`` devices."""

    elements: ArrayLike
    devices: int


@dataclass(frozen=True, eq=False)
class MoEShape:
    """``tokens`` tokens each routed to ``top_k`` of ``num_experts`` experts, whose weights are
    [k x n]; only the experts some token routes to are read and computed. ``groups``: (expert
    groups, groups each token keeps) of a grouped router (:mod:`specroof.cost.routing`)."""

    tokens: ArrayLike
    num_experts: int
    top_k: int
    n: int
    k: int
    groups: tuple[int, int] = (1, 1)


@dataclass(frozen=True, eq=False)
class AllToAllShape:
    """One expert-parallel all-to-all (``phase`` dispatch or combine) over ``ranks`` GPUs: each
    rank sends ``tokens`` tokens of ``hidden`` values to the ranks of their ``top_k`` of
    ``experts`` experts."""

    tokens: ArrayLike
    hidden: int
    top_k: int
    experts: int
    ranks: int
    phase: str


@dataclass(frozen=True, eq=False)
class HostShape:
    """Host time the GPU waits for: ``microseconds`` per instance."""

    microseconds: float


@dataclass(frozen=True, eq=False)
class LaunchShape:
    """The GPU waiting while an eager host launches the kernels of the operations before it in
    the same pass (priced from the whole pass: :func:`specroof.cost.pricing.price_launch`)."""


@dataclass(frozen=True, eq=False)
class ResidentShape:
    """Bytes held on the device that no timed kernel of the step stands for (the embedding
    table: the measured harness starts from hidden states, so its row gather is not priced)."""


@dataclass(frozen=True, eq=False)
class LinearScanShape:
    """``batch`` sequences each feeding ``queries`` tokens through ``heads`` recurrent states of
    ``key_dim x value_dim`` (stored ``state_bytes`` per element); ``key_heads`` heads of queries
    and keys are shared among them (0: as many as ``heads``). ``chunked``: the chunked kernel
    (``chunk`` tokens per chunk: prefill), else the recurrent one (decode and verification).
    ``checkpoints``: extra states written per sequence (one per speculative candidate, each
    with ``window_bytes`` of conv window); an operation with ``queries`` 0 only writes them."""

    batch: ArrayLike
    queries: ArrayLike
    heads: int
    key_dim: int
    value_dim: int
    state_bytes: float
    chunk: int = 64
    key_heads: int = 0
    chunked: ArrayLike = False
    checkpoints: ArrayLike = 0.0
    window_bytes: float = 0.0


@dataclass(frozen=True, eq=False)
class LatentAttentionShape:
    """MLA attention of ``batch`` sequences, ``queries`` new tokens each, over ``keys`` cached
    latents of ``latent`` + ``rope`` elements, for ``q_heads`` heads (qk: ``nope`` + ``rope``,
    value: ``v_dim``). ``topk`` > 0 (DSA): each query attends to at most that many keys."""

    batch: ArrayLike
    queries: ArrayLike
    keys: ArrayLike
    q_heads: int
    latent: int
    rope: int
    nope: int
    v_dim: int
    topk: int = 0


@dataclass(frozen=True, eq=False)
class IndexerShape:
    """DSA's lightning indexer: ``queries`` tokens per sequence score ``keys`` cached indexer
    keys with ``heads`` heads of ``head_dim``, then keep the ``topk`` best."""

    batch: ArrayLike
    queries: ArrayLike
    keys: ArrayLike
    heads: int
    head_dim: int
    topk: int


Shape = (GemmShape | AttentionShape | LatentAttentionShape | IndexerShape | ElementwiseShape | AllreduceShape
         | MoEShape | HostShape | LaunchShape | ResidentShape | AllToAllShape | LinearScanShape)

SHAPE_KIND: dict[type, str] = {
    GemmShape: "gemm", AttentionShape: "attention", ElementwiseShape: "elementwise",
    AllreduceShape: "communication", MoEShape: "moe", HostShape: "host", LaunchShape: "host",
    ResidentShape: "resident", AllToAllShape: "communication", LinearScanShape: "attention",
    LatentAttentionShape: "attention", IndexerShape: "attention",
}


@dataclass(frozen=True, eq=False)
class Operation:
    """One entry of a step: what runs, how often, on which shapes, holding which bytes.

    ``count``: instances per step (per-layer operations: the number of layers; it may be an
    array over the grid, e.g. drafting passes ``n - 1``). ``weight_bytes``: the weights this
    operation keeps resident on one device, all its instances together (whatever the grid:
    Medusa heads stay loaded at n = 1). ``activation_bytes``: the tensors one instance leaves
    alive for the memory estimate (see :mod:`specroof.cost.memory`).
    ``cache_bytes_per_token``: what one token of context keeps in this operation's cache on
    one device, per instance (attention: its layer's keys and values); the KV cache is the sum
    over the list. ``cache_tokens_max``: the most context tokens that cache holds per sequence
    (a windowed layer: the window and the tokens being verified; None: every token).
    ``state_bytes_per_sequence``: what one sequence keeps in this operation's fixed-size state
    on one device, per instance, whatever its context (a linear-attention layer's recurrent
    state; an array over the grid when it follows the candidates). ``weight_dtype``: the dtype
    its weights are stored and run in when its tensor group's precision differs from the step's
    default (None: the setup's; :mod:`specroof.cost.precision`).
    """

    info: OpInfo
    shape: Shape
    count: ArrayLike = 1.0
    weight_bytes: float = 0.0
    activation_bytes: ArrayLike = 0.0
    cache_bytes_per_token: float = 0.0
    cache_tokens_max: ArrayLike | None = None
    state_bytes_per_sequence: ArrayLike = 0.0
    weight_dtype: str | None = None

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def group(self) -> str:
        return self.info.group

    @property
    def kind(self) -> str:
        """The pricing kind, from the shape (so the two cannot disagree)."""
        return SHAPE_KIND[type(self.shape)]

    @property
    def timed(self) -> bool:
        """Whether the step's time prices it (a ``resident`` operation only holds bytes)."""
        return not isinstance(self.shape, ResidentShape)

    def drafting(self, passes: ArrayLike) -> "Operation":
        """This operation as part of ``passes`` drafting passes of a draft model."""
        return replace(self, info=self.info.drafting(), count=self.count * np.asarray(passes, dtype=float))


def operation(info: OpInfo, shape: Shape, count: ArrayLike = 1.0, weight_bytes: float = 0.0,
              activation_bytes: ArrayLike = 0.0, cache_bytes_per_token: float = 0.0,
              cache_tokens_max: ArrayLike | None = None, state_bytes_per_sequence: ArrayLike = 0.0) -> Operation:
    """An operation of a registered identity (ValueError for one missing from :data:`REGISTRY`)."""
    if REGISTRY.get(info.name) is not info:
        raise ValueError(f"operation {info.name!r} is not registered in specroof.cost.operation.REGISTRY")
    return Operation(info, shape, count, weight_bytes, activation_bytes, cache_bytes_per_token,
                     cache_tokens_max=cache_tokens_max, state_bytes_per_sequence=state_bytes_per_sequence)
