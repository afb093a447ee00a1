"""Regenerate the charts of docs/medusa-appendix-g.md and print its error table.

Writes docs/figure22.png (with the paper's points), docs/figure21.png, docs/figure-seq.png,
docs/heatmap.png and docs/roofline.png; prints the per-point error table and the summary
in Markdown (paste into docs/medusa-appendix-g.md when the profile changes).

Run: .venv/bin/python tools/make_docs_charts.py [--table-only]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

import specroof
from specroof.report import charts
from specroof.scenarios import load_scenario

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
FIGURE22 = DOCS.parent / "src" / "specroof" / "scenarios" / "reference" / "medusa-appendix-g-figure-22.csv"
FIGURE21 = DOCS.parent / "src" / "specroof" / "scenarios" / "reference" / "medusa-appendix-g-figure-21.csv"


def run_scenario(name: str) -> specroof.speculation.speedup.SpeedupResult:
    scenario = load_scenario(name)
    s = scenario.settings
    return specroof.speedup(s["model"], s["hardware"], scenario.grid["batch"], scenario.grid["candidates"],
                            scenario.grid["seq_len"], **scenario.options())


def error_table(result, reference: list[dict[str, str]]) -> str:
    batches, candidates = list(result.batch), list(result.candidates)
    lines = ["| batch | n | paper | specroof | error | confidence |", "|---:|---:|---:|---:|---:|:---|"]
    errors, high = [], []
    for row in reference:
        b, n, paper = int(row["batch"]), int(row["candidates"]), float(row["speedup"])
        ours = float(result.speedup[batches.index(b), candidates.index(n), 0])
        errors.append(ours - paper)
        if row["confidence"] == "high":
            high.append(abs(ours - paper))
        lines.append(f"| {b} | {n} | {paper:.2f} | {ours:.2f} | {ours - paper:+.2f} | {row['confidence']} |")
    mae = float(np.mean(np.abs(errors)))
    nontrivial = [abs(e) for e, r in zip(errors, reference) if int(r["candidates"]) > 1]
    lines.append("")
    lines.append(f"MAE {mae:.3f} over {len(errors)} points ({float(np.mean(nontrivial)):.3f} over the "
                 f"{len(nontrivial)} points with n > 1); worst high-confidence error {max(high):.3f}; "
                 f"worst error {max(abs(e) for e in errors):.3f}.")
    return "\n".join(lines)


def shape_checks(result) -> str:
    sp = result.speedup[:, :, 0]
    b, n = list(result.batch), np.asarray(result.candidates)
    wide = n >= 16
    big = [b.index(x) for x in (32, 64)]
    lines = [
        f"- batch 32 and 64 below 1.0 for every n >= 16: {bool(np.all(sp[big][:, wide] < 1.0))} "
        f"(largest {float(sp[big][:, wide].max()):.2f})",
        f"- speedup non-increasing with batch at every n >= 16: {bool(np.all(np.diff(sp[:, wide], axis=0) <= 1e-9))}",
        f"- batch 1 peaks at n = {int(n[np.argmax(sp[b.index(1)])])} ({float(sp[b.index(1)].max()):.2f}x)",
        f"- batch 4 peaks at n = {int(n[np.argmax(sp[b.index(4)])])} ({float(sp[b.index(4)].max()):.2f}x); "
        f"64 -> 80 candidates: {float(sp[b.index(4), list(n).index(64)]):.2f} -> "
        f"{float(sp[b.index(4), list(n).index(80)]):.2f}",
    ]
    return "\n".join(lines)


def main() -> None:
    table_only = "--table-only" in sys.argv[1:]
    fig22 = run_scenario("medusa-appendix-g")
    reference = charts.read_reference_csv(FIGURE22)
    print(error_table(fig22, reference))
    print()
    print(shape_checks(fig22))
    if table_only:
        return
    written = [
        charts.plot_speedup_vs_candidates(fig22, DOCS / "figure22.png", reference=reference),
        charts.plot_figure21(fig22, DOCS / "figure21.png", reference=charts.read_reference_csv(FIGURE21)),
        charts.plot_speedup_vs_candidates(run_scenario("medusa-appendix-g-seq"), DOCS / "figure-seq.png"),
        charts.plot_heatmap(fig22, DOCS / "heatmap.png"),
        charts.plot_roofline(specroof.latency("llama-7b", "h200", 16, 64, 1024), DOCS / "roofline.png"),
    ]
    print()
    for path in written:
        print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
