"""Speed of a full-grid sweep and start-up time of the CLI, against their targets.

    python tools/bench_sweep.py            # figures and targets
    python tools/bench_sweep.py --profile  # also where the sweep's time goes (cProfile)

Sweep: ``specroof.latency`` for llama-7b on h200 over 64 batch sizes x 128 candidate counts x
128 context lengths (1,048,576 points), best of 3, in wall-clock and in this process's CPU
time (the CPU figure is the one to compare on a shared, loaded machine). Start-up:
``specroof --help`` in a fresh process, median of 5.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import shutil
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np

import specroof
from specroof.errors import SpecroofWarning

SWEEP_TARGET = 50_000_000  # grid points per second (the speed before the operation list)
HELP_TARGET_S = 0.06
BATCH = np.arange(1, 65)
CANDIDATES = np.arange(1, 129)
SEQ_LEN = np.arange(1, 129) * 256


def sweep() -> specroof.StepLatency:
    return specroof.latency("llama-7b", "h200", BATCH, CANDIDATES, SEQ_LEN)


def bench_sweep(repeats: int = 3) -> tuple[float, float, int]:
    """(best wall seconds, best CPU seconds, grid points) of ``repeats`` sweeps."""
    points = BATCH.size * CANDIDATES.size * SEQ_LEN.size
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SpecroofWarning)  # llama-7b's 2,048-token context
        sweep()  # warm caches and imports
        times = [_timed(sweep) for _ in range(repeats)]
    return min(t[0] for t in times), min(t[1] for t in times), points


def _timed(func) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    func()
    return time.perf_counter() - wall, time.process_time() - cpu


def _script() -> str:
    local = Path(sys.executable).parent / "specroof"
    if local.exists():
        return str(local)
    found = shutil.which("specroof")
    if found is None:
        raise SystemExit("the specroof console script is not installed")
    return found


def bench_help(repeats: int = 5) -> float:
    script = _script()
    subprocess.run([script, "--help"], capture_output=True, check=True)  # warm the file cache
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run([script, "--help"], capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def profile_sweep(lines: int = 25) -> str:
    profiler = cProfile.Profile()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SpecroofWarning)
        profiler.enable()
        sweep()
        profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(lines)
    return out.getvalue()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", action="store_true", help="print a cProfile of one sweep")
    args = parser.parse_args()

    seconds, cpu_seconds, points = bench_sweep()
    rate = points / seconds
    help_s = bench_help()
    ok_sweep = rate >= SWEEP_TARGET
    ok_help = help_s < HELP_TARGET_S
    print(f"sweep  llama-7b on h200, {BATCH.size} x {CANDIDATES.size} x {SEQ_LEN.size} = {points:,} points")
    print(f"       best of 3: {seconds * 1e3:8.1f} ms  -> {rate / 1e6:6.2f} M points/s   "
          f"target >= {SWEEP_TARGET / 1e6:.0f} M points/s  [{'ok' if ok_sweep else 'BELOW TARGET'}]")
    print(f"       CPU time: {cpu_seconds * 1e3:8.1f} ms  -> {points / cpu_seconds / 1e6:6.2f} M points/s")
    print(f"start  specroof --help, median of 5: {help_s * 1e3:6.0f} ms              "
          f"target < {HELP_TARGET_S * 1e3:.0f} ms  [{'ok' if ok_help else 'ABOVE TARGET'}]")
    if args.profile or not ok_sweep:
        print()
        print(profile_sweep())
    return 0 if ok_sweep and ok_help else 1


if __name__ == "__main__":
    sys.exit(main())
