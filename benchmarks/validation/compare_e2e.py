"""Predicted vs published end-to-end speedups: ``python benchmarks/validation/compare_e2e.py``.

Checks specroof's speedup against the published engine measurements in ``data/validation/``
(see its README). Nothing is fitted to these numbers: costs come from the profiles' kernel
parameters and stated per-step overheads, acceptance from the authors' own traces. Writes
``docs/validation-e2e.md`` (``--write``) or prints the tables.

Two kinds of check:

- **speedup**, where the acceptance length is known (SpecDecode-Bench's Llama-3.1-8B traces:
  EAGLE-3 and n-gram, vLLM v0.10.1 on one H100);
- **batch ratio** speedup(b) / speedup(b0) for every other series (EAGLE, draft models,
  Qwen3-8B, Llama-3-70B with tensor parallelism 4, SGLang trees, the EAGLE-3 paper's SGLang
  table): acceptance cancels from the decode steps' speedup when it does not depend on batch,
  and enters only weakly through the prefill share; where it is unknown, ``chain:0.7``
  (tau = 2.53 at k = 3) stands in for it.

Inputs that are assumptions, stated here once:

- workload: the benchmarks' speedup is generated-token throughput over whole requests, so a
  batch pays one prefill of its prompts besides its decode steps. The mean prompt and output
  lengths and the token-weighted mean KV length of the decode steps come from the authors'
  traces (``data/validation/specdecode-bench-trace-contexts.csv``); MT-bench (the EAGLE-3
  paper's SGLang table) has no trace: decode steps at 512 tokens of context, no prefill;
- n-gram proposal rate: the share of steps that find a match is not in the traces. The
  authors' simulator assumes 0.2 / 0.4 / 0.2 / 0.8 (ShareGPT / CNN / GSM8K / InstructCoder);
  we take those, so the n-gram rows are a weaker check than the EAGLE-3 rows. The traces'
  acceptance averages over all steps, matched or not, so for n-gram the trace's tau is the
  per-step yield itself;
- draft models: Qwen3-0.6B for Qwen3-8B (stated on the project page); the Llama-3-70B draft
  model is not stated, so that series is left out.
"""

from __future__ import annotations

import argparse
import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import specroof

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data" / "validation"
DOC = ROOT / "docs" / "validation-e2e.md"
NGRAM_PROPOSAL_RATE = {"sharegpt": 0.2, "cnn_dailymail": 0.4, "gsm8k": 0.2, "instructcoder": 0.8}
MT_BENCH_CONTEXT = 512
DRAFT_MODELS = {"qwen3-8b": "qwen3-0.6b"}
ENGINE_PROFILE = {"vllm": "vllm", "sglang": "sglang"}
HARDWARE = "h100-sxm"


def read_rows(name: str) -> list[dict[str, str]]:
    with open(DATA / name, encoding="utf-8") as handle:
        return list(csv.DictReader(line for line in handle if not line.startswith("#")))


@dataclass(frozen=True)
class Workload:
    """A dataset's requests as the traces record them (means over requests)."""

    context_tokens: int  # token-weighted mean KV length of the decode steps
    prompt_tokens: int
    output_tokens: int


def contexts() -> dict[str, Workload]:
    return {r["dataset"]: Workload(int(r["context_tokens"]), int(r["prompt_mean"]), int(r["output_mean"]))
            for r in read_rows("specdecode-bench-trace-contexts.csv")}


@dataclass
class Row:
    """One published point and its prediction."""

    source: str
    engine: str
    model: str
    method: str
    dataset: str
    batch: int
    k: int
    tp: int
    tree: str
    measured: float
    tau: float | None
    predicted: float = math.nan

    @property
    def traced(self) -> bool:
        """Acceptance known from the authors' traces (the rows whose speedup itself is checked)."""
        return self.tau is not None and self.model == "llama-3.1-8b" and self.method in ("eagle3", "ngram")

    @property
    def series(self) -> tuple:
        return (self.source, self.engine, self.model, self.method, self.dataset, self.k, self.tree)


def _tree_option(text: str, k: int) -> str | None:
    """SGLang's depth-3 trees of Figure 2: k draft tokens, branching 2 or 4."""
    if not text.startswith("tree"):
        return None
    branching = int(text.split("branching=")[1].split()[0])
    return f"steps=3,topk={branching},tokens={k + 1}"


def predict(row: Row, ctx: dict[str, Workload], prefill: bool = True) -> float:
    """specroof's speedup for a published row; acceptance from the traces where known, else a
    placeholder chain (only ratios over batch are compared then).

    The benchmarks measure generated-token throughput over whole requests, prefill included:
    where the traces give the workload, a batch of requests costs one prefill of its prompts
    (the same with or without speculation) plus its decode steps (output / tau of them with
    speculation), so the speedup is ``(P + out x T_plain) / (P + out / tau x T_spec)``.
    """
    profile = ENGINE_PROFILE[row.engine.split("-")[0]]
    workload = ctx.get(row.dataset)
    seq = workload.context_tokens if workload else MT_BENCH_CONTEXT
    n = row.k + 1
    options: dict = {"method": row.method, "dtype": "bf16", "tp": row.tp, "profile": profile}
    if row.method == "draft":
        options["draft_model"] = DRAFT_MODELS[row.model]
    tree = _tree_option(row.tree, row.k)
    if tree:
        options["tree"] = tree
    if row.traced:
        acceptance = f"curve:{DATA / 'curves' / f'{row.model}-{row.method}-{row.dataset}.csv'}"
    else:
        acceptance = "chain:0.7"
    if row.method == "ngram":
        options["proposal_rate"] = NGRAM_PROPOSAL_RATE.get(row.dataset, 1.0)
    result = specroof.speedup(row.model, HARDWARE, batch=[row.batch], candidates=[n], seq_len=seq,
                              acceptance=acceptance, **options)
    tau = float(result.acceptance_length[0, 0, 0])
    if row.method == "ngram" and row.traced:  # the trace's tau already counts unmatched steps
        tau = row.tau
    t_spec, t_plain = float(result.latency_ms[0, 0, 0]), float(result.ar_latency_ms[0, 0, 0])
    if workload is None or not prefill:  # decode steps only
        return tau * t_plain / t_spec
    prefill_time = prefill_ms(row, workload, profile)
    out = workload.output_tokens
    return (prefill_time + out * t_plain) / (prefill_time + out / tau * t_spec)


def prefill_ms(row: Row, workload: Workload, profile: str) -> float:
    """One forward over the batch's prompts (causal attention over the prompt itself)."""
    step = specroof.latency(row.model, HARDWARE, batch=[row.batch], candidates=[workload.prompt_tokens],
                            seq_len=[1], dtype="bf16", tp=row.tp, profile=profile)
    return float(step.latency_ms[0, 0, 0])


def published_rows() -> list[Row]:
    rows = []
    for r in read_rows("specdecode-bench-h100.csv"):
        if r["figure"] not in ("fig1", "fig2") or r["model"] not in ("llama-3.1-8b", "qwen3-8b", "llama-3-70b"):
            continue
        if r["method"] == "draft" and r["model"] not in DRAFT_MODELS:
            continue
        tau = float(r["acceptance_length"]) if r["acceptance_length"] else None
        rows.append(Row(f"SpecDecode-Bench {r['figure']}", r["engine"], r["model"], r["method"], r["dataset"],
                        int(r["batch"]), int(r["k_draft_tokens"]), int(r["tp"]), r["tree"], float(r["speedup"]), tau))
    for r in read_rows("eagle3-paper-serving.csv"):
        if not r["engine"].startswith("sglang-0.4") or r["method"] not in ("eagle", "eagle3"):
            continue
        rows.append(Row("EAGLE-3 paper Table 3", "sglang", r["model"], r["method"], r["dataset"], int(r["batch"]),
                        int(r["k_draft_tokens"]), 1, "chain", float(r["speedup"]), None))
    return rows


def compare() -> tuple[list[Row], list[dict]]:
    """Every published row with its prediction, and the batch-ratio records per series."""
    ctx = contexts()
    rows = published_rows()
    for row in rows:
        row.predicted = predict(row, ctx)
    series: dict[tuple, list[Row]] = {}
    for row in rows:
        series.setdefault(row.series, []).append(row)
    ratios = []
    for members in series.values():
        members.sort(key=lambda r: r.batch)
        base = members[0]
        for row in members[1:]:
            measured = row.measured / base.measured
            predicted = row.predicted / base.predicted
            ratios.append({"row": row, "base_batch": base.batch, "measured": measured, "predicted": predicted,
                           "error": predicted / measured - 1})
    return rows, ratios


def summary(rows: list[Row], ratios: list[dict]) -> dict[str, dict[str, float]]:
    """Speedup error where acceptance is known (per method), and batch-ratio error per source."""
    out: dict[str, dict[str, float]] = {}
    for method in ("eagle3", "ngram"):
        errors = np.array([r.predicted / r.measured - 1 for r in rows if r.traced and r.method == method])
        if errors.size:
            out[f"speedup {method} (acceptance from traces)"] = _stats(errors)
    for source in sorted({x["row"].source for x in ratios}):
        errors = np.array([x["error"] for x in ratios if x["row"].source == source])
        out[f"batch ratio, {source}"] = _stats(errors)
    return out


def _stats(errors: np.ndarray) -> dict[str, float]:
    return {"points": int(errors.size), "mape_pct": float(100 * np.mean(np.abs(errors))),
            "bias_pct": float(100 * np.mean(errors)), "worst_pct": float(100 * errors[np.argmax(np.abs(errors))])}


def markdown(rows: list[Row], ratios: list[dict]) -> str:
    stats = summary(rows, ratios)
    lines = ["# End-to-end check: predicted vs published speedups", "",
             "Generated by `python benchmarks/validation/compare_e2e.py --write`; the test",
             "`tests/test_e2e_validation.py` recomputes it and gates the errors. Nothing here is fitted:",
             "see the script's docstring for every assumption and `data/validation/README.md` for the data.",
             "", "| check | points | MAPE | bias | worst |", "|---|---|---|---|---|"]
    for name, s in stats.items():
        lines.append(f"| {name} | {s['points']} | {s['mape_pct']:.1f}% | {s['bias_pct']:+.1f}% | {s['worst_pct']:+.1f}% |")
    lines += ["", "## Rows with known acceptance (Llama-3.1-8B, vLLM v0.10.1, H100, k = 3 or 5)", "",
              "| method | dataset | batch | k | tau | measured | predicted | error |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if r.traced:
            lines.append(f"| {r.method} | {r.dataset} | {r.batch} | {r.k} | {r.tau:.3f} | {r.measured:.3f} | "
                         f"{r.predicted:.3f} | {100 * (r.predicted / r.measured - 1):+.1f}% |")
    lines += ["", "## Batch ratios speedup(b) / speedup(first batch) of every series", "",
              "| source | model | method | tree | dataset | batch | measured ratio | predicted ratio | error |",
              "|---|---|---|---|---|---|---|---|---|"]
    for x in ratios:
        r = x["row"]
        tree = "chain" if r.tree == "chain" else f"tree, {r.k} drafts"
        lines.append(f"| {r.source} | {r.model} (tp {r.tp}) | {r.method} | {tree} | {r.dataset} | {x['base_batch']} -> "
                     f"{r.batch} | {x['measured']:.3f} | {x['predicted']:.3f} | {100 * x['error']:+.1f}% |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help=f"write {DOC.relative_to(ROOT)}")
    args = parser.parse_args()
    rows, ratios = compare()
    text = markdown(rows, ratios)
    if args.write:
        DOC.write_text(text, encoding="utf-8")
        print(f"wrote {DOC}")
    else:
        print(text)


if __name__ == "__main__":
    main()
