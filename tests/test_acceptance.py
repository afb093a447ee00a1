"""Closed-form and measured acceptance models, the spec syntax and the ``acceptance`` command."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from specroof.errors import SpecroofError
from specroof.speculation import (
    AcceptanceModel,
    ChainAcceptance,
    CurveAcceptance,
    LogAcceptance,
    parse_acceptance,
)
from tests.support import run_cli


@pytest.fixture
def curve_file(tmp_path: Path) -> Path:
    path = tmp_path / "curve.csv"
    path.write_text("# measured on H200\ncandidates,acceptance_length\n4,2.0\n16,3.0\n64,3.5\n")
    return path


def all_models(curve_file: Path) -> list[AcceptanceModel]:
    return [
        parse_acceptance("log:0.477"),
        parse_acceptance("log:0"),
        parse_acceptance("chain:0.8"),
        parse_acceptance("chain:0"),
        parse_acceptance("chain:1"),
        parse_acceptance("medusa:vicuna-7b"),
        parse_acceptance("medusa:vicuna-33b", max_depth=3),
        parse_acceptance("positional:0.6,0.2,0.1"),
        parse_acceptance(f"curve:{curve_file}"),
    ]


def test_tau_one_is_one_and_non_decreasing(curve_file: Path) -> None:
    n = np.arange(1, 65)
    for model in all_models(curve_file):
        tau = model.tau(n)
        assert tau.dtype == float and tau.shape == n.shape
        assert tau[0] == 1.0, model
        assert np.all(np.diff(tau) >= -1e-12), model
        assert np.all(tau <= n + 1e-9), model  # never more tokens than verified


def test_tau_keeps_shape(curve_file: Path) -> None:
    grid = np.array([[1, 2], [8, 16]])
    for model in all_models(curve_file):
        assert model.tau(grid).shape == (2, 2)
        assert model.tau(4).shape == ()
        assert model.tau([1, 4]).shape == (2,)


@pytest.mark.parametrize("bad", [0, -3, 2.5, [1, 0], np.nan])
def test_bad_candidate_counts(bad: object) -> None:
    with pytest.raises(SpecroofError, match="integers >= 1"):
        LogAcceptance(0.5).tau(bad)  # type: ignore[arg-type]


def test_log_formula() -> None:
    n = np.array([1, 16, 64])
    np.testing.assert_allclose(LogAcceptance(0.477).tau(n), 1 + 0.477 * np.log(n))
    assert LogAcceptance(0.477).describe() == "log:0.477"
    with pytest.raises(SpecroofError, match="A >= 0"):
        LogAcceptance(-0.1)


@settings(max_examples=200, deadline=None)
@given(st.floats(0, 1), st.integers(1, 200))
def test_chain_closed_form_and_direct_sum(alpha: float, n: int) -> None:
    tau = float(ChainAcceptance(alpha).tau(n))
    direct = math.fsum(alpha**k for k in range(n))  # gamma = n - 1 draft tokens
    assert tau == pytest.approx(direct, rel=1e-9)
    if alpha < 0.999:
        assert tau == pytest.approx((1 - alpha**n) / (1 - alpha), rel=1e-9)


def test_chain_near_and_at_one() -> None:
    n = np.array([1, 2, 5, 100])
    np.testing.assert_array_equal(ChainAcceptance(1.0).tau(n), n)
    close = ChainAcceptance(1 - 1e-12).tau(n)
    np.testing.assert_allclose(close, n, rtol=1e-9)
    np.testing.assert_array_equal(ChainAcceptance(0.0).tau(n), np.ones(4))
    with pytest.raises(SpecroofError, match=r"\[0, 1\]"):
        ChainAcceptance(1.5)


def test_curve_interpolates_and_refuses_to_extrapolate(curve_file: Path) -> None:
    model = CurveAcceptance.from_csv(curve_file)
    assert model.max_candidates == 64
    np.testing.assert_allclose(model.tau([1, 4, 16, 64]), [1.0, 2.0, 3.0, 3.5])  # exact at points
    np.testing.assert_allclose(model.tau([2, 10, 40]), [1 + 1 / 3, 2.5, 3.25])  # linear between
    with pytest.raises(SpecroofError, match="curve measured up to n=64, refusing to extrapolate"):
        model.tau([16, 65])


def test_curve_from_points() -> None:
    model = CurveAcceptance([(8, 2.0), (1, 1.0), (4, 1.5)])
    np.testing.assert_allclose(model.tau([1, 2, 4, 6, 8]), [1.0, 1 + 0.5 / 3, 1.5, 1.75, 2.0])
    with pytest.raises(SpecroofError, match="must be 1"):
        CurveAcceptance([(1, 1.2), (4, 2.0)])
    with pytest.raises(SpecroofError, match="falls"):
        CurveAcceptance([(4, 2.0), (8, 1.5)])
    with pytest.raises(SpecroofError, match="at least one"):
        CurveAcceptance([])


@pytest.mark.parametrize("text,match", [
    ("", "no data"),
    ("# only a comment\n", "no data"),
    ("candidates,acceptance_length\n", "no data rows"),
    ("n,tau\n4,2\n", "lacks candidates, acceptance_length"),
    ("candidates,acceptance_length\n4,abc\n", r":2: acceptance_length 'abc' is not a number"),
    ("candidates,acceptance_length\n4,2\n4,2.1\n", r":3: candidates 4 appears twice"),
    ("candidates,acceptance_length\n4,0.5\n", r":2: acceptance_length 0.5 is below 1"),
    ("candidates,acceptance_length\n4,5\n", r":2: acceptance_length 5 exceeds candidates 4"),
    ("candidates,acceptance_length\n4,2\n\n8,1.5\n", r":4: acceptance_length falls from 2 at n=4 to 1.5 at n=8"),
    ("candidates,acceptance_length\n1,1.5\n4,2\n", r":2: acceptance_length at 1 candidate must be 1"),
    ("candidates,acceptance_length\n2.5,2\n", "integer"),
    ("candidates,acceptance_length\n4\n", "expected 2 values"),
])
def test_curve_bad_files(tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(SpecroofError, match=match):
        CurveAcceptance.from_csv(path)


def test_curve_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SpecroofError, match="not found"):
        parse_acceptance(f"curve:{tmp_path / 'nope.csv'}")


@pytest.mark.parametrize("spec,match", [
    ("lgo:0.4", r"unknown acceptance kind 'lgo' \(did you mean: log\?\).*log:A, chain:ALPHA"),
    ("eagle:3", "unknown acceptance kind"),
    ("log", "lacks its argument"),
    ("log:", "lacks its argument"),
    ("log:x", r"log:A: 'x' is not a number"),
    ("chain:1e5", r"\[0, 1\]"),
    ("chain:inf", "finite"),
    ("positional:0.9,0.5", "sum to"),
])
def test_parse_errors(spec: str, match: str) -> None:
    with pytest.raises(SpecroofError, match=match):
        parse_acceptance(spec)


def test_parse_kinds_and_max_depth() -> None:
    assert isinstance(parse_acceptance("LOG:0.5"), LogAcceptance)
    assert parse_acceptance(" chain:0.7 ").describe() == "chain:0.7"
    assert parse_acceptance("medusa:vicuna-7b", max_depth=3).max_candidates == 1 + 5 + 25 + 125
    with pytest.raises(SpecroofError, match="only to tree models"):
        parse_acceptance("log:0.5", max_depth=3)


def invoke(*args: str) -> str:
    run = run_cli("acceptance", *args)
    assert run.code == 0, run.stderr
    return run.stdout


def test_cli_json_schema() -> None:
    rows = json.loads(invoke("--acceptance", "log:0.477", "--candidates", "1,16,64", "--format", "json"))
    assert [r["candidates"] for r in rows] == [1, 16, 64]
    assert all(set(r) == {"candidates", "acceptance_length"} for r in rows)
    assert rows[0]["acceptance_length"] == 1.0
    assert rows[2]["acceptance_length"] == pytest.approx(1 + 0.477 * math.log(64))


def test_cli_json_tree() -> None:
    rows = json.loads(invoke("--acceptance", "medusa:vicuna-7b", "--candidates", "1,4",
                             "--show-tree", "--format", "json"))
    assert rows[0]["tree"] == [[]]
    assert rows[1]["tree"] == [[], [0], [0, 0], [1]]
    assert set(rows[1]) == {"candidates", "acceptance_length", "tree"}


def test_cli_table_and_csv() -> None:
    table = invoke("--acceptance", "positional:0.6,0.2", "--max-depth", "2", "--candidates", "1..4", "--show-tree")
    assert table.splitlines()[0] == "Acceptance length tau(n) of positional:0.6,0.2 depth<=2"
    assert "0 0.0 1" in table
    csv_text = invoke("--acceptance", "chain:0.5", "--candidates", "1,3", "--format", "csv")
    assert csv_text.splitlines() == ["candidates,acceptance_length", "1,1.0", "3,1.75"]


def test_cli_show_tree_needs_tree_model() -> None:
    run = run_cli("acceptance", "--acceptance", "log:0.4", "--show-tree")
    assert run.code == 2 and run.stderr.startswith("error: --show-tree needs a tree model"), run.stderr
    assert len(run.stderr.splitlines()) == 1


@pytest.mark.parametrize("spec", ["bogus:1", "medusa:vicuna-99b", "log:abc"])
def test_cli_bad_spec_exits_2_with_one_line(spec: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", "from specroof.cli import main; main()", "acceptance", "--acceptance", spec],
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert "Traceback" not in proc.stderr
