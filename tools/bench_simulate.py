"""Speed of the serving simulator: requests simulated per second, against the step pricing alone.

    python tools/bench_simulate.py          # figures and the target
    python tools/bench_simulate.py --json   # the same as JSON

One configuration: llama-3.1-8b + EAGLE-3 (K = 3) on h100-sxm, profile vllm, 10,000 requests
(ISL 1024, OSL 256) arriving as Poisson at 20 requests/s. Reported:

- pricing: the up-front vectorized pricing of every step the run can take (one ``speedup_of`` and
  one ``latency_for_setup`` per configuration), in seconds;
- simulation: the run itself, requests per second and steps per second;
- per-step pricing: what pricing each simulated step through ``specroof.speedup`` one call at a
  time would cost (one call timed, times the run's steps): the reason for the cache.

Wall-clock on a shared machine varies; the CPU time of this process is reported beside it.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import specroof
from specroof.speculation.study import Study
from specroof.workload.arrivals import requests_from
from specroof.workload.kschedule import KSchedule
from specroof.workload.serving import Serving

TARGET_S = 10.0  # a 10,000-request run of one configuration "in seconds" (issue 21)
MODEL, DEVICE = "llama-3.1-8b", "h100-sxm"
OPTIONS = {"method": "eagle3", "dtype": "bf16", "profile": "vllm"}
REQUESTS, ISL, OSL, RATE, CANDIDATES = 10_000, 1024, 256, 20.0, 4


def _timed(fn):  # type: ignore[no-untyped-def]
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def bench() -> dict[str, float]:
    study = Study.of(MODEL, DEVICE, 1, 1, 1024, **OPTIONS)
    serving, price_s, price_cpu_s = _timed(lambda: Serving.of(study, (1, CANDIDATES), ISL + OSL + CANDIDATES + 1))
    requests = requests_from(f"poisson:{RATE}", count=REQUESTS, prompt_tokens=ISL, output_tokens=OSL, seed=0)
    result, run_s, run_cpu_s = _timed(lambda: serving.run(requests, KSchedule.fixed(CANDIDATES)))
    _, call_s, _ = _timed(lambda: specroof.speedup(MODEL, DEVICE, batch=[64], candidates=[CANDIDATES],
                                                   seq_len=[ISL + OSL // 2], **OPTIONS))
    return {"requests": REQUESTS, "steps": result.steps, "pricing_s": price_s, "pricing_cpu_s": price_cpu_s,
            "simulation_s": run_s, "simulation_cpu_s": run_cpu_s, "requests_per_s": REQUESTS / run_s,
            "steps_per_s": result.steps / run_s, "one_priced_step_s": call_s,
            "per_step_pricing_s": call_s * result.steps, "target_s": TARGET_S}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    figures = bench()
    total = figures["pricing_s"] + figures["simulation_s"]
    if args.json:
        print(json.dumps(figures, indent=1))
    else:
        print(f"{MODEL} + EAGLE-3 K={CANDIDATES - 1} on {DEVICE}, {REQUESTS:,} requests, poisson {RATE:g} req/s, "
              f"ISL {ISL}, OSL {OSL}")
        print(f"  pricing (vectorized, once): {figures['pricing_s']:8.2f} s")
        print(f"  simulation: {figures['simulation_s']:8.2f} s ({figures['simulation_cpu_s']:.2f} s CPU), "
              f"{figures['requests_per_s']:,.0f} requests/s, {figures['steps']:,} steps, "
              f"{figures['steps_per_s']:,.0f} steps/s")
        print(f"  pricing each step through specroof.speedup instead: {figures['per_step_pricing_s']:8.1f} s "
              f"({figures['one_priced_step_s'] * 1e3:.1f} ms a call)")
        print(f"  total {total:.2f} s, target < {TARGET_S:.0f} s [{'ok' if total < TARGET_S else 'ABOVE TARGET'}]")
    return 0 if total < TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
