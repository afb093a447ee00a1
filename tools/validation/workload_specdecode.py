"""SpecDecode-Bench through the workload preset: ``python tools/validation/workload_specdecode.py``.

The traced EAGLE-3 rows of SpecDecode-Bench (Llama-3.1-8B, vLLM v0.10.1, one H100; arXiv
2601.11580, ``data/validation/specdecode-bench-h100.csv``) priced by the request-level timeline
of ``speedup --workload`` (:mod:`specroof.workload.request_level`: prefill in budget chunks with
the drafter's, decode over a growing context), beside the closed form on means that
``tools/validation/compare_e2e.py`` checks (:mod:`specroof.speculation.workload`). Same inputs as
that check's claim: acceptance from the authors' traces, each dataset's mean prompt and output
lengths, and the claim's profile (``vllm@0.10``: engine work from vLLM's code, host times from vLLM
PRs, none fitted on these runs). A check, never a fit.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np
from compare_e2e import DATA, HARDWARE, contexts, engine_profile, predict, published_rows

from specroof.speculation.study import Study
from specroof.workload.request_level import request_level
from specroof.workload.scheduler import rules_for
from specroof.workload.stepcosts import price_steps


def workload_prediction(row, ctx) -> float:  # type: ignore[no-untyped-def]
    """Request-level speedup of one published row through the workload timeline."""
    curve = DATA / "curves" / f"{row.model}-{row.method}-{row.dataset}.csv"
    study = Study.of(row.model, HARDWARE, 1, 1, 1024, method=row.method, acceptance=f"curve:{curve}", dtype="bf16",
                     tp=row.tp, profile=engine_profile(row.engine))
    rules = rules_for(study.setup)
    work = ctx[row.dataset]
    n = row.k + 1
    costs = price_steps(study, (n,), row.batch, work.prompt_tokens + work.output_tokens + n + 1,
                        rules.max_batched_tokens)
    prompts, outputs = np.full(row.batch, work.prompt_tokens), np.full(row.batch, work.output_tokens)
    plain = request_level(costs, prompts, outputs, 1, rules.max_batched_tokens)
    spec = request_level(costs, prompts, outputs, n, rules.max_batched_tokens)
    return spec.tokens_per_s / plain.tokens_per_s


def rows() -> list[dict[str, object]]:
    ctx = contexts()
    out = []
    for row in published_rows():
        if not (row.traced and row.method == "eagle3" and row.dataset in ctx):
            continue
        out.append({"dataset": row.dataset, "batch": row.batch, "k": row.k, "measured": row.measured,
                    "workload": workload_prediction(row, ctx), "closed_form": predict(row, ctx)})
    return out


def summary(table: list[dict[str, object]], key: str) -> dict[str, float]:
    """MAPE, bias and worst signed error (percent) of one prediction column."""
    errors = np.array([float(r[key]) / float(r["measured"]) - 1 for r in table])
    return {"rows": len(errors), "mape_pct": float(np.mean(np.abs(errors)) * 100),
            "bias_pct": float(np.mean(errors) * 100), "worst_pct": float(errors[np.argmax(np.abs(errors))] * 100)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    table = rows()
    stats = {key: summary(table, key) for key in ("workload", "closed_form")}
    if args.json:
        print(json.dumps({"rows": table, **stats}, indent=1))
        return 0
    print(f"{'dataset':<15}{'batch':>6}{'k':>3}{'measured':>10}{'workload':>10}{'closed form':>13}")
    for r in table:
        print(f"{r['dataset']:<15}{r['batch']:>6}{r['k']:>3}{r['measured']:>10.3f}{r['workload']:>10.3f}"
              f"{r['closed_form']:>13.3f}")
    for key, s in stats.items():
        print(f"{key}: {s['rows']} rows, MAPE {s['mape_pct']:.1f}%, bias {s['bias_pct']:+.1f}%, "
              f"worst {s['worst_pct']:+.1f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
