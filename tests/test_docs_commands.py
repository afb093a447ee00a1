"""Docs cannot drift: every `specroof` command in README.md and docs/*.md runs and exits 0, and
every output written under a command is what the command prints.

The commands are found and run by ``tools/docs_commands.py``; when an output changes on
purpose, ``python tools/docs_commands.py --update`` rewrites the docs (then review the diff).
A block that cannot run here carries ``<!-- docs-check: skip (reason) -->``.
"""

from __future__ import annotations

import pytest

from tests.support import specroof_script
from tools import docs_commands as docs

BLOCKS = docs.all_blocks()


def test_docs_hold_commands_and_every_skip_has_a_reason():
    commands = [c for b in BLOCKS for c in b.commands]
    compared = [c for c in commands if c.output is not None]
    assert len(commands) >= 30 and len(compared) >= 8
    assert all(c.skip.strip() for c in commands if c.skip is not None)


@pytest.mark.parametrize("block", BLOCKS, ids=lambda b: b.name)
def test_documented_commands_run_and_print_what_the_docs_say(block, tmp_path):
    specroof_script()  # skips where the console script is not installed
    docs.prepare_folder(tmp_path)
    outcomes = docs.run_block(block, tmp_path)
    found = docs.problems(block, outcomes)
    assert not found, "\n\n".join(found) + "\n\n(after an intended change: python tools/docs_commands.py --update)"


def test_parser_reads_console_plain_and_markers(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(
        "Intro.\n\n"
        "    specroof models   # a comment\n\n"
        "<!-- docs-check: skip \"serve\" (starts a server) -->\n\n"
        "    specroof serve\n    specroof hardware\n\n"
        "```console\n$ specroof plan -m a \\\n      --batch 1\nout 1\nout 2\n$ specroof plan ... --export json\n[[1, 1, 0]]\n```\n",
        encoding="utf-8")
    blocks = docs.parse(page)
    commands = [c for b in blocks for c in b.commands]
    assert [c.args for c in commands] == [
        ["models"], ["serve"], ["hardware"], ["plan", "-m", "a", "--batch", "1"],
        ["plan", "-m", "a", "--batch", "1", "--export", "json"]]
    assert [c.skip for c in commands] == [None, "starts a server", None, None, None]
    assert commands[3].output == ["out 1", "out 2"] and commands[4].output == ["[[1, 1, 0]]"]
    assert commands[0].output is None


def test_a_marker_without_reason_is_refused(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("<!-- docs-check: skip -->\n\n    specroof serve\n", encoding="utf-8")
    with pytest.raises(ValueError, match="needs a reason"):
        docs.parse(page)
