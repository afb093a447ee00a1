"""Fit the few physical parameters of src/specroof/kernels/physics.py to measured kernels.

For each GPU x engine and kernel family: select the rows that matter for LLM inference, split
the distinct *shapes* (GEMM (n, k); attention head configs; all-reduce message sizes; MoE
(hidden, inter, experts, topk)) at random into halves, fit on one half and report MAPE on the
other (held-out), then refit on all rows; those parameters go to data/kernels/fitted-params.toml.
The fit minimizes squared log error (close to minimizing relative error).

    python benchmarks/kernels/fit_physics.py --source db       # full database (needs [kernels])
    python benchmarks/kernels/fit_physics.py --source extract  # the committed CSV extract
    python benchmarks/kernels/fit_physics.py --source db --write data/kernels/fitted-params.toml
    python benchmarks/kernels/fit_physics.py --score-extract data/kernels/fitted-params.toml
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import zlib
from pathlib import Path

import numpy as np
from scipy.optimize import least_squares

from specroof.datafiles import read_toml
from specroof.errors import SpecroofError
from specroof.kernels import physics as ph
from specroof.kernels import selection as sel
from specroof.kernels.extract import read_extract

REPO = Path(__file__).resolve().parents[2]
GPUS = ("h200_sxm", "h100_sxm", "b200_sxm", "a100_sxm", "gb200", "l40s")
ENGINES = ("trtllm", "vllm", "sglang")
CATALOG = {"h200_sxm": "h200", "h100_sxm": "h100-sxm", "b200_sxm": "b200", "a100_sxm": "a100-80gb-sxm",
           "l40s": "l40s", "gb200": None}
LLM = sel.LLM_WIDTH
MAX_M = sel.MAX_M


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


# ---------------------------------------------------------------- selections: src/specroof/kernels/selection.py

select_gemm, select_decode, select_context = sel.select_gemm, sel.select_decode, sel.select_context
select_allreduce, select_moe = sel.select_allreduce, sel.select_moe


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

# physical bounds on fitted parameters (anything else: 1e-6 .. 1e7)
BOUNDS = {"overlap_q": (1.0, 50.0), "flops_tflops": (1.0, 1e4), "bandwidth_gbps": (10.0, 2e4)}


def fit_log(predict, a, names, x0, fixed):
    """Least squares on log(pred/meas) over log-parameters; returns the parameter dict."""
    meas = a["latency_us"]

    def resid(z):
        p = dict(fixed, **{n: float(np.exp(v)) for n, v in zip(names, z)})
        return np.log(np.maximum(predict(p, a), 1e-9) / meas)

    lo = np.log([BOUNDS.get(n, (1e-6, 1e7))[0] for n in names])
    hi = np.log([BOUNDS.get(n, (1e-6, 1e7))[1] for n in names])
    z0 = np.clip(np.log(x0), lo + 1e-9, hi - 1e-9)
    r = least_squares(resid, z0, bounds=(lo, hi), method="trf", loss="soft_l1", f_scale=0.2, max_nfev=400)
    return dict(fixed, **{n: float(np.exp(v)) for n, v in zip(names, r.x)})


def fit_family(family, a, hw, dtype=None):
    """Fit on all of ``a``; returns params. Grid over discrete choices (tile sizes)."""
    bw0 = hw["memory_bandwidth_gbps"] * 0.8 if hw else 2000.0
    if family == "gemm":
        peak = (hw["peak_tflops"].get("fp8" if dtype in ("fp8", "fp8_block") else "bf16", 300) if hw else 300)
        best = None
        for tile in (1, 16, 64, 128):
            p = fit_log(lambda p, r: ph.predict_gemm(p, r, dtype), a,
                        ["flops_tflops", "bandwidth_gbps", "t0_us", "overlap_q"],
                        [0.7 * peak, bw0, 5.0, 3.0], {"tile_m": tile})
            err = ph.mape(ph.predict_gemm(p, a, dtype), a["latency_us"])
            if best is None or err < best[0] - 0.05:
                best = (err, p)
        return best[1]
    if family == "decode_attention":
        return fit_log(ph.predict_decode_attention, a, ["c0_us", "c_seq_us", "c_kv_head_us", "c_q_head_us",
                                                        "bandwidth_gbps"], [8.0, 0.01, 0.02, 0.001, bw0], {})
    if family == "context_attention":
        peak = hw["peak_tflops"]["bf16"] if hw else 300
        return fit_log(ph.predict_context_attention, a, ["c0_us", "flops_tflops", "bandwidth_gbps"],
                       [10.0, 0.5 * peak, bw0], {"causal": 0 if dtype == "full" else 1})
    if family == "allreduce":
        p = {}
        for g in np.unique(a["num_gpus"]):
            sub = a[a["num_gpus"] == g]
            q = fit_log(ph.predict_allreduce, sub, [f"latency_us_{g}gpu", f"oneshot_gbps_{g}gpu",
                                                    f"twoshot_us_{g}gpu", f"busbw_gbps_{g}gpu"],
                        [3.0, 300.0, 5.0, 300.0], {})
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
    if family == "gemm":
        return ph.predict_gemm(p, a, dtype)
    if family == "moe":
        return ph.predict_moe(p, a, dtype)
    return {"decode_attention": ph.predict_decode_attention, "context_attention": ph.predict_context_attention,
            "allreduce": ph.predict_allreduce}[family](p, a)


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


SECTIONS = [(name, family, dtype, lambda a, d, name=name: sel.select(name, a))
            for name, (family, dtype) in sel.SECTIONS.items()]


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


PARAM_NOTES = {
    "flops_tflops": "achieved dense FLOP rate, TFLOP/s",
    "bandwidth_gbps": "achieved memory bandwidth, GB/s",
    "t0_us": "fixed time per call, us",
    "tile_m": "M padding granularity chosen from {1,16,64,128} (GEMM) or {16,64,128} (MoE)",
    "overlap_q": "compute/memory overlap exponent, 1 = additive, 50 = max",
    "c0_us": "per-call cost, us",
    "c_seq_us": "cost per sequence, us",
    "c_kv_head_us": "cost per (sequence, KV head), us",
    "c_q_head_us": "cost per (sequence, query head), us",
    "causal": "1 = FLOPs counted for the causal half square",
    "latency_us": "all-reduce fixed latency, us",
    "oneshot_gbps": "one-shot all-reduce: per-GPU read bandwidth from peers, GB/s",
    "twoshot_us": "two-shot all-reduce: extra latency over one-shot, us",
    "busbw_gbps": "two-shot all-reduce bus bandwidth, GB/s",
}


def write_toml(path, res, source_kind):
    """Fitted parameters, one table per (gpu, engine, section), with a source line per value."""
    import tomli_w

    doc = {"about": {
        "data": "NVIDIA aiconfigurator-core 0.12.0 (Apache-2.0), see data/kernels/NOTICE",
        "fitted_by": f"benchmarks/kernels/fit_physics.py --source {source_kind} --write",
        "models": "src/specroof/kernels/physics.py (predict_gemm, predict_decode_attention, predict_context_attention,"
                  " predict_allreduce, predict_moe)",
        "mape": "mape_heldout_pct: fit on a random half of the shapes, scored on the other half;"
                " mape_fit_pct: refit on all rows (these parameters), scored on the same rows;"
                " mape_extract_pct: these parameters scored on the committed extract rows of the same selection",
    }}
    for (gpu, engine, name), (p, stats) in sorted(res.items()):
        sec = doc.setdefault(gpu, {}).setdefault(engine, {}).setdefault(name, {})
        src = f"{stats['table']}; {stats['rows']} rows; {SELECTION_NOTES.get(name.split('_')[0], '')}"
        for k, v in p.items():
            sec[k] = round(float(v), 6) if not float(v).is_integer() else int(v)
        sec.update({k: v for k, v in stats.items() if k != "table"})
        sec["sources"] = {k: f"{PARAM_NOTES.get(re.sub(r'_[0-9]+gpu$', '', k), k)}; fitted to {src}" for k in p}
    Path(path).write_text(tomli_w.dumps(doc))


SELECTION_NOTES = {
    "gemm": "n,k in 2048..28672, m <= 8192",
    "decode": "head_dim 128, bf16 KV, window 0",
    "context": "head_dim 128, bf16, window 0, no prefix",
    "allreduce": "2-8 GPUs, CUDA-graph custom all-reduce (trtllm: its own kernel), all message sizes",
    "moe": "moe_tp_size = moe_ep_size = 1, num_tokens <= 8192, all routing distributions",
}


def score_extract(path, extract_root=None):
    """Add mape_extract_pct (the TOML's parameters on the committed extract) to every section."""
    import tomli_w

    doc = read_toml(Path(path), str(path))
    for gpu, engines in doc.items():
        if gpu == "about":
            continue
        for engine, sections in engines.items():
            for name, sec in sections.items():
                try:
                    rows = read_extract(gpu, engine, sel.SECTIONS[name][0], extract_root)
                except SpecroofError:
                    continue
                rows = sel.select(name, rows)
                if len(rows) == 0:
                    continue
                err = ph.mape(sel.predict(name, sec, rows), rows["latency_us"])
                sec["mape_extract_pct"] = round(err, 2)
                sec["extract_rows"] = int(len(rows))
    Path(path).write_text(tomli_w.dumps(doc))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", choices=["db", "extract"], default="extract")
    ap.add_argument("--root", default=None)
    ap.add_argument("--gpu", action="append")
    ap.add_argument("--engine", action="append")
    ap.add_argument("--section", action="append")
    ap.add_argument("--json", type=Path, help="write all results as JSON")
    ap.add_argument("--facts", type=Path, help="also measure model-free facts and write them as JSON")
    ap.add_argument("--write", type=Path, help="write the fitted parameters as TOML (data/kernels/fitted-params.toml)")
    ap.add_argument("--merge", type=Path, nargs="+", metavar="JSON",
                    help="only write --write TOML from --json outputs of earlier runs (e.g. run per GPU in parallel)")
    ap.add_argument("--score-extract", type=Path, metavar="TOML",
                    help="only add each section's MAPE on the committed extract to an existing TOML")
    args = ap.parse_args()
    if args.score_extract:
        score_extract(args.score_extract)
        return 0
    if args.merge:
        res = {}
        for j in args.merge:
            for key, v in json.loads(j.read_text()).items():
                res[tuple(key.split("/"))] = (v["params"], v["stats"])
        write_toml(args.write, res, args.source)
        score_extract(args.write)
        return 0
    source = Source(args.source, args.root)
    if args.facts:
        args.facts.write_text(json.dumps(facts(source, args.gpu or GPUS, args.engine or ENGINES), indent=1))
    res = run(source, args.gpu or GPUS, args.engine or ENGINES, args.section)
    if args.json:
        args.json.write_text(json.dumps({"/".join(k): {"params": p, "stats": s} for k, (p, s) in res.items()}, indent=1))
    if args.write:
        write_toml(args.write, res, args.source)
        score_extract(args.write)



# ---------------------------------------------------------------- measured facts (no model)

def _matched_ratio(a, sel_num, sel_den, keys):
    """Median of t(num)/t(den) over rows matched on ``keys``."""
    den = {tuple(r[k] for k in keys): r["latency_us"] for r in a[sel_den]}
    ratios = [r["latency_us"] / den[key] for r in a[sel_num] if (key := tuple(r[k] for k in keys)) in den]
    return (round(float(np.median(ratios)), 3), len(ratios)) if ratios else (None, 0)


def gemm_facts(a, hw):
    out = {}
    b = select_gemm(a, "bf16")
    if len(b):
        big = b[b["m"] >= 2048]
        tf = ph.gemm_flops(big) / big["latency_us"] / 1e6
        out["bf16_large_tflops_p90"] = round(float(np.percentile(tf, 90)), 1)
        out["bf16_large_tflops_max"] = round(float(tf.max()), 1)
        small = b[b["m"] <= 16]
        bw = ph.gemm_bytes(small, "bf16") / small["latency_us"] / 1e3
        out["bf16_small_m_gbps_p90"] = round(float(np.percentile(bw, 90)), 0)
        out["bf16_small_m_gbps_max"] = round(float(bw.max()), 0)
        if hw:
            out["bf16_large_fraction_of_peak_p90"] = round(out["bf16_large_tflops_p90"] / hw["peak_tflops"]["bf16"], 3)
            out["bf16_small_m_fraction_of_datasheet_bw_p90"] = round(out["bf16_small_m_gbps_p90"] / hw["memory_bandwidth_gbps"], 3)
    for dt in ("bf16", "fp8"):
        s = select_gemm(a, dt)
        for m0 in (128, 256, 512, 1024):
            lo, hi = s[s["m"] == m0], s[s["m"] == m0 + 1]
            if len(lo) and len(hi):
                lo_t = {(r["n"], r["k"]): r["latency_us"] for r in lo}
                rs = np.array([r["latency_us"] / lo_t[(r["n"], r["k"])] for r in hi if (r["n"], r["k"]) in lo_t])
                out[f"{dt}_step_{m0}_to_{m0 + 1}_median"] = round(float(np.median(rs)), 3)
                out[f"{dt}_step_{m0}_to_{m0 + 1}_p90"] = round(float(np.percentile(rs, 90)), 3)
    keys = ("m", "n", "k")
    llm = (a["n"] >= LLM[0]) & (a["n"] <= LLM[1]) & (a["k"] >= LLM[0]) & (a["k"] <= LLM[1])
    for dt in ("fp8", "fp8_block", "int8_wo", "int4_wo", "sq"):
        for name, msel in (("m_le_16", a["m"] <= 16), ("m_ge_4096", (a["m"] >= 4096) & (a["m"] <= MAX_M))):
            r, n = _matched_ratio(a, llm & msel & (a["dtype"] == dt), llm & msel & (a["dtype"] == "bf16"), keys)
            if n:
                out[f"{dt}_over_bf16_{name}"] = r
    return out


def decode_facts(a):
    s = select_decode(a)
    out = {}
    g = s[(s["num_heads"] == 32) & (s["num_kv_heads"] == 8) & (s["kv_len"] <= 16)]
    if len(g):
        t1 = np.median(g[g["batch"] == 1]["latency_us"]) if np.any(g["batch"] == 1) else None
        out["call_us_batch1_kv_le16_h32_kv8"] = round(float(t1), 2) if t1 is not None else None
        for bb in (64, 256):
            tb = g[g["batch"] == bb]["latency_us"]
            if len(tb) and t1 is not None:
                out[f"per_seq_us_batch{bb}_kv_le16_h32_kv8"] = round(float((np.median(tb) - t1) / (bb - 1)), 3)
    bw = ph.kv_bytes(s) / s["latency_us"] / 1e3
    out["kv_gbps_max"] = round(float(bw.max()), 0)
    out["kv_gbps_p90"] = round(float(np.percentile(bw, 90)), 0)
    return out


def allreduce_facts(a):
    s = select_allreduce(a)
    out = {"kind": str(s["kind"][0]) if len(s) else None}
    for g in np.unique(s["num_gpus"]):
        x = s[s["num_gpus"] == g]
        out[f"min_latency_us_{g}gpu"] = round(float(x["latency_us"].min()), 2)
        bus = 2.0 * (g - 1) / g * x["message_bytes"] / x["latency_us"] / 1e3
        out[f"max_busbw_gbps_{g}gpu"] = round(float(bus.max()), 0)
    return out


def moe_facts(a):
    out = {}
    keys = ("dtype", "num_tokens", "hidden", "inter", "topk", "num_experts")
    s = a[(a["tp"] == 1) & (a["ep"] == 1)]
    for dist in ("power_law_1.01", "power_law_1.2"):
        for name, msel in (("tokens_le_64", s["num_tokens"] <= 64), ("tokens_ge_1024", s["num_tokens"] >= 1024)):
            r, n = _matched_ratio(s, msel & (s["distribution"] == dist), msel & (s["distribution"] == "balanced"), keys)
            if n:
                out[f"{dist}_over_balanced_{name}"] = r
    return out


def facts(source, gpus, engines):
    out = {}
    for gpu in gpus:
        hw = catalog(gpu)
        for engine in engines:
            for family, fn in (("gemm", lambda a: gemm_facts(a, hw)), ("decode_attention", decode_facts),
                               ("allreduce", allreduce_facts), ("moe", moe_facts)):
                a = source.rows(gpu, engine, family)
                if a is not None and len(a):
                    out[f"{gpu}/{engine}/{family}"] = fn(a)
                    print(gpu, engine, family, out[f"{gpu}/{engine}/{family}"], flush=True)
        a = source.rows(gpu, "nccl", "allreduce")
        if a is not None and len(a):
            a = a[a["kind"] == "nccl"]
            out[f"{gpu}/nccl/allreduce"] = allreduce_facts(a)
    return out


if __name__ == "__main__":
    sys.exit(main())
