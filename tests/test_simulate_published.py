"""The SpecDecode-Bench protocol through the workload preset (tools/validation/workload_specdecode.py,
run as a script): the request-level timeline of ``speedup --workload`` against published
end-to-end speedups, gated in tests/gates.toml (group e2e-workload)."""

from __future__ import annotations

from pathlib import Path

from gates import failures, gates
from tests.support import tool_json

SCRIPT = Path(__file__).resolve().parents[1] / "tools" / "validation" / "workload_specdecode.py"


def test_workload_preset_against_specdecode_bench():
    output = tool_json(SCRIPT, timeout_s=600)
    stats = output["workload"]
    assert stats["rows"] == 16
    assert not failures(gates("e2e-workload")["speedup eagle3, request-level timeline"], stats), stats
    for row in output["rows"]:  # a speedup, and below the k + 1 tokens a step can yield
        assert 1.0 < row["workload"] < row["k"] + 1
