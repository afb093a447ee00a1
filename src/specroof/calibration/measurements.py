"""Measured step latencies: the JSON-lines format users write to and specroof reads.

One JSON object per line (see ``docs/measurement-format.md``). Each line is one timed
verification step of one model on one accelerator at one ``(batch, candidates, seq_len)``
point. Required keys: ``model``, ``hardware``, ``dtype``, ``batch``, ``candidates``,
``seq_len`` and ``latency_ms``; optional: ``ops_ms``, ``cuda_graph``, ``eager_latency_ms`` and
``heads`` (a Medusa-heads row, for which ``seq_len`` may be left out). Keys specroof does not
know are kept in :attr:`Measurement.extra` and written back unchanged, so files written by a
newer version still load.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from specroof.calibration.measurement_row import measurement_row
from specroof.datafiles import read_text, write_atomic
from specroof.errors import SpecroofError

_REQUIRED = ("model", "hardware", "dtype", "batch", "candidates", "seq_len", "latency_ms")
_KNOWN = (*_REQUIRED, "ops_ms", "cuda_graph", "eager_latency_ms", "heads")


@dataclass(frozen=True)
class Measurement:
    """One timed step: ``batch`` sequences with ``seq_len`` cached tokens verify ``candidates``.

    ``latency_ms`` is the whole step (all layers and the LM head). ``ops_ms`` holds each
    operator class timed on its own, summed over all layers (``lm_head`` once); it may be
    empty. ``heads`` is set on rows that time Medusa heads rather than the decoder; only such
    rows may have ``seq_len = None``. ``extra`` keeps every key this version does not know.
    """

    model: str
    hardware: str
    dtype: str
    batch: int
    candidates: int
    seq_len: int | None
    latency_ms: float
    ops_ms: dict[str, float] = field(default_factory=dict)
    cuda_graph: bool | None = None
    eager_latency_ms: float | None = None
    heads: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def tokens(self) -> int:
        """Tokens fed through the model in this step (``batch * candidates``)."""
        return self.batch * self.candidates

    @property
    def ops_total_ms(self) -> float | None:
        """Sum of ``ops_ms``, or None when the row has no per-operator split."""
        return sum(self.ops_ms.values()) if self.ops_ms else None

    @property
    def elementwise_ms(self) -> float | None:
        """``latency_ms`` minus the operators: what norms, RoPE, KV writes, adds, SiLU cost."""
        total = self.ops_total_ms
        return None if total is None else self.latency_ms - total

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of this row, with the same keys as the shared measurement files.

        Optional fields that are unset are left out; ``extra`` keys are written at top level
        (a known field always wins over an ``extra`` key of the same name).
        """
        out: dict[str, Any] = {
            "model": self.model,
            "hardware": self.hardware,
            "dtype": self.dtype,
        }
        if self.heads is not None:
            out["heads"] = self.heads
        out["batch"] = self.batch
        out["candidates"] = self.candidates
        if self.seq_len is not None:
            out["seq_len"] = self.seq_len
        out["latency_ms"] = self.latency_ms
        if self.cuda_graph is not None:
            out["cuda_graph"] = self.cuda_graph
        if self.eager_latency_ms is not None:
            out["eager_latency_ms"] = self.eager_latency_ms
        if self.ops_ms:
            out["ops_ms"] = dict(self.ops_ms)
        for key, value in self.extra.items():
            if key not in _KNOWN:
                out[key] = value
        return out

    @classmethod
    def from_dict(cls, obj: Any, where: str = "measurement") -> "Measurement":
        """Validate one JSON object; errors start with ``where`` (e.g. ``file.jsonl:3``)."""
        if not isinstance(obj, dict):
            raise SpecroofError(f"{where}: expected a JSON object, got {type(obj).__name__}")
        row = measurement_row(obj, where)
        return cls(
            model=row.model, hardware=row.hardware, dtype=row.dtype, batch=row.batch,
            candidates=row.candidates, seq_len=row.seq_len, latency_ms=row.latency_ms,
            ops_ms=dict(row.ops_ms or {}), cuda_graph=row.cuda_graph, eager_latency_ms=row.eager_latency_ms,
            heads=row.heads, extra={k: v for k, v in obj.items() if k not in _KNOWN},
        )


def load_measurements(path: str | Path) -> list[Measurement]:
    """Read a JSON-lines measurement file.

    Blank lines and lines starting with ``#`` are skipped. Any malformed line raises
    :class:`SpecroofError` naming the file, the line number and the offending key; a file
    without a single measurement is an error too.
    """
    if not isinstance(path, (str, Path)):
        raise SpecroofError(f"measurements must be a path to a JSON-lines file, got {type(path).__name__}")
    path = Path(path)
    text = read_text(path, f"measurement file {path}")
    rows: list[Measurement] = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        where = f"{path}:{number}"
        try:
            obj = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise SpecroofError(f"{where}: not valid JSON ({exc.msg} at column {exc.colno})") from None
        except RecursionError:
            raise SpecroofError(f"{where}: nested too deeply to be a measurement") from None
        except ValueError as exc:  # an integer literal longer than Python reads
            raise SpecroofError(f"{where}: not valid JSON ({exc})") from None
        rows.append(Measurement.from_dict(obj, where))
    if not rows:
        raise SpecroofError(
            f"measurement file {path} has no measurements (expected one JSON object per line)"
        )
    return rows


def measurement_rows(measurements: Any) -> list[Measurement]:
    """Measurements from a JSON-lines path or a sequence of Measurement objects, checked."""
    if isinstance(measurements, (str, Path)):
        return load_measurements(measurements)
    if isinstance(measurements, (bytes, dict)) or not isinstance(measurements, Iterable):
        raise SpecroofError("measurements must be a path to a JSON-lines file or a list of Measurement, "
                            f"got {type(measurements).__name__}")
    rows = list(measurements)
    bad = next((m for m in rows if not isinstance(m, Measurement)), None)
    if bad is not None:
        raise SpecroofError(f"measurements must be Measurement objects (Measurement.from_dict reads a dict), "
                            f"got {type(bad).__name__}")
    return rows


def write_measurements(path: str | Path, measurements: Iterable[Measurement]) -> Path:
    """Write measurements as JSON lines, atomically (parent folders are created); returns the path."""
    path = Path(path)
    lines = [json.dumps(m.to_dict()) for m in measurements]
    try:
        if not path.parent.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SpecroofError(f"cannot write measurement file {path}: {exc.strerror or exc}") from None
    return write_atomic(path, "".join(line + "\n" for line in lines), "measurement file")


def group_by_model(measurements: Iterable[Measurement]) -> dict[str, list[Measurement]]:
    """Measurements keyed by model name, in first-seen order (rows keep their order)."""
    groups: dict[str, list[Measurement]] = {}
    for m in measurements:
        groups.setdefault(m.model, []).append(m)
    return groups
