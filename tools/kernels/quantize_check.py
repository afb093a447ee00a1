"""Check the activation-quantize term of fp8 GEMMs against NVIDIA's measured quantize kernels.

A W8A8 GEMM fed by 16-bit activations first quantizes them (specroof.cost.pricing.price_gemm:
``gemm_quantize_us`` plus reading the activations and writing the fp8 copy at the GEMM's
streaming bandwidth). Those fields are fitted to whole fp8 GEMM rows; the database also
measures the quantize kernels alone (``quantize/<engine>/<version>/scale_matrix_perf.parquet``:
a static-scale fp8 quantize of [m, k]; ``computescale_perf.parquet``: what a dynamic per-token
scale adds). This prices the sum with the shipped fp8 profile of each GPU x engine and prints
the error: a check of the term on measurements the fit never saw, not a fit.

    python tools/kernels/quantize_check.py [--root DATA_DIR] [--json out.json]

Needs the optional extra (pandas, pyarrow: ``pip install 'specroof[kernels]'``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from specroof.calibration.kernels.selection import LLM_WIDTH, MAX_M
from specroof.cost.engine_kernels import DATABASE_GPUS
from specroof.cost.kernel_latency import kernel_setup
from specroof.cost.pricing import quantizes_activations
from specroof.kernels import database as db

GPUS = ("h100_sxm", "h200_sxm", "b200_sxm", "gb200")
ENGINES = ("vllm", "sglang", "trtllm")


def measured(root: Path, gpu: str, engine: str):
    """(m, k, microseconds) of static quantize + dynamic scale, joined on (m, k); None if absent."""
    pandas = db._pandas()
    folder = root / gpu / "quantize" / engine
    versions = sorted((p for p in folder.glob("*") if (p / "scale_matrix_perf.parquet").is_file()),
                      key=lambda p: db.version_key(p.name)) if folder.is_dir() else []
    if not versions:
        return None
    quant = pandas.read_parquet(versions[-1] / "scale_matrix_perf.parquet")
    scale = pandas.read_parquet(versions[-1] / "computescale_perf.parquet")
    both = quant.merge(scale, on=["m", "k"], suffixes=("_q", "_s"))
    both = both[(both["k"] >= LLM_WIDTH[0]) & (both["k"] <= LLM_WIDTH[1]) & (both["m"] <= MAX_M)]
    us = (both["latency_q"].to_numpy(float) + np.maximum(both["latency_s"].to_numpy(float), 0.0)) * 1e3
    return both["m"].to_numpy(float), both["k"].to_numpy(float), us, versions[-1].name


def predicted(gpu: str, engine: str, m: np.ndarray, k: np.ndarray) -> np.ndarray | None:
    """Microseconds of the quantize term under the shipped fp8 profile (None: no such profile)."""
    setup = kernel_setup(DATABASE_GPUS[gpu], engine, "fp8")
    if not quantizes_activations(setup):
        return None
    moved = m * k * (setup.activation_bytes + 1.0)
    return (moved / setup.machine.bandwidth + setup.profile.gemm_quantize_us * 1e-6) * 1e6


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default=None, help="aiconfigurator_core/systems/data (default: the installed one)")
    ap.add_argument("--json", type=Path, help="write the statistics as JSON")
    args = ap.parse_args(argv)
    root = db.data_root(args.root)
    out = {}
    for gpu in GPUS:
        for engine in ENGINES:
            meas = measured(root, gpu, engine)
            pred = None if meas is None else predicted(gpu, engine, meas[0], meas[1])
            if pred is None:
                continue
            err = (pred - meas[2]) / meas[2] * 100
            small = meas[0] <= 16
            out[f"{gpu}/{engine}"] = {"version": meas[3], "rows": int(len(err)),
                                      "mape_pct": round(float(np.mean(np.abs(err))), 1),
                                      "bias_pct": round(float(np.mean(err)), 1),
                                      "mape_m_le_16_pct": round(float(np.mean(np.abs(err[small]))), 1),
                                      "median_measured_us_m_le_16": round(float(np.median(meas[2][small])), 2)}
            print(f"{gpu:9s} {engine:6s}", out[f"{gpu}/{engine}"], flush=True)
    if args.json:
        args.json.write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
