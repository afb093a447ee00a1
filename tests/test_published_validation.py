"""The published set (tools/validation/compare_published.py and split_published.py, run as
scripts): the rows are sane and sourced, the dev/test split follows its rule and never changes
as rows are appended, every row is either priced with its own stated acceptance or refused with
a reason, the section of docs/validation-e2e.md is the script's output, and the dev and test
errors stay under their gates (tests/gates.toml, group "e2e-published": levels at what main
reached when the set was made; nothing is fitted on either set, docs/validation-published.md)."""

from __future__ import annotations

import csv
import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from gates import failures, gates
from specroof.cost.profile import profile_names
from specroof.hardware.accelerator import catalog_names as hardware_names

ROOT = Path(__file__).resolve().parents[1]
TOOLS = ROOT / "tools" / "validation"
COMPARE, SPLIT = TOOLS / "compare_published.py", TOOLS / "split_published.py"
DATA = ROOT / "data" / "validation" / "published-e2e.csv"
LOCK = ROOT / "data" / "validation" / "published-e2e.split-lock.csv"
DOC = ROOT / "docs" / "validation-e2e.md"
METHODS = {"eagle", "eagle3", "draft", "ngram", "mtp", "heads", "hydra", "rest", "lookahead"}
ENGINES = {"vllm", "sglang", "trtllm", "research"}
COLLECTIONS = {"frontier-2026-12-06", "e2e-2026-12-07"}
GPUS_NOT_IN_CATALOG = {"h20"}  # recorded as the source names it; such rows are refused, saying so
PUBLISHED_GATES = gates("e2e-published")
METRICS = {"tokens_per_s_per_user", "output_throughput", "tpot_ms", "speedup", "e2e_runtime"}


def run(script: Path, *args: str, ok: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True, timeout=300)
    assert (done.returncode == 0) == ok, done.stderr
    return done


def tool_json(script: Path, *args: str) -> dict:
    return json.loads(run(script, *args, "--json").stdout)


def read_rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8") as handle:
        return list(csv.DictReader(line for line in handle if not line.startswith("#")))


ROWS = read_rows(DATA)


@pytest.fixture(scope="module")
def output() -> dict:
    return tool_json(COMPARE)


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r["row_id"])
def test_row_is_sourced_and_sane(row):
    assert row["url"].startswith("https://") and row["where"].strip()
    assert row["method"] in METHODS and row["metric"] in METRICS
    assert row["split"] in ("dev", "test")
    assert row["engine"] in ENGINES and row["collection"] in COLLECTIONS
    assert bool(row["harness"]) == (row["engine"] == "research")
    assert row["gpu"] == "" or row["gpu"] in hardware_names() or row["gpu"] in GPUS_NOT_IN_CATALOG
    speedup = float(row["speedup"])
    assert 0.3 < speedup < 6
    assert row["k"] == "" or int(row["k"]) >= 1
    assert row["tree"] in ("", "chain") or row["tree"].startswith("steps=")
    if row["acceptance_length"]:
        assert 1 <= float(row["acceptance_length"]) <= (int(row["k"]) + 1 if row["k"] else 16)
    if row["baseline"] and row["speculative"]:
        base, spec = float(row["baseline"]), float(row["speculative"])
        ratio = base / spec if row["metric"] == "tpot_ms" else spec / base
        assert ratio == pytest.approx(speedup, rel=0.01)
    assert not (row["batch"] and row["request_rate_qps"])
    assert row["gpu_p2p"] in ("", "no")
    for layout in ("tp", "ep", "dp_attention", "draft_tp", "gpus"):
        assert row[layout] == "" or int(row[layout]) >= 1
    if row["input_tokens"] and row["output_tokens"]:
        assert int(row["context_tokens"]) == int(row["input_tokens"]) + int(row["output_tokens"]) // 2


def test_row_ids_are_unique():
    ids = [r["row_id"] for r in ROWS]
    assert len(ids) == len(set(ids))


def test_split_follows_the_rule_and_the_lock():
    splits = tool_json(SPLIT)
    assert splits["problems"] == []
    assert all(r["split"] == r["rule_split"] == r["locked_split"] for r in splits["rows"])
    assert {r["split"] for r in splits["rows"]} == {"dev", "test"}
    by_source: dict[str, set[str]] = {}
    for r in splits["rows"]:
        by_source.setdefault(r["source_id"], set()).add(r["split"])
    assert all(len(s) == 1 for s in by_source.values()), "a source is split across sets"
    assert len(read_rows(LOCK)) == len(ROWS)


def _append(path: Path, rows: list[dict[str, str]]) -> None:
    with open(path, "a", newline="", encoding="utf-8") as handle:
        csv.DictWriter(handle, list(ROWS[0]), lineterminator="\n").writerows(rows)


def test_appended_rows_keep_every_split_and_unknown_models_are_refused(tmp_path):
    data, lock = tmp_path / "data.csv", tmp_path / "lock.csv"
    shutil.copy(DATA, data)
    shutil.copy(LOCK, lock)
    known = {**ROWS[0], "row_id": "appended-known-source", "split": ""}
    priced_row = next(r for r in ROWS if r["model"] == "llama-3.3-70b")
    new = {**priced_row, "row_id": "appended-new-source", "source_id": "a-source-not-seen-before",
           "model": "no-such-model", "split": ""}
    _append(data, [known, new])
    run(SPLIT, "--write", "--data", str(data), "--lock", str(lock))
    after = {r["row_id"]: r for r in tool_json(SPLIT, "--data", str(data), "--lock", str(lock))["rows"]}
    assert all(after[r["row_id"]]["split"] == r["split"] for r in ROWS)
    assert after["appended-known-source"]["split"] == ROWS[0]["split"]
    assert after["appended-new-source"]["split"] == after["appended-new-source"]["rule_split"]
    assert lock.read_text(encoding="utf-8").startswith(LOCK.read_text(encoding="utf-8"))
    priced = {r["row_id"]: r for r in tool_json(COMPARE, "--data", str(data), "--lock", str(lock))["rows"]}
    assert "unknown model 'no-such-model'" in priced["appended-new-source"]["refused"]
    assert "does not state" not in priced["appended-new-source"]["refused"]


def test_a_changed_split_is_refused(tmp_path):
    data = tmp_path / "data.csv"
    text = DATA.read_text(encoding="utf-8")
    first = ROWS[0]
    flipped = {"dev": "test", "test": "dev"}[first["split"]]
    data.write_text(text.replace(f"{first['row_id']},{first['source_id']},{first['split']},",
                                 f"{first['row_id']},{first['source_id']},{flipped},", 1), encoding="utf-8")
    problems = tool_json(SPLIT, "--data", str(data))["problems"]
    assert any(first["row_id"] in p and "differs from the rule" in p for p in problems)
    done = run(COMPARE, "--data", str(data), ok=False)
    assert "split is not intact" in done.stderr


def test_every_row_is_priced_or_refused_with_a_reason(output):
    rows = output["rows"]
    assert [r["row_id"] for r in rows] == [r["row_id"] for r in ROWS]
    for r in rows:
        if r["refused"]:
            assert r["error"] is None and math.isnan(r["predicted_speedup"])
        else:
            assert 0.2 < r["predicted_speedup"] < 10, r
    assert any(not r["refused"] and r["model"] == "llama-3.3-70b" for r in rows)
    by_id = {r["row_id"]: r for r in rows}
    assert "request rate" in by_id["vllm-pr12755-dsr1-mtp1-qps1"]["refused"]
    assert "acceptance length" in by_id["trtllm-blog2-dsr1-mtp3"]["refused"]
    assert "draft length" in by_id["sglang-docs-dsv3-mtp-bs1"]["refused"]


def test_the_stated_acceptance_is_what_is_applied(output):
    """Predicted speedup = the row's own tau x plain step / speculative step, or over whole requests
    (a metric that counts the prefill): the batch's prefill paid once, then out plain or out / tau
    speculative steps. Nothing fitted."""
    stated = {r["row_id"]: float(r["acceptance_length"] or "nan") for r in ROWS}
    metric = {r["row_id"]: r["metric"] for r in ROWS}
    for r in (r for r in output["rows"] if not r["refused"]):
        assert r["acceptance_length"] == stated[r["row_id"]]
        tau, plain, spec = stated[r["row_id"]], r["plain_ms"], r["spec_ms"]
        if r["over"] == "requests":
            assert metric[r["row_id"]] in ("output_throughput", "e2e_runtime") and r["prefill_ms"] > 0
            out, prefill = r["output_tokens"], r["prefill_ms"]
            expected = (prefill + out * plain) / (prefill + out / tau * spec)
        else:
            assert r["prefill_ms"] == 0
            expected = tau * plain / spec
        assert r["predicted_speedup"] == pytest.approx(expected, rel=1e-12)
        assert r["spec_ms"] > r["plain_ms"] > 0  # verifying k + 1 tokens and drafting never beats one token
        assert not any(w.startswith("acceptance chain:") for w in r["warnings"])


def test_summary_is_recomputed_from_the_rows(output):
    summary, rows = output["summary"], output["rows"]
    for split in ("dev", "test"):
        errors = np.array([r["error"] for r in rows if r["split"] == split and not r["refused"]])
        s = summary[f"{split}: speedup"]
        assert s["points"] == errors.size
        if errors.size:
            assert s["mape_pct"] == pytest.approx(100 * np.mean(np.abs(errors)))
            assert s["bias_pct"] == pytest.approx(100 * np.mean(errors))
        assert summary[f"{split}: refused"]["points"] == sum(1 for r in rows if r["split"] == split and r["refused"])


def test_the_doc_section_is_the_scripts_output(output):
    assert DOC.read_text(encoding="utf-8").endswith("\n" + output["markdown"]), \
        "docs/validation-e2e.md is stale: run python tools/validation/compare_e2e.py --write"


def test_every_row_names_the_profile_that_priced_it(output):
    """``<engine>@<release>`` where the source states a release and that profile exists, else
    ``<engine>``; a row whose profile does not exist (``research`` today) is refused, not dropped."""
    stated = {r["row_id"]: r for r in ROWS}
    for r in output["rows"]:
        row = stated[r["row_id"]]
        versioned = f"{row['engine']}@{row['engine_release']}"
        assert r["profile"] == (versioned if row["engine_release"] and versioned in profile_names() else row["engine"])
        if r["profile"] not in profile_names():
            assert f"profile not yet available: {r['profile']!r}" in r["refused"]
    assert any(r["engine"] == "research" for r in output["rows"])


def test_a_gpu_outside_the_catalog_is_refused_by_name(output):
    for r in output["rows"]:
        if r["gpu"] in GPUS_NOT_IN_CATALOG:
            assert f"GPU {r['gpu']!r} is not in the hardware catalog" in r["refused"]


@pytest.mark.parametrize("check", sorted(PUBLISHED_GATES))
def test_published_errors_stay_under_their_gates(output, check):
    """Dev and test speedup errors of today's model; the levels only tighten (tests/gates.toml)."""
    assert not failures(PUBLISHED_GATES[check], output["summary"][check])


def test_every_gated_check_is_computed(output):
    assert set(PUBLISHED_GATES) <= set(output["summary"])


def test_split_option_shows_one_set_only():
    dev = tool_json(COMPARE, "--split", "dev")
    assert {r["split"] for r in dev["rows"]} == {"dev"}
    assert [r["row_id"] for r in dev["rows"]] == [r["row_id"] for r in ROWS if r["split"] == "dev"]
    assert not any(key.startswith("test:") for key in dev["summary"])
