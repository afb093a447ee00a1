"""Fit the few physical parameters of src/specroof/kernels/physics.py to measured kernels.

For each GPU x engine and kernel family: select the rows that matter for LLM inference, split
the distinct *shapes* (GEMM (n, k); attention head configs; all-reduce message sizes; MoE
(hidden, inter, experts, topk)) at random into halves, fit on one half and report MAPE on the
other (held-out), then refit on all rows; those parameters go to data/kernels/fitted-params.toml.
The fit minimizes squared log error (close to minimizing relative error).

    python benchmarks/kernels/fit_physics.py --source db       # full database (needs [kernels])
    python benchmarks/kernels/fit_physics.py --source extract  # the committed CSV extract
    python benchmarks/kernels/fit_physics.py --source db --write data/kernels/fitted-params.toml
"""

from __future__ import annotations

import argparse
import json
import sys
import zlib
from pathlib import Path

import numpy as np
from scipy.optimize import least_squares

from specroof.datafiles import read_toml
from specroof.errors import SpecroofError
from specroof.kernels import physics as ph
from specroof.kernels.extract import read_extract

REPO = Path(__file__).resolve().parents[2]
GPUS = ("h200_sxm", "h100_sxm", "b200_sxm", "a100_sxm", "gb200", "l40s")
ENGINES = ("trtllm", "vllm", "sglang")
CATALOG = {"h200_sxm": "h200", "h100_sxm": "h100-sxm", "b200_sxm": "b200", "a100_sxm": "a100-80gb-sxm",
           "l40s": "l40s", "gb200": None}
LLM = (2048, 28672)
MAX_M = 8192
GEMM_DTYPES = ("bf16", "fp8", "fp8_block", "int8_wo", "int4_wo")
MOE_DTYPES = ("bf16", "fp8", "fp8_block")
ALLREDUCE_KINDS = ("vllm_graph", "sglang_graph", "trtllm")  # what a CUDA-graph serving step calls


def catalog(gpu):
    name = CATALOG.get(gpu)
    if name is None:
        return None
    return read_toml(REPO / "src" / "specroof" / "hardware" / "catalog" / f"{name}.toml", name)


class Source:
    def __init__(self, kind, root=None):
        self.kind, self.root = kind, root
        self.versions = {}

    def rows(self, gpu, engine, family):
        try:
            if self.kind == "db":
                from specroof.kernels import database as db
                t = db.find_table(gpu, engine, family, root=self.root)
                self.versions[(gpu, engine, family)] = f"{t.path.relative_to(db.data_root(self.root)).as_posix()}"
                return db.load(gpu, engine, family, t.version, root=self.root)
            return read_extract(gpu, engine, family, self.root)
        except SpecroofError:
            return None


# ---------------------------------------------------------------- selections (the target populations)

def select_gemm(a, dtype):
    s = a[(a["dtype"] == dtype) & (a["m"] <= MAX_M) & (a["n"] >= LLM[0]) & (a["n"] <= LLM[1])
          & (a["k"] >= LLM[0]) & (a["k"] <= LLM[1])]
    return s


def select_decode(a):
    return a[(a["head_dim"] == 128) & (a["kv_dtype"] == "bf16") & (a["window"] == 0)]


def select_context(a):
    return a[(a["head_dim"] == 128) & (a["kv_dtype"] == "bf16") & (a["window"] == 0) & (a["prefix"] == 0)]


def select_allreduce(a):
    a = a[(a["num_gpus"] >= 2) & (a["num_gpus"] <= 8)]
    kinds = [k for k in ALLREDUCE_KINDS if np.any(a["kind"] == k)]
    return a[a["kind"] == kinds[0]] if kinds else a  # one implementation per engine


def select_moe(a, dtype):
    return a[(a["dtype"] == dtype) & (a["num_tokens"] <= MAX_M)]


def shape_keys(family, a):
    if family == "gemm":
        return [f"{n}x{k}" for n, k in zip(a["n"], a["k"])]
    if family in ("decode_attention", "context_attention"):
        return [f"{h}/{kv}" for h, kv in zip(a["num_heads"], a["num_kv_heads"])]
    if family == "allreduce":
        return [str(b) for b in a["message_bytes"]]
    return [f"{h}x{i}x{e}x{k}x{t}x{p}" for h, i, e, k, t, p in
            zip(a["hidden"], a["inter"], a["num_experts"], a["topk"], a["tp"], a["ep"])]


def split(family, a, seed):
    keys = np.array(shape_keys(family, a))
    uniq = np.unique(keys)
    rng = np.random.default_rng(seed)
    fit_keys = set(rng.choice(uniq, max(len(uniq) // 2, 1), replace=False).tolist())
    mask = np.array([k in fit_keys for k in keys])
    if mask.all():  # a single shape: split rows instead
        mask = rng.random(len(a)) < 0.5
    return mask


# ---------------------------------------------------------------- fitting

def fit_log(predict, a, names, x0, fixed):
    """Least squares on log(pred/meas) over log-parameters; returns the parameter dict."""
    meas = a["latency_us"]

    def resid(z):
        p = dict(fixed, **{n: float(np.exp(v)) for n, v in zip(names, z)})
        return np.log(np.maximum(predict(p, a), 1e-9) / meas)

    r = least_squares(resid, np.log(x0), method="trf", loss="soft_l1", f_scale=0.2, max_nfev=400)
    return dict(fixed, **{n: float(np.exp(v)) for n, v in zip(names, r.x)})


def fit_family(family, a, hw, dtype=None):
    """Fit on all of ``a``; returns params. Grid over discrete choices (tile sizes)."""
    bw0 = hw["memory_bandwidth_gbps"] * 0.8 if hw else 2000.0
    if family == "gemm":
        peak = (hw["peak_tflops"].get("fp8" if dtype in ("fp8", "fp8_block") else "bf16", 300) if hw else 300)
        best = None
        for tile in (1, 16, 32, 64, 128):
            p = fit_log(lambda p, r: ph.predict_gemm(p, r, dtype), a, ["flops_tflops", "bandwidth_gbps", "t0_us"],
                        [0.7 * peak, bw0, 5.0], {"tile_m": tile})
            err = ph.mape(ph.predict_gemm(p, a, dtype), a["latency_us"])
            if best is None or err < best[0] - 0.05:
                best = (err, p)
        return best[1]
    if family == "decode_attention":
        return fit_log(ph.predict_decode_attention, a, ["c0_us", "c_seq_us", "bandwidth_gbps"], [8.0, 0.2, bw0], {})
    if family == "context_attention":
        peak = hw["peak_tflops"]["bf16"] if hw else 300
        return fit_log(ph.predict_context_attention, a, ["c0_us", "flops_tflops", "bandwidth_gbps"],
                       [10.0, 0.5 * peak, bw0], {"causal": 1})
    if family == "allreduce":
        p = {}
        for g in np.unique(a["num_gpus"]):
            sub = a[a["num_gpus"] == g]
            q = fit_log(ph.predict_allreduce, sub, [f"latency_us_{g}gpu", f"busbw_gbps_{g}gpu"], [5.0, 200.0], {})
            p.update(q)
        return p
    if family == "moe":
        peak = (hw["peak_tflops"].get("fp8" if dtype != "bf16" else "bf16", 300) if hw else 300)
        best = None
        for tile in (16, 64, 128):
            p = fit_log(lambda p, r: ph.predict_moe(p, r, dtype), a, ["flops_tflops", "bandwidth_gbps", "t0_us"],
                        [0.5 * peak, bw0, 20.0], {"tile_m": tile})
            err = ph.mape(ph.predict_moe(p, a, dtype), a["latency_us"])
            if best is None or err < best[0] - 0.05:
                best = (err, p)
        return best[1]
    raise ValueError(family)


def predict(family, p, a, dtype=None):
    return {"gemm": lambda: ph.predict_gemm(p, a, dtype),
            "decode_attention": lambda: ph.predict_decode_attention(p, a),
            "context_attention": lambda: ph.predict_context_attention(p, a),
            "allreduce": lambda: ph.predict_allreduce(p, a),
            "moe": lambda: ph.predict_moe(p, a, dtype)}[family]()


def thin(a, n, seed):
    """At most n rows, seeded (MoE's per-row expert loop is slow on the full table)."""
    if len(a) <= n:
        return a
    return a[np.sort(np.random.default_rng(seed).choice(len(a), n, replace=False))]


def evaluate(family, a, hw, dtype, seed):
    """Held-out (fit on half the shapes, score the other half) and the all-rows fit."""
    a = thin(a, 6000 if family == "moe" else 40000, seed)
    mask = split(family, a, seed)
    p_half = fit_family(family, a[mask], hw, dtype)
    held = ph.mape(predict(family, p_half, a[~mask], dtype), a[~mask]["latency_us"])
    p = fit_family(family, a, hw, dtype)
    pred = predict(family, p, a, dtype)
    err = np.abs(pred - a["latency_us"]) / a["latency_us"] * 100
    return p, {"rows": int(len(a)), "mape_heldout_pct": round(held, 2), "mape_fit_pct": round(float(err.mean()), 2),
               "median_ape_pct": round(float(np.median(err)), 2), "worst_ape_pct": round(float(err.max()), 1),
               "bias_pct": round(float(np.mean((pred - a["latency_us"]) / a["latency_us"]) * 100), 2)}


SECTIONS = ([("gemm_" + d, "gemm", d, select_gemm) for d in GEMM_DTYPES]
            + [("decode_attention", "decode_attention", None, lambda a, d: select_decode(a)),
               ("context_attention", "context_attention", None, lambda a, d: select_context(a)),
               ("allreduce", "allreduce", None, lambda a, d: select_allreduce(a))]
            + [("moe_" + d, "moe", d, select_moe) for d in MOE_DTYPES])


def run(source, gpus, engines, sections):
    results = {}
    for gpu in gpus:
        hw = catalog(gpu)
        for engine in engines:
            cache = {}
            for name, family, dtype, sel in SECTIONS:
                if sections and name not in sections:
                    continue
                if family not in cache:
                    cache = {family: source.rows(gpu, engine, family)}  # one table in memory at a time
                a = cache[family]
                if a is None:
                    continue
                a = sel(a, dtype)
                if len(a) < 8:
                    continue
                seed = zlib.crc32(f"{gpu}-{engine}-{name}".encode())
                p, stats = evaluate(family, a, hw, dtype, seed)
                stats["table"] = source.versions.get((gpu, engine, family), "extract")
                results[(gpu, engine, name)] = (p, stats)
                print(f"{gpu:9s} {engine:6s} {name:18s} n={stats['rows']:6d} held-out {stats['mape_heldout_pct']:6.2f}% "
                      f"fit {stats['mape_fit_pct']:6.2f}% bias {stats['bias_pct']:+6.2f}% "
                      + " ".join(f"{k}={v:.4g}" for k, v in p.items()), flush=True)
    return results


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", choices=["db", "extract"], default="extract")
    ap.add_argument("--root", default=None)
    ap.add_argument("--gpu", action="append")
    ap.add_argument("--engine", action="append")
    ap.add_argument("--section", action="append")
    ap.add_argument("--json", type=Path, help="write all results as JSON")
    args = ap.parse_args()
    res = run(Source(args.source, args.root), args.gpu or GPUS, args.engine or ENGINES, args.section)
    if args.json:
        args.json.write_text(json.dumps({"/".join(k): {"params": p, "stats": s} for k, (p, s) in res.items()}, indent=1))


if __name__ == "__main__":
    sys.exit(main())
