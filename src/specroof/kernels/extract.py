"""The small committed extract of the kernel database: CSV files, no pandas needed.

``data/kernels/extract/<gpu>-<engine>-<family>.csv`` holds a stratified sample of one table in
the normalized schema (see :mod:`specroof.kernels.schema`); lines starting with ``#`` say
where the rows came from. ``tools/kernels/make_extract.py`` regenerates the files.

The extract is not shipped in the wheel (the package prices nothing from it; tests and the
fitting scripts read it), so every reader takes its folder: ``data/kernels/extract`` of a
checkout. The installed package never looks for the checkout itself.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np

import specroof.kernels.schema as schema
from specroof.errors import SpecroofError, suggest


def extract_root(root: str | os.PathLike) -> Path:
    """The extract folder, checked: ``data/kernels/extract`` in a checkout."""
    path = Path(root)
    if not path.is_dir():
        raise SpecroofError(f"kernel extract directory {path} does not exist; give the path to data/kernels/extract")
    return path


def extract_listing(root: str | os.PathLike) -> dict[str, dict[str, list[str]]]:
    """``{gpu: {engine: [families]}}`` present in the extract."""
    out: dict[str, dict[str, list[str]]] = {}
    for f in sorted(extract_root(root).glob("*.csv")):
        parts = f.stem.split("-")
        if len(parts) != 3 or parts[2] not in schema.FAMILIES:
            continue
        out.setdefault(parts[0], {}).setdefault(parts[1], []).append(parts[2])
    return out


def extract_path(gpu: str, engine: str, family: str, root: str | os.PathLike) -> Path:
    if family not in schema.FAMILIES:
        raise SpecroofError(f"unknown kernel family {family!r}{suggest(family, schema.FAMILIES)}; "
                            f"known: {', '.join(schema.FAMILIES)}")
    present = extract_listing(root)
    if gpu not in present:
        raise SpecroofError(f"GPU {gpu!r} is not in the kernel extract{suggest(gpu, present)}; "
                            f"present: {', '.join(present)}")
    engines = sorted(e for e, fams in present[gpu].items() if family in fams)
    if engine not in engines:
        raise SpecroofError(f"no {family} extract for engine {engine!r} on {gpu}{suggest(engine, engines)}; "
                            f"engines present: {', '.join(engines) or 'none'}")
    return extract_root(root) / f"{gpu}-{engine}-{family}.csv"


def read_csv(path: str | os.PathLike, family: str) -> np.ndarray:
    """One extract file as a structured array; a missing or wrong column is a SpecroofError."""
    path = Path(path)
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            rows = [line for line in fh if not line.startswith("#")]
    except OSError as exc:
        raise SpecroofError(f"cannot read kernel extract {path}: {exc.strerror or exc}") from None
    reader = csv.reader(rows)
    header = next(reader, None)
    names = schema.dtype_of(family).names
    if header is None or list(header) != list(names):
        raise SpecroofError(f"{path} does not have the {family} columns {', '.join(names)} (got {header})")
    body = list(reader)
    if any(len(r) != len(names) for r in body):
        raise SpecroofError(f"{path} has a row with the wrong number of fields")
    cols = {n: [r[i] for r in body] for i, n in enumerate(names)}
    try:
        return schema.from_columns(family, cols) if body else schema.empty(family)
    except ValueError as exc:
        raise SpecroofError(f"{path} has a value that is not a number: {exc}") from None


def read_extract(gpu: str, engine: str, family: str, root: str | os.PathLike) -> np.ndarray:
    """The committed sample of one (gpu, engine, family) table, normalized schema."""
    return read_csv(extract_path(gpu, engine, family, root), family)


def write_csv(path: str | os.PathLike, family: str, rows: np.ndarray, comments: list[str] = ()) -> None:
    names = schema.dtype_of(family).names
    with Path(path).open("w", encoding="utf-8", newline="") as fh:
        for c in comments:
            fh.write(f"# {c}\n")
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(names)
        for r in rows:
            w.writerow([f"{r[n]:.6g}" if n == "latency_us" else r[n] for n in names])
