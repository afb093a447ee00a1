"""Build data/validation/specdecode-bench-h100.csv from the committed readings and traces.

Inputs (both committed, so this needs no download):

- ``data/validation/specdecode-bench-figure-readings.csv``: Figures 1 and 2 of SpecDecode-Bench
  read from the vector PDFs by ``read_figures.py``;
- ``data/validation/specdecode-bench-figure3-readings.csv``: Figure 3 (reasoning workloads,
  throughput bars) read by ``read_figures.py --bars``;
- ``data/validation/specdecode-bench-trace-acceptance.csv``: acceptance lengths from the
  authors' Llama-3.1-8B traces, by ``read_traces.py``.

Everything this script adds to those numbers is a label stated on the project page
(https://specdecode-bench.github.io, repository SpecDecode-Bench/specdecode-bench.github.io,
``index.md``) or in a figure's legend/caption; what is not stated is left empty.

Usage: ``python tools/validation/build_specdecode_csv.py [--root .]``
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from pathlib import Path

PAGE = "https://specdecode-bench.github.io (repo SpecDecode-Bench/specdecode-bench.github.io index.md)"
FIG_PDF = "https://github.com/SpecDecode-Bench/specdecode-bench.github.io/blob/main/assets/img/{fig}.pdf"
TRACES = "https://github.com/SpecDecode-Bench/simulator data/llama3.1-8B/combined_{file}.jsonl"
DATASETS = ["gsm8k", "cnn_dailymail", "sharegpt", "instructcoder"]  # panel order within a row
TRACE_FILE = {"gsm8k": "gsm8k", "cnn_dailymail": "cnn", "sharegpt": "sharegpt", "instructcoder": "instructcoder"}

MODELS = {  # specroof catalog name -> (HF id of the target as named on the page, TP stated on the page)
    "llama-3.1-8b": ("meta-llama/Llama-3.1-8B-Instruct", 1),
    "llama-3-70b": ("meta-llama/Meta-Llama-3-70B-Instruct", 4),
    "qwen3-8b": ("Qwen/Qwen3-8B", 1),
    "glm-4.5-air": ("zai-org/GLM-4.5-Air", 4),
}
FIGURE_ROWS = {  # figure -> models of its panel rows, top to bottom
    "fig1": ["llama-3.1-8b", "llama-3-70b", "qwen3-8b"],
    "fig2": ["qwen3-8b", "llama-3-70b"],
}
ENGINE = {"fig1": "vllm-0.10.1", "fig2": "sglang-0.5.9", "fig3": "vllm-0.10.1"}
# Figure 3 panels: (model, dataset); the Qwen3-8B panels are titled "Qwen3-8B-Thinking" (thinking mode)
FIG3_PANELS = {"a": ("qwen3-8b", "gsm8k"), "b": ("qwen3-8b", "cnn_dailymail"), "c": ("qwen3-8b", "sharegpt"),
               "d": ("qwen3-8b", "instructcoder"), "e": ("qwen3-8b", "aime22-24"), "f": ("qwen3-8b", "gpqa_main"),
               "g": ("glm-4.5-air", "aime22-24"), "h": ("glm-4.5-air", "gpqa_main")}
FIG3_SERIES = {"N-gram": "ngram", "EAGLE-3": "eagle3", "MTP": "mtp"}
# legend label -> (method, k draft tokens, tree description)
SERIES = {
    "N-gram-Fixed-3": ("ngram", 3, "chain"),
    "N-gram-Fixed-5": ("ngram", 5, "chain"),
    "EAGLE": ("eagle", 3, "chain"),
    "EAGLE-3": ("eagle3", 3, "chain"),
    "Draft Model": ("draft", 3, "chain"),
    "EAGLE-3 Chain (k=3)": ("eagle3", 3, "chain"),
    "EAGLE-3 Tree (k=6)": ("eagle3", 6, "tree depth=3 branching=2 (Fig. 2 caption)"),
    "EAGLE-3 Tree (k=21)": ("eagle3", 21, "tree depth=3 branching=4 (Fig. 2 caption)"),
    "EAGLE Chain (k=3)": ("eagle", 3, "chain"),
    "EAGLE Tree (k=6)": ("eagle", 6, "tree depth=3 branching=2 (Fig. 2 caption)"),
    "EAGLE Tree (k=21)": ("eagle", 21, "tree depth=3 branching=4 (Fig. 2 caption)"),
}
NOT_STATED = "checkpoint not stated on the page (paper Table 5 not obtained)"
DRAFT = {
    "ngram": "none (n-gram prompt lookup)",
    "eagle": "EAGLE draft head; " + NOT_STATED,
    "eagle3": "EAGLE-3 draft head; " + NOT_STATED,
    "mtp": "the model's own MTP layer (GLM-4.5-Air ships num_nextn_predict_layers=1), drafting 3 tokens",
}
DRAFT_MODEL = {
    "qwen3-8b": "Qwen3-0.6B (page: 'pairing Qwen3-0.6B with Qwen3-8B')",
    "llama-3-70b": "small draft LM; " + NOT_STATED,
}
# Acceptance lengths the page states in text: (figure, model, dataset, series) -> (tau, quote)
STATED_TAU = {
    ("fig2", "qwen3-8b", "gsm8k", "EAGLE-3 Chain (k=3)"):
        (2.25, "page text: 'accepted length (e.g., 2.25 -> 2.92 on Qwen3-8B/GSM8K)', acceptance rate 0.415"),
    ("fig2", "qwen3-8b", "gsm8k", "EAGLE-3 Tree (k=21)"):
        (2.92, "page text: 'accepted length (e.g., 2.25 -> 2.92 on Qwen3-8B/GSM8K)', acceptance rate 0.095"),
}
# Speedups the page states in text, for cross-checking the readings.
STATED_SPEEDUP = {
    ("fig1", "llama-3.1-8b", "gsm8k", "EAGLE", 128): "page text states 1.21x",
    ("fig2", "qwen3-8b", "gsm8k", "EAGLE-3 Chain (k=3)", 1): "page text states 1.65x",
    ("fig2", "qwen3-8b", "gsm8k", "EAGLE-3 Tree (k=21)", 1): "page text states 1.85x",
}
COLUMNS = ["figure", "engine", "model", "target_hf_id", "draft", "method", "tree", "dataset", "batch", "k_draft_tokens",
           "tp", "speedup", "baseline_throughput_tok_s", "sd_throughput_tok_s", "acceptance_length", "acceptance_source", "confidence", "reading_uncertainty",
           "source", "notes"]


def _rows(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(line for line in handle if not line.startswith("#")))


def build(root: Path) -> list[dict]:
    readings = _rows(root / "data/validation/specdecode-bench-figure-readings.csv")
    traces = {(r["method"], r["dataset"], int(r["candidates"])): r
              for r in _rows(root / "data/validation/specdecode-bench-trace-acceptance.csv")}
    out = []
    for r in readings:
        figure, panel = r["figure"], r["panel"]
        index = "abcdefghijkl".index(panel)
        model = FIGURE_ROWS[figure][index // 4]
        dataset = DATASETS[index % 4]
        method, k, tree = SERIES[r["series"]]
        hf_id, tp = MODELS[model]
        batch = int(r["batch"])
        tau, tau_source = "", ""
        trace = traces.get((method, dataset, k + 1)) if (model == "llama-3.1-8b" and figure == "fig1") else None
        if trace is not None:
            tau = trace["acceptance_length"]
            tau_source = (f"traces: {TRACES.format(file=TRACE_FILE[dataset])} "
                          f"({'acc_eagle' if method == 'eagle3' else 'acc_ngram'}.acc_len, chain n={k + 1}, "
                          f"{trace['requests']} requests, {trace['steps']} steps; read_traces.py)")
        stated = STATED_TAU.get((figure, model, dataset, r["series"]))
        if stated is not None:
            tau, tau_source = f"{stated[0]:.2f}", stated[1] + " (SGLang run; batch not stated)"
        notes = [STATED_SPEEDUP.get((figure, model, dataset, r["series"], batch), "")]
        if figure == "fig2":
            notes.append("SGLang v0.5.9, FlashAttention-3 for chain, FlashInfer for trees (Fig. 2 caption); "
                         "TP taken from the page's general setup statement")
        if model == "llama-3-70b":
            notes.append("target is Llama-3-70B-Instruct (Llama 3, not 3.1) on 4xH100 TP4")
        out.append({
            "figure": figure, "baseline_throughput_tok_s": "", "sd_throughput_tok_s": "",
            "engine": ENGINE[figure], "model": model, "target_hf_id": hf_id,
            "draft": DRAFT_MODEL[model] if method == "draft" else DRAFT[method],
            "method": method, "tree": tree, "dataset": dataset, "batch": batch, "k_draft_tokens": k, "tp": tp,
            "speedup": r["speedup"], "acceptance_length": tau, "acceptance_source": tau_source,
            "confidence": "high", "reading_uncertainty": "0.005",
            "source": (f"Figure {figure[-1]} panel ({panel}), series '{r['series']}', read from the vector PDF "
                       f"{FIG_PDF.format(fig=figure)} (read_figures.py; tick labels read by eye); {PAGE}"),
            "notes": "; ".join(n for n in notes if n),
        })
    out.extend(_figure3(root))
    order = {name: i for i, name in enumerate(MODELS)}
    out.sort(key=lambda row: (row["figure"], order[row["model"]], row["dataset"], row["method"],
                              row["k_draft_tokens"], row["batch"]))
    return out


def _figure3(root: Path) -> list[dict]:
    """Figure 3: SD throughput / no-SD throughput per (panel, batch), from bar heights."""
    bars = _rows(root / "data/validation/specdecode-bench-figure3-readings.csv")
    base = {(b["panel"], b["batch"]): b for b in bars if b["series"] == "None"}
    out = []
    for b in bars:
        if b["series"] == "None":
            continue
        model, dataset = FIG3_PANELS[b["panel"]]
        method = FIG3_SERIES[b["series"]]
        hf_id, tp = MODELS[model]
        notes = ["reasoning workload figure; Qwen3-8B in thinking mode ('Qwen3-8B-Thinking')" if model == "qwen3-8b"
                 else "GLM-4.5-Air (106B MoE, 12B active) on 4xH100 TP4; MTP with k=3 per the page's general setup"]
        if b["series"] == "N-gram":
            notes.append("legend says only 'N-gram'; k=3 assumed from the page's general setup")
        out.append({
            "figure": "fig3", "engine": ENGINE["fig3"], "model": model, "target_hf_id": hf_id,
            "draft": DRAFT[method], "method": method, "tree": "chain", "dataset": dataset,
            "batch": int(b["batch"]), "k_draft_tokens": 3, "tp": tp, "speedup": b["speedup_vs_none"],
            "baseline_throughput_tok_s": base[(b["panel"], b["batch"])]["throughput_tokens_per_s"],
            "sd_throughput_tok_s": b["throughput_tokens_per_s"],
            "acceptance_length": "", "acceptance_source": "", "confidence": "high", "reading_uncertainty": "0.005",
            "source": (f"Figure 3 panel ({b['panel']}), bars 'None' and '{b['series']}' at batch {b['batch']}: ratio of "
                       f"bar heights in the vector PDF {FIG_PDF.format(fig='fig3')} (read_figures.py --bars); "
                       f"throughputs from the panel's gridlines (tick labels read by eye); {PAGE}"),
            "notes": "; ".join(notes),
        })
    return out


def render(rows: list[dict]) -> str:
    """The committed file's text: its two comment lines, the header, the rows."""
    buffer = io.StringIO()
    buffer.write("# SpecDecode-Bench end-to-end speedups on H100 (arXiv 2601.11580): throughput with SD / without SD.\n")
    buffer.write("# Built by tools/validation/build_specdecode_csv.py; see data/validation/README.md. Check, never fit.\n")
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=Path("."))
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if the committed table differs")
    args = parser.parse_args()
    rows = build(args.root)
    target = args.root / "data/validation/specdecode-bench-h100.csv"
    text = render(rows)
    if args.check:
        with target.open(encoding="utf-8", newline="") as handle:
            same = handle.read() == text
        print(f"{target}: " + ("up to date" if same else "differs from the readings; rerun without --check"))
        return 0 if same else 1
    with target.open("w", encoding="utf-8", newline="") as handle:
        handle.write(text)
    print(f"{target}: {len(rows)} rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
