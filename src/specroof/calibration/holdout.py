"""Held-out splits: calibrate on some measurements, validate on others never fitted.

The measurement files are not in the wheel: :func:`run_split` takes the folder that holds them
(``data/measurements`` of a checkout); the installed package never looks for the checkout.

Each split names what it leaves out (a batch size, a model); the README's accuracy table
and the CI gate (``tests/test_calibration.py``) come from :data:`SPLITS` through
:func:`run_split`. Rows are (file, measurement) pairs so errors are also reported per file.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from specroof.calibration.fit import calibrate, load_sources
from specroof.calibration.measurements import Measurement
from specroof.calibration.validate import Validation, validate

DENSE = "h200-llama-7b-calibration.jsonl"
MOE = "h200-mixtral-8x7b-moe.jsonl"
HEADS = "h200-medusa-heads.jsonl"

Rule = Callable[[Measurement], bool]


@dataclass(frozen=True)
class Split:
    """Calibrate on the rows of ``files`` (names in the measurements folder) that ``train``
    keeps, validate on those ``test`` keeps."""

    name: str
    files: tuple[str, ...]
    train: Rule
    test: Rule


def _is(model: str, *batches: int) -> Rule:
    return lambda m: m.model == model and m.heads is None and (not batches or m.batch in batches)


def _either(*rules: Rule) -> Rule:
    return lambda m: any(rule(m) for rule in rules)


SPLITS: tuple[Split, ...] = (
    Split("llama-7b: batch 1, 64 -> batch 16", (DENSE,), _is("llama-7b", 1, 64), _is("llama-7b", 16)),
    Split("llama-7b: batch 1, 16 -> batch 64", (DENSE,), _is("llama-7b", 1, 16), _is("llama-7b", 64)),
    Split("llama-7b: batch 16, 64 -> batch 1", (DENSE,), _is("llama-7b", 16, 64), _is("llama-7b", 1)),
    Split("llama-7b -> Mixtral-8x7B (model left out)", (DENSE, MOE), _is("llama-7b"), _is("mixtral-8x7b")),
    Split("llama-7b + Mixtral batch 1 -> Mixtral batch 16", (DENSE, MOE),
          _either(_is("llama-7b"), _is("mixtral-8x7b", 1)), _is("mixtral-8x7b", 16)),
    Split("llama-7b + Mixtral batch 16 -> Mixtral batch 1", (DENSE, MOE),
          _either(_is("llama-7b"), _is("mixtral-8x7b", 16)), _is("mixtral-8x7b", 1)),
    Split("llama-7b -> 5 Medusa heads (drafting cost)", (DENSE, HEADS), _is("llama-7b"),
          lambda m: m.heads is not None),
)


def run_split(split: Split, measurements: str | os.PathLike, profile: str = "pytorch-sdpa") -> Validation:
    """Calibrate on the split's training rows, then validate its test rows with that fit.

    ``measurements``: the folder holding the split's files (``data/measurements`` of a checkout).
    """
    rows = load_sources([Path(measurements) / name for name in split.files])
    fit = calibrate([r for r in rows if split.train(r[1])], None, profile)
    return validate([r for r in rows if split.test(r[1])], fit.hardware, profile, overrides=fit.fitted)
