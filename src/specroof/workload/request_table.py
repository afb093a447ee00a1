"""``speedup --workload``: request-level columns over a speedup grid.

``ISL:OSL`` is the SpecDecode-Bench protocol (one prompt of ISL tokens replicated b times,
each generating OSL tokens); a CSV file with ``prompt_tokens,output_tokens`` columns serves its
rows b at a time, in order. Each (batch, candidates) row reports the batch served with and
without speculation: generated tokens/s, mean TTFT, TPOT and end-to-end latency, and the
request-level speedup (tokens/s over tokens/s, prefill included).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np

from specroof.datafiles import csv_records, read_text
from specroof.errors import SpecroofError, SpecroofWarning
from specroof.speculation.study import Study
from specroof.workload.request_level import served_in_batches
from specroof.workload.scheduler import SchedulerRules, rules_for
from specroof.workload.serving import kv_capacity_tokens
from specroof.workload.stepcosts import price_steps

COLUMNS = ["batch", "candidates", "acceptance_length", "tokens_per_s", "ar_tokens_per_s", "ttft_ms", "tpot_ms",
           "ar_tpot_ms", "e2e_s", "ar_e2e_s", "request_speedup"]


def parse_workload(text: str) -> tuple[np.ndarray, np.ndarray, str]:
    """(prompt lengths, output lengths, label) of ``ISL:OSL`` (one request) or a CSV file."""
    head, sep, tail = text.partition(":")
    if sep and head.isdigit() and tail.isdigit():
        if int(head) < 1 or int(tail) < 1:
            raise SpecroofError(f"--workload {text!r}: ISL and OSL must be >= 1 token")
        return np.array([int(head)]), np.array([int(tail)]), f"ISL {int(head)}, OSL {int(tail)} (SpecDecode-Bench protocol)"
    if not Path(text).is_file():
        raise SpecroofError(f"--workload {text!r}: give ISL:OSL (e.g. 1024:256) or a CSV file with "
                            "prompt_tokens,output_tokens columns")
    rows = csv_records(read_text(Path(text), "workload file"))
    try:
        prompts = np.array([int(r["prompt_tokens"]) for r in rows])
        outputs = np.array([int(r["output_tokens"]) for r in rows])
    except (KeyError, ValueError, TypeError):
        raise SpecroofError(f"--workload {text}: every row needs whole-number prompt_tokens and output_tokens") from None
    if prompts.size == 0 or np.any(prompts < 1) or np.any(outputs < 1):
        raise SpecroofError(f"--workload {text}: give at least one row, lengths >= 1 token")
    return prompts, outputs, f"{Path(text).name} ({prompts.size} requests)"


def rules_label(study: Study) -> str:
    """The scheduler rules a workload runs with, in words (for the title)."""
    rules = rules_for(study.setup)
    return f"{rules.engine} rules: prefill in {rules.max_batched_tokens}-token chunks"


def _check_fits(study: Study, rules: SchedulerRules, batches: np.ndarray, prompts: np.ndarray, outputs: np.ndarray,
                longest: int) -> None:
    """Refuse requests beyond the model's context; warn where a batch's requests outgrow the KV cache."""
    limit = study.setup.model.max_position_embeddings
    if limit is not None and longest > limit:
        raise SpecroofError(f"--workload: requests of up to {longest:,} tokens (prompt + output) are beyond "
                            f"{study.setup.model.name}'s max_position_embeddings of {limit:,}")
    room = kv_capacity_tokens(study, rules, int(study.grid.candidates.max()))
    per_request = prompts + outputs
    for b in (int(x) for x in batches):
        need = int(np.max(per_request) * b) if prompts.size == 1 else int(np.sort(per_request)[-b:].sum())
        if need > room:
            warnings.warn(SpecroofWarning(
                f"--workload at batch {b}: its requests need up to {need:,} tokens of KV cache, beyond the "
                f"{room:,} {study.setup.hardware.display_name} holds for {study.setup.model.name} (the engine "
                "would preempt or queue them; priced as if they fit)"), stacklevel=3)
            return


def workload_records(study: Study, batches: np.ndarray, candidates: np.ndarray, prompts: np.ndarray,
                     outputs: np.ndarray) -> list[dict[str, Any]]:
    """One record per (batch, candidates): the batch served plainly and with n candidates.
    A one-request workload (ISL:OSL) is replicated ``batch`` times."""
    rules = rules_for(study.setup)
    ns = tuple(int(n) for n in candidates)
    longest = int(np.max(prompts + outputs)) + max(ns) + 1
    _check_fits(study, rules, batches, prompts, outputs, longest - max(ns) - 1)
    costs = price_steps(study, ns, int(np.max(batches)), longest, rules.max_batched_tokens)
    records = []
    for b in (int(x) for x in batches):
        p, o = (np.repeat(prompts, b), np.repeat(outputs, b)) if prompts.size == 1 else (prompts, outputs)
        plain = served_in_batches(costs, p, o, b, 1, rules.max_batched_tokens)
        for n in ns:
            spec = served_in_batches(costs, p, o, b, n, rules.max_batched_tokens)
            records.append({
                "batch": b, "candidates": n, "acceptance_length": spec.acceptance_length,
                "tokens_per_s": spec.tokens_per_s, "ar_tokens_per_s": plain.tokens_per_s,
                "ttft_ms": spec.mean_ttft_s * 1e3, "tpot_ms": spec.mean_tpot_s * 1e3,
                "ar_tpot_ms": plain.mean_tpot_s * 1e3, "e2e_s": spec.mean_e2e_s, "ar_e2e_s": plain.mean_e2e_s,
                "request_speedup": spec.tokens_per_s / plain.tokens_per_s})
    return records
