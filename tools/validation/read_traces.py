"""Acceptance lengths and per-budget acceptance curves from SpecDecode-Bench's published traces.

The SpecDecode-Bench simulator (https://github.com/SpecDecode-Bench/simulator, paper arXiv
2601.11580) ships per-request acceptance traces for Llama-3.1-8B-Instruct on one H100 under
``data/llama3.1-8B/combined_<dataset>.jsonl``. Each line is one request::

    {"id": ..., "prompt_token_ids": [...], "generated_token_ids": [...],
     "acc_eagle": {"acc_len": [...]}, "acc_ngram": {"acc_len": [...]}}

How the simulator reads them (its ``request.py`` and ``simulator.py``; this script only
follows the same semantics, it shares no code with them):

- ``acc_len[i]`` is the number of tokens one speculative step yields when the step starts
  right after the request's ``i + 1``-th generated token: accepted draft tokens plus the
  bonus token, so every entry is >= 1. The entries were recorded with a long draft (values
  reach 16-21), so a chain of ``k`` draft tokens yields ``min(acc_len[i], k + 1)``.
- A request's length is ``len(acc_len)`` (the EAGLE and n-gram lists can differ in length
  from ``generated_token_ids`` and from each other: separate runs).
- Decoding starts at position 1 (the prefill produced the first token); a step at position
  ``p`` with ``n = k + 1`` candidates advances ``p`` by ``min(acc_len[p - 1], n)``.

For every budget ``n`` we walk every request that way and report the acceptance length as
the paper defines it: generated tokens per step (accepted + 1 bonus), averaged over all
steps of all requests (pooled, i.e. token-weighted). The mean of per-request averages is
written alongside for comparison. The last step of a request is cut at the request's end.

Which drafter ``acc_eagle`` holds: the simulator's CLI, README and plot.py call it ``eagle3``
(``--proposer eagle3`` maps to the field ``acc_eagle``), so it is labelled ``eagle3`` here;
the field name itself says only "eagle" (see data/validation/README.md).

Usage::

    python tools/validation/read_traces.py /path/to/simulator/data/llama3.1-8B \
        [--out data/validation] [--max-candidates 16]

Writes ``<out>/specdecode-bench-trace-acceptance.csv`` and
``<out>/curves/llama-3.1-8b-<method>-<dataset>.csv`` (specroof's ``curve:`` format:
``candidates,acceptance_length`` rows, '#' comments).
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

DATASETS = {  # file suffix -> dataset name used in data/validation
    "gsm8k": "gsm8k",
    "cnn": "cnn_dailymail",
    "sharegpt": "sharegpt",
    "instructcoder": "instructcoder",
}
METHODS = {"acc_eagle": "eagle3", "acc_ngram": "ngram"}
SOURCE = "https://github.com/SpecDecode-Bench/simulator"


def read_requests(path: Path, field: str) -> list[list[int]]:
    """The ``acc_len`` list of every request in one jsonl file, for one drafter field."""
    traces = []
    with path.open(encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            record = json.loads(line)
            acc = record[field]["acc_len"]
            if not acc or any((not isinstance(a, int)) or a < 1 for a in acc):
                raise ValueError(f"{path}:{line_no}: {field}.acc_len must be integers >= 1")
            traces.append(acc)
    return traces


def walk(acc: list[int], n: int) -> tuple[int, int]:
    """(steps, tokens) of one request decoded with ``n`` candidates per step (chain, k = n - 1)."""
    length = len(acc)
    position, steps, tokens = 1, 0, 0
    while position < length:
        gained = min(acc[position - 1], n, length - position)
        position += gained
        tokens += gained
        steps += 1
    return steps, tokens


def acceptance(traces: list[list[int]], n: int) -> dict[str, float]:
    steps = tokens = 0
    per_request = []
    for acc in traces:
        s, t = walk(acc, n)
        if s == 0:
            continue  # a one-token request has no decode step
        steps += s
        tokens += t
        per_request.append(t / s)
    return {
        "acceptance_length": tokens / steps,
        "acceptance_length_request_mean": sum(per_request) / len(per_request),
        "steps": steps,
        "tokens": tokens,
        "requests": len(per_request),
    }


def decode_context(path: Path) -> dict[str, float]:
    """Token-weighted mean KV length of a dataset's decode steps: each generated token at
    position p (0-based) attends over prompt + p tokens; averaged over every generated token
    of every request (what a cost model's seq_len stands for)."""
    weighted, tokens, prompts, outputs = 0.0, 0, [], []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            prompt, generated = len(record["prompt_token_ids"]), len(record["generated_token_ids"])
            weighted += prompt * generated + generated * (generated - 1) / 2
            tokens += generated
            prompts.append(prompt)
            outputs.append(generated)
    return {"context_tokens": round(weighted / tokens), "prompt_mean": round(sum(prompts) / len(prompts)),
            "output_mean": round(sum(outputs) / len(outputs)), "requests": len(prompts)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("trace_dir", type=Path, help="the simulator's data/llama3.1-8B folder")
    parser.add_argument("--out", type=Path, default=Path("data/validation"))
    parser.add_argument("--max-candidates", type=int, default=16)
    parser.add_argument("--commit", default="", help="simulator commit the traces came from (recorded in headers)")
    args = parser.parse_args()

    curves_dir = args.out / "curves"
    curves_dir.mkdir(parents=True, exist_ok=True)
    summary_rows = []
    for suffix, dataset in DATASETS.items():
        path = args.trace_dir / f"combined_{suffix}.jsonl"
        for field, method in METHODS.items():
            traces = read_requests(path, field)
            curve = []
            for n in range(1, args.max_candidates + 1):
                result = acceptance(traces, n)
                curve.append((n, result["acceptance_length"]))
                summary_rows.append({
                    "model": "llama-3.1-8b", "method": method, "dataset": dataset,
                    "candidates": n, "k_draft_tokens": n - 1,
                    "acceptance_length": f"{result['acceptance_length']:.4f}",
                    "acceptance_length_request_mean": f"{result['acceptance_length_request_mean']:.4f}",
                    "steps": result["steps"], "tokens": result["tokens"], "requests": result["requests"],
                    "source": f"{SOURCE} data/llama3.1-8B/combined_{suffix}.jsonl field {field}.acc_len"
                              + (f" @ {args.commit}" if args.commit else ""),
                })
            # Walking each budget separately can, in principle, make tau dip by rounding noise;
            # a curve must not fall, so check rather than silently fix.
            for (n0, t0), (n1, t1) in zip(curve, curve[1:]):
                if t1 < t0:
                    raise SystemExit(f"{dataset}/{method}: tau falls from {t0} at n={n0} to {t1} at n={n1}")
            out = curves_dir / f"llama-3.1-8b-{method}-{dataset}.csv"
            with out.open("w", encoding="utf-8", newline="") as handle:
                handle.write(f"# Llama-3.1-8B-Instruct + {method} chain on {dataset}: tokens per step vs candidates n = k + 1\n")
                handle.write("# Derived by tools/validation/read_traces.py from the SpecDecode-Bench simulator traces\n")
                handle.write(f"# {SOURCE} data/llama3.1-8B/combined_{suffix}.jsonl ({field}.acc_len, {len(traces)} requests)"
                             + (f" commit {args.commit}" if args.commit else "") + "\n")
                handle.write("# pooled over all decode steps of all requests; sampling settings of the trace runs are not stated in the simulator repository\n")
                handle.write("candidates,acceptance_length\n")
                for n, tau in curve:
                    handle.write(f"{n},{tau:.4f}\n")
    with (args.out / "specdecode-bench-trace-acceptance.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(summary_rows[0]))
        writer.writeheader()
        writer.writerows(summary_rows)
    with (args.out / "specdecode-bench-trace-contexts.csv").open("w", encoding="utf-8", newline="") as handle:
        handle.write("# Token-weighted mean KV length of each dataset's decode steps (prompt + position of every generated\n"
                     "# token), from the SpecDecode-Bench traces; derived by tools/validation/read_traces.py\n")
        rows = [{"dataset": dataset, **decode_context(args.trace_dir / f"combined_{suffix}.jsonl"),
                 "source": f"{SOURCE} data/llama3.1-8B/combined_{suffix}.jsonl" + (f" @ {args.commit}" if args.commit else "")}
                for suffix, dataset in DATASETS.items()]
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    for row in summary_rows:
        if row["candidates"] in (4, 6):
            print(row["dataset"], row["method"], "n =", row["candidates"], "tau =", row["acceptance_length"],
                  "(request mean", row["acceptance_length_request_mean"] + ")")


if __name__ == "__main__":
    main()
