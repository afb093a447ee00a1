"""Development / test split of the frontier measurements: ``python tools/validation/split_published.py``.

The split is made by SOURCE (a blog post, a pull request, a paper), never by row, so that no
test row shares a setup, a benchmark harness or an author's choices with a development row.
Each source's set is a pure function of its ``source_id`` and a fixed seed::

    test  if  sha256(SEED + ":" + source_id)[:8] / 16**8  <  TEST_SHARE,  else  dev

so rows appended later keep every existing assignment, and a new row of a known source lands
in that source's set. The rule is applied before any prediction is computed (the date and the
rule are written in ``docs/validation-published.md``); ``--write`` fills the ``split`` column of
rows that have none and appends them to the lock file, which records every assignment ever
made. A row whose ``split`` disagrees with the rule or the lock is an error, never rewritten.

``--json`` prints every row's split, the rule's split and the locked split (what the tests read).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data" / "validation" / "published-e2e.csv"
LOCK = ROOT / "data" / "validation" / "published-e2e.split-lock.csv"
SEED = "specroof/frontier-published/2026-12-06"
TEST_SHARE = 0.5
SPLITS = ("dev", "test")
LOCK_FIELDS = ("row_id", "source_id", "split")


def split_of(source_id: str) -> str:
    """The set a source belongs to: a hash of the seed and the source id, nothing else."""
    digest = hashlib.sha256(f"{SEED}:{source_id}".encode("utf-8")).hexdigest()
    return "test" if int(digest[:8], 16) / 16**8 < TEST_SHARE else "dev"


def read_table(path: Path) -> tuple[list[str], list[str], list[dict[str, str]]]:
    """The file's leading comment lines, its header and its rows."""
    with open(path, encoding="utf-8") as handle:
        lines = handle.read().splitlines(keepends=True)
    comments = [line for line in lines if line.startswith("#")]
    reader = csv.DictReader(line for line in lines if not line.startswith("#"))
    rows = list(reader)
    return comments, list(reader.fieldnames or []), rows


def read_lock(path: Path) -> dict[str, dict[str, str]]:
    if not path.exists():
        return {}
    with open(path, encoding="utf-8") as handle:
        return {r["row_id"]: r for r in csv.DictReader(line for line in handle if not line.startswith("#"))}


def problems(rows: list[dict[str, str]], lock: dict[str, dict[str, str]]) -> list[str]:
    """Every disagreement between a row, the rule and the lock (empty: the split is intact)."""
    found = []
    ids = [r["row_id"] for r in rows]
    for duplicate in sorted({i for i in ids if ids.count(i) > 1}):
        found.append(f"row_id {duplicate!r} appears more than once")
    for row in rows:
        rule = split_of(row["source_id"])
        if row["split"] and row["split"] != rule:
            found.append(f"row {row['row_id']}: split {row['split']!r} differs from the rule's {rule!r}")
        locked = lock.get(row["row_id"])
        if locked and (locked["split"] != row["split"] or locked["source_id"] != row["source_id"]):
            found.append(f"row {row['row_id']}: locked as {locked['source_id']}/{locked['split']}, "
                         f"now {row['source_id']}/{row['split'] or '(empty)'}")
    for row_id in sorted(set(lock) - set(ids)):
        found.append(f"locked row {row_id!r} is missing from the data")
    return found


def assign(path: Path, lock_path: Path) -> int:
    """Fill empty ``split`` cells by the rule and lock the new assignments; returns how many."""
    comments, fields, rows = read_table(path)
    lock = read_lock(lock_path)
    new = [r for r in rows if not r["split"]]
    for row in new:
        row["split"] = split_of(row["source_id"])
    found = problems(rows, lock)
    if found:
        raise SystemExit("error: " + "; ".join(found))
    with open(path, "w", newline="", encoding="utf-8") as handle:
        handle.writelines(comments)
        writer = csv.DictWriter(handle, fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    unlocked = [r for r in rows if r["row_id"] not in lock]
    fresh = not lock_path.exists()
    with open(lock_path, "a", newline="", encoding="utf-8") as handle:
        if fresh:
            handle.write("# Every split assignment ever made (tools/validation/split_published.py); append-only.\n")
        writer = csv.DictWriter(handle, LOCK_FIELDS, lineterminator="\n", extrasaction="ignore")
        if fresh:
            writer.writeheader()
        writer.writerows(unlocked)
    return len(new)


def report(path: Path, lock_path: Path) -> dict:
    _, _, rows = read_table(path)
    lock = read_lock(lock_path)
    return {"seed": SEED, "test_share": TEST_SHARE, "problems": problems(rows, lock),
            "rows": [{"row_id": r["row_id"], "source_id": r["source_id"], "split": r["split"],
                      "rule_split": split_of(r["source_id"]),
                      "locked_split": lock.get(r["row_id"], {}).get("split")} for r in rows]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA, help="the measurements CSV")
    parser.add_argument("--lock", type=Path, default=LOCK, help="the append-only record of assignments")
    parser.add_argument("--write", action="store_true", help="fill empty split cells by the rule and lock them")
    parser.add_argument("--json", action="store_true", help="print every row's split, rule split and locked split")
    args = parser.parse_args()
    if args.write:
        print(f"assigned {assign(args.data, args.lock)} row(s); lock {args.lock}")
        return
    out = report(args.data, args.lock)
    if args.json:
        print(json.dumps(out))
        return
    for row in out["rows"]:
        print(f"{row['split'] or '(empty)':6} {row['source_id']:34} {row['row_id']}")
    if out["problems"]:
        print("error: " + "; ".join(out["problems"]), file=sys.stderr)
        raise SystemExit(2)


if __name__ == "__main__":
    main()
