"""Regenerate src/specroof/speculation/data/default-acceptance.csv from the measured traces.

    python tools/acceptance/build_default_acceptance.py [--check]

The EAGLE-3 and n-gram rows are, per candidate count n, the mean over the four datasets of
the acceptance length tau(n) that data/validation/specdecode-bench-trace-acceptance.csv
(read_traces.py's output from the SpecDecode-Bench simulator's Llama-3.1-8B-Instruct traces)
records. Each dataset counts once, so no dataset dominates by its number of requests.

The EAGLE-1 and MTP rows come from published chain measurements transcribed into
published-acceptance.csv (sources in its header): per draft length K (n = K + 1), the mean over a
model's settings (MTP: thinking on/off), then the mean over models, so each model counts once.
The remaining methods' rows are stated choices, not measurements, and are written as they are.
``--check`` exits 1 when the shipped file differs from what this script would write.
"""

from __future__ import annotations

import csv
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TRACES = ROOT / "data/validation/specdecode-bench-trace-acceptance.csv"
OUT = ROOT / "src/specroof/speculation/data/default-acceptance.csv"
PUBLISHED = Path(__file__).resolve().parent / "published-acceptance.csv"
TRACE_SOURCE = ("https://github.com/SpecDecode-Bench/simulator @ 2fdccbd61b62be339fb85fd90caf43f5e8392aa6 "
                "data/llama3.1-8B/combined_*.jsonl field {field}.acc_len (arXiv 2601.11580), via "
                "data/validation/specdecode-bench-trace-acceptance.csv: mean of the datasets {datasets}")
LABELS = {
    "eagle3": "measured: Llama-3.1-8B-Instruct with an EAGLE-3 head, vLLM, H100 (SpecDecode-Bench traces, "
              "mean of 4 datasets), chain; held at tau(16) beyond n = 16",
    "ngram": "measured: Llama-3.1-8B-Instruct with n-gram prompt lookup, vLLM, H100 (SpecDecode-Bench traces, "
             "mean of 4 datasets), chain; held at tau(16) beyond n = 16",
}
FIELDS = {"eagle3": "acc_eagle", "ngram": "acc_ngram"}
PUBLISHED_LABELS = {
    "eagle": "measured: Llama-3-8B-Instruct with the EAGLE-1 head lmsys/sglang-EAGLE-LLaMA3-Instruct-8B, vLLM V1, "
             "MT-Bench, max_num_seqs 1, chain K = 2 and 4 (n = 3, 5); linear between measured n (a lower bound "
             "for a chain, whose tau is concave in n); held at tau(5) beyond n = 5",
    "mtp": "measured: native MTP modules of DeepSeek-V4-Pro, Qwen3.5-397B-A17B (NVFP4) and GLM-5.2 (FP8), vLLM on "
           "B300, SPEED-Bench coding, 4096 output tokens, each model's sampling, chain K = 1..8; mean over the 3 "
           "models (each the mean of its published thinking modes); held at tau(9) beyond n = 9",
}
PUBLISHED_SOURCES = {
    "eagle": "vLLM PR #16035 https://github.com/vllm-project/vllm/pull/16035 (ekagra-ranjan, 2025-04-09: k=2 Accpt "
             "Len 1.89, k=4 Accpt Len 2.08), via tools/acceptance/published-acceptance.csv",
    "mtp": "https://github.com/SemiAnalysisAI/InferenceX @ 843c6254ff69b567f772f6a5fd97675af3d04431 "
           "golden_al_distribution/dsv4_mtp.yaml qwen3.5_mtp.yaml glm5.2_mtp.yaml (SPEED-Bench, arXiv 2604.09557), "
           "via tools/acceptance/published-acceptance.csv",
}
CHOICES = [  # method, spec, measured, label, source
    ("heads", "medusa:vicuna-7b", "yes",
     "measured: Medusa-1 heads' top-k accuracies on Vicuna-7B, tree built from them",
     "Medusa project (arXiv 2401.10774) assets/medusa_acc.csv, shipped as speculation/data/medusa-head-accuracy.csv"),
    ("draft", "log:0.477", "no",
     "NOT measured: acceptance depends on the draft model pair; the Medusa paper's fit tau = 1 + 0.477 ln n",
     "Medusa (arXiv 2401.10774) Appendix G; no draft-model acceptance curve is shipped"),
    ("none", "log:0.477", "no",
     "the Medusa paper's fit tau = 1 + 0.477 ln n (free candidates, as in its Appendix G)",
     "Medusa (arXiv 2401.10774) Appendix G, fitted to its sparse-tree acceptance"),
]
HEADER = [
    "# Default acceptance per drafting method: what speedup, plan, explain and the explorer use when",
    "# neither --acceptance nor a scenario gives one. Built by tools/acceptance/build_default_acceptance.py;",
    "# measured = yes rows are measurements (curve rows: tau at each n; spec rows: a model built from",
    "# measured data), measured = no rows are stated fallbacks. Every row names its source.",
    "# Attribution: eagle3/ngram from the SpecDecode-Bench traces (no licence file; numbers cited, see",
    "# data/validation/README.md); mtp averaged from SemiAnalysisAI/InferenceX golden_al_distribution",
    "# (Apache-2.0; per-K means of the published values, nothing else changed); eagle from vLLM PR #16035",
    "# (Apache-2.0 project; two numbers quoted from a comment); heads from the Medusa paper.",
]


def trace_rows() -> dict[str, dict[int, list[float]]]:
    lines = [line for line in TRACES.read_text(encoding="utf-8").splitlines() if not line.startswith("#")]
    curves: dict[str, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    datasets: dict[str, set[str]] = defaultdict(set)
    for row in csv.DictReader(lines):
        curves[row["method"]][int(row["candidates"])].append(float(row["acceptance_length"]))
        datasets[row["method"]].add(row["dataset"])
    return {m: dict(c) for m, c in curves.items()}, {m: sorted(d) for m, d in datasets.items()}


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def published_curves() -> dict[str, list[tuple[int, float]]]:
    """Method -> [(n, tau)]: per K, the mean over each model's settings, then over the models.

    A K is kept only where every model of the method measured it, and the averaged curve must
    not fall (more candidates cannot accept fewer tokens in a chain): a fall stops the build.
    """
    lines = [line for line in PUBLISHED.read_text(encoding="utf-8").splitlines() if not line.startswith("#")]
    taus: dict[str, dict[str, dict[int, list[float]]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    for row in csv.DictReader(lines):
        taus[row["method"]][row["model"]][int(row["k_draft_tokens"])].append(float(row["acceptance_length"]))
    curves = {}
    for method, models in taus.items():
        ks = sorted(set.intersection(*(set(per_k) for per_k in models.values())))
        curve = [(k + 1, _mean([_mean(per_k[k]) for per_k in models.values()])) for k in ks]
        if any(later < earlier for (_, earlier), (_, later) in zip(curve, curve[1:])):
            raise SystemExit(f"{PUBLISHED}: the averaged {method} curve falls with n: {curve}")
        curves[method] = curve
    return curves


def build() -> str:
    curves, datasets = trace_rows()
    out = [*HEADER, "method,candidates,acceptance_length,spec,measured,label,source"]
    writer_rows = []
    for method in ("eagle3", "ngram"):
        source = TRACE_SOURCE.format(field=FIELDS[method], datasets=" ".join(datasets[method]))
        for n, taus in sorted(curves[method].items()):
            writer_rows.append([method, n, f"{sum(taus) / len(taus):.4f}", "", "yes", LABELS[method], source])
    for method, curve in published_curves().items():
        for n, tau in curve:
            writer_rows.append([method, n, f"{tau:.4f}", "", "yes", PUBLISHED_LABELS[method], PUBLISHED_SOURCES[method]])
    for method, spec, measured, label, source in CHOICES:
        writer_rows.append([method, "", "", spec, measured, label, source])
    import io

    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(writer_rows)
    return "\n".join(out) + "\n" + buffer.getvalue()


if __name__ == "__main__":
    text = build()
    if "--check" in sys.argv:
        same = OUT.read_text(encoding="utf-8") == text
        print("up to date" if same else f"{OUT} differs from the traces; rerun without --check")
        sys.exit(0 if same else 1)
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT}")
