"""Per-request acceptance from SpecDecode-Bench's traces: how much requests differ.

    python tools/validation/request_acceptance.py /path/to/simulator/data/llama3.1-8B \
        [--out data/validation/specdecode-bench-request-acceptance.csv]

The SpecDecode-Bench simulator (https://github.com/SpecDecode-Bench/simulator @ 2fdccbd, paper
arXiv 2601.11580) ships per-request EAGLE-3 acceptance traces of Llama-3.1-8B-Instruct on one
H100 (``combined_<dataset>.jsonl``; the format and how a chain of K drafts reads them are in
``tools/validation/read_traces.py``). For every request this writes the tokens one speculative
step yields on average, tau_r, at K = 1, 3 and 5: a step at position p yields
min(acc_len[p - 1], K + 1, what is left of the request), from position 1 (the prefill's token)
to the request's end. ``tests/test_simulate_spread.py`` checks the simulator's per-request
acceptance draws (:mod:`specroof.workload.draws`) against these rows.
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

DATASETS = {"cnn": "cnn_dailymail", "gsm8k": "gsm8k", "instructcoder": "instructcoder", "sharegpt": "sharegpt"}
KS = (1, 3, 5)
SOURCE = "https://github.com/SpecDecode-Bench/simulator data/llama3.1-8B/combined_<dataset>.jsonl @ 2fdccbd"
DEFAULT_OUT = Path(__file__).resolve().parents[2] / "data" / "validation" / "specdecode-bench-request-acceptance.csv"


def request_tau(acc_len: list[int], k: int) -> tuple[float, int]:
    """(tokens per step, steps) of one request decoded with a chain of ``k`` drafts."""
    length, position, tokens, steps = len(acc_len), 1, 0, 0
    while position < length:
        step = min(int(acc_len[position - 1]), k + 1, length - position)
        position, tokens, steps = position + step, tokens + step, steps + 1
    return (tokens / steps if steps else float("nan")), steps


def rows(folder: Path) -> list[dict[str, object]]:
    out = []
    for stem, dataset in DATASETS.items():
        with open(folder / f"combined_{stem}.jsonl", encoding="utf-8") as handle:
            for line in handle:
                record = json.loads(line)
                acc = record["acc_eagle"]["acc_len"]
                if len(acc) < 2:
                    continue
                row: dict[str, object] = {"dataset": dataset, "request": record["id"], "output_tokens": len(acc)}
                for k in KS:
                    row[f"tau_k{k}"] = round(request_tau(acc, k)[0], 6)
                out.append(row)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path, help="the simulator's data/llama3.1-8B folder")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    table = rows(args.folder)
    with open(args.out, "w", encoding="utf-8", newline="") as handle:
        handle.write("# Per-request EAGLE-3 acceptance of Llama-3.1-8B-Instruct (SpecDecode-Bench traces, vLLM v0.10.1, "
                     "H100): tokens per step tau_r at K = 1, 3, 5.\n")
        handle.write(f"# Source: {SOURCE}; derived by tools/validation/request_acceptance.py. Check, never fit.\n")
        writer = csv.DictWriter(handle, fieldnames=list(table[0]))
        writer.writeheader()
        writer.writerows(table)
    print(f"wrote {len(table)} requests to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
