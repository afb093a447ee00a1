"""Per-request acceptance draws (specroof.workload.draws) against SpecDecode-Bench's traces.

data/validation/specdecode-bench-request-acceptance.csv holds every traced request's tokens
per step tau_r at K = 1, 3 and 5 (tools/validation/request_acceptance.py). Per dataset the
spread is fitted on K = 3 alone (the simulated requests' standard deviation of tau_r matches
the traced one); the 10th and 90th percentiles of tau_r at K = 1 and K = 5, not used by the fit,
are then compared (gate workload.spread.heldout in tests/gates.toml). Each simulated request
decodes as many tokens as its traced one, so both sides carry the same finite-sample noise.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from gates import failures, gates
from specroof.workload.draws import DEFAULT_SPREAD, AcceptanceDraws

TABLE = Path(__file__).resolve().parents[1] / "data" / "validation" / "specdecode-bench-request-acceptance.csv"
DATASETS = ("cnn_dailymail", "gsm8k", "instructcoder", "sharegpt")


def _traces() -> dict[str, dict[str, np.ndarray]]:
    with open(TABLE, encoding="utf-8") as handle:
        rows = list(csv.DictReader(line for line in handle if not line.startswith("#")))
    out = {}
    for dataset in DATASETS:
        mine = [r for r in rows if r["dataset"] == dataset]
        out[dataset] = {"length": np.array([int(r["output_tokens"]) for r in mine]),
                        **{f"k{k}": np.array([float(r[f"tau_k{k}"]) for r in mine]) for k in (1, 3, 5)}}
    return out


def _simulated_tau(lengths: np.ndarray, tau: float, n: int, spread: float, seed: int) -> np.ndarray:
    """Each request decoded to its traced length with drawn steps: its tokens per step."""
    draws = AcceptanceDraws.of({n: tau}, lengths.size, spread, seed)
    position, tokens, steps = np.ones(lengths.size, dtype=np.int64), np.zeros(lengths.size), np.zeros(lengths.size)
    rows = np.arange(lengths.size)
    while np.any(position < lengths):
        active = rows[position < lengths]
        gained = np.minimum(draws.tokens(active, n), lengths[active] - position[active])
        position[active] += gained
        tokens[active] += gained
        steps[active] += 1
    return tokens / steps


def _fit_spread(trace: dict[str, np.ndarray]) -> float:
    """The spread whose simulated tau_r at K = 3 has the traced standard deviation (bisection)."""
    low, high = 0.0, 0.3
    for _ in range(12):
        middle = 0.5 * (low + high)
        simulated = _simulated_tau(trace["length"], float(trace["k3"].mean()), 4, middle, seed=0)
        low, high = (middle, high) if simulated.std() < trace["k3"].std() else (low, middle)
    return 0.5 * (low + high)


@pytest.fixture(scope="module")
def fitted() -> dict[str, tuple[float, dict[str, np.ndarray]]]:
    traces = _traces()
    return {dataset: (_fit_spread(trace), trace) for dataset, trace in traces.items()}


def _worst_quantile_error(fitted, spread_of) -> float:
    worst = 0.0
    for dataset, (spread, trace) in fitted.items():
        for k in (1, 5):
            simulated = _simulated_tau(trace["length"], float(trace[f"k{k}"].mean()), k + 1, spread_of(spread), seed=1)
            for p in (10, 90):
                error = np.percentile(simulated, p) / np.percentile(trace[f"k{k}"], p) - 1
                worst = max(worst, abs(float(error)))
    return worst * 100


def test_spread_fitted_on_one_k_gives_the_tails_at_other_k(fitted):
    worst_pct = _worst_quantile_error(fitted, lambda spread: spread)
    assert not failures(gates("workload-spread")["held-out tau_r percentiles"], {"worst_pct": worst_pct}), worst_pct
    without = _worst_quantile_error(fitted, lambda spread: 0.0)
    assert without > 3 * worst_pct  # requests alike (spread 0): the tails are far too narrow


def test_the_default_spread_is_the_traces_median(fitted):
    spreads = sorted(spread for spread, _ in fitted.values())
    assert 0.02 < spreads[0] and spreads[-1] < 0.2
    assert DEFAULT_SPREAD == pytest.approx(float(np.median(spreads)), abs=0.01)


def test_the_request_table_agrees_with_the_trace_table():
    """Its per-request means are the trace table's acceptance_length_request_mean (read_traces.py)."""
    path = TABLE.parent / "specdecode-bench-trace-acceptance.csv"
    with open(path, encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(line for line in handle if not line.startswith("#")) if r["method"] == "eagle3"]
    traces = _traces()
    for dataset, trace in traces.items():
        for k in (1, 3, 5):
            row = next(r for r in rows if r["dataset"] == dataset and int(r["k_draft_tokens"]) == k)
            assert int(row["requests"]) == trace["length"].size
            assert float(trace[f"k{k}"].mean()) == pytest.approx(float(row["acceptance_length_request_mean"]), abs=6e-4)
