"""Implementation profiles: every software assumption of the cost model, in one place.

The time of a step depends on the hardware *and* on how the software uses it: whether
attention keeps scores on chip, whether elementwise work is fused, whether the step is a CUDA
graph, what fraction of peak bandwidth and FLOP/s kernels reach. Those assumptions live in an
:class:`ImplementationProfile`. Named profiles are data (``cost/profiles.toml``); a calibrated
hardware file overrides the fields it fitted; explicit options override both.

Each field is declared once (:func:`specroof.checks.declare`): its check, unit, meaning and fit
bounds. The schema of profile tables, the calibration's fit bounds, the kernel fit's bounds and
``docs/fields.md`` are derived from those declarations.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from functools import lru_cache
from importlib import resources
from typing import Any

from specroof.checks import BOOL, FRACTION, NAME, TEXT, Check, check, choice, declare, integer, number, schema
from specroof.cost.operation import STEP_OPERATIONS
from specroof.cost.profile_checks import (
    ALLREDUCE_FITS,
    ENGINE,
    GEMM_TILES,
    GRAPH_SIZES,
    KERNELS,
    MICROSECONDS,
    OPERATIONS,
    OVERLAP,
    PASSES,
    TILE,
    normal_form,
)
from specroof.cost.profile_versions import versioned_key
from specroof.datafiles import read_toml
from specroof.errors import SpecroofError, suggest

ATTENTION_KINDS = ("fused", "unfused")
ATTENTION_KERNELS = ("split_kv", "per_head", "paged")
MOE_KERNELS = ("grouped", "per_expert", "fused")
DEFAULT_PROFILE = "serving"
_KERNEL = choice(*ATTENTION_KERNELS)


@dataclass(frozen=True)
class ImplementationProfile:
    """The assumptions behind the cost of a step: each field's unit and meaning is declared
    with it (and tabled in ``docs/fields.md``). Groups: attention, GEMMs, the engines' fitted
    kernels (``paged`` attention, fused MoE, measured all-reduce: src/specroof/cost/engine_kernels.toml),
    elementwise work, mixture of experts, launches, structure, and what a serving engine adds
    around the forward passes (0 / empty in the plain PyTorch profiles)."""

    name: str = declare(DEFAULT_PROFILE, NAME, "", "the profile's name")
    description: str = declare("", TEXT, "", "what the profile stands for, in one line")
    kernels_caveat: str = declare("", TEXT, "", "where the kernel parameters come from (datasheet priors, or "
                                  "the fit that replaced them: fitting replaces this field only)")
    caveat: str = declare("", TEXT, "", "what else a user must know before quoting results of this profile "
                          "(host time, reproduced ratios)")
    # Attention
    attention: str = declare("fused", choice(*ATTENTION_KINDS), "", "fused: flash-style, scores stay on chip; "
                             "unfused: Q K^T and P V are batched GEMMs and the b*H*n*(s+n) score matrix goes "
                             "through memory (written, read and written by softmax, read again)")
    decode_attention_kernel: str = declare(
        "split_kv", _KERNEL, "", "fused kernel for one query per sequence: split_kv splits the KV sequence over "
        "enough thread blocks to fill the GPU (flash-decoding); per_head runs one block per (sequence, query "
        "head, attention_q_block queries) with no split (PyTorch's memory-efficient SDPA); paged: the engines' "
        "kernel, priced with the attention_*_us fields")
    tree_attention_kernel: str = declare("split_kv", _KERNEL, "", "the same choice for candidate trees (n > 1)")
    attention_q_block: int = declare(128, TILE, "queries", "queries per thread block of the per_head and "
                                     "context attention kernels")
    attention_cta_bandwidth_gbps: float = declare(
        20.0, Check(number, gt=0, le=1e6), "GB/s", "bandwidth one thread block of the per_head attention kernel "
        "streams KV at (at small batch few SMs work)", fit=(1.0, 500.0))
    attention_ctas_per_sm: int = declare(1, Check(integer, ge=1, le=1024), "blocks",
                                         "per_head blocks run in waves of sm_count x this")
    attention_compute_efficiency: float = declare(0.5, FRACTION, "fraction", "fraction of tensor peak the "
                                                  "attention math reaches", fit=(0.02, 1.0), kernel_fit=(0.02, 1.0))
    gqa_kv_expand: bool = declare(False, BOOL, "", "K and V are copied to one head per query head before the "
                                  "per_head kernel (repeat_kv, as transformers does when SDPA is not told "
                                  "enable_gqa): that copy's traffic and two kernels are added")
    split_kv_combine: bool = declare(False, BOOL, "", "split_kv splits as FlashAttention-2 does (PyTorch's flash "
                                     "SDPA): only when its blocks would not fill the GPU, and then a second kernel "
                                     "combines the splits' partial outputs (fp32, written and read)")
    attention_mask_kernels: float = declare(0.0, PASSES, "kernels", "kernels launched before each attention call "
                                            "of n > 1 queries to turn the boolean tree mask into an additive one "
                                            "(PyTorch's SDPA: logical_not and where); 0 when the kernel takes the "
                                            "tree itself")
    # GEMMs
    bandwidth_efficiency: float = declare(0.9, FRACTION, "fraction", "fraction of datasheet memory bandwidth that "
                                          "GEMMs and attention stream at", fit=(0.4, 1.0), kernel_fit=(0.02, 1.0))
    compute_efficiency: float = declare(0.75, FRACTION, "fraction", "fraction of dense tensor peak a full wave of "
                                        "GEMM tiles reaches", fit=(0.2, 1.0), kernel_fit=(0.02, 1.0))
    gemm_tiles: tuple[tuple[int, int], ...] = declare(
        ((64, 128), (128, 128), (128, 256)), GEMM_TILES, "[rows, cols]", "candidate GEMM output tiles: a GEMM's "
        "rows (tokens) are padded to the tile and tiles run in waves over the SMs; the fastest tile is taken, as "
        "cuBLAS heuristics do (this is what makes speedup curves step)")
    gemm_split_k: bool = declare(True, BOOL, "", "small GEMMs split the reduction over idle SMs (cuBLAS split-K)")
    gemm_tile_policy: str = declare(
        "fastest", choice("fastest", "fill", "rows"), "", "fastest: the quickest tile (autotuned); fill: the "
        "largest tile that still fills the SMs (shape-threshold heuristics); rows: rows padded to the first tile's "
        "rows and no wave quantization (many tile shapes and stream-K kernels, as cuBLAS on Hopper: measured "
        "t(M+1)/t(M) medians of 1.02-1.07 at M = 128/256/512, docs/kernels-data.md 4.1)")
    gemm_fixed_us: float = declare(4.0, MICROSECONDS, "us", "fixed latency per GEMM/attention kernel (prologue, "
                                   "first loads at DRAM latency, epilogue, last-wave drain) on top of the roofline",
                                   fit=(0.1, 40.0), kernel_fit=(1e-3, 60.0))
    gemm_l2_spill_penalty: float = declare(
        0.0, OVERLAP, "fraction", "GEMM compute slowdown when its activations (in and out) no longer fit in L2, "
        "times the fraction that spills (H200: 0.07-0.09 in every held-out split)", fit=(0.001, 0.6))
    # Elementwise work (norms, RoPE, residual adds, SiLU, KV-cache writes, copies)
    elementwise_hidden_passes: float = declare(8.0, PASSES, "passes", "elementwise traffic per token and layer, in "
                                               "passes (one read or write of activation-dtype elements) over a "
                                               "tensor of the hidden width")
    elementwise_qkv_passes: float = declare(2.0, PASSES, "passes", "the same over the q, k, v widths")
    elementwise_intermediate_passes: float = declare(3.0, PASSES, "passes", "the same over the MLP intermediate width")
    elementwise_final_passes: float = declare(3.0, PASSES, "passes", "passes over the hidden width once per step "
                                              "(final norm)")
    elementwise_kernels_per_layer: int = declare(4, KERNELS, "kernels", "kernels launched per layer for the "
                                                 "elementwise work")
    elementwise_efficiency: float = declare(0.8, FRACTION, "fraction", "fraction of datasheet bandwidth elementwise "
                                            "kernels reach", fit=(0.05, 1.0))
    # Mixture of experts
    moe_kernel: str = declare(
        "grouped", choice(*MOE_KERNELS), "", "grouped: one grouped-GEMM kernel runs every touched expert, routing "
        "fused into it (serving engines); per_expert: a loop over the touched experts, each its own GEMMs plus "
        "the dispatch kernels (the plain PyTorch harness); fused: the engines' fused MoE layer (routing, "
        "permute, grouped GEMMs with rows padded to moe_tile_m, un-permute), priced with the moe_* fields")
    moe_dispatch_kernels_per_expert: float = declare(
        7.0, PASSES, "kernels", "per_expert only: elementwise kernels each touched expert launches besides its "
        "GEMMs (token gather, SiLU, multiply, router-weight gather, cast, scale, index_add_)")
    moe_dispatch_kernels_per_layer: float = declare(4.0, PASSES, "kernels", "per_expert only: kernels once per "
                                                    "layer (router logits cast, softmax, top-k, zeroed output)")
    # Launches
    cuda_graph: bool = declare(True, BOOL, "", "the step is replayed as a CUDA graph (decode in serving engines)")
    kernel_overhead_us: float = declare(1.5, MICROSECONDS, "us", "GPU-side gap per kernel inside the step "
                                        "(launch, teardown), paid in graphs too", fit=(0.1, 20.0))
    launch_overhead_us: float = declare(10.0, MICROSECONDS, "us", "host time to launch one kernel eagerly; an eager "
                                        "step takes at least kernels x this", fit=(0.5, 200.0))
    # Structure
    fuse_qkv: bool = declare(True, BOOL, "", "one GEMM for q, k and v (else three)")
    fuse_gate_up: bool = declare(True, BOOL, "", "one GEMM for gate and up (else two)")
    operators: tuple[str, ...] = declare(STEP_OPERATIONS, OPERATIONS, "", "which operations the step includes "
                                         "(the Medusa appendix used a subset)")
    softmax_passes: float = declare(2.0, PASSES, "passes", "unfused attention only: passes of softmax over the "
                                    "score matrix (each a read and a write; scale and mask kernels add passes)")
    allreduce_latency_us: float = declare(8.0, MICROSECONDS, "us", "fixed latency of one tensor-parallel ring "
                                          "all-reduce (GPU counts allreduce_fits does not list)")
    interconnect_efficiency: float = declare(0.7, FRACTION, "fraction", "fraction of interconnect bandwidth a ring "
                                             "all-reduce reaches")
    # Engine
    host_step_us: float = declare(0.0, MICROSECONDS, "us", "host time per engine step the GPU waits for (scheduler, "
                                  "input preparation, output processing), paid by plain and speculative steps alike")
    host_draft_pass_us: float = declare(0.0, MICROSECONDS, "us", "host time per drafting forward pass (its inputs "
                                        "and launch)")
    # --- research code's eager host work (cost/engine_work/research.py)
    host_sync_us: float = declare(0.0, MICROSECONDS, "us", "host time of one host-device synchronization in eager "
                                  "Python code (.item(), .tolist(), a CUDA scalar used as an index): the small "
                                  "device-to-host copy's round trip; the GPU idles until the next launch")
    host_cpu_op_us: float = declare(0.0, MICROSECONDS, "us", "host time of one PyTorch call on a CPU tensor (the "
                                    "dispatcher, no kernel): research code's tree and KV-length bookkeeping")
    sampling_passes: float = declare(0.0, PASSES, "passes", "logits processing and (rejection) sampling, in passes "
                                     "(a read or a write) over the fp32 logits of every verified token [T, V]")
    sampling_kernels: int = declare(0, KERNELS, "kernels", "kernels per step that do the sampling")
    cuda_graph_sizes: tuple[int, ...] = declare((), GRAPH_SIZES, "tokens or sequences", "sizes the engine "
                                                "captures CUDA graphs for; a step is padded up to the next one "
                                                "(beyond the largest it runs unpadded)")
    cuda_graph_unit: str = declare("tokens", choice("tokens", "batch"), "", "tokens: vLLM captures by tokens per "
                                   "step; batch: SGLang and TensorRT-LLM capture by batch size (tokens = padded "
                                   "batch x tokens per sequence)")
    engine_version: str = declare("", TEXT, "", "the engine version whose speculation overheads and host times "
                                  "the profile carries (a versioned profile, e.g. vllm@0.10); empty: not versioned")
    speculation_work: str = declare("none", NAME, "", "the engine's own work around a speculative step "
                                    "(cost/engine_work: hidden-state capture, tree building, accept kernels, host "
                                    "work); none: nothing beyond the model's passes")
    relaxed_acceptance_topk: int = declare(0, Check(integer, ge=0, le=1024), "tokens", "MTP relaxed acceptance "
                                           "(TensorRT-LLM): softmax and top-k of every verified token's logits; 0: strict")
    engine: str = declare("", ENGINE, "", "the engine whose kernels fitted to NVIDIA's kernel database "
                          "(cost/engine_kernels.toml) apply on a catalog device; empty: none")
    gemm_overlap_q: float = declare(0.0, OVERLAP, "", "how compute and memory time overlap in a GEMM: "
                                    "(compute^q + memory^q)^(1/q); 0 is perfect overlap (the roofline), 1 none "
                                    "(they add); measured q = 2.5-3 on Hopper", kernel_fit=(1.0, 50.0))
    gemm_w8a8: bool = declare(False, BOOL, "", "fp8 weights run as fp8 x fp8 GEMMs (as serving engines do): the "
                              "bf16 activations are first quantized by a separate kernel")
    gemm_quantize_us: float = declare(0.0, MICROSECONDS, "us", "fixed time of that quantize kernel per call (plus "
                                      "a read of the activations and a write of their fp8 copy)",
                                      kernel_fit=(1e-3, 60.0))
    attention_call_us: float = declare(0.0, MICROSECONDS, "us", "fixed cost of one paged attention call with one "
                                       "query per sequence (launch, split-KV reduction)", kernel_fit=(1e-3, 60.0))
    attention_prefill_call_us: float = declare(0.0, MICROSECONDS, "us", "the same with more queries per sequence",
                                               kernel_fit=(1e-3, 100.0))
    attention_prefill_block_us: float = declare(
        0.0, MICROSECONDS, "us", "SM time per context-kernel thread block (sequence, query head, attention_q_block "
        "queries): Q load, O write, its diagonal tile; causal score tiles are computed whole",
        kernel_fit=(1e-3, 100.0))
    attention_seq_us: float = declare(0.0, MICROSECONDS, "us", "paged decode work per sequence, paid even on an "
                                      "empty cache", kernel_fit=(1e-6, 5.0))
    attention_kv_head_us: float = declare(0.0, MICROSECONDS, "us", "paged decode work per (sequence, KV head) "
                                          "thread block", kernel_fit=(1e-6, 5.0))
    attention_q_head_us: float = declare(0.0, MICROSECONDS, "us", "paged decode work per (sequence, query head): "
                                         "softmax, output write", kernel_fit=(1e-6, 5.0))
    attention_bandwidth_efficiency: float = declare(
        0.0, Check(number, ge=0, le=1), "fraction", "fraction of datasheet bandwidth the paged KV stream reaches "
        "(0: bandwidth_efficiency)", kernel_fit=(0.05, 1.0))
    attention_causal: bool = declare(False, BOOL, "", "count only the causal half of the score square for more "
                                     "than one query")
    allreduce_fits: tuple[tuple[float, ...], ...] = declare(
        (), ALLREDUCE_FITS, "[gpus, us, GB/s, us, GB/s]", "measured custom all-reduce per GPU count, rows [gpus, "
        "latency_us, oneshot_gbps, twoshot_us, busbw_gbps]: the faster of one-shot (read every peer's buffer) and "
        "two-shot (reduce-scatter + all-gather); a GPU count not listed uses the ring line")
    moe_fixed_us: float = declare(0.0, MICROSECONDS, "us", "fixed time of one fused MoE layer",
                                  kernel_fit=(1e-3, 500.0))
    moe_compute_efficiency: float = declare(0.5, FRACTION, "fraction", "fraction of tensor peak the fused MoE "
                                            "layer's expert GEMMs reach", kernel_fit=(0.01, 1.0))
    moe_bandwidth_efficiency: float = declare(0.8, FRACTION, "fraction", "fraction of datasheet bandwidth the fused "
                                              "MoE layer reaches", kernel_fit=(0.02, 1.0))
    moe_tile_m: int = declare(64, TILE, "rows", "rows each expert's tokens are padded to in the fused MoE kernel")
    # --- linear attention (cost/pricing_linear.py)
    linear_scan_call_us: float = declare(0.0, MICROSECONDS, "us", "fixed time of one recurrent linear-attention "
                                         "kernel call (decode, verification)", kernel_fit=(1e-3, 100.0))
    linear_scan_chunk_call_us: float = declare(0.0, MICROSECONDS, "us", "fixed time of one chunked linear-attention "
                                               "kernel call (prefill)", kernel_fit=(1e-3, 200.0))
    linear_scan_chunk_step_us: float = declare(0.0, MICROSECONDS, "us", "time of one chunk's step in the chunked "
                                               "kernel's serial state pass, per (sequence, head) program",
                                               kernel_fit=(1e-3, 50.0))
    linear_scan_bandwidth_efficiency: float = declare(
        0.0, Check(number, ge=0, le=1), "fraction", "fraction of datasheet bandwidth the scan's state and q/k/v "
        "streams reach in the recurrent kernel (0: bandwidth_efficiency)", kernel_fit=(0.02, 1.0))
    linear_scan_chunk_bandwidth_efficiency: float = declare(
        0.0, Check(number, ge=0, le=1), "fraction", "the same for the chunked (prefill) kernel, whose staged chunk "
        "states and u, w go through memory (0: bandwidth_efficiency)", kernel_fit=(0.02, 1.0))
    linear_state_copy: bool = declare(False, BOOL, "", "verification writes the candidates' states apart from the "
                                      "running one and copies the accepted state back (SGLang, TensorRT-LLM): one "
                                      "more state held per sequence and layer, one more read and write per step")
    linear_scan_compute_efficiency: float = declare(
        0.0, Check(number, ge=0, le=1), "fraction", "fraction of tensor peak the chunked scan's matrix products "
        "reach (0: compute_efficiency)", kernel_fit=(0.005, 1.0))
    # --- MLA: the latent attention kernel (FlashMLA-style; cost/pricing_mla.py)
    mla_call_us: float = declare(0.0, MICROSECONDS, "us", "fixed cost of one latent attention call (launch, "
                                 "split-KV metadata and combine)", kernel_fit=(1e-3, 100.0))
    mla_seq_us: float = declare(0.0, MICROSECONDS, "us", "latent attention work per sequence, paid even on an "
                                "empty cache", kernel_fit=(1e-6, 10.0))
    mla_row_us: float = declare(0.0, MICROSECONDS, "us", "latent attention work per (sequence, query head x "
                                "query) row: its softmax and output write", kernel_fit=(1e-7, 5.0))
    mla_bandwidth_efficiency: float = declare(
        0.0, Check(number, ge=0, le=1), "fraction", "fraction of datasheet bandwidth the latent cache stream reaches "
        "(0: attention_bandwidth_efficiency, else bandwidth_efficiency)", kernel_fit=(0.05, 1.0))
    mla_compute_efficiency: float = declare(
        0.0, Check(number, ge=0, le=1), "fraction", "fraction of tensor peak the latent attention math reaches (0: "
        "attention_compute_efficiency)", kernel_fit=(0.02, 1.0))
    dsa_indexer_us: float = declare(0.0, MICROSECONDS, "us", "fixed time of one DSA indexer call beyond its "
                                    "scores and top-k (its quantize, norm, RoPE, cache-write and weighting "
                                    "kernels)", kernel_fit=(1e-3, 1000.0))
    # --- tensor-parallel all-reduce implementation (cost/allreduce.py)
    allreduce_nccl: bool = declare(False, BOOL, "", "every all-reduce runs NCCL, priced by its line measured on the "
                                   "device (cost/allreduce_nccl.toml): the engine's custom all-reduce is off (SGLang "
                                   "--disable-custom-all-reduce, vLLM disable_custom_all_reduce)")
    gpu_p2p: bool = declare(True, BOOL, "", "the GPUs read each other's memory (NVLink or PCIe peer-to-peer); false "
                            "(cloud VMs without P2P): the engines' custom all-reduce is off and NCCL stages every "
                            "all-reduce through host memory, priced by its SHM line (cost/allreduce_shm.toml)")
    draft_logits_every_row: bool = declare(False, BOOL, "", "the first drafting pass (over every verified token) "
                                           "projects every row to logits; false: only each sequence's last row, as "
                                           "vLLM, SGLang and TensorRT-LLM one-model gather before the LM head")
    # --- drafter layers under tensor parallelism (cost/drafting_ops.py)
    drafter_fc_sharded: bool = declare(False, BOOL, "", "the drafter's input projection (EAGLE fc, MTP eh_proj) is "
                                       "split over the tp GPUs (row-parallel, one all-reduce); false: replicated on "
                                       "every rank, as vLLM, SGLang and TensorRT-LLM build it")
    # --- speculative host time and the overlap scheduler (cost/engine_work/sglang.py)
    speculative_host_us: float = declare(0.0, MICROSECONDS, "us", "host time per speculative step (its worker's "
                                         "Python, device syncs, eager launches, scheduling), paid unless hidden")
    speculative_host_overlap: str = declare("none", choice("none", "chain", "all"), "", "speculative steps the overlap "
                                            "scheduler hides that host time for: none, chain (topk 1) or all")
    # Engine: CPU n-gram matching per step (cost/engine_work/vllm.py)
    host_ngram_seq_us: float = declare(0.0, MICROSECONDS, "us", "CPU n-gram lookup per sequence and step (call)")
    host_ngram_token_ns: float = declare(0.0, Check(number, ge=0, le=1e6), "ns", "the same per token of context searched")

    @property
    def caveats(self) -> str:
        """What the CLI prints under every table: where the kernels come from, then the rest."""
        return "; ".join(text for text in (self.kernels_caveat, self.caveat) if text)

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
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        checked = profile_fields(data, f"profile {self.name}" if isinstance(self.name, str) else "profile")
        changed = {k: v for k, v in checked.items() if v != data[k] or type(v) is not type(data[k])}
        result = replace(self, **changed) if changed else self
        # Every field holds a checked value: with_overrides() then checks only what it changes.
        object.__setattr__(result, "_validated", True)
        return result

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["gemm_tiles"] = [list(t) for t in self.gemm_tiles]
        data["operators"] = list(self.operators)
        data["cuda_graph_sizes"] = list(self.cuda_graph_sizes)
        data["allreduce_fits"] = [list(r) for r in self.allreduce_fits]
        return data


def profile_fields(data: dict[str, Any], label: str = "profile") -> dict[str, Any]:
    """``data`` (a subset of profile fields) checked and normalized; tiles and operators as tuples."""
    checked = check(schema(ImplementationProfile, all_optional=True), data, label)
    return normal_form({k: getattr(checked, k) for k in data})


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
    key = versioned_key(name or DEFAULT_PROFILE, _profiles_data())
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
