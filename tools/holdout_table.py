"""Print the README's held-out accuracy table: ``python tools/holdout_table.py``.

Every split of ``specroof.calibration.holdout.SPLITS`` is calibrated on its training rows and
validated on rows the fit never saw (about a minute on two cores).
"""

from __future__ import annotations

from pathlib import Path

from specroof.calibration.holdout import SPLITS, run_split

MEASUREMENTS = Path(__file__).resolve().parents[1] / "data" / "measurements"  # this checkout's data


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}%"


def main() -> None:
    print("| split (calibrate -> validate) | points | latency MAPE | worst | bias | normalized MAPE |")
    print("|---|---|---|---|---|---|")
    for split in SPLITS:
        overall = run_split(split, MEASUREMENTS).overall
        print(f"| {split.name} | {overall['points']} | {_pct(overall['mape_latency_pct'])} | "
              f"{_pct(overall['max_error_pct'])} | {overall['bias_pct']:+.1f}% | "
              f"{_pct(overall['mape_normalized_pct'])} |", flush=True)


if __name__ == "__main__":
    main()
