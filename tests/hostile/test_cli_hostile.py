"""Hostile command lines: one ``error:`` line, exit code 2, no traceback, files untouched."""

from __future__ import annotations

from pathlib import Path

import pytest

from hostile.cases import CLI_CASES
from hostile.harness import CliCase, check_one_line, hang_guard, make_workspace, run_cli, snapshot


def test_the_suite_is_large_and_ids_are_unique():
    ids = [case.id for case in CLI_CASES]
    assert len(ids) == len(set(ids))
    assert len(ids) >= 150


@pytest.mark.parametrize("case", CLI_CASES, ids=lambda case: case.id)
def test_hostile_command_line(case: CliCase, workspace: Path):
    make_workspace(workspace, case.files)
    before = snapshot(workspace)
    with hang_guard():
        code, out, err = run_cli(case.argv)
    assert code == case.code, f"exit {code}, stderr:\n{err}\nstdout:\n{out[:2000]}"
    check_one_line(err, case.prefix, case.expect)
    assert snapshot(workspace) == before, "a file was changed, removed or left behind"


def test_bare_command_prints_the_help_not_an_error(workspace: Path):
    code, out, err = run_cli([])
    assert code == 0 and err == ""
    assert out.startswith("Usage: ") and "COMMAND" in out and "calibrate" in out


def test_empty_ops_string_is_an_error(workspace: Path):
    code, _, err = run_cli(["latency", "-m", "llama-7b", "-H", "h200", "--ops", ""])
    assert code == 2
    check_one_line(err, "error: ", "operator")
