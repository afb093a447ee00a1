"""Run every `specroof` command written in README.md and docs/*.md; check or rewrite its output.

    python tools/docs_commands.py            # check: run them all, print what differs, exit 1 if any
    python tools/docs_commands.py --update   # rewrite the documented outputs from the real ones
    python tools/docs_commands.py --list     # list the commands found, with their place

After a change to what a command prints, run ``--update`` once and commit the docs it rewrote;
``tests/test_docs_commands.py`` runs the same check in CI, so docs cannot drift.

What counts as a command (only ``specroof`` commands are run; ``pip``/``python`` lines are not):

- In a fenced ``console`` block, a line ``$ specroof ...`` (``\\`` continues it on the next
  lines) followed by its output, up to the next ``$`` line or the end of the block. The output
  must equal what the command prints (stdout and stderr, trailing spaces ignored). A command
  written with no output under it is only run. ``specroof plan ... --export vllm`` repeats
  the previous command's arguments in place of ``...``.
- In an indented block or a fenced block without a language, a line starting ``specroof``
  (or ``... && specroof ...``): run, exit status 0 checked, output not shown so not compared.

A ``# comment`` at the end of a command is dropped. The commands of one block run in order in
one empty temporary folder (so ``-o h200.toml`` then ``--hardware h200.toml`` works, and
nothing is written into the checkout), where ``data/``, ``tests/`` and ``src/`` link to the
repository's folders (the documented paths are a checkout's).

Markers, an HTML comment on the line(s) just before a block (every skip must give its reason):

    <!-- docs-check: skip (needs a CUDA GPU and torch) -->         the whole block is not run
    <!-- docs-check: skip "serve" (starts a server) -->             commands containing "serve"
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT_S = 300
MARKER = re.compile(r"^<!--\s*docs-check:\s*skip\s*(?:\"(?P<pattern>[^\"]+)\"\s*)?\((?P<reason>[^)]+)\)\s*-->\s*$")
BAD_MARKER = re.compile(r"^<!--\s*docs-check:")
FENCE = re.compile(r"^```(?P<lang>[\w-]*)\s*$")


@dataclass
class Command:
    """One documented command: its arguments (after ``specroof``) and its documented output."""

    args: list[str]
    line: int  # 1-based line of the command in its file
    output: list[str] | None = None  # None: not compared
    output_span: tuple[int, int] | None = None  # 0-based [start, end) lines of the output
    skip: str | None = None  # the reason, when skipped

    @property
    def text(self) -> str:
        return "specroof " + shlex.join(self.args)


@dataclass
class Block:
    path: Path
    line: int
    commands: list[Command] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"{self.path.relative_to(ROOT).as_posix()}:{self.line}"


def doc_files(root: Path = ROOT) -> list[Path]:
    return [root / "README.md", *sorted((root / "docs").glob("*.md"))]


def _join_continued(lines: list[str], start: int) -> tuple[str, int]:
    """The logical line starting at ``start`` (``\\`` continues it) and the index after it."""
    text, i = lines[start].rstrip(), start
    while text.endswith("\\") and i + 1 < len(lines):
        i += 1
        text = text[:-1].rstrip() + " " + lines[i].strip()
    return text, i + 1


def _specroof_args(text: str, previous: list[str] | None) -> list[str] | None:
    """The arguments after ``specroof`` in a shell line (after ``&&`` too), or None."""
    words = shlex.split(text, comments=True)
    while "&&" in words:
        words = words[words.index("&&") + 1:]
    if not words or words[0] != "specroof":
        return None
    args = words[1:]
    if "..." in args:
        if previous is None:
            raise ValueError(f"'...' with no previous command: {text}")
        at = args.index("...")
        args = args[:at] + previous[at:] + args[at + 1:]
    return args


def _apply_marker(block: Block, marker: re.Match | None) -> None:
    if marker is None:
        return
    for cmd in block.commands:
        if marker["pattern"] is None or marker["pattern"] in cmd.text:
            cmd.skip = marker["reason"].strip()


def _console(lines: list[str], start: int, end: int, block: Block) -> None:
    previous, i = None, start
    while i < end:
        if not lines[i].startswith("$ "):
            i += 1
            continue
        line = i + 1
        text, i = _join_continued(lines, i)
        args = _specroof_args(text[2:], previous)
        out_start = i
        while i < end and not lines[i].startswith("$ "):
            i += 1
        if args is None:
            continue
        output = lines[out_start:i]
        compared = any(s.strip() for s in output)
        block.commands.append(Command(args, line, output if compared else None,
                                      (out_start, i) if compared else None))
        previous = args


def _plain(lines: list[str], start: int, end: int, block: Block, indent: str = "") -> None:
    i = start
    while i < end:
        stripped = lines[i][len(indent):] if lines[i].startswith(indent) else lines[i]
        if not re.match(r"^\s*(specroof |\S.*&& specroof )", stripped):
            i += 1
            continue
        first = i
        text, i = _join_continued(lines, i)
        args = _specroof_args(text.strip(), None)
        if args is not None:
            block.commands.append(Command(args, first + 1))


def parse(path: Path) -> list[Block]:
    """Every block of ``path`` holding at least one ``specroof`` command."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    marker, i = None, 0
    while i < len(lines):
        line = lines[i]
        if BAD_MARKER.match(line):
            marker = MARKER.match(line)
            if marker is None:
                raise ValueError(f"{path}:{i + 1}: a docs-check marker needs a reason: {line}")
            i += 1
            continue
        fence = FENCE.match(line)
        if fence:
            end = next((j for j in range(i + 1, len(lines)) if lines[j].startswith("```")), len(lines))
            block = Block(path, i + 1)
            if fence["lang"] == "console":
                _console(lines, i + 1, end, block)
            elif fence["lang"] in ("", "sh", "bash", "shell"):
                _plain(lines, i + 1, end, block)
            i = end + 1
        elif line.startswith("    ") and (i == 0 or not lines[i - 1].strip() or marker is not None):
            end = i
            while end < len(lines) and (lines[end].startswith("    ") or not lines[end].strip()):
                end += 1
            block = Block(path, i + 1)
            _plain(lines, i, end, block, "    ")
            i = end
        else:
            if line.strip():
                marker = None
            i += 1
            continue
        _apply_marker(block, marker)
        marker = None
        if block.commands:
            blocks.append(block)
    return blocks


def all_blocks(root: Path = ROOT) -> list[Block]:
    return [b for path in doc_files(root) for b in parse(path)]


def specroof_executable() -> str:
    local = Path(sys.executable).parent / "specroof"
    found = str(local) if local.exists() else shutil.which("specroof")
    if found is None:
        raise SystemExit("the specroof console script is not installed in this environment")
    return found


def prepare_folder(folder: Path, root: Path = ROOT) -> None:
    """An empty working folder where ``data/``, ``tests/`` and ``src/`` are the repository's."""
    for name in ("data", "tests", "src"):
        (folder / name).symlink_to(root / name, target_is_directory=True)


def run(cmd: Command, folder: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "200", "NO_COLOR": "1"}
    return subprocess.run([specroof_executable(), *cmd.args], cwd=folder, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=TIMEOUT_S)


def normalized(lines: list[str]) -> list[str]:
    out = [line.rstrip() for line in lines]
    while out and not out[-1]:
        out.pop()
    return out


@dataclass
class Outcome:
    cmd: Command
    status: int
    printed: list[str]

    @property
    def matches(self) -> bool:
        return self.cmd.output is None or normalized(self.cmd.output) == self.printed


def run_block(block: Block, folder: Path) -> list[Outcome]:
    """Run the block's commands in order in ``folder`` (already prepared)."""
    outcomes = []
    for cmd in block.commands:
        if cmd.skip is None:
            done = run(cmd, folder)
            outcomes.append(Outcome(cmd, done.returncode, normalized(done.stdout.splitlines())))
    return outcomes


def problems(block: Block, outcomes: list[Outcome]) -> list[str]:
    found = []
    for o in outcomes:
        where = f"{block.path.relative_to(ROOT).as_posix()}:{o.cmd.line}: {o.cmd.text}"
        if o.status != 0:
            found.append(f"{where}\n  exit {o.status}:\n  " + "\n  ".join(o.printed[-5:]))
        elif not o.matches:
            diff = difflib.unified_diff(normalized(o.cmd.output), o.printed, "documented", "printed", lineterm="")
            found.append(f"{where}\n" + "\n".join(diff))
    return found


def update(path: Path, outcomes: list[Outcome]) -> int:
    """Rewrite the documented outputs of ``path`` with the printed ones; the number changed."""
    lines = path.read_text(encoding="utf-8").splitlines()
    changed = 0
    for o in sorted(outcomes, key=lambda o: o.cmd.output_span or (0, 0), reverse=True):
        if o.cmd.output_span is None or o.matches or o.status != 0:
            continue
        start, end = o.cmd.output_span
        lines[start:end] = o.printed
        changed += 1
    if changed:
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--update", action="store_true", help="rewrite documented outputs in place")
    parser.add_argument("--list", action="store_true", help="list the commands found and exit")
    args = parser.parse_args(argv)
    blocks = all_blocks()
    if args.list:
        for block in blocks:
            for cmd in block.commands:
                state = f"skip ({cmd.skip})" if cmd.skip else ("output" if cmd.output is not None else "run")
                print(f"{block.path.relative_to(ROOT).as_posix()}:{cmd.line}  [{state}]  {cmd.text}")
        return 0
    failed, by_file = [], {}
    for block in blocks:
        with tempfile.TemporaryDirectory() as tmp:
            prepare_folder(Path(tmp))
            outcomes = run_block(block, Path(tmp))
        by_file.setdefault(block.path, []).extend(outcomes)
        failed += [p for p in problems(block, outcomes) if not (args.update and "\nexit " not in p)]
    if args.update:
        for path, outcomes in by_file.items():
            n = update(path, outcomes)
            if n:
                print(f"{path.relative_to(ROOT).as_posix()}: {n} output(s) rewritten")
    for p in failed:
        print(p, end="\n\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
