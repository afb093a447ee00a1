"""``specroof kernel``: the time of one kernel call, priced as a step prices it."""

from __future__ import annotations

import itertools
import math
from typing import Any

import click

from specroof.cli.common import MAX_OUTPUT_ROWS, emit, format_option, parse_int_list
from specroof.cost.kernel_latency import KINDS, kernel_latency, kernel_setup
from specroof.errors import SpecroofError


def _shape_option(name: str):
    return click.option(f"--{name.replace('_', '-')}", name, default=None, metavar="LIST",
                        help=f"{name}: one value or a list (1,16,64 or 1..64 or 16:112:16).")


@click.command("kernel")
@click.argument("kind", metavar="KIND")
@click.option("--hardware", "hardware", required=True, metavar="NAME|FILE", help="Catalog accelerator or TOML file.")
@click.option("--profile", "profile", default=None, metavar="NAME",
              help="Implementation profile: vllm, sglang, trtllm use the kernels fitted to NVIDIA's measurements "
                   "on the GPUs it measured; default serving.")
@click.option("--dtype", default="bf16", show_default=True, help="Weight precision: bf16, fp16, fp8, fp8_block, int8, int4, mxfp4, nvfp4.")
@click.option("--kv-dtype", default=None, help="KV-cache dtype of attention kernels (default: the activations').")
@click.option("--distribution", default=None, help="MoE routing: balanced or power_law_<a> (default: the profile's).")
@_shape_option("m")
@_shape_option("n")
@_shape_option("k")
@_shape_option("batch")
@_shape_option("kv_len")
@_shape_option("seq_len")
@_shape_option("num_heads")
@_shape_option("num_kv_heads")
@_shape_option("head_dim")
@_shape_option("num_gpus")
@_shape_option("message_bytes")
@_shape_option("num_tokens")
@_shape_option("hidden_size")
@_shape_option("intermediate_size")
@_shape_option("top_k")
@_shape_option("num_experts")
@_shape_option("tokens")
@_shape_option("num_k_heads")
@_shape_option("head_k_dim")
@_shape_option("num_v_heads")
@_shape_option("head_v_dim")
@click.option("--phase", default=None, help="recurrent_scan: generation (default), verify or context.")
@click.option("--state-dtype", default=None, help="recurrent_scan: the state's dtype, fp32 (default), bf16, fp16.")
@format_option
def kernel(kind: str, hardware: str, profile: str | None, dtype: str, kv_dtype: str | None,
           distribution: str | None, phase: str | None, state_dtype: str | None, fmt: str,
           **shape: str | None) -> None:
    """Microseconds of one KIND kernel call: gemm, decode_attention, context_attention,
    allreduce, mla_decode, moe or recurrent_scan, over every combination of the listed shape values.

    \b
    gemm               --m --n --k
    decode_attention   --batch --kv-len --num-heads --num-kv-heads --head-dim [--kv-dtype]
    context_attention  --batch --seq-len --num-heads --num-kv-heads --head-dim
    allreduce          --num-gpus --message-bytes
    mla_decode         --batch --kv-len --num-heads [--kv-dtype]   (DeepSeek-V3's 512 + 64 latent)
    moe                --num-tokens --hidden-size --intermediate-size --top-k --num-experts [--distribution]
    recurrent_scan     --batch --tokens --num-k-heads --head-k-dim --num-v-heads --head-v-dim
                       [--phase] [--state-dtype]   (one linear-attention layer's scan)
    """
    if kind not in KINDS:
        raise SpecroofError(f"unknown kernel kind {kind!r}; valid: {', '.join(KINDS)}")
    required, _ = KINDS[kind]
    given = {name: value for name, value in shape.items() if value is not None}
    extra = sorted(set(given) - set(required))
    if extra:
        raise SpecroofError(f"{kind} does not take {', '.join('--' + e.replace('_', '-') for e in extra)}; "
                            f"it takes {', '.join('--' + r.replace('_', '-') for r in required)}")
    missing = [r for r in required if r not in given]
    if missing:
        raise SpecroofError(f"{kind} needs {', '.join('--' + r.replace('_', '-') for r in missing)}")
    lists = {name: parse_int_list(given[name], name.replace("_", "-")) for name in required}
    count = math.prod(len(lists[name]) for name in required)
    if count > MAX_OUTPUT_ROWS:  # checked before any combination is built
        raise SpecroofError(f"the shape lists make {count:,} combinations, more than the {MAX_OUTPUT_ROWS:,} rows "
                            "`specroof kernel` prints; list fewer values (or call specroof.kernel_latency with arrays)")
    combos = list(itertools.product(*(lists[name] for name in required)))
    columns = {name: [c[i] for c in combos] for i, name in enumerate(required)}
    options: dict[str, Any] = {}
    if kv_dtype is not None:
        if kind not in ("decode_attention", "context_attention", "mla_decode"):
            raise SpecroofError("--kv-dtype applies to decode_attention, context_attention and mla_decode only")
        options["kv_dtype"] = kv_dtype
    if distribution is not None:
        if kind != "moe":
            raise SpecroofError("--distribution applies to moe only")
        options["distribution"] = distribution
    for name, value in (("phase", phase), ("state_dtype", state_dtype)):  # --- linear attention
        if value is not None:
            if kind != "recurrent_scan":
                raise SpecroofError(f"--{name.replace('_', '-')} applies to recurrent_scan only")
            options[name] = value
    us = kernel_latency(kind, hardware, profile=profile, dtype=dtype, **columns, **options)
    rows = [dict(zip(required, c), latency_us=float(t)) for c, t in zip(combos, us)]
    setup = kernel_setup(hardware, profile, dtype)
    emit(rows, fmt, title=f"{kind} on {setup.hardware.name}, profile {setup.profile.name}, {dtype}",
         caveat=setup.profile.caveats)
