"""The one writer of calibrated profile files: TOML, written atomically.

Every profile file specroof writes goes through :func:`write_profile`: the measurement fit
(``specroof calibrate``), the kernel-database fit (``specroof calibrate --kernels``) and the
shipped engine kernels (``tools``' ``fit_physics.py --write``). The file is written to a
temporary file beside the target and renamed over it, so a failed write (full disk, killed
process) leaves any previous file byte-identical.

A calibrated profile file is what ``--hardware FILE`` reads: ``base`` (the catalog device),
``profile_base`` (the implementation profile it starts from), ``calibrated_from`` and a
``[profile]`` table of the fitted fields; ``[fit]`` records how well they fit.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from specroof.datafiles import write_atomic


def plain(value: Any) -> Any:
    """A TOML-writable value: tuples as lists, numpy scalars as Python ones, floats to 6 places."""
    if isinstance(value, tuple):
        return [plain(v) for v in value]
    if isinstance(value, (np.floating, float)):
        return float(round(float(value), 6))
    if isinstance(value, np.integer):
        return int(value)
    return value


def profile_document(base: str, profile_base: str, calibrated_from: str, fields: Mapping[str, Any],
                     fit: Mapping[str, Any]) -> dict[str, Any]:
    """The tables of a calibrated profile file (see the module docstring)."""
    return {
        "base": base,
        "profile_base": profile_base,
        "calibrated_from": calibrated_from,
        "profile": {k: plain(v) for k, v in fields.items()},
        "fit": dict(fit),
    }


def profile_text(comments: Iterable[str], data: Mapping[str, Any], *, blank_line: bool = True) -> str:
    """``# comment`` lines, an optional blank line, then ``data`` as TOML."""
    import tomli_w

    head = "".join(f"# {line}\n" for line in comments)
    return head + ("\n" if blank_line else "") + tomli_w.dumps(dict(data))


def write_profile(path: str | Path, comments: Iterable[str], data: Mapping[str, Any], *,
                  blank_line: bool = True) -> Path:
    """Write :func:`profile_text` to ``path`` atomically (a failed write keeps the old file)."""
    return write_atomic(path, profile_text(comments, data, blank_line=blank_line), "profile")
