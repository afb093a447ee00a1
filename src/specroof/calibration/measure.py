"""``specroof measure``: time real verification steps on a GPU (or the CPU) over a grid.

For every ``(batch, candidates, seq_len)`` point, each of ``batch`` sequences has ``seq_len``
tokens in its KV cache and feeds ``candidates`` new tokens through a decoder with the
model's exact shapes and random weights (latency does not depend on weight values). The
pieces live in :mod:`specroof.calibration.harness`: the decoder and its per-operation split
(``torch_decoder``), timing (``timing``), devices and dtypes (``devices``), and the memory
guard that skips points that would not fit (``memory_guard``).

Grouped-query attention runs as Hugging Face transformers runs it (``gqa="auto"``):
``enable_gqa=True`` without a mask, K/V ``repeat_interleave``-d with one (a masked
``enable_gqa`` call would fall back to SDPA's unfused math kernel); recorded as ``gqa_mode``.
MoE routing is drawn once per grid point by the random router so the step's shapes stay
static for CUDA-graph capture; the router GEMM and top-k still run in every step.
"""

from __future__ import annotations

import datetime as _dt
import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from specroof.calibration.harness.devices import (
    TORCH_DTYPE,
    as_int_list,
    check_device,
    default_memory_limit,
    hardware_slug,
    import_torch,
    normalize_dtype,
    resolve_device,
)
from specroof.calibration.harness.devices import (
    device_name as name_of_device,
)
from specroof.calibration.harness.devices import (
    gqa_mode as choose_gqa_mode,
)
from specroof.calibration.harness.memory_guard import GB, allocated_weight_bytes, estimate_memory, format_gb
from specroof.calibration.harness.timing import round_ms, time_ms
from specroof.calibration.harness.torch_decoder import Decoder, Point
from specroof.calibration.measurements import Measurement
from specroof.datafiles import looks_like_path
from specroof.errors import SpecroofError
from specroof.models.architecture import ModelConfig, load_model

__all__ = ["MeasureResult", "SkippedPoint", "check_device", "estimate_memory", "hardware_slug", "measure",
           "normalize_dtype"]


@dataclass(frozen=True)
class SkippedPoint:
    """A grid point that was not measured, and why (e.g. it does not fit in memory)."""

    batch: int
    candidates: int
    seq_len: int
    reason: str

    def describe(self) -> str:
        return f"batch={self.batch} candidates={self.candidates} seq_len={self.seq_len}: {self.reason}"


class MeasureResult(NamedTuple):
    """What :func:`measure` returns: the measured rows and the skipped grid points."""

    measurements: list[Measurement]
    skipped: list[SkippedPoint]


@dataclass(frozen=True)
class _Run:
    """What every grid point of one :func:`measure` call shares."""

    torch: Any
    cfg: ModelConfig
    model_ref: str
    device: Any
    dt_name: str
    gqa_mode: str
    limit: float | None
    hardware: str
    extra: dict[str, Any]
    repeats: int
    warmup: int
    cuda_graph: bool
    eager_too: bool
    ops: bool

    @property
    def on_cuda(self) -> bool:
        return self.device.type == "cuda"

    def oom_errors(self) -> tuple[type[BaseException], ...]:
        """MemoryError, and torch's CUDA out-of-memory error where torch has one."""
        if hasattr(self.torch.cuda, "OutOfMemoryError"):
            return (MemoryError, self.torch.cuda.OutOfMemoryError)
        return (MemoryError,)


def _check_arguments(repeats: int, warmup: int, gqa: str, max_memory_gb: float | None) -> None:
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise SpecroofError(f"repeats must be a positive integer, got {repeats!r}")
    if isinstance(warmup, bool) or not isinstance(warmup, int) or warmup < 0:
        raise SpecroofError(f"warmup must be a non-negative integer, got {warmup!r}")
    if gqa not in ("auto", "enable_gqa", "repeat"):
        raise SpecroofError(f"gqa must be auto, enable_gqa or repeat, got {gqa!r}")
    if max_memory_gb is not None and not (max_memory_gb > 0 and math.isfinite(max_memory_gb)):
        raise SpecroofError(f"--max-memory-gb must be a positive number, got {max_memory_gb!r}")


def _environment(torch: Any, dev: Any, repeats: int, warmup: int, gqa_mode: str) -> tuple[str, dict[str, Any]]:
    """The device's name and the ``extra`` fields every row records (versions, date, settings)."""
    device_name = name_of_device(torch, dev)
    extra: dict[str, Any] = {
        "device": dev.type,
        "device_name": device_name,
        "torch_version": str(torch.__version__),
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d"),
        "repeats": repeats,
        "warmup": warmup,
        "gqa_mode": gqa_mode,
    }
    if dev.type == "cuda" and torch.version.cuda:
        extra["cuda_version"] = str(torch.version.cuda)
    return device_name, extra


def _prepare(model: str | Path | ModelConfig, cfg: ModelConfig, device: str, dtype: str | None, repeats: int, warmup: int,
             cuda_graph: bool | None, eager_too: bool, ops: bool, max_memory_gb: float | None,
             hardware_name: str | None, gqa: str) -> _Run:
    """Check the arguments, import torch and resolve the device, dtype, GQA mode and memory limit."""
    # Rows name the model so that validate/calibrate can load it again: the catalog name, or
    # the absolute path of the config.json it came from.
    model_ref = str(Path(model).resolve()) if looks_like_path(model, ".json") else cfg.name
    _check_arguments(repeats, warmup, gqa, max_memory_gb)
    dt_name = normalize_dtype(dtype, str(device).strip().lower())
    if cfg.is_moe and cfg.experts_per_token <= 0:
        raise SpecroofError(f"model {cfg.name!r} is a mixture of experts without num_experts_per_tok")
    torch = import_torch()
    dev = resolve_device(torch, device)
    if cuda_graph is None:
        cuda_graph = dev.type == "cuda"
    if cuda_graph and dev.type != "cuda":
        raise SpecroofError("CUDA graphs need --device cuda; drop the CUDA-graph option on the CPU")
    gqa_mode = choose_gqa_mode(torch, cfg, gqa)
    limit = max_memory_gb * GB if max_memory_gb is not None else default_memory_limit(torch, dev)
    device_name, extra = _environment(torch, dev, repeats, warmup, gqa_mode)
    hardware = hardware_name or (hardware_slug(device_name) if dev.type == "cuda" else "cpu")
    return _Run(torch, cfg, model_ref, dev, dt_name, gqa_mode, limit, hardware, extra, repeats, warmup,
                bool(cuda_graph), eager_too, ops)


def _time_point(run: _Run, point: Point, b: int, n: int, s: int) -> Measurement:
    """One measured row: the step (graph or eager), optionally eager too, and each operation."""
    torch, dev = run.torch, run.device
    latency = time_ms(torch, point.step, dev, run.warmup, run.repeats, run.cuda_graph)
    eager = None
    if run.eager_too:
        eager = time_ms(torch, point.step, dev, run.warmup, run.repeats, False) if run.cuda_graph else latency
    ops_ms: dict[str, float] = {}
    if run.ops:
        for name, fn in point.op_functions().items():
            ops_ms[name] = round_ms(time_ms(torch, fn, dev, run.warmup, run.repeats, run.cuda_graph))
    extra = dict(run.extra)
    if run.gqa_mode == "mask_aware":  # what this point ran: a mask exactly when n > 1
        extra["gqa_mode"] = "enable_gqa" if n == 1 else "repeat_interleave"
    if run.cfg.is_moe:
        extra["active_experts"] = round(point.active_experts, 2)
    return Measurement(
        model=run.model_ref, hardware=run.hardware, dtype=run.dt_name, batch=b, candidates=n,
        seq_len=s, latency_ms=round_ms(latency), ops_ms=ops_ms, cuda_graph=run.cuda_graph,
        eager_latency_ms=None if eager is None else round_ms(eager), extra=extra,
    )


def _measure_or_skip(run: _Run, decoder: Decoder, b: int, n: int, s: int) -> Measurement | str:
    """The point's row, or why it was skipped (estimated over the limit, or out of memory)."""
    need = estimate_memory(run.cfg, b, n, s, run.dt_name, run.gqa_mode)
    if run.limit is not None and need.total > run.limit:
        return (f"needs about {format_gb(need.total)} (KV cache {format_gb(need.kv_cache)}), "
                f"limit {format_gb(run.limit)}")
    point = None
    try:
        point = Point(decoder, b, n, s, run.gqa_mode)
        return _time_point(run, point, b, n, s)
    except run.oom_errors():
        point = None
        if run.on_cuda:
            run.torch.cuda.empty_cache()
        return f"out of memory (estimated {format_gb(need.total)})"
    finally:
        del point
        if run.on_cuda:
            run.torch.cuda.synchronize(run.device)
            run.torch.cuda.empty_cache()


def _decoder(run: _Run, seed: int, device: str, weight_bytes: float) -> Decoder:
    try:
        return Decoder(run.torch, run.cfg, run.device, getattr(run.torch, TORCH_DTYPE[run.dt_name]), seed)
    except run.oom_errors():
        raise SpecroofError(
            f"out of memory allocating the {format_gb(weight_bytes)} of {run.cfg.name} weights on {device}; "
            "lower --max-memory-gb or free the device"
        ) from None


def measure(
    model: str | Path | ModelConfig,
    batch: int | Sequence[int],
    candidates: int | Sequence[int],
    seq_len: int | Sequence[int],
    *,
    device: str = "cuda",
    dtype: str | None = None,
    repeats: int = 10,
    warmup: int = 3,
    cuda_graph: bool | None = None,
    eager_too: bool = False,
    ops: bool = True,
    max_memory_gb: float | None = None,
    hardware_name: str | None = None,
    gqa: str = "auto",
    seed: int = 0,
    progress: Callable[[int, int, int, Measurement | SkippedPoint], None] | None = None,
) -> MeasureResult:
    """Time one verification step at every ``batch x candidates x seq_len`` grid point.

    ``dtype``: fp16/bf16/fp32, default fp16 on CUDA and fp32 on the CPU. ``cuda_graph``:
    capture and replay the step (default: on for CUDA, not available on the CPU).
    ``eager_too`` also records ``eager_latency_ms``. ``ops`` times the six operator classes
    alone (``ops_ms``). ``max_memory_gb`` caps what one point may allocate (default: the GPU's
    free memory less a reserve, or 70% of the host's RAM); points estimated above it are
    skipped and returned in ``skipped``. ``gqa``: ``auto`` (``enable_gqa`` without a mask,
    ``repeat_interleave`` with one), ``enable_gqa`` (always) or ``repeat`` (always). ``progress(batch, candidates, seq_len, row_or_skip)`` is
    called after every point.
    """
    cfg = load_model(model)
    grid = list(itertools.product(as_int_list(batch, "batch"), as_int_list(candidates, "candidates"),
                                  as_int_list(seq_len, "seq_len")))
    run = _prepare(model, cfg, device, dtype, repeats, warmup, cuda_graph, eager_too, ops, max_memory_gb,
                   hardware_name, gqa)
    result = MeasureResult([], [])

    def record(b: int, n: int, s: int, row: Measurement | str) -> None:
        done = SkippedPoint(b, n, s, row) if isinstance(row, str) else row
        (result.skipped if isinstance(row, str) else result.measurements).append(done)
        if progress is not None:
            progress(b, n, s, done)

    wbytes = allocated_weight_bytes(run.cfg, run.dt_name)
    if run.limit is not None and wbytes > run.limit:
        for b, n, s in grid:
            record(b, n, s, f"the weights alone need {format_gb(wbytes)}, limit {format_gb(run.limit)}")
        return result
    with run.torch.inference_mode():
        if run.on_cuda:
            run.torch.cuda.set_device(run.device)
        decoder = _decoder(run, seed, device, wbytes)
        for b, n, s in grid:
            record(b, n, s, _measure_or_skip(run, decoder, b, n, s))
    return result
