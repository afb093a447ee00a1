"""tests/gates.toml: every accuracy gate with its level, evidence and reason, in one file."""

from __future__ import annotations

import pytest

from gates import REQUIRED, all_gates, failures


def test_every_gate_states_its_evidence_and_reason():
    ids = [g["id"] for g in all_gates()]
    assert len(ids) == len(set(ids))
    for gate in all_gates():
        missing = [k for k in REQUIRED if k not in gate]
        assert not missing, (gate["id"], missing)
        assert len(gate["reason"]) > 20 and len(gate["evidence"]) > 20, gate["id"]
        assert gate["levels"], gate["id"]


@pytest.mark.parametrize("gate", all_gates(), ids=lambda g: g["id"])
def test_the_level_reached_passes_its_own_gate(gate):
    """A level below what was reached when it was set would fail at once: the file is consistent."""
    reached = {k: v for k, v in gate["reached"].items()}
    assert not failures(gate, reached)
    for metric, level in gate["levels"].items():
        key = metric.removesuffix("_abs")
        assert key in reached, (gate["id"], key)
        assert abs(reached[key]) <= level, (gate["id"], key)


def test_a_value_over_its_level_fails():
    gate = {"id": "x", "levels": {"mape_pct": 5.0, "bias_pct_abs": 2.0}}
    assert failures(gate, {"mape_pct": 4.9, "bias_pct": -1.9}) == []
    assert len(failures(gate, {"mape_pct": 5.1, "bias_pct": -2.1})) == 2
    assert failures(gate, {"mape_pct": 1.0}) == ["x: bias_pct missing"]
