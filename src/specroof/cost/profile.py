"""Implementation profiles: every software assumption of the cost model, in one place.

The time of a step depends on the hardware *and* on how the software uses it: whether
attention keeps scores on chip, whether elementwise work is fused, whether the step is a CUDA
graph, what fraction of peak bandwidth and FLOP/s kernels reach. Those assumptions live in an
:class:`ImplementationProfile`. Named profiles are data (``cost/profiles.toml``); a calibrated
hardware file overrides the fields it fitted; explicit options override both.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace
from functools import lru_cache
from importlib import resources
from typing import Any

from specroof.cost.operation import STEP_OPERATIONS
from specroof.datafiles import read_toml
from specroof.errors import SpecroofError, suggest

ATTENTION_KINDS = ("fused", "unfused")
ATTENTION_KERNELS = ("split_kv", "per_head", "paged")
MOE_KERNELS = ("grouped", "per_expert", "fused")
DEFAULT_PROFILE = "serving"


@dataclass(frozen=True)
class ImplementationProfile:
    """The assumptions behind the cost of a step. Units are in the field names.

    ``caveat``: what a user must know before quoting results of this profile (the CLI prints
    it under every table).

    Attention
        attention: ``fused`` (flash-style, scores stay on chip) or ``unfused`` (Q K^T and
            P V are batched GEMMs, the b*H*n*(s+n) score matrix goes through memory:
            written, read and written by softmax, read again).
        decode_attention_kernel / tree_attention_kernel: fused kernel used for one query
            (n = 1) and for candidate trees (n > 1). ``split_kv`` splits the KV sequence
            over enough thread blocks to fill the GPU (flash-decoding), so it streams KV at
            full bandwidth. ``per_head`` runs one thread block per (sequence, query head,
            block of ``attention_q_block`` queries) with no split (PyTorch's
            memory-efficient SDPA kernel): at small batch few SMs work, each reaching only
            ``attention_cta_bandwidth_gbps``, and blocks run in waves of
            ``sm_count * attention_ctas_per_sm``.
        attention_compute_efficiency: fraction of peak the attention math reaches.
        attention_mask_kernels: kernels launched before each attention call of n > 1 queries
            to turn the boolean tree mask into an additive one (PyTorch's SDPA:
            ``logical_not`` and ``where``); 0 when the kernel takes the tree itself.
        split_kv_combine: the ``split_kv`` kernel splits as FlashAttention-2 does
            (PyTorch's flash SDPA): only when its blocks would not fill the GPU, and then a
            second kernel combines the splits' partial outputs (fp32, written and read).
        gqa_kv_expand: the implementation copies K and V to one head per query head before
            the ``per_head`` kernel (``repeat_kv``, as Hugging Face transformers does when
            a mask is passed and SDPA is not told ``enable_gqa``): that copy's traffic and
            two kernels are added. Without it (``enable_gqa=True``) each (sequence, query
            head) block reads its KV head in place: blocks per query head, no copy.
    GEMMs
        bandwidth_efficiency: fraction of datasheet memory bandwidth streaming kernels reach.
        compute_efficiency: fraction of dense peak a full wave of GEMM tiles reaches.
        gemm_tiles: candidate output tiles [rows, cols]; a GEMM's rows (tokens) are padded
            to the tile and tiles run in waves over the SMs; the fastest tile is taken, as
            cuBLAS heuristics do. This is what makes speedup curves step.
        gemm_split_k: small GEMMs split the reduction over idle SMs (cuBLAS split-K).
        gemm_tile_policy: ``fastest`` (autotuned: the quickest tile) or ``fill`` (the largest
            tile that still fills the SMs, as shape-threshold heuristics pick), or ``rows``:
            rows are padded to the first tile's row count and there is no wave quantization
            (a library with many tile shapes and stream-K/persistent kernels, as cuBLAS on
            Hopper: measured t(M+1)/t(M) medians of 1.02-1.07 at M = 128/256/512, see
            docs/kernels-data.md 4.1).
        gemm_overlap_q: how compute and memory time overlap in a GEMM:
            ``(compute^q + memory^q)^(1/q)``; 0 means perfect overlap (the larger of the
            two, the roofline), 1 none (they add). Measured: q = 2.5-3 on Hopper.
        gemm_w8a8: fp8 weights run as fp8 x fp8 GEMMs (what serving engines do): the bf16
            activations are first quantized by a separate kernel (``gemm_quantize_us`` per
            call plus a read of the activations and a write of their fp8 copy).
        gemm_fixed_us: fixed latency of a GEMM kernel (prologue, first loads at DRAM
            latency, epilogue, last-wave drain), on top of the roofline time.
        gemm_l2_spill_penalty: compute-time slowdown of a GEMM whose activations (in and
            out) no longer fit in L2, times the fraction that spills. On the H200 the fitted
            value is 0.07-0.09 in every held-out split: GEMMs of 2048+ tokens run ~10% below
            the rate of 256-1792 tokens.
    Engine kernels (``paged`` attention, fused MoE, measured all-reduce; fitted per GPU x
    engine to NVIDIA's kernel database: src/specroof/cost/engine_kernels.toml)
        attention_call_us / attention_prefill_call_us: fixed cost of one ``paged`` attention
            call with one query per sequence / with more (launch, split-KV reduction).
        attention_prefill_block_us: a prefill (queries over no cached prefix) runs the
            context kernel: one thread block per (sequence, query head, ``attention_q_block``
            queries), each costing this much SM time (Q load, O write, its diagonal tile;
            spread over the SMs), and the causal score tiles on or below the diagonal are
            computed whole (tiles of ``attention_q_block`` x ``attention_q_block``).
        attention_seq_us / attention_kv_head_us / attention_q_head_us: work per sequence,
            per (sequence, KV head) thread block, per (sequence, query head) (softmax,
            output write): decode kernels pay these even on an empty cache.
        attention_bandwidth_efficiency: fraction of datasheet bandwidth the KV stream
            reaches (0: ``bandwidth_efficiency``).
        attention_causal: count the causal half of the score square for queries > 1.
        allreduce_fits: rows ``[gpus, latency_us, oneshot_gbps, twoshot_us, busbw_gbps]``:
            measured custom all-reduce per GPU count, the faster of one-shot (read every
            peer's buffer) and two-shot (reduce-scatter + all-gather); a GPU count not
            listed uses the ring line (``allreduce_latency_us``, ``interconnect_efficiency``).
        moe_kernel ``fused`` (fitted to measured engine kernels): one fused MoE layer:
            routing, permute, grouped expert GEMMs with every expert's rows padded to
            ``moe_tile_m``, un-permute; ``moe_fixed_us`` per layer, ``moe_compute_efficiency``
            and ``moe_bandwidth_efficiency`` of peak and datasheet bandwidth; the experts'
            loads follow the step's router law (``moe_routing``, :mod:`specroof.cost.routing`).
    Elementwise work (norms, RoPE, residual adds, SiLU, KV-cache writes, copies)
        elementwise_*_passes: traffic per token and layer, in passes over a tensor of the
            hidden width / the q,k,v widths / the MLP intermediate width, each pass one
            read or write of activation-dtype elements. ``final_passes``: once per step
            (final norm).
        elementwise_kernels_per_layer: kernels launched per layer for that work.
        elementwise_efficiency: fraction of datasheet bandwidth those kernels reach.
    Mixture of experts
        moe_kernel: ``grouped``: one grouped GEMM kernel runs every touched expert (a fused
            MoE kernel, as serving engines ship), routing work fused into it;
            ``per_expert``: a loop over the touched experts, each its own gate+up and down
            GEMM kernels plus the dispatch kernels below (``moe_dispatch``), as the plain
            PyTorch harness runs it (``data/measurements/README.md``).
        moe_dispatch_kernels_per_expert: ``per_expert`` only: elementwise kernels each touched
            expert launches besides its GEMMs (token gather, SiLU, multiply, router-weight
            gather, cast, scale, ``index_add_``).
        moe_dispatch_kernels_per_layer: ``per_expert`` only: once per layer (router logits
            cast to fp32, softmax, top-k, zeroed output).
    Launches
        cuda_graph: the step is replayed as a CUDA graph (decode in serving engines).
        kernel_overhead_us: GPU-side gap per kernel (launch, teardown), paid in graphs too.
        launch_overhead_us: host time to launch one kernel eagerly; an eager step takes
            at least kernels x this (the GPU waits for Python).
    Structure
        fuse_qkv / fuse_gate_up: one GEMM for q,k,v (gate,up) or separate ones.
        operators: which operators the step includes (the Medusa appendix used a subset).
        softmax_passes: unfused attention only: passes of softmax over the score matrix
            (each a read and a write; scale and mask as separate kernels add passes).
        allreduce_latency_us / interconnect_efficiency: tensor-parallel all-reduces.
    Engine (what a serving engine adds around the forward passes; 0 / empty in the plain
    PyTorch profiles)
        host_step_us: host time per engine step the GPU waits for (scheduler, input
            preparation, output processing), paid by plain and speculative steps alike.
        host_draft_pass_us: host time per drafting forward pass (its inputs and launch).
        sampling_passes: logits processing and (rejection) sampling, in passes over the
            fp32 logits of every verified token ``[T, V]`` (each a read or a write);
            ``sampling_kernels`` kernels per step do it.
        cuda_graph_sizes: the sizes the engine captures CUDA graphs for; a step is padded
            up to the next one (beyond the largest it runs unpadded). ``cuda_graph_unit``:
            ``tokens`` (vLLM captures by tokens per step) or ``batch`` (SGLang and
            TensorRT-LLM capture by batch size; tokens = padded batch x tokens per sequence).
    """

    name: str = DEFAULT_PROFILE
    description: str = ""
    caveat: str = ""
    attention: str = "fused"
    decode_attention_kernel: str = "split_kv"
    tree_attention_kernel: str = "split_kv"
    attention_q_block: int = 128
    attention_cta_bandwidth_gbps: float = 20.0
    attention_ctas_per_sm: int = 1
    attention_compute_efficiency: float = 0.5
    gqa_kv_expand: bool = False
    split_kv_combine: bool = False
    attention_mask_kernels: float = 0.0
    bandwidth_efficiency: float = 0.9
    compute_efficiency: float = 0.75
    gemm_tiles: tuple[tuple[int, int], ...] = ((64, 128), (128, 128), (128, 256))
    gemm_split_k: bool = True
    gemm_tile_policy: str = "fastest"
    gemm_fixed_us: float = 4.0
    gemm_l2_spill_penalty: float = 0.0
    elementwise_hidden_passes: float = 8.0
    elementwise_qkv_passes: float = 2.0
    elementwise_intermediate_passes: float = 3.0
    elementwise_final_passes: float = 3.0
    elementwise_kernels_per_layer: int = 4
    elementwise_efficiency: float = 0.8
    moe_kernel: str = "grouped"
    moe_dispatch_kernels_per_expert: float = 7.0
    moe_dispatch_kernels_per_layer: float = 4.0
    cuda_graph: bool = True
    kernel_overhead_us: float = 1.5
    launch_overhead_us: float = 10.0
    fuse_qkv: bool = True
    fuse_gate_up: bool = True
    operators: tuple[str, ...] = STEP_OPERATIONS
    softmax_passes: float = 2.0
    allreduce_latency_us: float = 8.0
    interconnect_efficiency: float = 0.7
    host_step_us: float = 0.0
    host_draft_pass_us: float = 0.0
    sampling_passes: float = 0.0
    sampling_kernels: int = 0
    cuda_graph_sizes: tuple[int, ...] = ()
    cuda_graph_unit: str = "tokens"
    engine: str = ""
    gemm_overlap_q: float = 0.0
    gemm_w8a8: bool = False
    gemm_quantize_us: float = 0.0
    attention_call_us: float = 0.0
    attention_prefill_call_us: float = 0.0
    attention_prefill_block_us: float = 0.0
    attention_seq_us: float = 0.0
    attention_kv_head_us: float = 0.0
    attention_q_head_us: float = 0.0
    attention_bandwidth_efficiency: float = 0.0
    attention_causal: bool = False
    allreduce_fits: tuple[tuple[float, ...], ...] = ()
    moe_fixed_us: float = 0.0
    moe_compute_efficiency: float = 0.5
    moe_bandwidth_efficiency: float = 0.8
    moe_tile_m: int = 64
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    def with_overrides(self, **overrides: Any) -> "ImplementationProfile":
        """A copy with fields replaced, validated; unknown names are an error."""
        known = {f.name for f in fields(self)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise SpecroofError(
                f"unknown profile field(s) {', '.join(unknown)}{suggest(unknown[0], known)}"
            )
        cleaned = {k: _coerce(k, v) for k, v in overrides.items() if v is not None}
        if getattr(self, "_validated", False):  # only the new values need checking
            from specroof.schemas import profile_fields

            result = replace(self, **profile_fields(cleaned, f"profile {self.name}"))
            object.__setattr__(result, "_validated", True)
            return result
        return replace(self, **cleaned).validated()

    def validated(self) -> "ImplementationProfile":
        """This profile with every field checked (type, finiteness, range, known choices).

        Efficiencies are fractions in (0, 1]; times, passes and bandwidths are finite and
        non-negative; booleans must be booleans (the string "false" is an error, not true);
        at least one operator and one GEMM tile are needed.
        """
        from specroof.schemas import profile_fields

        data = {f.name: getattr(self, f.name) for f in fields(self)}
        checked = profile_fields(data, f"profile {self.name}" if isinstance(self.name, str) else "profile")
        changed = {k: v for k, v in checked.items() if v != data[k] or type(v) is not type(data[k])}
        result = replace(self, **changed) if changed else self
        # Every field holds a checked value: with_overrides() then checks only what it changes.
        object.__setattr__(result, "_validated", True)
        return result

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("extra")
        data["gemm_tiles"] = [list(t) for t in self.gemm_tiles]
        data["operators"] = list(self.operators)
        data["cuda_graph_sizes"] = list(self.cuda_graph_sizes)
        data["allreduce_fits"] = [list(r) for r in self.allreduce_fits]
        return data


def _coerce(key: str, value: Any) -> Any:
    """Lists from TOML become tuples; everything else is checked, not converted, by validated()."""
    if key in ("gemm_tiles", "operators", "cuda_graph_sizes") and isinstance(value, list):
        return tuple(tuple(t) if key == "gemm_tiles" and isinstance(t, list) else t for t in value)
    if key == "allreduce_fits" and isinstance(value, (list, tuple)):
        return tuple(tuple(row) if isinstance(row, list) else row for row in value)
    return value


@lru_cache(maxsize=1)
def _profiles_data() -> dict[str, Any]:
    return read_toml(resources.files("specroof.cost") / "profiles.toml", "profiles.toml")


def profile_names() -> tuple[str, ...]:
    return tuple(_profiles_data())


def profile_data() -> dict[str, Any]:
    """The shipped profiles' tables as written in profiles.toml (read once)."""
    return _profiles_data()


def get_profile(name: str | ImplementationProfile | None = None) -> ImplementationProfile:
    """A named implementation profile (default ``serving``).

    A profile table may name a ``base`` profile: it starts from that one's fields (the engine
    profiles share the kernel assumptions of ``serving`` and add their own).
    """
    if isinstance(name, ImplementationProfile):  # built in Python: checked like a file's
        return name if getattr(name, "_validated", False) else name.validated()
    if name is not None and not isinstance(name, str):
        raise SpecroofError(f"profile must be a name or an ImplementationProfile, got {type(name).__name__}")
    key = name or DEFAULT_PROFILE
    data = _profiles_data()
    if key not in data:
        raise SpecroofError(f"unknown implementation profile {key!r}{suggest(key, data)}; valid: {', '.join(data)}")
    return _named_profile(key)


@lru_cache(maxsize=16)
def _named_profile(key: str) -> ImplementationProfile:
    """A profile of profiles.toml with its bases, read and checked once (calibration asks thousands of times)."""
    data = _profiles_data()
    chain: list[str] = []
    while True:
        if key not in data:
            raise SpecroofError(f"unknown implementation profile {key!r}{suggest(key, data)}; valid: {', '.join(data)}")
        if key in chain:
            raise SpecroofError(f"profiles.toml: profile {chain[0]!r} has a cycle of bases: {' -> '.join(chain + [key])}")
        chain.append(key)
        if "base" not in data[key]:
            break
        key = str(data[key]["base"])
    fields_of = {}
    for link in reversed(chain):
        fields_of.update({k: v for k, v in data[link].items() if k != "base"})
    return ImplementationProfile(name=chain[0]).with_overrides(**fields_of)
