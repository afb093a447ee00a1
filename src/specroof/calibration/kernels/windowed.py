"""Windowed decode attention: the cost model's window cap against NVIDIA's measured kernels.

The database's generation-attention tables (aiconfigurator-core 0.12.0) measure sliding-window
decode (``window_size`` 128, 1024, 8192; head widths 64 to 256, gpt-oss's 64 among them) on
H100, H200, B200 and GB200 for TRT-LLM, vLLM and SGLang. specroof prices a windowed layer as the same kernel over
``min(kv_len, W)`` keys (:mod:`specroof.cost.architectures.windows`): the window changes the
shape, not the kernel. So no field is fitted to these rows; three figures test that claim:

- **transfer** (held out whole): every windowed row priced with the engine's shipped decode
  fields, fitted on full-attention rows of head width 128 only (no windowed row in that fit),
  over ``min(kv_len, W)`` keys;
- **no cap**: the same rows priced over the whole ``kv_len`` (what pricing did before
  windows were modelled): what the cap is worth;
- **full, head 64**: full-attention rows of gpt-oss's head width under the same shipped
  fields: what a shape the fit never saw costs without any window, the floor the windowed
  rows are compared with;
- **by heads / by window**: the decode fields refitted on the capped windowed rows of one fold
  of query-head counts (or window values) and predicting the other, every predicted row's
  value of that axis unseen by its fit.

Read from the committed extract (numpy only); ``tools/kernels/accuracy_report.py`` writes the
table into ``docs/kernel-accuracy.md`` and ``tests/test_kernel_window.py`` gates it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from specroof.calibration.kernels import physics as ph
from specroof.calibration.kernels.fitting import RowSource, _stats, fit_section
from specroof.calibration.kernels.heldout import MIN_FIT_ROWS, folds
from specroof.cost.engine_kernels import DATABASE_GPUS
from specroof.kernels.schema import DECODE_ATTENTION

SECTION = "decode_attention"
"""The fitted section whose fields price windowed decode too (one kernel, fewer keys)."""
CELLS = tuple((gpu, engine) for gpu in ("h200_sxm", "h100_sxm", "b200_sxm", "gb200")
              for engine in ("trtllm", "vllm", "sglang"))
"""(GPU, engine) pairs whose tables measure windowed decode (A100 and L40S tables have none)."""
HELD_OUT_AXES = ("num_heads", "window")
"""Shape axes left out whole when the decode fields are refitted on windowed rows."""


def windowed_rows(rows: np.ndarray) -> np.ndarray:
    """Windowed decode rows with a 16-bit KV cache."""
    return rows[(rows["window"] > 0) & (rows["kv_dtype"] == "bf16")]


def full_hd64_rows(rows: np.ndarray) -> np.ndarray:
    """Full-attention rows of gpt-oss's head width (64), 16-bit KV: the comparison floor."""
    return rows[(rows["window"] == 0) & (rows["head_dim"] == 64) & (rows["kv_dtype"] == "bf16")]


def capped(rows: np.ndarray) -> np.ndarray:
    """The rows as the cost model prices them: one query over ``min(kv_len, window)`` keys."""
    out = rows.copy()
    out["kv_len"] = np.minimum(rows["kv_len"], rows["window"])
    return out


def held_out(rows: np.ndarray, hw: str, axis: str) -> dict[str, Any] | None:
    """Held-out stats with whole values of ``axis`` left out (two folds of the ranked values)."""
    fold = folds(rows[axis])
    if len(np.unique(rows[axis])) < 2:
        return None
    pred = np.empty(len(rows))
    for f in (0, 1):
        train, test = rows[fold != f], rows[fold == f]
        if len(train) < MIN_FIT_ROWS:
            return None
        pred[fold == f] = ph.predict(SECTION, fit_section(SECTION, capped(train), hw), capped(test), hw)
    return _stats(pred, rows["latency_us"])


def window_report(source: RowSource, cells: tuple[tuple[str, str], ...] = CELLS) -> dict[str, dict[str, Any]]:
    """``{"gpu/engine": {"transfer", "no_cap", "full_hd64", "by_num_heads", "by_window": stats}}`` for each cell
    whose rows include windowed decode."""
    out: dict[str, dict[str, Any]] = {}
    for gpu, engine in cells:
        rows = source(gpu, engine, DECODE_ATTENTION)
        if rows is None or len(windowed_rows(rows)) < 2 * MIN_FIT_ROWS:
            continue
        hw, win, full = DATABASE_GPUS[gpu], windowed_rows(rows), full_hd64_rows(rows)
        entry = {"transfer": _stats(ph.predict(SECTION, engine, capped(win), hw), win["latency_us"]),
                 "no_cap": _stats(ph.predict(SECTION, engine, win, hw), win["latency_us"])}
        if len(full):
            entry["full_hd64"] = _stats(ph.predict(SECTION, engine, full, hw), full["latency_us"])
        for axis in HELD_OUT_AXES:
            held = held_out(win, hw, axis)
            if held is not None:
                entry[f"by_{axis}"] = held
        out[f"{gpu}/{engine}"] = entry
    return out


def window_markdown(report: dict[str, dict[str, Any]]) -> list[str]:
    """The report as the lines of a markdown section (MAPE %, rows)."""
    lines = ["## Windowed decode attention (sliding window)", "",
             "Sliding-window decode rows of the extract (windows 128, 1024, 8192; 30 rows each, head widths "
             "64-256, bf16 KV) priced as "
             "the same kernel over min(kv_len, W) keys (`specroof.calibration.kernels.windowed`). **transfer**: "
             "the engine's shipped decode fields, fitted on full-attention head-128 rows only; **no cap**: the "
             "same rows over the whole kv_len; **full hd64**: full-attention rows of head width 64 under the "
             "same fields (the floor); **by heads** / **by window**: decode fields refitted on one fold of the "
             "query-head counts (window values) of the windowed rows, predicting the other. MAPE % (rows).", "",
             "| GPU | engine | transfer | no cap | full hd64 | by heads | by window |",
             "|---|---|---|---|---|---|---|"]
    for key, entry in report.items():
        gpu, engine = key.split("/")
        cells = [f"{entry[k]['mape_pct']:.1f} ({entry[k]['rows']})" if k in entry else "-"
                 for k in ("transfer", "no_cap", "full_hd64", "by_num_heads", "by_window")]
        lines.append(f"| {gpu} | {engine} | " + " | ".join(cells) + " |")
    return lines + [""]
