"""Development / test split of the published load points: ``python tools/validation/split_load.py``.

The same rule as the frontier measurements (``split_published.py``, ``docs/validation-published.md``):
by SOURCE, ``test`` if ``sha256(SEED + ":" + source_id)[:8] / 16**8 < TEST_SHARE``, with that file's
seed, so a source that appears in both files (vLLM PR #12755) is in the same set in both, and
rows appended later keep every existing assignment. The rule was applied when the rows were
transcribed (2026-12-07), before any prediction. ``--write`` fills empty ``split`` cells; a
``split`` that disagrees with the rule is an error, never rewritten.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from split_published import read_table, split_of  # noqa: E402  (the one rule, shared)

DATA = Path(__file__).resolve().parents[2] / "data" / "validation" / "load-published.csv"


def problems(rows: list[dict[str, str]]) -> list[str]:
    """Every row whose split disagrees with the rule, and every repeated row id."""
    ids = [r["row_id"] for r in rows]
    found = [f"row_id {i!r} appears more than once" for i in sorted({i for i in ids if ids.count(i) > 1})]
    found += [f"row {r['row_id']}: split {r['split']!r} differs from the rule's {split_of(r['source_id'])!r}"
              for r in rows if r["split"] and r["split"] != split_of(r["source_id"])]
    return found


def write(path: Path) -> int:
    """Fill empty ``split`` cells by the rule; returns how many."""
    comments, fields, rows = read_table(path)
    filled = [r for r in rows if not r["split"]]
    for row in filled:
        row["split"] = split_of(row["source_id"])
    with open(path, "w", encoding="utf-8", newline="") as handle:
        handle.writelines(comments)
        writer = csv.DictWriter(handle, fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return len(filled)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="fill empty split cells by the rule")
    args = parser.parse_args()
    _, _, rows = read_table(DATA)
    found = problems(rows)
    for line in found:
        print(line, file=sys.stderr)
    if found:
        return 1
    if args.write:
        print(f"filled {write(DATA)} split cells")
    return 0


if __name__ == "__main__":
    sys.exit(main())
