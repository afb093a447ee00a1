"""Rows of ``published-e2e.csv`` from published ``vllm bench serve`` logs (no prediction made).

``python tools/validation/transcribe_bench_logs.py GIT_DIR`` prints, as CSV rows in the set's
schema, the Llama-3.3-70B TP2 runs of tomasruizt/vllm-scripts (commit ``COMMIT``: the data behind
the blog post "Up to 3.55x Faster: Contributing Speculative Decoding with Draft Models to vLLM V1",
tomasruizt.github.io, 2026-01-28). ``GIT_DIR`` is a clone of that repository; the logs are read
at ``COMMIT`` with ``git show``. Every number is the log's own: output token throughput of the
speculative run and of the no-speculation run at the same concurrency, its acceptance length,
and the prompt and output lengths as total tokens / successful requests. Nothing else is filled
in; the split is left empty for ``split_published.py --write``.

Why a script: 84 runs (EAGLE-3 and a draft model, K = 3..8, concurrency 1..64) are read more
faithfully by a parser than by hand, and the parser can be re-run against the same commit.
"""

from __future__ import annotations

import argparse
import csv
import re
import subprocess
import sys
from pathlib import Path

from split_published import DATA, read_table

COMMIT = "d94d714fa4e451591f628542a57bbc7f9c2d2619"
SOURCE_ID = "tomasruizt-blog-2026-01-28-vllm-draft-model"
BLOB = f"https://github.com/tomasruizt/vllm-scripts/blob/{COMMIT}/online-throughput"
CONCURRENCIES = (1, 2, 4, 8, 16, 32, 64)
DRAFT_LENGTHS = range(3, 9)
# log folder name -> (specroof method, the `draft` cell: a catalog model for a draft model, else the head)
METHODS = {"draft-model": ("draft", "llama-3.2-1b"), "eagle3": ("eagle3", "yuhuili/EAGLE3-LLaMA3.3-Instruct-70B")}
FIELDS = {"requests": "Successful requests", "input": "Total input tokens", "output": "Total generated tokens",
          "throughput": r"Output token throughput \(tok/s\)", "tau": "Acceptance length"}
NOTES = ("2x H100 80GB (NVIDIA Brev, the blog's Hardware section; SXM: the same author's Brev profiler traces in "
         "profiling/ name the device 'NVIDIA H100 80GB HBM3'); the serve logs say custom all-reduce is disabled "
         "because the platform lacks GPU P2P, so the TP2 all-reduce does not use NVLink P2P; --tensor-parallel-size 2, "
         "bf16 (dtype=torch.bfloat16 in the serve log), --max-num-seqs 256 --max-model-len 5000 "
         "--no-enable-prefix-caching (online-throughput/tp2-llama70b.md); vllm bench serve on InstructCoder, "
         "--max-concurrency c --request-rate c (Poisson), --num-prompts max(50, 10c), temperature 0; "
         "{draft}; input/output tokens = the log's totals / successful requests, rounded; context = prompt + output // 2 "
         "by the rule; output throughput includes each request's prefill")
DRAFT_NOTE = {"draft": "draft model meta-llama/Llama-3.2-1B (speculative max_model_len 5000)",
              "eagle3": "EAGLE-3 head yuhuili/EAGLE3-LLaMA3.3-Instruct-70B"}
FULL_CACHE = ("; batch left empty: the blog's footnote says the KV cache fills completely at batch 64 on "
              "InstructCoder with Llama 70B, so some requests wait and the running batch is below the cap "
              "and not stated")


def read_log(git_dir: Path, path: str) -> dict[str, float]:
    """The benchmark block's numbers of one log at ``COMMIT``."""
    text = subprocess.run(["git", "-C", str(git_dir), "show", f"{COMMIT}:online-throughput/{path}"],
                          check=True, capture_output=True, text=True).stdout
    out = {}
    for key, label in FIELDS.items():
        found = re.search(rf"^{label}:\s+([0-9.]+)\s*$", text, flags=re.MULTILINE)
        if found:
            out[key] = float(found.group(1))
    return out


def row(git_dir: Path, folder: str, k: int, concurrency: int) -> dict[str, str]:
    """One speculative run against the no-speculation run at the same concurrency."""
    method, draft = METHODS[folder]
    spec_path = f"k{k}/tp-results-{folder}/bench-{folder}-c{concurrency}.log"
    base_path = f"tp-results-nosd/bench-nosd-c{concurrency}.log"
    spec, base = read_log(git_dir, spec_path), read_log(git_dir, base_path)
    prompt, output = round(spec["input"] / spec["requests"]), round(spec["output"] / spec["requests"])
    full = concurrency == 64
    return {
        "row_id": f"tomasruizt-llama33-70b-tp2-{method}-k{k}-c{concurrency}", "source_id": SOURCE_ID, "split": "",
        "collection": "e2e-2026-12-07", "model": "llama-3.3-70b", "hf_model": "meta-llama/Llama-3.3-70B-Instruct",
        "gpu": "h100-sxm", "gpus": "2", "tp": "2", "ep": "", "dp_attention": "1", "draft_tp": "", "gpu_p2p": "no",
        "engine": "vllm", "engine_version": "0.1.dev13107+ge1a34c3a5 (V1; a build of PR #24322's branch, from the serve logs)",
        "engine_release": "", "harness": "", "dtype": "bf16", "weight_dtype": "", "method": method, "draft": draft,
        "k": str(k), "tree": "chain", "batch": "" if full else str(concurrency), "request_rate_qps": "",
        "dataset": "InstructCoder (likaixin/InstructCoder)", "input_tokens": str(prompt),
        "output_tokens": str(output), "context_tokens": str(prompt + output // 2),
        "acceptance_length": f"{spec['tau']:.2f}", "metric": "output_throughput",
        "baseline": f"{base['throughput']:.2f}", "speculative": f"{spec['throughput']:.2f}",
        "speedup": f"{spec['throughput'] / base['throughput']:.4f}", "url": f"{BLOB}/{spec_path}",
        "where": (f"'Output token throughput (tok/s)', 'Acceptance length' and token totals of {spec_path}; "
                  f"baseline 'Output token throughput (tok/s)' of {base_path} (commit {COMMIT[:8]})"),
        "notes": NOTES.format(draft=DRAFT_NOTE[method]) + (FULL_CACHE if full else ""),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("git_dir", type=Path, help="a clone of tomasruizt/vllm-scripts")
    args = parser.parse_args()
    _, header, _ = read_table(DATA)
    writer = csv.DictWriter(sys.stdout, fieldnames=header, lineterminator="\n")
    for folder in METHODS:
        for k in DRAFT_LENGTHS:
            for concurrency in CONCURRENCIES:
                writer.writerow(row(args.git_dir, folder, k, concurrency))


if __name__ == "__main__":
    main()
