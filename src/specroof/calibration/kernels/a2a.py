"""Fit and check the all-to-all line of :mod:`specroof.cost.pricing_comm` on measured kernels.

One call costs ``floor_us + payload / GB/s`` with the payload of
:func:`specroof.cost.pricing_comm.a2a_payload_bytes`; the two numbers are fitted per (GPU,
engine, mode, phase) by least squares in relative error (every shape counts alike, a 10 us
call as much as a 1 ms one), on the token counts the mode serves: low-latency up to
``LOW_LATENCY_MAX_TOKENS`` tokens per rank, normal above it up to ``NORMAL_MAX_TOKENS``.

Held out by shape: each hidden size in turn is left out of the fit and predicted. Held out by
GPU: each GPU's rows are predicted from a fit on the other GPUs' rows of the same engine, mode
and phase (the link differs, so this says how far a fit travels, not how good it is at home).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from specroof.cost.engine_kernels import DATABASE_GPUS
from specroof.cost.operation import AllToAllShape
from specroof.cost.pricing_comm import LOW_LATENCY_MAX_TOKENS, a2a_payload_bytes
from specroof.hardware.accelerator import load_hardware
from specroof.kernels.extract import read_csv

NORMAL_MAX_TOKENS = 16_384
"""Largest tokens per rank fitted for the normal kernels (a long prefill chunk per rank)."""

GPUS = ("h200_sxm", "h100_sxm", "b200_sxm", "gb200")
"""The database GPUs with all-to-all tables (A100 and L40S have none: no DeepEP on them)."""
ENGINES = ("sglang", "vllm", "trtllm")

MODE_PHASES = (("low_latency", "dispatch"), ("low_latency", "combine"), ("normal", "dispatch"), ("normal", "combine"))


def in_domain(rows: np.ndarray, mode: str, phase: str) -> np.ndarray:
    """The rows of (mode, phase) with the token counts that mode serves."""
    t = rows["num_tokens"]
    served = t <= LOW_LATENCY_MAX_TOKENS if mode == "low_latency" else (t > LOW_LATENCY_MAX_TOKENS) & (
        t <= NORMAL_MAX_TOKENS)
    return rows[(rows["mode"] == mode) & (rows["phase"] == phase) & served]


def payload(rows: np.ndarray) -> np.ndarray:
    """Bytes each rank sends, per row (the pricing's formula for the row's mode)."""
    return np.array([a2a_payload_bytes(AllToAllShape(float(r["num_tokens"]), int(r["hidden"]), int(r["topk"]),
                                                     int(r["num_experts"]), int(r["ranks"]), str(r["phase"])),
                                       str(r["mode"])) for r in rows])


def fit_line(rows: np.ndarray, link_gbps: float = 0.0) -> tuple[float, float]:
    """(floor_us, GB/s) minimizing the relative error over ``rows``; the floor is kept >= 0.

    A table whose time does not grow with the payload over the fitted tokens (or grows faster
    than the link could carry it) cannot say the rate: then the rate is the link's
    ``link_gbps`` (the device's datasheet interconnect) and only the floor is fitted."""
    x, y = payload(rows), rows["latency_us"].astype(float)
    design = np.stack([1.0 / y, x / y], axis=1)
    (floor, slope), *_ = np.linalg.lstsq(design, np.ones_like(y), rcond=None)
    if floor < 0:  # through the origin
        floor, slope = 0.0, float(np.sum(x / y) / np.sum((x / y) ** 2))
    if link_gbps > 0 and (slope <= 0 or 1e-3 / slope > link_gbps):
        slope = 1e-3 / link_gbps
        floor = max(float(np.sum((y - slope * x) / y ** 2) / np.sum(1.0 / y ** 2)), 0.0)
    return float(floor), 1e-3 / max(float(slope), 1e-12)


def predict(rows: np.ndarray, line: tuple[float, float]) -> np.ndarray:
    floor, gbps = line
    return floor + payload(rows) / (gbps * 1e3)


def mape(rows: np.ndarray, line: tuple[float, float]) -> float:
    """Mean absolute percentage error of ``line`` on ``rows``."""
    y = rows["latency_us"].astype(float)
    return float(np.mean(np.abs(predict(rows, line) - y) / y) * 100.0)


def heldout_by_shape(rows: np.ndarray, link_gbps: float = 0.0) -> float | None:
    """MAPE over all rows, each predicted by a fit without its hidden size (None: one size only)."""
    sizes = np.unique(rows["hidden"])
    if sizes.size < 2:
        return None
    errors = []
    for size in sizes:
        out = rows["hidden"] == size
        line = fit_line(rows[~out], link_gbps)
        y = rows[out]["latency_us"].astype(float)
        errors.append(np.abs(predict(rows[out], line) - y) / y)
    return float(np.mean(np.concatenate(errors)) * 100.0)


def heldout_by_gpu(rows_by_gpu: dict[str, np.ndarray], gpu: str, link_gbps: float = 0.0) -> float | None:
    """MAPE of ``gpu``'s rows predicted from a fit on the other GPUs' rows (None: no others)."""
    others = [r for g, r in rows_by_gpu.items() if g != gpu and len(r)]
    if not others or not len(rows_by_gpu.get(gpu, ())):
        return None
    return mape(rows_by_gpu[gpu], fit_line(np.concatenate(others), link_gbps))


def fit_extract(extract_dir: str | os.PathLike) -> tuple[dict, list[list]]:
    """Fit every (GPU, engine, mode, phase) of the committed extract's ``*-a2a.csv`` files:
    ``({device: {engine: {mode: {phase: [floor_us, GB/s]}}}}, report rows [gpu, engine, mode,
    phase, rows, floor_us, GB/s, MAPE, held-out-shape MAPE, held-out-GPU MAPE])``."""
    folder = Path(extract_dir)
    data = {g: {e: read_csv(folder / f"{g}-{e}-a2a.csv", "a2a") for e in ENGINES
                if (folder / f"{g}-{e}-a2a.csv").is_file()} for g in GPUS}
    fits: dict = {}
    report = []
    for gpu in GPUS:
        link = load_hardware(DATABASE_GPUS[gpu]).interconnect_gbps
        for engine, rows in data[gpu].items():
            for mode, phase in MODE_PHASES:
                sel = in_domain(rows, mode, phase)
                if len(sel) < 3:
                    continue
                line = fit_line(sel, link)
                fits.setdefault(DATABASE_GPUS[gpu], {}).setdefault(engine, {}).setdefault(mode, {})[phase] = [
                    round(line[0], 3), round(line[1], 3)]
                by_gpu = {g: in_domain(d[engine], mode, phase) for g, d in data.items() if engine in d}
                report.append([gpu, engine, mode, phase, len(sel), line[0], line[1], mape(sel, line),
                               heldout_by_shape(sel, link), heldout_by_gpu(by_gpu, gpu, link)])
    return fits, report
