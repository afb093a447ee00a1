"""Timing one step: warm-up, then the median of repeats, in a CUDA graph by default.

CUDA events time GPU work; on the CPU ``time.perf_counter`` does.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any


def capture_graph(torch: Any, fn: Callable[[], Any], dev: Any) -> Any:
    side = torch.cuda.Stream(dev)
    side.wait_stream(torch.cuda.current_stream(dev))
    with torch.cuda.stream(side):
        for _ in range(2):
            fn()
    torch.cuda.current_stream(dev).wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        fn()
    return graph


def round_ms(value: float) -> float:
    """Milliseconds rounded for the file: 4 decimals, or 3 significant digits below 0.01 ms."""
    return round(value, 4) if value >= 0.01 else float(f"{value:.3g}")


def time_ms(torch: Any, fn: Callable[[], Any], dev: Any, warmup: int, repeats: int, graph: bool) -> float:
    """Median milliseconds of ``repeats`` runs of ``fn`` after ``warmup`` runs."""
    if dev.type != "cuda":
        for _ in range(warmup):
            fn()
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            fn()
            times.append((time.perf_counter() - start) * 1e3)
        return statistics.median(times)
    captured = capture_graph(torch, fn, dev) if graph else None
    run = captured.replay if captured is not None else fn
    for _ in range(warmup):
        run()
    torch.cuda.synchronize(dev)
    starts = [torch.cuda.Event(enable_timing=True) for _ in range(repeats)]
    ends = [torch.cuda.Event(enable_timing=True) for _ in range(repeats)]
    for start, end in zip(starts, ends):
        start.record()
        run()
        end.record()
    torch.cuda.synchronize(dev)
    times = [start.elapsed_time(end) for start, end in zip(starts, ends)]
    del run, captured
    torch.cuda.empty_cache()
    return statistics.median(times)
