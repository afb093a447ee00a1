"""Exploratory run of every property test: random seeds, more examples, no gate.

    python tools/explore_properties.py                 # 5 random seeds, every file with @given
    python tools/explore_properties.py --seeds 0,1,2 --examples 300 tests/test_latency.py

CI runs the property tests under the ``ci`` Hypothesis profile (``tests/conftest.py``:
derandomized, no example database), so a commit always gives the same result. This script
is the other half: it runs each test file holding ``@given`` tests under the ``explore``
profile with a random (or given) seed and a fresh database, one file at a time, and prints
every falsifying example with the seed that found it, to be fixed (a bug) or restated (a
wrong invariant) before landing. It always exits 0 unless pytest itself cannot run: it finds
work, it does not gate it.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FAILED = re.compile(r"^FAILED (\S+)")
EXAMPLE_START = re.compile(r"^E?\s*(Falsifying example|Failing test case)")


def property_files(tests: Path) -> list[Path]:
    """Every test file with at least one ``@given`` test."""
    return sorted(p.relative_to(ROOT) for p in tests.rglob("test_*.py") if "@given" in p.read_text(encoding="utf-8"))


def falsifying_examples(output: str) -> list[str]:
    """The ``Falsifying example: ...`` blocks Hypothesis prints, up to their closing parenthesis."""
    blocks, current = [], None
    for line in output.splitlines():
        if current is None and EXAMPLE_START.match(line):
            current = [line]
        elif current is not None:
            current.append(line)
            if re.match(r"^E?\s*\)\s*$", line):
                blocks.append("\n".join(current))
                current = None
    return blocks


def run_file(path: Path, seed: int, examples: int) -> tuple[int, list[str], list[str]]:
    """pytest on one file under the explore profile: (exit code, failed test ids, examples)."""
    shutil.rmtree(ROOT / ".hypothesis", ignore_errors=True)
    env = {**os.environ, "SPECROOF_HYPOTHESIS_PROFILE": "explore", "SPECROOF_HYPOTHESIS_EXAMPLES": str(examples)}
    cmd = [sys.executable, "-m", "pytest", str(path), "-q", "-p", "no:cacheprovider", "--tb=short",
           "-rf", "-m", "hypothesis", f"--hypothesis-seed={seed}"]
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    out = done.stdout + done.stderr
    failed = [m.group(1) for m in map(FAILED.match, out.splitlines()) if m]
    return done.returncode, failed, falsifying_examples(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="*", type=Path, help="test files (default: every file with @given)")
    parser.add_argument("--seeds", help="comma-separated seeds (default: --runs random ones)")
    parser.add_argument("--runs", type=int, default=5, help="random seeds to draw when --seeds is not given")
    parser.add_argument("--examples", type=int, default=500,
                        help="max_examples for tests that do not fix their own count")
    args = parser.parse_args(argv)
    files = args.files or property_files(ROOT / "tests")
    seeds = ([int(s) for s in args.seeds.split(",")] if args.seeds
             else [random.SystemRandom().randrange(2**32) for _ in range(args.runs)])
    table: list[tuple[str, int, str]] = []
    for path in files:
        for seed in seeds:
            code, failed, examples = run_file(path, seed, args.examples)
            if code not in (0, 1, 5):  # 5: no property test selected in that file
                print(f"{path}: pytest could not run (exit {code}) with seed {seed}", file=sys.stderr)
                return code
            table.append((str(path), seed, "pass" if not failed else f"{len(failed)} failed"))
            for test in failed:
                print(f"FALSIFIED {test} --hypothesis-seed={seed}")
            for block in examples:
                print(block, end="\n\n")
    width = max(len(f) for f, _, _ in table)
    print(f"{'file':<{width}}  {'seed':>10}  result")
    for name, seed, result in table:
        print(f"{name:<{width}}  {seed:>10}  {result}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
