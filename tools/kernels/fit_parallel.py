"""Expert-parallel kernels: extract them from NVIDIA's database, fit and report.

    python tools/kernels/fit_parallel.py extract [--root DATA_DIR]   # needs aiconfigurator-core + pandas
    python tools/kernels/fit_parallel.py fit                          # numpy only, from the committed extract

``extract`` writes data/kernels/extract/<gpu>-<engine>-a2a.csv (the newest version of each
engine's DeepEP tables, single node; see specroof.kernels.a2a_tables) and <gpu>-<engine>-moe_ep.csv
(MoE layers at ep = 1..64 for a seeded sample of shapes: bf16, moe_tp 1, balanced routing).
``fit`` fits the line of specroof.cost.pricing_comm per (GPU, engine, mode, phase) on that
extract (specroof.calibration.kernels.a2a), writes src/specroof/cost/a2a_kernels.toml, fits NCCL's
all-reduce line per (GPU, GPU count) on the committed <gpu>-nccl-allreduce.csv and writes
src/specroof/cost/allreduce_nccl.toml (specroof.calibration.kernels.tp_comm), and writes
docs/kernel-accuracy-parallel.md: the tensor-parallel all-reduce at decode sizes (the engines'
custom kernel held out and as shipped, NCCL beside it), NCCL's line, the all-to-all fit held out
by shape and by GPU, and the expert-parallel MoE shard checked against the ep > 1 rows no fit saw
(specroof.calibration.kernels.expert_parallel). Deterministic: the same extract gives the same files.
"""

from __future__ import annotations

import argparse
import zlib
from pathlib import Path

import numpy as np
import tomli_w

from specroof.calibration.kernels import a2a as fit
from specroof.calibration.kernels import tp_comm
from specroof.calibration.kernels.heldout import extract_source
from specroof.cost.engine_kernels import DATABASE_GPUS
from specroof.cost.pricing_comm import LOW_LATENCY_MAX_TOKENS
from specroof.kernels.extract import write_csv

ROOT = Path(__file__).resolve().parents[2]
EXTRACT = ROOT / "data" / "kernels" / "extract"
GPUS, ENGINES = fit.GPUS, fit.ENGINES
MAX_TOKENS = fit.NORMAL_MAX_TOKENS
MOE_EP_SHAPES, MOE_EP_MAX, MOE_EP_MAX_TOKENS = 60, 64, 4096
"""Shapes sampled per (GPU, engine) for the expert-parallel MoE check, the largest ep and tokens kept."""
ROWS_MAX = 560
"""Rows per extract file (the extract's files stay under 600 lines)."""


def sample(rows: np.ndarray, name: str) -> np.ndarray:
    """Every low-latency row; the normal rows above the low-latency range (the only ones the
    normal kernels price), a seeded sample of them if the file would pass ROWS_MAX."""
    low = rows[rows["mode"] == "low_latency"]
    normal = rows[(rows["mode"] != "low_latency") & (rows["num_tokens"] > LOW_LATENCY_MAX_TOKENS)]
    room = ROWS_MAX - len(low)
    if len(normal) > room:
        rng = np.random.default_rng(zlib.crc32(name.encode()))
        normal = normal[np.sort(rng.choice(len(normal), room, replace=False))]
    return np.concatenate([low, normal])


def sample_moe_ep(rows: np.ndarray, name: str) -> np.ndarray:
    """Every ep <= MOE_EP_MAX row of MOE_EP_SHAPES seeded shapes that were measured at ep = 1."""
    keep = rows[(rows["dtype"] == "bf16") & (rows["tp"] == 1) & (rows["distribution"] == "balanced")
                & (rows["num_tokens"] <= MOE_EP_MAX_TOKENS) & (rows["ep"] <= MOE_EP_MAX)]
    key = np.array([hash_shape(r) for r in keep])
    shapes = np.unique(key[keep["ep"] == 1])
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    chosen = shapes[rng.permutation(len(shapes))[:MOE_EP_SHAPES]]
    counts = np.array([np.count_nonzero(key == c) for c in chosen])
    chosen = chosen[np.cumsum(counts) <= ROWS_MAX]  # the extract's files stay under 600 lines
    return keep[np.isin(key, chosen)]


def hash_shape(r) -> str:
    return "/".join(str(int(r[k])) for k in ("num_experts", "topk", "num_tokens", "hidden", "inter"))


def extract_moe_ep(root: str | None) -> None:
    from specroof.kernels import database as db

    for gpu in GPUS:
        for engine in ENGINES:
            table = db.find_table(gpu, engine, "moe", root=root)
            rows = sample_moe_ep(db.load(gpu, engine, "moe", table.version, root), f"{gpu}-{engine}-moe_ep")
            path = EXTRACT / f"{gpu}-{engine}-moe_ep.csv"
            rel = table.path.relative_to(db.data_root(root))
            write_csv(path, "moe_ep", rows, [
                "Sampled from NVIDIA aiconfigurator-core 0.12.0 (Apache-2.0), see data/kernels/NOTICE",
                f"source: aiconfigurator_core/systems/data/{rel.as_posix()} (version {table.version})",
                "bf16, moe_tp 1, balanced routing; every ep <= 64 of seeded shapes measured at ep = 1; latency ms -> us",
            ])
            print(f"{path.name}: {len(rows)} rows")


def extract(root: str | None) -> None:
    from specroof.kernels.a2a_tables import a2a_versions, load_a2a

    for gpu in GPUS:
        for engine in ENGINES:
            versions = a2a_versions(gpu, engine, root)
            if not versions:
                continue
            rows = load_a2a(gpu, engine, versions[-1], root)
            rows = sample(rows[rows["num_tokens"] <= MAX_TOKENS], f"{gpu}-{engine}-a2a")
            path = EXTRACT / f"{gpu}-{engine}-a2a.csv"
            write_csv(path, "a2a", rows, [
                "Sampled from NVIDIA aiconfigurator-core 0.12.0 (Apache-2.0), see data/kernels/NOTICE",
                f"source: aiconfigurator_core/systems/data/{gpu}/comm/{engine}/{versions[-1]}/ DeepEP tables "
                "(wideep_deepep_ll/normal_perf.parquet or moe_a2a_perf.parquet), single node",
                "columns renamed to specroof's schema (specroof.kernels.a2a_tables); latency in us",
            ])
            print(f"{path.name}: {len(rows)} rows")


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.1f}"


def moe_ep_report() -> list[str]:
    """Markdown rows: per (GPU, engine, ep), the shard's ratio error under both load models."""
    from specroof.calibration.kernels.expert_parallel import ratio_errors
    from specroof.cost.kernel_latency import kernel_setup
    from specroof.kernels.extract import read_extract

    lines = []
    for gpu in GPUS:
        for engine in ENGINES:
            rows = read_extract(gpu, engine, "moe_ep", EXTRACT)
            for ep, r in ratio_errors(rows, kernel_setup(DATABASE_GPUS[gpu], engine)).items():
                lines.append(f"| {gpu} | {engine} | {ep} | {r['rows']} | {r['balanced_mape']:.1f} | "
                             f"{r['balanced_bias']:+.1f} | {r['busiest_mape']:.1f} |")
    return lines


def _stat(s: dict | None, key: str, signed: bool = False) -> str:
    return "-" if s is None else (f"{s[key]:+.1f}" if signed else f"{s[key]:.1f}")


def switch_means(rows: list[dict]) -> str:
    """Per engine: mean held-out MAPE at decode sizes under the faster line and the switch rule."""
    parts = []
    for engine in tp_comm.ENGINES:
        mine = [r for r in rows if r["engine"] == engine]
        parts.append(f"{engine} {np.mean([r['heldout']['mape_pct'] for r in mine]):.1f}% vs "
                     f"{np.mean([r['switched']['mape_pct'] for r in mine]):.1f}%")
    return ", ".join(parts)


def decode_lines() -> list[str]:
    """Markdown: the custom all-reduce at decode sizes, held out and shipped, NCCL beside it."""
    rows = tp_comm.decode_report(extract_source(EXTRACT))
    tp8 = [r["heldout"]["mape_pct"] for r in rows if r["gpus"] == 8]
    lines = ["## Tensor-parallel all-reduce at decode sizes", "",
             "A decode step of 1 to 64 tokens of a model of hidden size 4096 to 8192 all-reduces 8 KiB to 1 MiB",
             "of bf16 activations, twice per layer (specroof.calibration.kernels.tp_comm). The engines' custom",
             "all-reduce (the CUDA-graph kernel; vLLM's and sgl-kernel's custom_all_reduce.cuh run it one-shot below",
             "256 KiB at 8 GPUs and 512 KiB at 4, two-shot above; specroof prices the faster of its two lines) is",
             "fitted over every message size by `tools/kernels/fit_physics.py`; here only its rows at decode sizes",
             "are scored: held out (each message",
             "size predicted by a fit on the other half of the sizes, the rule of docs/kernel-accuracy.md) and as",
             "shipped (the fit on all sizes). Bias: mean signed error, negative = predicted faster. The last columns:",
             "the measured time at 16 KiB (one token of an 8192-wide model) and NCCL's measured time over the custom",
             "kernel's at the same sizes (median): what a step pays per all-reduce when the custom kernel is off",
             "(profile field `allreduce_nccl`, e.g. a scenario's `[profile_overrides]`). Gates: tests/test_tp_comm.py.",
             "The shipped custom all-reduce pricing is the one scored here, unchanged by this check (before = after):",
             "at decode sizes its shipped mean signed error stays within 6% in every cell (within 5% at 8 GPUs),",
             "so a tensor-parallel step priced much too short is not explained by the custom kernel's isolated",
             "time; NCCL's time would be (last column).", "",
             "Column `switch rule %`: held out the same way, but with the engines' own one-shot/two-shot switch",
             "(`ONE_SHOT_BELOW_BYTES` in specroof.calibration.kernels.tp_comm) instead of the faster line. Per-engine",
             f"means at decode sizes, faster line vs switch rule: {switch_means(rows)}. The rule is vLLM's code and",
             "fits vLLM's rows better; SGLang's rows (sgl-kernel ships the same rule) and TensorRT-LLM's (its own",
             "strategy selection) fit worse under it, so the shipped pricing keeps the faster line for every engine.",
             "",
             f"Mean held-out MAPE at 8 GPUs over these {len(tp8)} cells: {np.mean(tp8):.1f}%.", "",
             "| GPU | engine | GPUs | rows | held-out MAPE % | held-out bias % | switch rule % | shipped MAPE % "
             "| shipped bias % | us at 16 KiB | NCCL / custom |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        h, s = r["heldout"], r["shipped"]
        ratio = "-" if r["nccl_ratio"] is None else f"{r['nccl_ratio']:.2f}"
        lines.append(f"| {r['gpu']} | {r['engine']} | {r['gpus']} | {h['rows']} | {_stat(h, 'mape_pct')} | "
                     f"{_stat(h, 'bias_pct', True)} | {_stat(r['switched'], 'mape_pct')} | {_stat(s, 'mape_pct')} | "
                     f"{_stat(s, 'bias_pct', True)} | {_pct(r['us_16k'])} | {ratio} |")
    return lines


def nccl_lines(report: list[dict]) -> list[str]:
    """Markdown: NCCL's fitted all-reduce line per (GPU, GPU count)."""
    lines = ["## NCCL all-reduce line", "",
             "`seconds = latency_us + 2 (p - 1) / p x bytes / busbw` per (GPU, GPU count), fitted in relative error to",
             "the committed `<gpu>-nccl-allreduce.csv` (16-bit rows), shipped in `src/specroof/cost/allreduce_nccl.toml`",
             "and priced for every all-reduce of a profile with `allreduce_nccl = true`. Held out by message size",
             "as above, over all sizes and at decode sizes. NCCL switches protocol with size (LL, LL128, Simple), which",
             "one line follows only on average: the all-size error is larger than at decode sizes.", "",
             "| GPU | GPUs | rows | latency us | busbw GB/s | MAPE % | held-out % | held-out decode % | decode bias % |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in report:
        lines.append(f"| {r['gpu']} | {r['gpus']} | {r['rows']} | {r['latency_us']:.1f} | {r['busbw_gbps']:.1f} | "
                     f"{_stat(r['fit'], 'mape_pct')} | {_stat(r['heldout'], 'mape_pct')} | "
                     f"{_stat(r['heldout_decode'], 'mape_pct')} | {_stat(r['heldout_decode'], 'bias_pct', True)} |")
    return lines


def write_nccl(fits: dict) -> None:
    about = {"source": "NVIDIA aiconfigurator-core 0.12.0 (Apache-2.0) nccl_perf tables, via "
                       "data/kernels/extract/*-nccl-allreduce.csv", "made_by": "python tools/kernels/fit_parallel.py fit",
             "row": "[gpus, latency_us, busbw_gbps] of seconds = latency_us + 2 (p - 1) / p x bytes / busbw "
                    "(specroof.cost.allreduce.nccl_seconds)"}
    (ROOT / "src" / "specroof" / "cost" / "allreduce_nccl.toml").write_text(
        "# Generated by tools/kernels/fit_parallel.py fit; do not edit.\n" + tomli_w.dumps({"about": about, **fits}))


def write(fits: dict, report: list[list], moe_ep: list[str], comm: list[str]) -> None:
    about = {"source": "NVIDIA aiconfigurator-core 0.12.0 (Apache-2.0) DeepEP / moe_a2a tables, via "
                       "data/kernels/extract/*-a2a.csv", "made_by": "python tools/kernels/fit_parallel.py fit",
             "row": "[floor_us, GB/s] of seconds = floor_us + payload / GB/s (specroof.cost.pricing_comm)"}
    text = tomli_w.dumps({"about": about, **fits})
    (ROOT / "src" / "specroof" / "cost" / "a2a_kernels.toml").write_text(
        "# Generated by tools/kernels/fit_parallel.py fit; do not edit.\n" + text)
    lines = ["# Kernel accuracy: tensor and expert parallelism", "", *comm, "", "## All-to-all (dispatch, combine)", "",
             "Generated by `python tools/kernels/fit_parallel.py fit` from `data/kernels/extract/*-a2a.csv` (NVIDIA",
             "aiconfigurator-core 0.12.0). Per (GPU, engine, mode, phase): the fitted line `floor_us + payload / GB/s`",
             "(payload per rank as specroof.cost.pricing_comm says: top_k copies in low-latency mode, one per",
             "destination rank in normal mode; low-latency fitted on <= 128",
             f"tokens per rank, normal on 129..{MAX_TOKENS}), its mean absolute percentage error in sample, held out",
             "by shape (each hidden size left out of the fit in turn) and held out by GPU (predicted from the other",
             "GPUs' fit). A table whose time does not resolve a rate within the link's datasheet bandwidth gets",
             "that bandwidth and a fitted floor. Gates: tests/test_a2a_fit.py.", "",
             "| GPU | engine | mode | phase | rows | floor us | GB/s | MAPE % | held-out shape % | held-out GPU % |",
             "|---|---|---|---|---:|---:|---:|---:|---:|---:|"]
    for g, e, m, p, n, floor, gbps, err, shape, other in report:
        lines.append(f"| {g} | {e} | {m} | {p} | {n} | {floor:.1f} | {gbps:.1f} | {err:.1f} | {_pct(shape)} "
                     f"| {_pct(other)} |")
    lines += ["", "## MoE layers under expert parallelism (held out: no fit saw ep > 1)", "",
              "One GPU's fused MoE layer at `moe_ep_size` ep, as a ratio to the same shape at ep = 1 (so the",
              "MoE kernel fit's own error cancels), priced by specroof's shard (`E / ep` experts) against the",
              "measured ratio. The tables' `balanced` routing assigns tokens round-robin (aiconfigurator's",
              "`balanced_logits`): every rank gets exactly the mean load, so the shard is checked at the mean",
              "(bias: median signed error, negative = predicted faster). The last column prices the busiest",
              "rank of a random router instead (what specroof adds for real routers; these rows cannot check it).",
              "",
              "| GPU | engine | ep | rows | shard MAPE % | shard bias % | busiest-rank MAPE % |",
              "|---|---|---:|---:|---:|---:|---:|", *moe_ep]
    (ROOT / "docs" / "kernel-accuracy-parallel.md").write_text("\n".join(lines) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("step", choices=("extract", "fit"))
    ap.add_argument("--root", default=None, help="aiconfigurator_core/systems/data (default: the installed one)")
    args = ap.parse_args()
    if args.step == "extract":
        extract(args.root)
        extract_moe_ep(args.root)
    else:
        fits, report = fit.fit_extract(EXTRACT)
        nccl_fits, nccl_report = tp_comm.fit_nccl(extract_source(EXTRACT))
        write_nccl(nccl_fits)
        write(fits, report, moe_ep_report(), decode_lines() + [""] + nccl_lines(nccl_report))
        for row in report:
            print(*row[:5], f"floor {row[5]:.1f} us, {row[6]:.1f} GB/s, MAPE {row[7]:.1f}%, "
                  f"held-out shape {_pct(row[8])}%, GPU {_pct(row[9])}%")


if __name__ == "__main__":
    main()
