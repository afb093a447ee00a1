"""The serving simulator against published load points: ``python tools/validation/compare_load.py [--write]``.

Every row of ``data/validation/load-published.csv`` (section 5 of its README) is priced through
``specroof.workload`` (the engine of ``specroof simulate``), speculation off and on, and the
metric the row states is read from each arm: TPOT, ITL, TTFT, request latency, output
throughput, and their ratio (the speedup). A row whose setup the source does not state (GPU,
prompt/output lengths, draft tokens, device count), or whose model or accelerator is not in
the catalogs, is refused with its reason, never priced on a guess. A check, never a fit: no
constant of specroof was set on these rows, and the test rows are scored here once and
reported, never used to change anything. ``--write`` rewrites ``docs/validation-load.md``
(tables in ``load_report.py``), which ``tests/test_load_validation.py`` recomputes.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from split_published import read_table  # noqa: E402  (the one CSV reader of the validation tables)

from specroof.errors import SpecroofError  # noqa: E402
from specroof.hardware import catalog_names as hardware_names  # noqa: E402
from specroof.models import catalog_names as model_names  # noqa: E402
from specroof.speculation.study import Study  # noqa: E402
from specroof.workload.arrivals import requests_from  # noqa: E402
from specroof.workload.draws import DEFAULT_SPREAD  # noqa: E402
from specroof.workload.kschedule import KSchedule  # noqa: E402
from specroof.workload.metrics import summarize  # noqa: E402
from specroof.workload.requests import RequestSet  # noqa: E402
from specroof.workload.serving import Serving  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data" / "validation" / "load-published.csv"
DOC = ROOT / "docs" / "validation-load.md"
PROFILE = "vllm"
"""Every priced row ran vLLM with its version unstated: the shipped profile (the newest vLLM)."""
DTYPE = "bf16"
"""Qwen3-32B's checkpoint dtype (config.json torch_dtype); no source states quantization."""
REQUESTS = 1000
"""Requests per simulation where the source states no duration."""
BATCH_WAVES = 4
"""A batch row (``load_kind`` batch: that many sequences at once) is a closed loop at that
concurrency serving this many batches' worth of requests, so the first wave's prefill and the
last wave's tail are a small part of the run."""
LOAD_KINDS = ("request_rate_rps", "batch")
SEED = 0

STAGE_S = {"llmd-pr2074-qwen3-32b-eagle3": 120.0}
"""Seconds each rate ran, as the source states ("5-stage constant-rate ladder ..., 120 s per
stage", llm-d report at commit b4099d9d): a stage sends rate x 120 requests."""
STAGED_ARRIVALS = ("inference-perf's constant load (`ConstantLoadTimer`, inference_perf/loadgen/load_timer.py):\n"
                   "    exponential gaps scaled to sum to the stage, a Poisson process given its count")
"""How a source with a stage duration sent its requests; the others are Poisson at the rate
(``vllm bench serve``'s default, burstiness 1)."""
DRAFT_VOCAB = {"RedHatAI/Qwen3-32B-speculator.eagle3": 32000}
"""Draft vocabularies of the heads the rows name: RedHatAI's head has draft_vocab_size 32000 (the
EAGLE-3 recipe's; a public preflight check pinned to that repository at revision dc84fe7f expects
it); not in the catalog's checkpoints.toml, so passed here."""

ITL_PER_TOKEN = {"llmd-pr2074-qwen3-32b-eagle3"}
"""Sources whose harness defines ITL per output token (inference-perf docs/metrics.md: "time
between output token generation within a request", ms per output token), so a speculative
step's tokens share its gap; its mean is the simulator's mean TPOT (every request has the same
length). The simulator's own ITL is one gap per step (vllm bench serve's, docs/simulate.md)."""

METRIC_KEY = {"tpot": "tpot", "itl": "itl", "ttft": "ttft", "request_latency": "e2e"}
THROUGHPUT = ("output_throughput", "throughput")
STATISTIC = {"p50": "p50", "mean": "mean", "not stated": "mean"}
"""``not stated`` is read as the mean (what ``vllm bench serve`` prints first)."""
UNIT_S = {"ms": 1e-3, "s": 1.0}


@dataclass(frozen=True)
class Row:
    """One published row (the CSV's strings) and what the simulator needs from it."""

    raw: dict[str, str]

    def __getitem__(self, key: str) -> str:
        return self.raw[key]

    @property
    def rate(self) -> float:
        return float(self.raw["load_value"])

    @property
    def setup_key(self) -> tuple[str, str, str]:
        """Rows of one source and load point share their simulations."""
        return (self.raw["source_id"], self.raw["load_kind"], self.raw["load_value"])


def published_rows(path: Path = DATA) -> list[Row]:
    _, _, rows = read_table(path)
    return [Row(r) for r in rows]


def refusal(row: Row) -> str | None:
    """Why ``row`` cannot be priced without a guess (every reason, joined), or None."""
    reasons = []
    gpu = row["gpu"].strip()
    if not gpu:
        reasons.append("GPU not stated")
    elif "not stated" in gpu:
        reasons.append(f"accelerator stated only as {gpu!r}")
    else:
        if gpu not in hardware_names():
            reasons.append(f"hardware {gpu!r} not in the catalog")
    if not row["gpus"].strip() or not row["tp"].strip():
        reasons.append("device count / TP not stated")
    if not row["input_tokens"].strip() or not row["output_tokens"].strip():
        reasons.append("prompt and output lengths not stated")
    if not row["k"].strip():
        reasons.append("draft tokens per step (k) not stated")
    if row["load_kind"] not in LOAD_KINDS:
        reasons.append(f"load kind {row['load_kind']!r} is not one of {', '.join(LOAD_KINDS)}")
    if row["model"] not in model_names():
        reasons.append(f"model {row['model']!r} not in the catalog")
    return "; ".join(reasons) or None


def acceptance_spec(row: Row) -> str | None:
    """The stated acceptance as a chain of per-draft rate alpha (None: not stated, the method's
    default): ``acceptance_length`` L = 1 + alpha + ... + alpha^k, ``acceptance_rate`` r (accepted
    / drafted) = (alpha + ... + alpha^k) / k."""
    k = int(row["k"])
    if row["acceptance_length"].strip():
        accepted = float(row["acceptance_length"]) - 1.0
    elif row["acceptance_rate"].strip():
        accepted = float(row["acceptance_rate"]) * k
    else:
        return None
    return f"chain:{chain_alpha(accepted, k):.6f}"


def chain_alpha(accepted: float, k: int) -> float:
    """alpha in [0, 1] with alpha + ... + alpha^k = ``accepted`` (mean accepted drafts per step)."""
    if not 0.0 <= accepted <= k:
        raise SpecroofError(f"{accepted:g} accepted drafts per step is outside 0..{k}")
    roots = np.roots([1.0] * k + [-accepted])
    real = [float(r.real) for r in roots if abs(r.imag) < 1e-9 and -1e-12 <= r.real <= 1 + 1e-12]
    return min(max(real[0], 0.0), 1.0)


def _study(row: Row) -> tuple[Study, list[str]]:
    """The row's speculative study and the warnings resolving it raised (e.g. a default acceptance)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        study = Study.of(row["model"], row["gpu"], 1, 1, 1024, method=row["method"], acceptance=acceptance_spec(row),
                         draft_vocab=DRAFT_VOCAB.get(row["draft"]), dtype=DTYPE, tp=int(row["tp"]), profile=PROFILE)
    return study, sorted({str(w.message) for w in caught})


def requests_of(row: Row) -> RequestSet:
    """The row's requests, the stated mean lengths: a batch row's ``BATCH_WAVES`` x batch requests
    (all present: a closed loop keeps ``batch`` in flight); a rate row's rate x stage seconds
    requests sent as inference-perf sends them where the source states a stage (``STAGE_S``),
    else ``REQUESTS`` Poisson arrivals."""
    rate, prompt, output = row.rate, int(float(row["input_tokens"])), int(float(row["output_tokens"]))
    if row["load_kind"] == "batch":
        count = BATCH_WAVES * int(rate)
        return RequestSet(np.zeros(count), np.full(count, prompt), np.full(count, output),
                          f"{rate:g} in flight (closed loop), {count} requests")
    duration = STAGE_S.get(row["source_id"])
    if duration is None:
        return requests_from(f"poisson:{rate:g}", count=REQUESTS, prompt_tokens=prompt, output_tokens=output,
                             seed=SEED)
    count = int(round(rate * duration))
    gaps = np.random.default_rng(SEED).exponential(1.0 / rate, count)
    arrivals = np.cumsum(gaps * duration / gaps.sum())
    return RequestSet(arrivals, np.full(count, prompt), np.full(count, output),
                      f"{rate:g} req/s, {count} requests over {duration:g} s, seed {SEED}")


_POINTS: dict[tuple[str, str, str], dict[str, Any]] = {}


def simulate_point(row: Row) -> dict[str, Any]:
    """Both arms at the row's load point, simulated once per point (the rows of a point share it):
    ``{"plain": record, "spec": record, "warnings": [...], "requests": N, "arrivals": text}``."""
    if row.setup_key not in _POINTS:
        _POINTS[row.setup_key] = _simulate(row)
    return _POINTS[row.setup_key]


def _simulate(row: Row) -> dict[str, Any]:
    if row["load_kind"] not in LOAD_KINDS:
        raise SpecroofError(f"row {row['row_id']}: load kind {row['load_kind']!r} is not one of {LOAD_KINDS}")
    closed_loop = int(row.rate) if row["load_kind"] == "batch" else None
    study, caught = _study(row)
    n = int(row["k"]) + 1
    requests = requests_of(row)
    longest = int((requests.prompt_tokens + requests.output_tokens).max()) + n + 1
    serving = Serving.of(study, (1, n), longest)
    acceptance = study.acceptance.describe() if study.acceptance is not None else "none"
    out: dict[str, Any] = {"warnings": caught, "requests": requests.count, "arrivals": requests.source,
                           "acceptance": acceptance, "step_itl_ms": {}}
    for arm, schedule in (("plain", KSchedule.fixed(1)), ("spec", KSchedule.fixed(n))):
        result = serving.run(requests, schedule, spread=DEFAULT_SPREAD, seed=SEED, closed_loop=closed_loop)
        out[arm] = summarize(result).record()
        out["step_itl_ms"][arm] = out[arm]["itl_mean_ms"]
    return out


def metric_value(record: dict[str, Any], row: Row) -> float:
    """The row's metric from one arm's record, in the row's unit (tokens/s for throughput)."""
    if row["metric"] in THROUGHPUT:
        return float(record["output_tok_s"])
    metric = METRIC_KEY[row["metric"]]
    if metric == "itl" and row["source_id"] in ITL_PER_TOKEN:
        metric = "tpot"
    key = f"{metric}_{STATISTIC[row['statistic']]}_ms"
    return float(record[key]) * 1e-3 / UNIT_S[row["unit"]]


def ratio(row: Row, baseline: float, speculative: float) -> float:
    """The speedup as the CSV defines it: baseline / speculative for a time, the inverse for a throughput."""
    return speculative / baseline if row["metric"] in THROUGHPUT else baseline / speculative


def price(row: Row) -> dict[str, Any]:
    """One priced row: measured and predicted arms, speedups and signed errors (predicted / measured - 1)."""
    point = simulate_point(row)
    base, spec = metric_value(point["plain"], row), metric_value(point["spec"], row)
    out: dict[str, Any] = {"row_id": row["row_id"], "split": row["split"], "source_id": row["source_id"],
                           "metric": row["metric"], "statistic": row["statistic"], "unit": row["unit"],
                           "load": row.rate, "pred_baseline": base, "pred_speculative": spec,
                           "pred_speedup": ratio(row, base, spec)}
    for key in ("baseline", "speculative", "speedup"):
        measured = float(row[key]) if row[key].strip() else None
        out[f"meas_{key}"] = measured
        out[f"err_{key}"] = None if measured is None else out[f"pred_{key}"] / measured - 1.0
    return out


def compare(rows: list[Row] | None = None) -> tuple[list[dict[str, Any]], list[dict[str, str]], dict[str, Any]]:
    """(priced rows, refused rows, per-source simulation notes) of the whole table."""
    priced, refused, notes = [], [], {}
    for row in rows if rows is not None else published_rows():
        reason = refusal(row)
        if reason is not None:
            refused.append({"row_id": row["row_id"], "split": row["split"], "source_id": row["source_id"],
                            "reason": reason})
            continue
        priced.append(price(row))
        point = simulate_point(row)
        note = notes.setdefault(row["source_id"], {"warnings": point["warnings"], "arrivals": set(),
                                                   "acceptance": point["acceptance"], "step_itl": []})
        note["arrivals"].add(point["arrivals"])
        if row["metric"] == "itl" and row["source_id"] in ITL_PER_TOKEN and row["speedup"].strip():
            itl = point["step_itl_ms"]
            note["step_itl"].append(itl["plain"] / itl["spec"] / float(row["speedup"]) - 1.0)
    return priced, refused, notes


def summary(priced: list[dict[str, Any]], key: str) -> dict[str, float | int]:
    """MAPE, bias and worst signed error (percent) of ``err_<key>`` over the rows that state it."""
    errors = np.array([r[f"err_{key}"] for r in priced if r[f"err_{key}"] is not None], dtype=float)
    if errors.size == 0:
        return {"rows": 0}
    return {"rows": int(errors.size), "mape_pct": float(np.mean(np.abs(errors)) * 100),
            "bias_pct": float(np.mean(errors) * 100), "worst_pct": float(errors[np.argmax(np.abs(errors))] * 100)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write", action="store_true", help=f"rewrite {DOC.relative_to(ROOT)}")
    parser.add_argument("--json", action="store_true", help="rows, refusals, summaries and the page as JSON")
    parser.add_argument("--data", type=Path, default=DATA, help="the table of load points (default: the shipped one)")
    args = parser.parse_args()
    from load_report import render

    priced, refused, notes = compare(published_rows(args.data))
    text = render(priced, refused, notes)
    if args.json:
        splits = {split: {"priced": sum(r["split"] == split for r in priced),
                          "refused": sum(r["split"] == split for r in refused),
                          "speedup": summary([r for r in priced if r["split"] == split], "speedup")}
                  for split in ("dev", "test")}
        sources = {source: {**note, "arrivals": sorted(note["arrivals"])} for source, note in notes.items()}
        print(json.dumps({"priced": priced, "refused": refused, "splits": splits, "sources": sources, "doc": text},
                         indent=1))
    elif args.write:
        if args.data != DATA:
            parser.error(f"--write writes {DOC.relative_to(ROOT)} from the shipped table only")
        DOC.write_text(text, encoding="utf-8")
        print(f"wrote {DOC.relative_to(ROOT)}")
    else:
        print(text, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
