"""No file is ever lost: a write that fails half-way leaves the previous file byte-identical
and no temporary file behind; outputs are written by rename, never in place."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from hostile.harness import check_one_line, hang_guard, make_workspace, run_cli, snapshot
from specroof.datafiles import atomic_target, save_figure, write_atomic
from specroof.errors import SpecroofError


class HalfWritingFigure:
    """A figure whose savefig writes a few bytes and then fails (a full disk, a crash)."""

    def savefig(self, target, **options):
        Path(target).write_bytes(b"half a chart")
        raise OSError(28, "No space left on device")


def test_failed_chart_keeps_the_previous_chart(workspace: Path):
    make_workspace(workspace, {})
    before = snapshot(workspace)
    with pytest.raises(SpecroofError, match="No space left"):
        save_figure(HalfWritingFigure(), workspace / "old.png")
    assert snapshot(workspace) == before


def test_failed_write_keeps_the_previous_file_and_leaves_no_temporary(workspace: Path, monkeypatch):
    make_workspace(workspace, {})
    before = snapshot(workspace)

    def refuse(src, dst):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(SpecroofError, match="Input/output error"):
        write_atomic(workspace / "old-profile.toml", "base = 'a100-80gb-sxm'\n", "profile")
    assert snapshot(workspace) == before


def test_exception_inside_the_block_discards_the_temporary(workspace: Path):
    make_workspace(workspace, {})
    before = snapshot(workspace)
    with pytest.raises(RuntimeError):
        with atomic_target(workspace / "old.png", "chart") as temp:
            temp.write_bytes(b"partial")
            raise RuntimeError("drawing failed")
    assert snapshot(workspace) == before


def test_atomic_write_replaces_and_keeps_permissions(workspace: Path):
    target = workspace / "p.toml"
    target.write_text("old\n")
    target.chmod(0o640)
    write_atomic(target, "new\n", "profile")
    assert target.read_text() == "new\n"
    assert target.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in workspace.iterdir()) == ["p.toml"]


def test_cli_chart_failing_half_way_keeps_the_old_chart(workspace: Path, monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    make_workspace(workspace, {})
    before = snapshot(workspace)
    monkeypatch.setattr(Figure, "savefig", HalfWritingFigure.savefig)
    with hang_guard():
        code, _, err = run_cli(["speedup", "-m", "llama-7b", "-H", "h200", "--candidates", "1,8", "--acceptance", "log:0.477",
                                 "--plot", "old.png"])
    assert code == 2
    check_one_line(err, "error: cannot write chart", "No space left")
    assert snapshot(workspace) == before


def test_cli_calibrate_writes_the_profile_by_rename(workspace: Path, monkeypatch):
    """A successful calibrate replaces the old profile whole (not appended, not cut short)."""
    make_workspace(workspace, {})
    renames = []
    real_replace = os.replace

    def spy(src, dst):
        renames.append((Path(src).parent, Path(dst).name))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    with hang_guard(60):
        code, _, err = run_cli(["calibrate", "meas.jsonl", "-o", "old-profile.toml"])
    assert code == 0, err
    assert renames == [(workspace, "old-profile.toml")]
    text = (workspace / "old-profile.toml").read_text()
    assert text.startswith("# Calibrated by") and "[profile]" in text
    assert sorted(p.name for p in workspace.iterdir() if p.name.startswith(".")) == []
