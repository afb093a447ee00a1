"""`specroof ops` and the operation list: one record per operation, summing to the step."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import specroof
from specroof.cost.operation import GROUP_ORDER, KINDS, REGISTRY, STEP_OPERATIONS
from specroof.errors import SpecroofError

PACKAGE = Path(specroof.__file__).parent


@pytest.mark.parametrize("model, hardware, options", [
    ("llama-7b", "h200", {}),
    ("llama-3-8b", "a100-80gb-pcie", {"profile": "pytorch-sdpa", "cuda_graph": False}),
    ("mixtral-8x7b", "h100-sxm", {"tp": 2, "weight_dtype": "fp8"}),
    ("llama-7b", "a100-80gb-pcie", {"profile": "medusa-appendix-g"}),
    ("qwen2.5-0.5b", "l4", {"attention": "unfused"}),
])
@pytest.mark.parametrize("batch, candidates, seq_len", [(1, 1, 128), (16, 8, 4096), (64, 64, 1024)])
def test_time_sums_to_latency(model, hardware, options, batch, candidates, seq_len):
    result = specroof.ops(model, hardware, batch, candidates, seq_len, **options)
    step = specroof.latency(model, hardware, [batch], [candidates], [seq_len], **options)
    records = result.to_records()
    assert sum(r["time_ms"] for r in records) == pytest.approx(float(step.latency_ms[0, 0, 0]), rel=1e-12)
    for r in records:
        assert r["kind"] in KINDS and r["group"] in GROUP_ORDER
        assert r["bound"] in ("compute", "memory", "overhead") or (r["time_ms"] == 0 and r["bound"] is None)
        if r["bytes"] > 0:
            assert r["intensity"] == pytest.approx(r["flops"] / r["bytes"])


@pytest.mark.parametrize("drafting", [{"method": "heads", "heads": 3}, {"draft_model": "llama-68m"}])
def test_drafting_operations_sum_to_the_speculative_step(drafting):
    result = specroof.ops("llama-7b", "h200", 4, 5, 2048, **drafting)
    spec = specroof.speedup("llama-7b", "h200", [4], [5], [2048], acceptance="chain:0.7", **drafting)
    records = result.to_records()
    assert sum(r["time_ms"] for r in records) == pytest.approx(float(spec.latency_ms[0, 0, 0]), rel=1e-12)
    drafted = [r for r in records if r["group"] == "drafting"]
    assert drafted and sum(r["time_ms"] for r in drafted) == pytest.approx(float(spec.draft_ms[0, 0, 0]), rel=1e-12)


def test_draft_model_passes_count_n_minus_one():
    records = specroof.ops("llama-7b", "h200", 2, 7, 512, draft_model="llama-68m").to_records()
    draft = {r["name"]: r for r in records if r["group"] == "drafting"}
    layers = specroof.load_model("llama-68m").num_layers
    assert draft["draft:qkv_proj"]["count"] == 6 * layers  # six draft passes of every layer
    assert draft["draft:lm_head"]["count"] == 6


def test_medusa_heads_price_with_the_profiles_tiles():
    """Heads' GEMMs go through the model's pricing: under the medusa-appendix-g profile (tile
    policy fill, no split-K) a [T, h] x [h, h] head block costs what an o_proj of the same
    shape costs, per instance."""
    records = specroof.ops("llama-7b", "a100-80gb-pcie", 4, 64, 1024, method="heads", heads=1,
                           profile="medusa-appendix-g", operators=["qkv_proj", "attention", "o_proj"])
    by_name = {r["name"]: r for r in records.to_records()}
    layers = specroof.load_model("llama-7b").num_layers
    assert by_name["medusa_block"]["time_ms"] == pytest.approx(by_name["o_proj"]["time_ms"] / layers, rel=1e-12)


def test_cli_json_equals_api(specroof_cli):
    args = ["ops", "-m", "llama-3-8b", "-H", "h200", "--batch", "8", "--candidates", "4", "--seq-len", "2048",
            "--format", "json"]
    assert specroof_cli(*args).json() == specroof.ops("llama-3-8b", "h200", 8, 4, 2048).to_records()


def test_bad_point_is_an_error():
    with pytest.raises(SpecroofError, match="positive integer batch"):
        specroof.ops("llama-7b", "h200", 0, 1, 1)
    with pytest.raises(SpecroofError, match="--draft-model"):
        specroof.ops("llama-7b", "h200", 1, 4, 128, method="heads", draft_model="llama-68m")


@settings(max_examples=40, deadline=None)
@given(b=st.integers(1, 512), n=st.integers(1, 256), s=st.integers(1, 65536),
       model=st.sampled_from(["llama-7b", "mixtral-8x7b", "llama-3-70b", "llama-68m"]),
       method=st.sampled_from(["none", "heads", "draft"]))
def test_operations_always_sum_to_the_step(b, n, s, model, method):
    kwargs = {"draft_model": "llama-68m"} if method == "draft" else {"method": method}
    result = specroof.ops(model, "h200", b, n, s, **kwargs)
    times = np.array([r["time_ms"] for r in result.to_records()])
    assert np.all(np.isfinite(times)) and np.all(times >= 0)
    assert times.sum() == pytest.approx(result.latency_ms, rel=1e-12)


def _string_literals(path: Path) -> set[str]:
    """String constants of a module that are code, not docstrings."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Expr)}
    return {node.value for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings}


def test_each_operation_name_has_one_home():
    """An operation's name is written in at most two Python files of the package: the list
    (cost/operation.py, or for an engine's own work its cost/engine_work module) and at most
    one consumer (the measurement harness). ``attention`` is
    also the name of a profile field (fused or unfused), another concept, so it is checked
    only where it is not that field's name."""
    from dataclasses import fields

    from specroof.cost.profile import ImplementationProfile

    literals = {path: _string_literals(path) for path in PACKAGE.rglob("*.py")}
    profile_fields = {f.name for f in fields(ImplementationProfile)}
    for name in REGISTRY:
        where = literals
        if name in profile_fields:
            where = {p: found for p, found in literals.items() if p.name in ("operation.py", "torch_decoder.py")}
        homes = sorted(str(p.relative_to(PACKAGE)) for p, found in where.items() if name in found)
        if not homes:  # registered by a test (tests/test_engine_work.py's toy), not by the package
            continue
        # an engine's own operations live in its cost/engine_work module (engine_operation)
        own = "cost/operation.py" in homes or any(h.startswith("cost/engine_work/") for h in homes)
        assert own and len(homes) <= 2, (name, homes)


def test_step_operations_are_registered_and_profiles_select_from_them():
    assert set(STEP_OPERATIONS) <= set(REGISTRY)
    with pytest.raises(SpecroofError, match="unknown operator"):
        specroof.latency("llama-7b", "h200", operators=["qkv_proj", "flash"])
