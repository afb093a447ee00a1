"""Fit the engine profiles' kernel fields to measured kernels: the parameters of the cost
model's own pricing functions (src/specroof/cost/pricing.py, through specroof.kernel_latency).

For each GPU x engine and section (kernel family at one precision): select the rows that
matter for LLM inference, split the distinct *shapes* (GEMM (n, k); attention head configs;
all-reduce message sizes; MoE (hidden, inter, experts, topk)) at random into halves, fit on one
half and report MAPE on the other (held-out), then refit on all rows; those profile fields go to
src/specroof/cost/engine_kernels.toml (what --profile vllm|sglang|trtllm uses on that GPU).
The fit minimizes a robust (soft-L1) loss on log(pred / measured), parameters in log space
within physical bounds (src/specroof/calibration/kernels/physics.py FIT_FIELDS).

    python tools/kernels/fit_physics.py --source db --json fit.json     # needs [kernels]
    python tools/kernels/fit_physics.py --source db --gpu h200_sxm --json h200.json   # one GPU
    python tools/kernels/fit_physics.py --merge *.json --write src/specroof/cost/engine_kernels.toml \
        --stats data/kernels/fit-stats.json
    python tools/kernels/fit_physics.py --source extract                 # the committed CSV extract
    python tools/kernels/fit_physics.py --source db --by-shape shape.json  # whole n / k values, GPUs left out
    python tools/kernels/fit_physics.py --source db --section gemm_bf16 --section gemm_nvfp4 --json new.json
    python tools/kernels/fit_physics.py --merge new.json --update --write src/specroof/cost/engine_kernels.toml \
        --stats data/kernels/fit-stats.json   # add / replace these sections, keep the shipped rest

The random half above leaves (n, k) pairs out, not values: every n, k and M value is seen in
the fit. ``--by-shape`` scores the stricter splits of :mod:`specroof.calibration.kernels.heldout` (the
report and CI compute them from the extract).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from specroof.calibration.kernels import physics as ph
from specroof.calibration.kernels import selection as sel
from specroof.calibration.kernels.fitting import ENGINE_SECTION_ORDER, fit_engine, write_profiles
from specroof.cost.engine_kernels import DATABASE_GPUS, fitted_overrides
from specroof.datafiles import read_toml
from specroof.errors import SpecroofError
from specroof.hardware.accelerator import load_hardware
from specroof.kernels.extract import read_extract
from specroof.kernels.schema import BACKENDS

REPO = Path(__file__).resolve().parents[2]
EXTRACT = REPO / "data" / "kernels" / "extract"  # the committed extract of this checkout
GPUS = ("h200_sxm", "h100_sxm", "b200_sxm", "a100_sxm", "gb200", "l40s")
ENGINES = BACKENDS  # the kernel database's backends (specroof.kernels.schema)
CATALOG = DATABASE_GPUS
LLM = sel.LLM_WIDTH
MAX_M = sel.MAX_M


def catalog(gpu):
    name = CATALOG.get(gpu)
    if name is None:
        return None
    return read_toml(REPO / "src" / "specroof" / "hardware" / "catalog" / f"{name}.toml", name)


def accelerator(gpu):
    return load_hardware(CATALOG[gpu]) if gpu in CATALOG else None


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
            return read_extract(gpu, engine, family, self.root or EXTRACT)
        except SpecroofError:
            return None


# ---------------------------------------------------------------- selections: src/specroof/calibration/kernels/selection.py

select_gemm, select_decode, select_context = sel.select_gemm, sel.select_decode, sel.select_context
select_allreduce, select_moe = sel.select_allreduce, sel.select_moe


# ---------------------------------------------------------------- fitting: specroof.calibration.kernels.fitting

def _print_fit(gpu, engine):
    def report(name, fit):
        p, stats = fit
        print(f"{gpu:9s} {engine:6s} {name:18s} n={stats['rows']:6d} held-out {stats['mape_heldout_pct']:6.2f}% "
              f"fit {stats['mape_fit_pct']:6.2f}% bias {stats['bias_pct']:+6.2f}% "
              + " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in p.items()
                         if k != "allreduce_fits"), flush=True)
    return report


def run(source, gpus, engines, sections):
    """{(gpu, engine, section): (fields, stats)} for every section with data (the package's fit loop)."""
    results = {}
    for gpu in gpus:
        hw = accelerator(gpu)
        if hw is None:
            continue
        for engine in engines:
            skipped = {}
            shipped = fitted_overrides(CATALOG[gpu], engine, "bf16") if sections else None  # partial: hold the rest
            fits = fit_engine(source.rows, gpu, engine, hw, sections or None, report=_print_fit(gpu, engine),
                              skipped=skipped, shipped=shipped)
            for name, reason in skipped.items():  # a section that cannot be priced (e.g. no fp8 peak)
                print(f"{gpu} {engine} {name}: skipped ({reason})", flush=True)
            for name, (p, stats) in fits.items():
                stats["table"] = source.versions.get((gpu, engine, sel.SECTIONS[name][0]), "extract")
                results[(gpu, engine, name)] = (p, stats)
    return results


NOISE_KEYS = {"gemm": ("dtype", "m", "n", "k"),
              "decode_attention": ("batch", "kv_len", "num_heads", "num_kv_heads", "head_dim", "kv_dtype"),
              "context_attention": ("batch", "seq_len", "num_heads", "num_kv_heads", "head_dim"),
              "allreduce": ("num_gpus", "message_bytes"),
              "moe": ("dtype", "num_tokens", "hidden", "inter", "topk", "num_experts", "distribution")}
NOISE_PARTNER = {"trtllm": "vllm", "vllm": "trtllm", "sglang": "vllm"}


def score_extract(res):
    """Add mape_extract_pct: the engine profile as shipped (src/specroof/cost/engine_kernels.toml,
    through specroof.kernel_latency) on the committed extract rows of the same selection."""
    from specroof.cost import engine_kernels

    engine_kernels._data.cache_clear()
    for (gpu, engine, name), (_, stats) in res.items():
        try:
            rows = sel.select(name, read_extract(gpu, engine, sel.SECTIONS[name][0], EXTRACT))
        except SpecroofError:
            continue
        if len(rows) == 0:
            continue
        stats["mape_extract_pct"] = round(ph.mape(ph.predict(name, engine, rows, CATALOG[gpu]), rows["latency_us"]), 2)
        stats["extract_rows"] = int(len(rows))


def noise_floor(source, gpus, engines):
    """Engine-vs-engine floor: the partner engine's measured time as the prediction of this
    engine's, on identical shapes (MAPE %, median APE %, matched rows), per section."""
    out = {}
    for gpu in gpus:
        for family in NOISE_KEYS:
            tables = {e: source.rows(gpu, e, family) for e in ENGINES}
            for engine in engines:
                a, b = tables.get(engine), tables.get(NOISE_PARTNER[engine])
                if a is None or b is None:
                    continue
                for name, (fam, _) in sel.SECTIONS.items():
                    if fam != family:
                        continue
                    sa, sb = sel.select(name, a), sel.select(name, b)
                    keys = NOISE_KEYS[family]
                    other = {tuple(r[k] for k in keys): r["latency_us"] for r in sb}
                    pairs = [(other[key], r["latency_us"]) for r in sa if (key := tuple(r[k] for k in keys)) in other]
                    if len(pairs) < 8:
                        continue
                    x = np.array(pairs)
                    ape = np.abs(x[:, 0] - x[:, 1]) / x[:, 1] * 100
                    out[f"{gpu}/{engine}/{name}"] = {"partner": NOISE_PARTNER[engine], "mape_pct": round(float(ape.mean()), 2),
                                                     "median_ape_pct": round(float(np.median(ape)), 2),
                                                     "rows": int(len(x))}
                    print(gpu, engine, name, out[f"{gpu}/{engine}/{name}"], flush=True)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", choices=["db", "extract"], default="extract")
    ap.add_argument("--root", default=None)
    ap.add_argument("--gpu", action="append")
    ap.add_argument("--engine", action="append")
    ap.add_argument("--section", action="append")
    ap.add_argument("--json", type=Path, help="write all results as JSON")
    ap.add_argument("--facts", type=Path, help="also measure model-free facts and write them as JSON")
    ap.add_argument("--write", type=Path, help="write the fitted engine profiles (src/specroof/cost/engine_kernels.toml)")
    ap.add_argument("--stats", type=Path, help="write the fit statistics as JSON (data/kernels/fit-stats.json)")
    ap.add_argument("--noise", type=Path, help="only measure the engine-vs-engine noise floor, write it as JSON")
    ap.add_argument("--by-shape", type=Path, metavar="JSON",
                    help="only score held out by shape (whole n / k ... values) and by GPU, write it as JSON")
    ap.add_argument("--update", action="store_true",
                    help="keep the shipped fits (engine_kernels.toml, fit-stats.json) of every section not fitted now")
    ap.add_argument("--merge", type=Path, nargs="+", metavar="JSON",
                    help="only write --write / --stats from --json outputs of earlier runs (e.g. one per GPU)")
    args = ap.parse_args()
    if args.by_shape:
        from specroof.calibration.kernels.heldout import heldout_report

        src = Source(args.source, args.root)
        cells = [(g, e) for g in args.gpu or GPUS for e in args.engine or ENGINES]
        report = heldout_report(src.rows, cells, args.section or list(ENGINE_SECTION_ORDER))
        args.by_shape.write_text(json.dumps(report, indent=1) + "\n")
        return 0
    if args.noise:
        src = Source(args.source, args.root)
        args.noise.write_text(json.dumps(noise_floor(src, args.gpu or GPUS, args.engine or ENGINES), indent=1) + "\n")
        return 0
    if args.merge:
        res = {}
        for j in args.merge:
            for key, v in json.loads(j.read_text()).items():
                res[tuple(key.split("/"))] = (v["params"], v["stats"])
    else:
        source = Source(args.source, args.root)
        if args.facts:
            args.facts.write_text(json.dumps(facts(source, args.gpu or GPUS, args.engine or ENGINES), indent=1))
        res = run(source, args.gpu or GPUS, args.engine or ENGINES, args.section)
        if args.json:
            args.json.write_text(json.dumps({"/".join(k): {"params": p, "stats": s} for k, (p, s) in res.items()},
                                            indent=1))
    if args.update:
        res = in_fit_order({**shipped_results(), **res})
    if args.write:
        write_profiles(args.write, res, f"tools/kernels/fit_physics.py --source {args.source}")
    if args.stats:
        score_extract(res)
        args.stats.write_text(json.dumps({"/".join(k): s for k, (_, s) in sorted(res.items())}, indent=1) + "\n")
    return 0


def shipped_results(toml=REPO / "src" / "specroof" / "cost" / "engine_kernels.toml",
                    stats=REPO / "data" / "kernels" / "fit-stats.json"):
    """{(gpu, engine, section): (fields, stats)} as shipped: each section's fields read back from
    engine_kernels.toml, its statistics from fit-stats.json (so ``--update`` adds or replaces
    some sections without refitting the rest)."""
    doc = read_toml(toml, "engine_kernels.toml")
    res = {}
    for key, stat in json.loads(stats.read_text()).items():
        gpu, engine, section = key.split("/")
        kind, _, precision = ph.SECTION_KIND[section]
        table = doc.get(CATALOG.get(gpu, gpu), {}).get(engine, {}).get(precision, {})
        names = ["allreduce_fits"] if kind == "allreduce" else list(ph.FIT_FIELDS[section])
        if kind in ph.DISCRETE:  # first, as the fit returns it
            names.insert(0, ph.DISCRETE[kind][0])
        res[(gpu, engine, section)] = ({n: table[n] for n in names if n in table}, stat)
    return res


def in_fit_order(res):
    """``res`` ordered as a fit run makes it (sections in ENGINE_SECTION_ORDER), so the written
    files do not depend on where each result came from."""
    return dict(sorted(res.items(), key=lambda kv: (kv[0][0], kv[0][1], ENGINE_SECTION_ORDER.index(kv[0][2]))))


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


if __name__ == "__main__":  # noqa: E305
    sys.exit(main())
