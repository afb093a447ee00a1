"""Tensor-parallel all-reduce at decode sizes, and NCCL's own line, on NVIDIA's measured kernels.

A decoding step of 1 to 64 tokens of a model of hidden size 4096 to 8192 all-reduces
8 KiB to 1 MiB of bf16 activations (:data:`DECODE_BYTES`), twice per layer. Two questions:

- how well the engines' custom all-reduce (the ``allreduce_fits`` rows of the shipped profiles,
  fitted over every message size by :mod:`specroof.calibration.kernels.fitting`) prices those
  sizes, held out by the existing rule (each message size predicted by a fit on the other half
  of the sizes, :func:`specroof.calibration.kernels.heldout.by_axis_predictions`) and as shipped;
- what NCCL costs there: the engines fall back to it when their custom kernel is off. Its line
  ``latency_us + 2 (p - 1) / p x bytes / busbw`` (:func:`specroof.cost.allreduce.nccl_seconds`)
  is fitted per (GPU, GPU count) by least squares in relative error, and held out the same way.

Only numpy, scipy and the extract folder given (the package never reads the checkout).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from specroof.calibration.kernels import heldout as ho
from specroof.calibration.kernels import physics as ph
from specroof.calibration.kernels.fitting import RowSource, _stats
from specroof.cost.allreduce import nccl_seconds
from specroof.cost.engine_kernels import DATABASE_GPUS
from specroof.kernels.schema import ALLREDUCE

DECODE_BYTES = (1 * 4096 * 2, 64 * 8192 * 2)
"""All-reduce payloads of a decode step: 1 token x hidden 4096 to 64 tokens x hidden 8192, bf16."""
GPUS = ("h100_sxm", "h200_sxm", "b200_sxm")
"""The GPUs the decode-size check reports (the issue's: NVSwitch boards of 8)."""
ENGINES = ("sglang", "vllm", "trtllm")
GROUPS = (2, 4, 8)
NCCL_DTYPES = ("fp16", "bf16")
"""NCCL rows fitted: 16-bit values (the tables also time int8 and fp32)."""
NCCL_BOUNDS = ((0.5, 500.0), (1.0, 5000.0))
"""(latency_us, busbw_gbps) fit bounds: above a kernel launch, below any NVLink generation's
bus bandwidth."""


def decode_rows(rows: np.ndarray) -> np.ndarray:
    """True for the rows at decode sizes (:data:`DECODE_BYTES`)."""
    return (rows["message_bytes"] >= DECODE_BYTES[0]) & (rows["message_bytes"] <= DECODE_BYTES[1])


def nccl_table(source: RowSource, gpu: str) -> np.ndarray | None:
    """NCCL's 16-bit all-reduce rows of one GPU (2 GPUs or more), or None."""
    rows = source(gpu, "nccl", ALLREDUCE)
    if rows is None:
        return None
    rows = rows[np.isin(rows["dtype"], NCCL_DTYPES) & (rows["num_gpus"] >= 2)]
    return rows if len(rows) else None


def fit_nccl_group(rows: np.ndarray) -> tuple[float, float]:
    """(latency_us, busbw_gbps) of rows of one GPU count, least squares in log ratio (every
    size counts alike; soft-L1 so one noisy size does not move the line)."""
    from scipy.optimize import least_squares

    p = int(rows["num_gpus"][0])
    meas = rows["latency_us"] * 1e-6

    def resid(z):
        return np.log(nccl_seconds(p, rows["message_bytes"], float(np.exp(z[0])), float(np.exp(z[1]))) / meas)

    lo, hi = np.log([b[0] for b in NCCL_BOUNDS]), np.log([b[1] for b in NCCL_BOUNDS])
    z0 = np.log([float(np.min(rows["latency_us"])), 300.0])
    fit = least_squares(resid, np.clip(z0, lo + 1e-9, hi - 1e-9), bounds=(lo, hi), loss="soft_l1", f_scale=0.2)
    return float(np.exp(fit.x[0])), float(np.exp(fit.x[1]))


def nccl_predict(rows: np.ndarray, latency_us: float, busbw_gbps: float) -> np.ndarray:
    """Microseconds of each row under one fitted line (rows of one GPU count)."""
    return nccl_seconds(int(rows["num_gpus"][0]), rows["message_bytes"], latency_us, busbw_gbps) * 1e6


def nccl_heldout(rows: np.ndarray) -> np.ndarray:
    """Each row predicted by a fit on the other fold of message sizes (even / odd ranks)."""
    fold = ho.folds(rows["message_bytes"])
    pred = np.empty(len(rows))
    for f in (0, 1):
        train = rows[fold != f]
        pred[fold == f] = nccl_predict(rows[fold == f], *fit_nccl_group(train))
    return pred


def fit_nccl(source: RowSource) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """``({device: {"rows": [[gpus, latency_us, busbw_gbps], ...]}}, report rows)`` over every
    database GPU with an NCCL table."""
    fits: dict[str, Any] = {}
    report: list[dict[str, Any]] = []
    for gpu, device in DATABASE_GPUS.items():
        table = nccl_table(source, gpu)
        if table is None:
            continue
        lines = []
        for p in np.unique(table["num_gpus"]):
            rows = table[table["num_gpus"] == p]
            latency, busbw = fit_nccl_group(rows)
            lines.append([int(p), round(latency, 3), round(busbw, 2)])
            held = nccl_heldout(rows)
            small = decode_rows(rows)
            report.append({"gpu": gpu, "gpus": int(p), "rows": len(rows), "latency_us": latency, "busbw_gbps": busbw,
                           "fit": _stats(nccl_predict(rows, latency, busbw), rows["latency_us"]),
                           "heldout": _stats(held, rows["latency_us"]),
                           "heldout_decode": _stats(held[small], rows["latency_us"][small]) if small.any() else None})
        fits[device] = {"rows": lines}
    return fits, report


ONE_SHOT_BELOW_BYTES = {2: np.inf, 4: 512 * 1024, 6: 256 * 1024, 8: 256 * 1024}
"""The engines' own switch from one-shot to two-shot custom all-reduce: always one-shot on 2
GPUs, below 512 KiB on 4, below 256 KiB on 6 and 8 (``CustomAllreduce::allreduce`` in vLLM's
csrc/custom_all_reduce.cuh and sgl-kernel's csrc/allreduce/custom_all_reduce.cuh, the same
rule). The shipped pricing takes the faster line instead; this rule is scored beside it only."""
CUSTOM_START = (3.0, 300.0, 5.0, 300.0)
CUSTOM_BOUNDS = ((0.1, 100.0), (0.1, 5e3), (1e-3, 500.0), (0.1, 5e3))
"""(latency_us, oneshot_gbps, twoshot_us, busbw_gbps): the start and bounds of the shipped fit
(:func:`specroof.calibration.kernels.fitting.fit_section`)."""


def switched_us(rows: np.ndarray, params: np.ndarray) -> np.ndarray:
    """Microseconds of rows of one GPU count under the custom all-reduce's two lines, each
    used where the engine's rule (:data:`ONE_SHOT_BELOW_BYTES`) runs it."""
    p = int(rows["num_gpus"][0])
    latency, oneshot, twoshot, busbw = params
    payload = rows["message_bytes"].astype(float)
    one = (p - 1) * payload / (oneshot * 1e3)
    two = twoshot + 2 * (p - 1) / p * payload / (busbw * 1e3)
    return latency + np.where(payload < ONE_SHOT_BELOW_BYTES.get(p, 256 * 1024), one, two)


def fit_switched(rows: np.ndarray) -> np.ndarray:
    """The four parameters of :func:`switched_us` fitted as the shipped fit is (log ratio, soft L1)."""
    from scipy.optimize import least_squares

    lo, hi = np.log([b[0] for b in CUSTOM_BOUNDS]), np.log([b[1] for b in CUSTOM_BOUNDS])
    fit = least_squares(lambda z: np.log(switched_us(rows, np.exp(z)) / rows["latency_us"]),
                        np.clip(np.log(CUSTOM_START), lo + 1e-9, hi - 1e-9), bounds=(lo, hi), method="trf",
                        loss="soft_l1", f_scale=0.2, max_nfev=200)
    return np.exp(fit.x)


def switched_heldout(rows: np.ndarray) -> np.ndarray:
    """Each row predicted by the switched lines fitted on the other fold of message sizes, per
    GPU count (the held-out rule of the shipped fit)."""
    fold = ho.folds(rows["message_bytes"])
    pred = np.empty(len(rows))
    for p in np.unique(rows["num_gpus"]):
        for f in (0, 1):
            test = (rows["num_gpus"] == p) & (fold == f)
            train = rows[(rows["num_gpus"] == p) & (fold != f)]
            if test.any():
                pred[test] = switched_us(rows[test], fit_switched(train))
    return pred


def _median_by_size(rows: np.ndarray) -> dict[int, float]:
    return {int(b): float(np.median(rows["latency_us"][rows["message_bytes"] == b]))
            for b in np.unique(rows["message_bytes"])}


def nccl_over_custom(custom: np.ndarray, nccl: np.ndarray | None) -> float | None:
    """Median over the decode sizes both measure of NCCL's time over the custom kernel's."""
    if nccl is None or not len(nccl):
        return None
    c, n = _median_by_size(custom), _median_by_size(nccl)
    ratios = [n[b] / c[b] for b in c if b in n]
    return float(np.median(ratios)) if ratios else None


def decode_report(source: RowSource) -> list[dict[str, Any]]:
    """Per (GPU, engine, GPU count) at decode sizes: the custom all-reduce's error held out by
    message size and as shipped (stats: MAPE, bias = mean signed error, negative = predicted
    faster), held out under the engines' switch rule instead of the faster line, the measured
    time at 16 KiB, and NCCL's time over it."""
    out = []
    for gpu in GPUS:
        nccl = nccl_table(source, gpu)
        for engine in ENGINES:
            rows = ho.section_rows(source, gpu, engine, ALLREDUCE)
            if rows is None:
                continue
            held = ho.by_axis_predictions(ALLREDUCE, rows, gpu, engine, "message_bytes")
            switched = switched_heldout(rows)
            shipped = ph.predict(ALLREDUCE, engine, rows, DATABASE_GPUS[gpu])
            for p in GROUPS:
                sel = decode_rows(rows) & (rows["num_gpus"] == p)
                if not sel.any() or held is None:
                    continue
                sub = rows[sel]
                at16 = sub["latency_us"][sub["message_bytes"] == 16384]
                nccl_p = None if nccl is None else nccl[decode_rows(nccl) & (nccl["num_gpus"] == p)]
                out.append({"gpu": gpu, "engine": engine, "gpus": p,
                            "heldout": _stats(held[sel], sub["latency_us"]),
                            "switched": _stats(switched[sel], sub["latency_us"]),
                            "shipped": _stats(shipped[sel], sub["latency_us"]),
                            "us_16k": float(np.median(at16)) if len(at16) else None,
                            "nccl_ratio": nccl_over_custom(sub, nccl_p)})
    return out
