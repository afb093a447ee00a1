"""Speed of a full-grid sweep and start-up time of the CLI, against DESIGN.md's targets.

    python benchmarks/bench_sweep.py            # figures and targets
    python benchmarks/bench_sweep.py --profile  # also where the sweep's time goes (cProfile)

Sweep: ``specroof.latency`` for llama-7b on h200 over 64 batch sizes x 128 candidate counts x
128 context lengths (1,048,576 points), best of 3. Start-up: ``specroof --help`` in a fresh
process, median of 5.
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
from pathlib import Path

import numpy as np

import specroof

SWEEP_TARGET = 2_000_000  # grid points per second
HELP_TARGET_S = 0.3
BATCH = np.arange(1, 65)
CANDIDATES = np.arange(1, 129)
SEQ_LEN = np.arange(1, 129) * 256


def sweep() -> specroof.StepLatency:
    return specroof.latency("llama-7b", "h200", BATCH, CANDIDATES, SEQ_LEN)


def bench_sweep(repeats: int = 3) -> tuple[float, int]:
    points = BATCH.size * CANDIDATES.size * SEQ_LEN.size
    sweep()  # warm caches and imports
    best = min(_timed(sweep) for _ in range(repeats))
    return best, points


def _timed(func) -> float:
    start = time.perf_counter()
    func()
    return time.perf_counter() - start


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

    seconds, points = bench_sweep()
    rate = points / seconds
    help_s = bench_help()
    ok_sweep = rate >= SWEEP_TARGET
    ok_help = help_s < HELP_TARGET_S
    print(f"sweep  llama-7b on h200, {BATCH.size} x {CANDIDATES.size} x {SEQ_LEN.size} = {points:,} points")
    print(f"       best of 3: {seconds * 1e3:8.1f} ms  -> {rate / 1e6:6.2f} M points/s   "
          f"target >= {SWEEP_TARGET / 1e6:.0f} M points/s  [{'ok' if ok_sweep else 'BELOW TARGET'}]")
    print(f"start  specroof --help, median of 5: {help_s * 1e3:6.0f} ms              "
          f"target < {HELP_TARGET_S * 1e3:.0f} ms  [{'ok' if ok_help else 'ABOVE TARGET'}]")
    if args.profile or not ok_sweep:
        print()
        print(profile_sweep())
    return 0 if ok_sweep and ok_help else 1


if __name__ == "__main__":
    sys.exit(main())
