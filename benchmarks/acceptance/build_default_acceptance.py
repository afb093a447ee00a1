"""Regenerate src/specroof/speculation/data/default-acceptance.csv from the measured traces.

    python benchmarks/acceptance/build_default_acceptance.py [--check]

The EAGLE-3 and n-gram rows are, per candidate count n, the mean over the four datasets of
the acceptance length tau(n) that data/validation/specdecode-bench-trace-acceptance.csv
(read_traces.py's output from the SpecDecode-Bench simulator's Llama-3.1-8B-Instruct traces)
records. Each dataset counts once, so no dataset dominates by its number of requests. The
other methods' rows are stated choices, not measurements, and are written as they are.
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
CHOICES = [  # method, spec, measured, label, source
    ("heads", "medusa:vicuna-7b", "yes",
     "measured: Medusa-1 heads' top-k accuracies on Vicuna-7B, tree built from them",
     "Medusa project (arXiv 2401.10774) assets/medusa_acc.csv, shipped as speculation/data/medusa-head-accuracy.csv"),
    ("eagle", "log:0.477", "no",
     "NOT measured: no EAGLE-1 acceptance is shipped; the Medusa paper's fit tau = 1 + 0.477 ln n",
     "Medusa (arXiv 2401.10774) Appendix G, fitted to its sparse-tree acceptance; the EAGLE-3 curve is not "
     "used because EAGLE-3 accepts more than EAGLE-1"),
    ("draft", "log:0.477", "no",
     "NOT measured: acceptance depends on the draft model pair; the Medusa paper's fit tau = 1 + 0.477 ln n",
     "Medusa (arXiv 2401.10774) Appendix G; no draft-model acceptance curve is shipped"),
    ("mtp", "log:0.477", "no",
     "NOT measured: no MTP acceptance curve is shipped; the Medusa paper's fit tau = 1 + 0.477 ln n",
     "Medusa (arXiv 2401.10774) Appendix G; no MTP acceptance curve is shipped"),
    ("none", "log:0.477", "no",
     "the Medusa paper's fit tau = 1 + 0.477 ln n (free candidates, as in its Appendix G)",
     "Medusa (arXiv 2401.10774) Appendix G, fitted to its sparse-tree acceptance"),
]
HEADER = [
    "# Default acceptance per drafting method: what speedup, plan, explain and the explorer use when",
    "# neither --acceptance nor a scenario gives one. Built by benchmarks/acceptance/build_default_acceptance.py;",
    "# measured = yes rows are measurements (curve rows: tau at each n; spec rows: a model built from",
    "# measured data), measured = no rows are stated fallbacks. Every row names its source.",
]


def trace_rows() -> dict[str, dict[int, list[float]]]:
    lines = [line for line in TRACES.read_text(encoding="utf-8").splitlines() if not line.startswith("#")]
    curves: dict[str, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    datasets: dict[str, set[str]] = defaultdict(set)
    for row in csv.DictReader(lines):
        curves[row["method"]][int(row["candidates"])].append(float(row["acceptance_length"]))
        datasets[row["method"]].add(row["dataset"])
    return {m: dict(c) for m, c in curves.items()}, {m: sorted(d) for m, d in datasets.items()}


def build() -> str:
    curves, datasets = trace_rows()
    out = [*HEADER, "method,candidates,acceptance_length,spec,measured,label,source"]
    writer_rows = []
    for method in ("eagle3", "ngram"):
        source = TRACE_SOURCE.format(field=FIELDS[method], datasets=" ".join(datasets[method]))
        for n, taus in sorted(curves[method].items()):
            writer_rows.append([method, n, f"{sum(taus) / len(taus):.4f}", "", "yes", LABELS[method], source])
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
