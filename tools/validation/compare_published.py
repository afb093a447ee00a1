"""Predicted vs published speedups: ``python tools/validation/compare_published.py``.

Prices every row of ``data/validation/published-e2e.csv`` (sources, columns and transcription
rules: section 4 of ``data/validation/README.md``; dev/test split: ``docs/validation-published.md``)
through :func:`specroof.speedup` and reports per-row errors, and MAPE, bias and the worst error
per split, per split and engine, per split and method. The tables are a section of
``docs/validation-e2e.md``, written by ``python tools/validation/compare_e2e.py --write`` (one
command for the whole doc; :func:`published_report.section` makes this set's part); ``--json``
prints the rows, the summaries and that section; ``--split dev`` shows the development set only
(what may be looked at while choosing structure).

What each row is priced with, and nothing else:

- its model (catalog name), GPU, layout (``tp``; ``ep``, ``dp_attention`` and ``draft_tp``
  passed only where the source states them), engine profile (``<engine>@<engine_release>``
  where such a profile exists, else ``<engine>``: :func:`profile_for`; every row names the
  profile that priced it), activation ``dtype`` and ``weight_dtype``, method, ``k + 1``
  candidates, tree, batch and ``context_tokens``; for a draft model (``method = draft``) the
  ``draft`` cell, which must then be a catalog name;
- its **stated acceptance length** tau, never fitted and never replaced: the predicted
  speedup of the decode steps is ``tau * T_plain / T_spec``, with ``T_spec`` the step with its
  drafting, as in ``compare_e2e.py``. The pricer needs an acceptance model to build the drafting
  passes (``PLACEHOLDER_ACCEPTANCE``); its own tau is discarded (and so are the warnings about
  it), and the step time of a fixed drafting shape does not depend on it: every row is priced
  under a second placeholder too, and refused if the two step times differ;
- n-gram: every step is priced as verifying ``k + 1`` tokens (proposal rate 1), since no
  source states how often a match is found; the stated tau averages all steps, matched or not.

Research code (``engine = research``: HF-transformers implementations such as Spec-Bench's) is
priced with the ``research`` profile; while no such profile exists its rows are refused as
"profile not yet available", never dropped.

What is compared follows the row's metric. Per-user tokens/s and time per output token measure
the decode steps: the predicted speedup is the steps' (``tau * T_plain / T_spec``). Output
throughput and end-to-end runtime (``REQUEST_METRICS``) measure whole requests: ``vllm bench
serve`` and ``sglang.bench_serving`` divide the output tokens by the run's duration, which
includes every prompt's prefill. Where the row states its prompt and output lengths, those rows
are priced over whole requests, as in ``compare_e2e.py``:
:func:`specroof.speculation.workload.request_speedup`, ``(P + out * T_plain) / (P + out / tau *
T_spec)`` with ``P`` the prefill of the batch's prompts, paid once with or without speculation
(the table's ``over`` column says ``requests``; else ``steps``). Where the source gives the
plain run's absolute rate, its time per output token is compared with specroof's plain step
(plus, over requests, the prefill's share per output token).

A row that cannot be priced is a result, not a crash: it is listed as refused with the reason
(the model is not in the catalog, a config key is not modelled yet, the layout is not
supported, the source does not state the GPU, the batch, the context or the acceptance).
``MODEL_STANDIN`` names the one model priced under another catalog entry while the catalog
lacks it, and every such row says so.
"""

from __future__ import annotations

import argparse
import json
import math
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from published_report import section
from split_published import DATA, LOCK, problems, read_lock, read_table

import specroof
from specroof.cost.profile import profile_data, profile_names
from specroof.cost.profile_versions import versioned_key
from specroof.errors import SpecroofError
from specroof.hardware.accelerator import catalog_names as hardware_names
from specroof.models.architecture import catalog_names
from specroof.speculation.workload import prefill_ms, request_speedup

PLACEHOLDER_ACCEPTANCE = "chain:0.5"
CROSS_CHECK_ACCEPTANCE = "chain:0.9"
NGRAM_PROPOSAL_RATE = 1.0
MODEL_STANDIN = {"llama-3.3-70b": "llama-3.1-70b"}
"""Llama-3.3-70B-Instruct's config.json has Llama-3.1-70B's shape (80 layers, hidden 8192, 64
heads, 8 KV heads, intermediate 28672, vocab 128256, llama3 RoPE): litgpt's config table
(Lightning-AI/litgpt ``litgpt/config.py``, entry "Llama-3.3-70B-Instruct", citing
https://huggingface.co/meta-llama/Llama-3.3-70B-Instruct/blob/main/config.json). Used only while
the catalog has no ``llama-3.3-70b``."""
TIME_METRICS = {"tpot_ms"}
RATE_METRICS = {"tokens_per_s_per_user", "output_throughput"}
REQUEST_METRICS = {"output_throughput", "e2e_runtime"}
"""Metrics over whole requests (the run's duration includes every prefill): priced with the
prefill where the row states its prompt and output lengths."""


class Refused(Exception):
    """A row specroof cannot price today; the message says why."""


@dataclass
class Priced:
    """One published row and what specroof says about it (``refused`` set: not priced)."""

    row_id: str
    split: str
    source_id: str
    model: str
    engine: str
    profile: str
    method: str
    gpu: str
    batch: int | None
    k: int | None
    measured_speedup: float
    acceptance_length: float | None
    config: str = ""
    predicted_speedup: float = math.nan
    plain_ms: float = math.nan
    spec_ms: float = math.nan
    measured_plain_tpot_ms: float | None = None
    refused: str = ""
    warnings: list[str] = field(default_factory=list)
    tp: int | None = None
    prefill_ms: float = 0.0  # the batch's prompts, once (0: priced over decode steps)
    output_tokens: int | None = None  # per request, where priced over whole requests

    @property
    def over(self) -> str:
        """What the predicted speedup covers: ``requests`` (prefill included) or decode ``steps``."""
        return "requests" if self.output_tokens else "steps"

    @property
    def error(self) -> float:
        return self.predicted_speedup / self.measured_speedup - 1

    @property
    def plain_per_token_ms(self) -> float:
        """The plain run's time per output token as its metric counts it: the step, plus over
        whole requests the prefill's share."""
        return self.plain_ms + (self.prefill_ms / self.output_tokens if self.output_tokens else 0.0)

    @property
    def plain_tpot_error(self) -> float | None:
        if self.refused or self.measured_plain_tpot_ms is None:
            return None
        return self.plain_per_token_ms / self.measured_plain_tpot_ms - 1


def _int(text: str) -> int | None:
    return int(text) if text.strip() else None


def _float(text: str) -> float | None:
    return float(text) if text.strip() else None


def measured_plain_tpot_ms(row: dict[str, str]) -> float | None:
    """The plain run's time per output token as the source gives it (None: not given)."""
    base, batch = _float(row["baseline"]), _int(row["batch"])
    if base is None or row["metric"] not in TIME_METRICS | RATE_METRICS:
        return None
    if row["metric"] in TIME_METRICS:
        return base
    per_user = base if row["metric"] == "tokens_per_s_per_user" else base / (batch or 1)
    return 1000.0 / per_user


def model_config(name: str) -> tuple[str, str]:
    """The catalog entry to price ``name`` with, and a note when it is a stand-in."""
    names = catalog_names()
    if name in names:
        return name, ""
    standin = MODEL_STANDIN.get(name)
    if standin in names:
        return standin, f"priced as {standin} (same config.json shape; the catalog has no {name})"
    raise Refused(f"unknown model {name!r}: not in the catalog")


def profile_for(row: dict[str, str]) -> str:
    """The profile that prices the row: for a stated release, the engine's newest version with
    evidence at or before it (``vllm@0.10`` for 0.10.1: :mod:`specroof.cost.profile_versions`),
    else ``<engine>`` (the newest; it may not exist yet: see :func:`priceable`)."""
    release = row["engine_release"].strip()
    if not release or row["engine"] not in profile_names():
        return row["engine"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the row's table says which profile priced it
        try:
            return versioned_key(f"{row['engine']}@{release}", profile_data())
        except SpecroofError:  # older than every version with evidence
            return row["engine"]


def options(row: dict[str, str]) -> dict:
    """:func:`specroof.speedup` keywords for the row's stated setup (layout keys only where stated)."""
    opts: dict = {"method": row["method"], "dtype": row["dtype"], "tp": int(row["tp"]), "profile": profile_for(row),
                  "acceptance": PLACEHOLDER_ACCEPTANCE}
    if row["weight_dtype"]:
        opts["weight_dtype"] = row["weight_dtype"]
    if row["tree"] not in ("chain", ""):
        opts["tree"] = row["tree"]
    if row["method"] == "ngram":
        opts["proposal_rate"] = NGRAM_PROPOSAL_RATE
    if (_int(row["ep"]) or 1) > 1:
        opts["ep"] = int(row["ep"])
    if (_int(row["dp_attention"]) or 1) > 1:
        opts["dp_attention"] = int(row["dp_attention"])
    if row["draft_tp"]:
        opts["draft_tp"] = int(row["draft_tp"])
    if row["gpu_p2p"] == "no":
        opts["gpu_p2p"] = False
    if row["method"] == "draft":
        opts["draft_model"] = row["draft"].strip()
    return opts


def unstated(row: dict[str, str]) -> str:
    """What pricing needs that the source does not state ('' when nothing is missing)."""
    missing = [what for what, key in (("the GPU", "gpu"), ("the tensor-parallel layout", "tp"), ("a batch size", "batch"),
                                      ("the draft length", "k"),
                                      ("the context length", "context_tokens"),
                                      ("an acceptance length", "acceptance_length")) if not row[key].strip()]
    if not missing:
        return ""
    extra = " (it fixes a request rate)" if row["request_rate_qps"] and not row["batch"] else ""
    return f"the source does not state {', '.join(missing)}{extra}"


def priceable(row: dict[str, str]) -> tuple[str, str]:
    """The catalog entry to price with and its note, or :class:`Refused` with every reason at once
    (the model's absence may pass with the frontier builders; what the source omits stays)."""
    reasons = [unstated(row)]
    if row["gpu"] and row["gpu"] not in hardware_names():
        reasons.insert(0, f"GPU {row['gpu']!r} is not in the hardware catalog")
    if row["method"] == "draft" and row["draft"].strip() not in catalog_names():
        reasons.insert(0, f"draft model {row['draft']!r} is not a catalog name")
    if profile_for(row) not in profile_names():
        reasons.insert(0, f"profile not yet available: {profile_for(row)!r} (no such profile on this branch)")
    try:
        config, note = model_config(row["model"])
    except Refused as refusal:
        reasons.insert(0, str(refusal))
    reasons = [r for r in reasons if r]
    if reasons:
        raise Refused("; ".join(reasons))
    return config, note


def _about_placeholder(caught: warnings.WarningMessage) -> bool:
    """A warning on the placeholder's own tokens per step (discarded: the stated tau is used)."""
    text = str(caught.message)
    return any(text.startswith(f"acceptance {spec} ") for spec in (PLACEHOLDER_ACCEPTANCE, CROSS_CHECK_ACCEPTANCE))


def price(row: dict[str, str]) -> Priced:
    """The row priced with its own setup and stated tau; a refusal keeps the reason."""
    out = Priced(row["row_id"], row["split"], row["source_id"], row["model"], row["engine"], profile_for(row),
                 row["method"], row["gpu"],
                 _int(row["batch"]), _int(row["k"]), float(row["speedup"]), _float(row["acceptance_length"]),
                 measured_plain_tpot_ms=measured_plain_tpot_ms(row), tp=_int(row["tp"]))
    try:
        out.config, note = priceable(row)
        grid = {"batch": [int(row["batch"])], "candidates": [int(row["k"]) + 1], "seq_len": [int(row["context_tokens"])]}
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = specroof.speedup(out.config, row["gpu"], **grid, **options(row))
            check = specroof.speedup(out.config, row["gpu"], **grid,
                                     **{**options(row), "acceptance": CROSS_CHECK_ACCEPTANCE})
        if not np.isclose(result.latency_ms[0, 0, 0], check.latency_ms[0, 0, 0], rtol=1e-9):
            raise Refused("the step time depends on the placeholder acceptance: the stated tau cannot be applied")
        out.warnings = [note] * bool(note) + sorted({str(w.message) for w in caught if not _about_placeholder(w)})
    except Refused as refusal:
        out.refused = str(refusal)
        return out
    except SpecroofError as error:
        out.refused = str(error).split("\n")[0]
        return out
    out.plain_ms = float(result.ar_latency_ms[0, 0, 0])
    out.spec_ms = float(result.latency_ms[0, 0, 0])
    out.predicted_speedup = float(row["acceptance_length"]) * out.plain_ms / out.spec_ms
    if row["metric"] in REQUEST_METRICS and row["input_tokens"] and row["output_tokens"]:
        _over_requests(out, row)
    return out


def _over_requests(out: Priced, row: dict[str, str]) -> None:
    """The row's speedup over whole requests: its batch's prompts prefilled once, then the decode
    steps :func:`price` already priced."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the same setup's warnings are already kept from the steps
        out.prefill_ms = prefill_ms(out.config, row["gpu"], int(row["batch"]), int(row["input_tokens"]),
                                    **options(row))
    out.output_tokens = int(row["output_tokens"])
    out.predicted_speedup = request_speedup(out.prefill_ms, out.output_tokens, out.plain_ms, out.spec_ms,
                                            float(row["acceptance_length"]))


def stats(errors: list[float]) -> dict[str, float]:
    values = np.asarray(errors, dtype=float)
    if not values.size:
        return {"points": 0}
    return {"points": int(values.size), "mape_pct": float(100 * np.mean(np.abs(values))),
            "bias_pct": float(100 * np.mean(values)), "worst_pct": float(100 * values[np.argmax(np.abs(values))])}


def summary(priced: list[Priced]) -> dict[str, dict]:
    """Speedup error per split, split x engine, split x method (priced rows only), the plain
    step's time-per-token error per split, and how many rows each split refused."""
    out: dict[str, dict] = {}
    ok = [p for p in priced if not p.refused]
    for split in sorted({p.split for p in priced}):
        mine = [p for p in ok if p.split == split]
        out[f"{split}: speedup"] = stats([p.error for p in mine])
        for key in ("engine", "method"):
            for value in sorted({getattr(p, key) for p in mine}):
                out[f"{split}: speedup, {key} {value}"] = stats([p.error for p in mine if getattr(p, key) == value])
        out[f"{split}: plain time per token"] = stats([e for p in mine if (e := p.plain_tpot_error) is not None])
        out[f"{split}: refused"] = {"points": sum(1 for p in priced if p.split == split and p.refused)}
    return out


def compare(path: Path = DATA, lock_path: Path = LOCK) -> list[Priced]:
    """Every row priced; refuses to score a file whose split disagrees with its rule or lock."""
    _, _, rows = read_table(path)
    found = problems(rows, read_lock(lock_path))
    if found or any(not r["split"] for r in rows):
        raise SystemExit("error: the dev/test split is not intact (run tools/validation/split_published.py): "
                         + "; ".join(found or ["a row has no split"]))
    return [price(r) for r in rows]


def report(priced: list[Priced]) -> dict:
    rows = [{**asdict(p), "over": p.over, "error": None if p.refused else p.error,
             "plain_tpot_error": p.plain_tpot_error} for p in priced]
    return {"rows": rows, "summary": summary(priced), "placeholder_acceptance": PLACEHOLDER_ACCEPTANCE,
            "model_standin": MODEL_STANDIN, "markdown": section(priced, summary(priced))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA, help="the measurements CSV")
    parser.add_argument("--lock", type=Path, default=LOCK, help="the split lock file")
    parser.add_argument("--json", action="store_true", help="print the rows, the summaries and the section's text as JSON")
    parser.add_argument("--split", choices=("dev", "test", "all"), default="all",
                        help="show one set only (while choosing structure, look at dev only)")
    args = parser.parse_args()
    priced = [p for p in compare(args.data, args.lock) if args.split in ("all", p.split)]
    print(json.dumps(report(priced)) if args.json else section(priced, summary(priced)))


if __name__ == "__main__":
    main()
