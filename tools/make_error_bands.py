"""Error bands from every validation: ``python tools/make_error_bands.py [--check]``.

Runs the project's validations through their own functions (nothing copied: when the model or
a validation changes, re-running this updates the bands) and turns their residuals
(``predicted / measured - 1``) into the bands shipped in ``src/specroof/bands/error_bands.csv``
(:mod:`specroof.bands.stats` says how), then writes ``docs/error-bands.md`` with the residuals
per domain and the leave-one-validation-out coverage. ``--check`` writes nothing and exits 1
if either file would change. Run from a source checkout (the validations read ``data/``).

Validations used:

- calibration held-out splits (``specroof.calibration.holdout.SPLITS`` through ``run_split``):
  step latency of the held-out rows; speedup from the normalized latency T(n)/T(1) of rows with
  n > 1 (at a known acceptance, speedup = tau T(1)/T(n), so its residual is 1/(1 + e) - 1);
- the end-to-end check (``tools/validation/compare_e2e.py --json``, the claim): the speedups
  whose acceptance is known from the authors' traces. The batch-ratio rows are not speedup
  residuals (their acceptance is a placeholder) and are not used;
- the kernel database held out by shape (:func:`specroof.calibration.kernels.heldout.by_axis_predictions`:
  the values of the kind's first shape axis, GEMM ``n``, attention heads, MoE hidden size,
  dealt into two folds, each predicted by a fit on the other), on the committed extract: bf16 GEMM and decode attention (dense), bf16 MoE layers (moe);
- the Medusa Appendix G reproduction (figure 22): in-sample, since the profile
  ``medusa-appendix-g`` was fitted to that chart; it describes that profile only;
- the published set's **test** rows (``tools/validation/compare_published.py --json``, one
  validation per source): the priced test rows' speedup errors, each with its stated acceptance.
  Only the test half is used: the development half is looked at while the cost model changes,
  so its errors would make the bands optimistic. Each residual's domain is the profile that
  priced the row, its method, family, GPU, tensor parallelism and batch.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import io
import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import numpy as np

from specroof.bands import stats
from specroof.bands.apply import COLUMNS, parse_bands

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "src" / "specroof" / "bands" / "error_bands.csv"
DOC = REPO / "docs" / "error-bands.md"
E2E = REPO / "tools" / "validation" / "compare_e2e.py"  # run as a script (--json)
PUBLISHED = REPO / "tools" / "validation" / "compare_published.py"  # run as a script (--json)
MEASUREMENTS = REPO / "data" / "measurements"  # this checkout's data: the package never reads it
EXTRACT = REPO / "data" / "kernels" / "extract"
KERNEL_SECTIONS = {"gemm_bf16": "dense", "decode_attention": "dense", "moe_bf16": "moe"}
KERNEL_BATCH = {"gemm": "m", "decode_attention": "batch", "moe": "num_tokens"}
"""The extract column that plays the batch: tokens of a GEMM or MoE layer (a plain step's batch)."""


def _family(model: str) -> str:
    from specroof.bands.apply import architecture_family
    from specroof.models.architecture import load_model

    return architecture_family(load_model(model))


def calibration_residuals() -> list[stats.Residual]:
    """Held-out rows of every calibration split (profile pytorch-sdpa, one H200)."""
    from specroof.calibration.holdout import SPLITS, run_split
    from specroof.calibration.measurements import load_measurements

    gpus = {m.hardware for s in SPLITS for f in s.files for m in load_measurements(MEASUREMENTS / f)}
    (gpu,) = gpus  # the splits are one device's measurements
    out = []
    for split in SPLITS:
        for p in run_split(split, MEASUREMENTS).points:
            base, _, extra = p["model"].partition(" + ")
            method = "heads" if "heads" in extra else "none"
            common = dict(evidence="step", held_out=True, source=f"calibration: {split.name}", profile="pytorch-sdpa",
                          method=method, family=_family(base), gpu=gpu, tp=1, batch=int(p["batch"]))
            out.append(stats.Residual("latency", value=float(p["error_pct"]) / 100, **common))
            if p["normalized_error_pct"] is not None and p["candidates"] > 1:
                out.append(stats.Residual("speedup", value=1 / (1 + float(p["normalized_error_pct"]) / 100) - 1,
                                          **common))
    return out


def e2e_residuals() -> list[stats.Residual]:
    """The end-to-end speedups whose acceptance the traces give (one validation per method x dataset),
    under the check's claim (``compare()``'s default: vLLM host times at 0, the source-derived
    constants left out; n-gram rows, whose proposal rates come from the authors' simulator, left
    out). The shipped profile keeps the source-derived host times, which make its speedups a
    few percent lower than the claim's: the band is therefore conservative on the optimistic side."""
    from specroof.hardware.accelerator import load_hardware

    done = subprocess.run([sys.executable, str(E2E), "--json"], capture_output=True, text=True, check=True)
    claim = json.loads(done.stdout)["independent"]
    gpu = load_hardware(claim["hardware"]).name
    out = []
    for r in claim["rows"]:  # the claim: constants independent of the source; no simulator-derived rows
        if not r["traced"] or r["method"] in claim["source_derived_methods"]:
            continue
        out.append(stats.Residual(
            "speedup", "step", True, f"e2e: {r['method']} {r['dataset']}", r["profile"], r["method"],
            _family(r["model"]), gpu, r["tp"], r["batch"], r["predicted"] / r["measured"] - 1))
    return out


def kernel_residuals() -> list[stats.Residual]:
    """Kernel times of the shapes each engine profile's fit did not see (per GPU x engine)."""
    from specroof.calibration.kernels import physics as ph
    from specroof.calibration.kernels import selection as sel
    from specroof.calibration.kernels.heldout import AXES, by_axis_predictions
    from specroof.cost.engine_kernels import DATABASE_GPUS
    from specroof.errors import SpecroofError
    from specroof.hardware.accelerator import load_hardware
    from specroof.kernels.extract import extract_listing, read_extract

    out = []
    for gpu, engines in sorted(extract_listing(EXTRACT).items()):
        if gpu not in DATABASE_GPUS:
            continue
        hw = load_hardware(DATABASE_GPUS[gpu])
        for engine in sorted(e for e in engines if e in ("trtllm", "vllm", "sglang")):
            for section, family in KERNEL_SECTIONS.items():
                kind = sel.SECTIONS[section][0]
                try:
                    rows = sel.select(section, read_extract(gpu, engine, kind, EXTRACT))
                except SpecroofError:
                    continue
                if len(rows) < 8:
                    continue
                # held out by shape: the first shape axis of the kind left out whole (kernels/heldout.py)
                predicted = by_axis_predictions(section, rows, gpu, engine, AXES[ph.SECTION_KIND[section][0]][0])
                if predicted is None:
                    continue
                for b, value in zip(rows[KERNEL_BATCH[kind]], predicted / rows["latency_us"] - 1):
                    out.append(stats.Residual("latency", "kernel", True, f"kernels: {gpu} {engine}", engine, "none",
                                              family, hw.name, 1, int(b), float(value)))
    return out


def medusa_residuals() -> list[stats.Residual]:
    """Figure 22 of the Medusa appendix against the scenario fitted to it (in-sample)."""
    import specroof
    from specroof.datafiles import read_text
    from specroof.scenarios import load_scenario

    scenario = load_scenario("medusa-appendix-g")
    s = scenario.settings
    result = specroof.speedup(s["model"], s["hardware"], scenario.grid["batch"], scenario.grid["candidates"],
                              scenario.grid["seq_len"], **scenario.options())
    text = read_text(scenario.reference_file(), "figure 22 reference")
    reference = csv.DictReader(line for line in text.splitlines() if not line.startswith("#"))
    b, n = list(result.batch), list(result.candidates)
    family, gpu = _family(s["model"]), result.step.hardware.name
    return [stats.Residual("speedup", "step", False, "medusa appendix G figure 22 (in-sample)", result.step.profile.name,
                           result.method, family, gpu, int(result.step.tp), int(r["batch"]),
                           float(result.speedup[b.index(int(r["batch"])), n.index(int(r["candidates"])), 0])
                           / float(r["speedup"]) - 1)
            for r in reference]


def published_residuals() -> list[stats.Residual]:
    """The published set's priced TEST rows (never its development rows: see the module docstring)."""
    from specroof.hardware.accelerator import load_hardware

    done = subprocess.run([sys.executable, str(PUBLISHED), "--json", "--split", "test"], capture_output=True, text=True,
                          check=True)
    return [stats.Residual("speedup", "step", True, f"published test: {r['source_id']}", r["profile"], r["method"],
                           _family(r["config"]), load_hardware(r["gpu"]).name, int(r["tp"]), int(r["batch"]), r["error"])
            for r in json.loads(done.stdout)["rows"] if not r["refused"]]


COLLECTORS: dict[str, Callable[[], list[stats.Residual]]] = {
    "calibration": calibration_residuals, "e2e": e2e_residuals, "kernels": kernel_residuals,
    "medusa": medusa_residuals, "published": published_residuals}


def all_residuals() -> list[stats.Residual]:
    return [r for collect in COLLECTORS.values() for r in collect()]


def csv_text(bands: list[stats.Band], date: str) -> str:
    """The shipped CSV: one row per (quantity, domain) band."""
    buf = io.StringIO()
    buf.write("# Error bands of specroof's predictions: generated by tools/make_error_bands.py; do not edit.\n"
              "# q_low/q_high: band of signed relative residuals predicted/measured - 1 at the stated coverage\n"
              "# (docs/error-bands.md); '*' matches any value; level: fallback level (0 = exact domain).\n")
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(COLUMNS)
    for b in bands:
        w.writerow([b.quantity, b.level, *b.key, b.n, f"{b.q_low:.6f}", f"{b.q_high:.6f}", f"{b.coverage:.4f}",
                    b.rule, "true" if b.held_out else "false", b.evidence, b.sources, date])
    return buf.getvalue()


def coverage(residuals: list[stats.Residual], unit: Callable[[stats.Residual], str]
             ) -> dict[tuple[str, str], tuple[int, int, float]]:
    """Leave-one-validation-out: for each unit, bands from the other units' residuals, then how
    often the unit's held-out residuals fall inside the band their domain gets (with fallback).

    {(quantity, validation family): (inside, points, median band width)}.
    """
    from specroof.bands.apply import Domain, find

    counts: dict[tuple[str, str], list] = {}
    for name in sorted({unit(r) for r in residuals if r.held_out}):
        table = {(b.quantity, b.key): b for b in stats.bands([r for r in residuals if unit(r) != name])}
        for r in residuals:
            if unit(r) != name or not r.held_out:
                continue
            band = find(r.quantity, Domain(r.profile, r.method, r.family, r.gpu, r.tp), stats.batch_range(r.batch),
                        table)
            entry = counts.setdefault((r.quantity, r.source.split(":")[0]), [0, 0, []])
            entry[1] += 1
            if band is not None:
                entry[0] += band.q_low <= r.value <= band.q_high
                entry[2].append(band.q_high - band.q_low)
    return {k: (v[0], v[1], float(np.median(v[2])) if v[2] else float("nan")) for k, v in sorted(counts.items())}


def as_json(residuals: list[stats.Residual], doc: str) -> str:
    """The residuals, the leave-one-validation-out coverage per validation, and the doc's text
    (what tests/test_error_bands.py checks, running this script)."""
    by_source = coverage(residuals, lambda r: r.source)
    return json.dumps({"residuals": [asdict(r) for r in residuals], "doc": doc,
                       "coverage_by_source": [[*key, *value] for key, value in by_source.items()]})


def main() -> int:
    from error_bands_doc import markdown  # tools/error_bands_doc.py, beside this script

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="write nothing; exit 1 if the CSV or doc would change")
    ap.add_argument("--json", action="store_true", help="write nothing; print the residuals, coverage and doc")
    args = ap.parse_args()

    residuals = all_residuals()
    bands = stats.bands(residuals)
    old = parse_bands(OUT.read_text(encoding="utf-8")) if OUT.exists() else {}
    same = old == {(b.quantity, b.key): b for b in _rounded(bands)}
    date = datetime.date.today().isoformat()
    doc = markdown(residuals, bands, coverage(residuals, lambda r: r.source),
                   coverage(residuals, lambda r: r.source.split(":")[0]))
    if args.json:
        print(as_json(residuals, doc))
        return 0
    if args.check:
        fresh = DOC.exists() and DOC.read_text(encoding="utf-8") == doc
        print("error bands up to date" if same and fresh else "error bands are stale: run tools/make_error_bands.py")
        return 0 if same and fresh else 1
    if not same:
        OUT.write_text(csv_text(bands, date), encoding="utf-8")
    DOC.write_text(doc, encoding="utf-8")
    print(f"wrote {OUT.relative_to(REPO)} ({len(bands)} bands from {len(residuals)} residuals) and "
          f"{DOC.relative_to(REPO)}")
    return 0


def _rounded(bands: list[stats.Band]) -> list[stats.Band]:
    """The bands as the CSV stores them (fixed decimals), to compare with a file read back."""
    return parse_bands(csv_text(bands, "")).values()  # type: ignore[return-value]


if __name__ == "__main__":
    sys.exit(main())
