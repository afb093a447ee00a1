"""Regenerate the committed kernel extract, data/kernels/extract/<gpu>-<engine>-<family>.csv.

Needs the optional extra (``pip install 'specroof[kernels]'``, i.e. aiconfigurator-core 0.12.0).
Reads one table at a time from NVIDIA's database, keeps the rows that matter for LLM
inference, and writes a small seeded sample of them in specroof's normalized schema
(microseconds, bytes, our dtype names). Deterministic: the same database gives the same files.

    python tools/kernels/make_extract.py [--out data/kernels/extract] [--root DATA_DIR]
"""

from __future__ import annotations

import argparse
import zlib
from pathlib import Path

import numpy as np

from specroof.calibration.kernels.selection import one_gated_kernel
from specroof.errors import SpecroofError
from specroof.kernels import database as db
from specroof.kernels.extract import write_csv

GPUS = ("h200_sxm", "h100_sxm", "b200_sxm", "a100_sxm", "gb200", "l40s")
ENGINES = ("trtllm", "vllm", "sglang")
LLM_WIDTH = (2048, 28672)  # n and k of LLM projections
MAX_M = 8192
TILE_PROBE_NK = ((4096, 4096), (12288, 4096))  # every measured M kept for these, to show tile steps

# rows per stratum
GEMM_PER_DTYPE = {"bf16": 150, "fp8": 70, "fp8_block": 50, "int8_wo": 50, "int4_wo": 50,
                  "nvfp4": 50}  # appended last: the earlier dtypes' samples do not move
ATTN_ROWS = {"bf16": 220, "fp8": 40}
CTX_ROWS = 160
MOE_ROWS = 240
MOE_FORMAT_ROWS = {"nvfp4": 120, "w4a16_mxfp4": 120}
"""Block-scaled 4-bit MoE rows (cost/precision), sampled after the 240 above with the same stream,
from the one kernel their fit selects."""
MLA_ROWS = {"bf16": 200, "fp8": 40}  # --- MLA


def rng_for(name: str) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(name.encode()))


def pick(rows: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    if len(rows) <= n:
        return rows
    return rows[np.sort(rng.choice(len(rows), n, replace=False))]


def sample_gemm(a, rng):
    llm = (a["n"] >= LLM_WIDTH[0]) & (a["n"] <= LLM_WIDTH[1]) & (a["k"] >= LLM_WIDTH[0]) \
        & (a["k"] <= LLM_WIDTH[1]) & (a["m"] <= MAX_M)
    parts = []
    for dtype, n in GEMM_PER_DTYPE.items():
        sel = llm & (a["dtype"] == dtype)
        probe = np.zeros(len(a), bool)
        if dtype == "bf16":
            for nn, kk in TILE_PROBE_NK:
                probe |= sel & (a["n"] == nn) & (a["k"] == kk)
        parts += [a[probe], pick(a[sel & ~probe], n, rng)]
    return np.concatenate(parts)


def sample_decode(a, rng):
    base = (a["head_dim"] == 128) & (a["window"] == 0)
    full = [pick(a[base & (a["kv_dtype"] == kv)], n, rng) for kv, n in ATTN_ROWS.items()]
    return np.concatenate(full + sample_window(a))


# --- windows: windowed decode rows (gpt-oss shapes, head_dim 64) and full-attention rows of the
# same head width, appended with their own seed so the rows above stay the same.
WINDOW_ROWS = {"per_window": 30, "full_hd64": 45}


def sample_window(a):
    """30 rows per window size (the tables hold mostly gpt-oss's 128) and 45 full head-64 rows."""
    rng = np.random.default_rng(zlib.crc32(b"decode_attention-window"))
    bf16 = a["kv_dtype"] == "bf16"
    windows = np.unique(a["window"][bf16 & (a["window"] > 0)])
    return [pick(a[bf16 & (a["window"] == w)], WINDOW_ROWS["per_window"], rng) for w in windows] + [
        pick(a[bf16 & (a["window"] == 0) & (a["head_dim"] == 64)], WINDOW_ROWS["full_hd64"], rng)]


def sample_context(a, rng):
    base = (a["head_dim"] == 128) & (a["window"] == 0) & (a["kv_dtype"] == "bf16") & (a["prefix"] == 0)
    return pick(a[base], CTX_ROWS, rng)


def sample_allreduce(a, rng):
    return a[(a["num_gpus"] >= 2) & (a["num_gpus"] <= 8)]


def sample_moe(a, rng):
    base = np.isin(a["dtype"], ["bf16", "fp8", "fp8_block"]) & (a["num_tokens"] <= MAX_M) \
        & (a["tp"] == 1) & (a["ep"] == 1)
    parts = [pick(a[base], MOE_ROWS, rng)]
    single = (a["num_tokens"] <= MAX_M) & (a["tp"] == 1) & (a["ep"] == 1)
    # one kernel per format, the one the fit selects on the whole table (selection.one_gated_kernel)
    parts += [pick(one_gated_kernel(a[single & (a["dtype"] == dtype)]), n, rng) for dtype, n in MOE_FORMAT_ROWS.items()]
    return np.concatenate(parts)


LINEAR_ROWS_PER_PHASE = 80
LINEAR_MAX_SEQ = 8192


def sample_linear(a, rng):
    """--- linear attention: the scan kernels (not the short convolution), per phase, prompts up
    to 8,192 tokens."""
    scan = ~np.char.startswith(a["kernel"].astype(str), "causal_conv1d") & (a["seq_len"] <= LINEAR_MAX_SEQ)
    return np.concatenate([pick(a[scan & (a["phase"] == p)], LINEAR_ROWS_PER_PHASE, rng)
                           for p in ("context", "generation", "verify")])


def sample_mla_decode(a, rng):
    """MLA decode kernels: bf16 and fp8 latent caches, every head count (the held-out axis)."""
    return np.concatenate([pick(a[a["kv_dtype"] == kv], n, rng) for kv, n in MLA_ROWS.items()])


def sample_mla_module(a, rng):
    """Whole MLA attention layers with bf16 GEMMs and cache (a validation set: nothing is fitted to it)."""
    return pick(a[(a["dtype"] == "bf16") & (a["kv_dtype"] == "bf16")], MLA_ROWS["bf16"], rng)


def sample_mla_bmm(a, rng):
    """The absorbed path's bf16 batched GEMMs, both halves (a validation set: nothing is fitted to it)."""
    return pick(a[a["dtype"] == "bf16"], MLA_ROWS["bf16"], rng)


SAMPLERS = {"gemm": sample_gemm, "decode_attention": sample_decode, "context_attention": sample_context,
            "allreduce": sample_allreduce, "moe": sample_moe, "gdn": sample_linear, "kda": sample_linear,
            "mamba2": sample_linear, "mla_decode": sample_mla_decode, "mla_module": sample_mla_module,
            "dsa_module": sample_mla_module, "mla_bmm": sample_mla_bmm}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[2] / "data" / "kernels" / "extract")
    ap.add_argument("--root", default=None, help="aiconfigurator_core/systems/data (default: the installed one)")
    ap.add_argument("--gpu", action="append", help="only these GPUs (default: all of GPUS)")
    ap.add_argument("--family", action="append", choices=sorted(SAMPLERS), help="only these families (default: all)")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    root = db.data_root(args.root)
    total = 0
    for gpu in args.gpu or GPUS:
        for engine in ENGINES + ("nccl",):
            for family, sampler in SAMPLERS.items():
                if (engine == "nccl" and family != "allreduce") or (args.family and family not in args.family):
                    continue
                try:
                    table = db.find_table(gpu, engine, family, root=root)
                except SpecroofError:
                    continue
                rows = sampler(db.load(gpu, engine, family, table.version, root), rng_for(f"{gpu}-{engine}-{family}"))
                if len(rows) == 0:
                    continue
                path = args.out / f"{gpu}-{engine}-{family}.csv"
                rel = table.path.relative_to(root)
                write_csv(path, family, rows, [
                    "Sampled from NVIDIA aiconfigurator-core 0.12.0 (Apache-2.0), see data/kernels/NOTICE",
                    f"source: aiconfigurator_core/systems/data/{rel.as_posix()} (version {table.version})",
                    "columns renamed to specroof's schema; latency converted ms -> us; allreduce size elements -> bytes",
                ])
                total += path.stat().st_size
                print(f"{path.name}: {len(rows)} rows")
    print(f"total {total / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
