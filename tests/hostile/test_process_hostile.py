"""Hostile cases that need a real process: a full output device, Ctrl-C, a closed pipe, start-up.

These run the installed ``specroof`` console script; each has a timeout (a hang guard), and
checks exit code, the one-line message and the absence of tracebacks.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hostile.harness import HANG_SECONDS, make_workspace, snapshot
from support import specroof_script


def run(args: list[str], cwd: Path, stdout: object = subprocess.PIPE) -> subprocess.CompletedProcess:
    return subprocess.run([specroof_script(), *args], cwd=cwd, stdout=stdout, stderr=subprocess.PIPE,
                          text=True, timeout=HANG_SECONDS)


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize("args", [
    ["latency", "-m", "llama-7b", "-H", "h200"],
    ["models"],
    ["acceptance", "--acceptance", "log:0.477", "--format", "json"],
    ["speedup", "--scenario", "medusa-appendix-g", "--format", "csv"],
    ["plan", "-m", "llama-7b", "-H", "h200", "--export", "vllm"],
], ids=["latency", "models", "acceptance-json", "speedup-csv", "plan-export"])
def test_stdout_on_a_full_device_is_one_line_exit_2(args, tmp_path):
    with open("/dev/full", "w") as full:
        result = run(args, tmp_path, stdout=full)
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if not line.startswith("warning:")]  # e.g. unvalidated domain
    assert len(lines) == 1 and lines[0].startswith("error: cannot write"), result.stderr
    assert "Traceback" not in result.stderr


def test_closed_pipe_ends_quietly(tmp_path):
    proc = subprocess.Popen([specroof_script(), "latency", "-m", "llama-7b", "-H", "h200", "--batch", "1:2000:1"],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    proc.stdout.readline()
    proc.stdout.close()
    _, err = proc.communicate(timeout=HANG_SECONDS)
    assert "Traceback" not in err
    assert proc.returncode in (0, 2), err


def test_ctrl_c_is_one_line(tmp_path):
    proc = subprocess.Popen([specroof_script(), "speedup", "-m", "llama-7b", "-H", "h200", "--batch", "1:100:1",
                             "--candidates", "1:1000:1"], cwd=tmp_path, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    time.sleep(1.5)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=HANG_SECONDS)
    assert "Traceback" not in err, err
    if proc.returncode != 0:  # a fast machine may finish first
        assert proc.returncode == 130 and err.strip().splitlines()[-1] == "aborted", (proc.returncode, err)


def test_failed_calibrate_keeps_the_previous_profile(tmp_path):
    make_workspace(tmp_path, {})
    before = snapshot(tmp_path)
    result = run(["calibrate", "meas.jsonl", "-o", "meas.jsonl"], tmp_path)
    assert result.returncode == 2 and result.stderr.startswith("error: -o/--output")
    assert snapshot(tmp_path) == before


def test_help_imports_neither_pydantic_nor_numpy():
    code = ("import sys\nfrom specroof.cli import cli\n"
            "try:\n    cli.main(['--help'], standalone_mode=False)\nexcept SystemExit:\n    pass\n"
            "heavy = [m for m in ('pydantic', 'numpy', 'matplotlib', 'scipy') if m in sys.modules]\n"
            "print('HEAVY=' + ','.join(heavy))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=HANG_SECONDS)
    assert result.returncode == 0, result.stderr
    assert "HEAVY=\n" in result.stdout, result.stdout[-300:]


def test_no_traceback_with_a_read_only_home(tmp_path):
    """matplotlib and friends want a writable config folder; a chart must still be drawn or refused in one line."""
    home = tmp_path / "home"
    home.mkdir()
    home.chmod(0o500)
    env = {**os.environ, "HOME": str(home), "MPLCONFIGDIR": str(home / "mpl")}
    result = subprocess.run([specroof_script(), "speedup", "-m", "llama-7b", "-H", "h200", "--candidates", "1,8",
                             "--plot", str(tmp_path / "c.png")], capture_output=True, text=True, env=env,
                            timeout=HANG_SECONDS)
    assert "Traceback" not in result.stderr
    assert result.returncode in (0, 2)


def test_missing_pydantic_is_one_line(tmp_path):
    """A broken install (pydantic absent) is reported with the fix, not a traceback."""
    blocker = tmp_path / "pydantic"
    blocker.mkdir()
    (blocker / "__init__.py").write_text("raise ImportError('blocked for the test')\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    result = subprocess.run([specroof_script(), "latency", "-m", "llama-7b", "-H", "h200"], capture_output=True,
                            text=True, env=env, timeout=HANG_SECONDS)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.splitlines() == ["error: specroof needs pydantic 2 to read data files; "
                                          "pip install 'pydantic>=2'"]
