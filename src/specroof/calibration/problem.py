"""The calibration problem: measured rows checked once, grouped so one latency() call prices a
group, and the residuals a fit minimizes (:class:`MeasurementSet`).

Shared by the fit (:mod:`.fit`), the validation (:mod:`.validate`) and the plausibility
checks (:mod:`.plausibility`), so none of them imports another to get it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from specroof.calibration.measurements import Measurement, load_measurements, measurement_rows
from specroof.cost.drafting_ops import medusa_head_operations
from specroof.cost.grid import Grid
from specroof.cost.setup import setup_step
from specroof.cost.step import Pass, latency_for_setup, price_step
from specroof.errors import SpecroofError
from specroof.hardware.accelerator import Accelerator
from specroof.models.architecture import load_model

OPS_WEIGHT = 0.5
"""Weight of a per-operation timing's residual against a whole step's (the split matters, the total more)."""


MeasurementsArg = str | Path | Sequence[str | Path] | Sequence[Measurement] | Sequence[tuple[str, Measurement]]
"""One JSONL path, several paths, measurement rows, or (file, row) pairs."""


def load_sources(measurements: MeasurementsArg) -> list[tuple[str, Measurement]]:
    """Every row with the file it came from ('' for rows given directly), checked once:

    all rows from one GPU (a fit or a validation describes one device), and every model one
    the catalog (or a config.json path) resolves. Each problem is one line.
    """
    if isinstance(measurements, (str, Path)):
        measurements = [measurements]
    rows: list[tuple[str, Measurement]] = []
    if isinstance(measurements, (bytes, dict)) or not isinstance(measurements, Iterable):
        measurement_rows(measurements)  # the one-line error for anything else
    for item in measurements:
        if isinstance(item, tuple) and len(item) == 2:  # (file, row), as this function returns
            rows.append((str(item[0]), *measurement_rows([item[1]])))
        elif isinstance(item, (str, Path)):
            rows += [(str(item), m) for m in load_measurements(item)]
        else:
            rows += [("", m) for m in measurement_rows([item])]
    if not rows:
        raise SpecroofError("no measurements to fit or validate")
    devices: dict[str, str] = {}
    for source, m in rows:
        devices.setdefault(m.hardware.strip().lower(), source or "the rows given")
    if len(devices) > 1:
        where = ", ".join(f"{d} ({s})" for d, s in devices.items())
        raise SpecroofError(f"measurements come from several devices: {where}; calibrate or validate one GPU at a time")
    for model, source in {m.model: source for source, m in rows}.items():
        try:
            load_model(model)
        except SpecroofError as exc:
            raise SpecroofError(f"{source or 'measurements'}: {exc}") from None
    return rows


EXPERTS_TOUCHED_KEYS = ("experts_touched", "active_experts")
"""Keys a measurement row may record the distinct MoE experts per layer under."""


def experts_touched(m: Measurement) -> float | None:
    """The distinct experts per layer a measured MoE step read, when its row records it."""
    for key in EXPERTS_TOUCHED_KEYS:
        value = m.extra.get(key)
        if value is not None:
            return float(value)
    return None


class MeasurementSet:
    """Measurements grouped so one latency() call prices a whole group.

    Decoder-step rows (``rows``) are priced by the cost of a step; Medusa-head rows
    (``head_rows``, with ``heads`` set) by the drafting cost of that many heads over
    ``batch x candidates`` hidden states, the same GEMMs a speedup prediction adds.
    """

    def __init__(self, measurements: Sequence[Measurement], hardware: Accelerator, base_profile: str | None):
        rows = [m for m in measurements if m.heads is None and m.seq_len is not None]
        self.head_rows = [m for m in measurements if m.heads is not None]
        if not rows and not self.head_rows:
            raise SpecroofError("no measurements to fit or validate")
        self.rows = rows
        self.hardware = hardware
        self.base_profile = base_profile
        self.has_eager = any(m.eager_latency_ms for m in rows)
        self.groups: dict[tuple[str, str, bool, float | None], list[int]] = {}
        for i, m in enumerate(rows):
            key = (m.model, m.dtype, m.cuda_graph is not False, experts_touched(m))
            self.groups.setdefault(key, []).append(i)

    def predict(self, overrides: dict[str, Any], eager: bool = False) -> tuple[np.ndarray, list[dict[str, float]]]:
        """Predicted latency (ms) and per-op ms of every row (eager: the eager step)."""
        total = np.zeros(len(self.rows))
        ops: list[dict[str, float]] = [{} for _ in self.rows]
        for (model, dtype, graph, touched), index in self.groups.items():
            setup = setup_step(model, self.hardware, dtype=dtype, profile=self.base_profile,
                               cuda_graph=(graph and not eager), moe_experts_touched=touched, **overrides)
            pts = [self.rows[i] for i in index]
            b = sorted({m.batch for m in pts})
            n = sorted({m.candidates for m in pts})
            s = sorted({m.seq_len for m in pts})
            result = latency_for_setup(setup, b, n, s)
            for i, m in zip(index, pts):
                at = (b.index(m.batch), n.index(m.candidates), s.index(m.seq_len))
                total[i] = result.latency_ms[at]
                ops[i] = {k: float(v[at]) for k, v in result.ops_ms.items()}
        return total, ops

    def predict_heads(self, overrides: dict[str, Any]) -> np.ndarray:
        """Predicted latency (ms) of every Medusa-head row."""
        out = np.zeros(len(self.head_rows))
        for i, m in enumerate(self.head_rows):
            setup = setup_step(m.model, self.hardware, dtype=m.dtype, profile=self.base_profile,
                               cuda_graph=m.cuda_graph is not False, **overrides)
            grid = Grid.of(m.batch, m.candidates, 1)
            heads = price_step([Pass(setup, medusa_head_operations(setup, grid, m.heads))], grid)
            out[i] = float(heads.latency_ms[0, 0, 0])
        return out

    def residuals(self, overrides: dict[str, Any]) -> np.ndarray:
        total, ops = self.predict(overrides)
        res = [np.log(total / np.array([m.latency_ms for m in self.rows]))]
        if self.head_rows:
            res.append(np.log(self.predict_heads(overrides) / np.array([m.latency_ms for m in self.head_rows])))
        op_res = [OPS_WEIGHT * np.log(max(ops[i].get(k, 0.0), 1e-9) / v)
                  for i, m in enumerate(self.rows) for k, v in m.ops_ms.items() if k in ops[i]]
        res.append(np.array(op_res))
        if self.has_eager and "launch_overhead_us" in overrides:
            eager_total, _ = self.predict(overrides, eager=True)
            res.append(np.array([np.log(eager_total[i] / m.eager_latency_ms)
                                 for i, m in enumerate(self.rows) if m.eager_latency_ms]))
        return np.concatenate(res)
