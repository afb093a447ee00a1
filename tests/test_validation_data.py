"""The published end-to-end reference data in data/validation: it parses, its units are sane,
every row names its source, and the derived files agree with what they were derived from."""

from __future__ import annotations

import csv
import math
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from specroof.speculation.acceptance import CurveAcceptance

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data" / "validation"
METHODS = {"eagle", "eagle3", "draft", "ngram", "mtp", "none"}


def rows(name: str) -> list[dict]:
    with (DATA / name).open(encoding="utf-8") as handle:
        return list(csv.DictReader(line for line in handle if not line.startswith("#")))


def number(text: str) -> float:
    value = float(text)
    assert math.isfinite(value)
    return value


# ------------------------------------------------------------------ SpecDecode-Bench end to end


SPECDECODE = rows("specdecode-bench-h100.csv")


def test_specdecode_has_the_figure_rows():
    # Figure 1: 39 series x 4 batch sizes; Figure 2: 24 series x 4 batch sizes; Figure 3: 56 SD bars.
    assert len(SPECDECODE) == 156 + 96 + 56
    assert {r["engine"] for r in SPECDECODE} == {"vllm-0.10.1", "sglang-0.5.9"}
    assert {r["figure"] for r in SPECDECODE} == {"fig1", "fig2", "fig3"}
    keys = [(r["figure"], r["engine"], r["model"], r["method"], r["k_draft_tokens"], r["dataset"], r["batch"])
            for r in SPECDECODE]
    assert len(keys) == len(set(keys)), "duplicate (engine, model, method, k, dataset, batch) rows"


@pytest.mark.parametrize("row", SPECDECODE, ids=lambda r: f"{r['engine']}-{r['model']}-{r['method']}"
                         f"{r['k_draft_tokens']}-{r['dataset']}-{r['batch']}")
def test_specdecode_row_is_sane(row):
    assert row["method"] in METHODS - {"none"}
    assert 0.3 < number(row["speedup"]) < 6
    batch = int(row["batch"])
    assert 1 <= batch <= 512
    k = int(row["k_draft_tokens"])
    assert k >= 1
    assert int(row["tp"]) in (1, 2, 4, 8)
    assert row["target_hf_id"].count("/") == 1
    assert row["confidence"] in {"high", "medium", "low"}
    assert 0 < number(row["reading_uncertainty"]) < 0.5
    assert row["source"].strip() and "http" in row["source"]
    if row["baseline_throughput_tok_s"]:
        base, sd = number(row["baseline_throughput_tok_s"]), number(row["sd_throughput_tok_s"])
        assert base > 0 and sd > 0
        assert sd / base == pytest.approx(number(row["speedup"]), rel=0.01)
    if row["acceptance_length"]:
        tau = number(row["acceptance_length"])
        assert 1 <= tau <= k + 1
        assert row["acceptance_source"].strip()
    else:
        assert not row["acceptance_source"].strip()


def test_specdecode_readings_match_stated_text():
    # The project page states a few of the plotted values in its text; the readings agree.
    def find(engine, model, method, k, dataset, batch):
        (row,) = [r for r in SPECDECODE if r["figure"] != "fig3" and (
            r["engine"], r["model"], r["method"], int(r["k_draft_tokens"]), r["dataset"], int(r["batch"])
        ) == (engine, model, method, k, dataset, batch)]
        return number(row["speedup"])

    assert find("vllm-0.10.1", "llama-3.1-8b", "eagle", 3, "gsm8k", 128) == pytest.approx(1.21, abs=0.006)
    assert find("sglang-0.5.9", "qwen3-8b", "eagle3", 3, "gsm8k", 1) == pytest.approx(1.65, abs=0.006)
    assert find("sglang-0.5.9", "qwen3-8b", "eagle3", 21, "gsm8k", 1) == pytest.approx(1.85, abs=0.006)
    # Figure 3 text: "EAGLE-3 achieves 1.64--1.80x speedup on GPQA-Main and AIME22--24, while n-gram
    # reaches 1.50--1.58x" (Qwen3-8B-Thinking).
    reasoning = [r for r in SPECDECODE if r["figure"] == "fig3" and r["model"] == "qwen3-8b"
                 and r["dataset"] in ("aime22-24", "gpqa_main")]
    eagle3 = [number(r["speedup"]) for r in reasoning if r["method"] == "eagle3"]
    ngram = [number(r["speedup"]) for r in reasoning if r["method"] == "ngram"]
    assert len(eagle3) == len(ngram) == 6
    assert 1.635 <= min(eagle3) and max(eagle3) <= 1.805
    assert 1.495 <= min(ngram) and max(ngram) <= 1.585


def test_specdecode_acceptance_matches_the_trace_table():
    trace = {(r["method"], r["dataset"], int(r["candidates"])): r["acceptance_length"]
             for r in rows("specdecode-bench-trace-acceptance.csv")}
    checked = 0
    for row in SPECDECODE:
        if row["acceptance_source"].startswith("traces:"):
            assert row["model"] == "llama-3.1-8b" and row["engine"] == "vllm-0.10.1"
            assert row["acceptance_length"] == trace[(row["method"], row["dataset"], int(row["k_draft_tokens"]) + 1)]
            checked += 1
    assert checked == 4 * 4 * 2 + 4  # eagle3 + ngram k=3 on four datasets, ngram k=5 on instructcoder


def test_figure3_readings_file_parses():
    bars = rows("specdecode-bench-figure3-readings.csv")
    assert len(bars) == 84
    for b in bars:
        assert number(b["throughput_tokens_per_s"]) > 0
        if b["series"] == "None":
            assert number(b["speedup_vs_none"]) == 1


def test_figure_readings_file_parses():
    readings = rows("specdecode-bench-figure-readings.csv")
    assert len(readings) == 252
    for r in readings:
        assert r["figure"] in {"fig1", "fig2"}
        assert int(r["batch"]) in (1, 16, 64, 128)
        assert 0.3 < number(r["speedup"]) < 6
        assert number(r["axis_fit_residual"]) < 1e-3


# ------------------------------------------------------------------ traces and curves


TRACE = rows("specdecode-bench-trace-acceptance.csv")


def test_trace_table_is_sane():
    assert {r["method"] for r in TRACE} == {"eagle3", "ngram"}
    assert {r["dataset"] for r in TRACE} == {"gsm8k", "cnn_dailymail", "sharegpt", "instructcoder"}
    for r in TRACE:
        n = int(r["candidates"])
        assert int(r["k_draft_tokens"]) == n - 1
        for column in ("acceptance_length", "acceptance_length_request_mean"):
            assert 1 <= number(r[column]) <= n + 1e-9
        if n == 1:
            assert number(r["acceptance_length"]) == 1
        assert int(r["steps"]) > 0 and int(r["requests"]) > 0
        # pooled tau is tokens / steps
        assert number(r["acceptance_length"]) == pytest.approx(int(r["tokens"]) / int(r["steps"]), abs=6e-5)
        assert "SpecDecode-Bench/simulator" in r["source"]


CURVES = sorted((DATA / "curves").glob("*.csv"))


def test_curves_exist():
    assert len(CURVES) == 8


@pytest.mark.parametrize("path", CURVES, ids=lambda p: p.stem)
def test_curve_loads_in_specroof_and_matches_table(path):
    curve = CurveAcceptance.from_csv(path)
    assert curve.max_candidates >= 8
    assert curve.tau(1)[()] == 1.0
    method, dataset = path.stem.removeprefix("llama-3.1-8b-").split("-", 1)
    table = {int(r["candidates"]): number(r["acceptance_length"]) for r in TRACE
             if r["method"] == method and r["dataset"] == dataset}
    for n, tau in table.items():
        assert curve.tau(n)[()] == pytest.approx(tau, abs=1e-4)
    assert "SpecDecode-Bench/simulator" in path.read_text(encoding="utf-8")


# ------------------------------------------------------------------ the authors' fit


def test_authors_fit_is_labelled_and_sane():
    fit = tomllib.loads((DATA / "specdecode-bench-authors-fit.toml").read_text(encoding="utf-8"))
    assert "AUTHORS' FIT" in fit["source"]["label"]
    assert fit["source"]["repository"].startswith("https://github.com/SpecDecode-Bench/")
    assert 15e-6 < fit["target"]["c_compute_s_per_batched_token"] < 30e-6  # ~21 us per token
    assert 0.5e-3 < fit["overheads"]["per_step_s"] < 3e-3  # ~1.2 ms per step
    for section in ("target", "draft_eagle", "draft_ngram", "overheads"):
        assert all(v >= 0 for v in fit[section].values())


# ------------------------------------------------------------------ SGLang docs and papers


def test_sglang_docs_rows():
    table = rows("sglang-docs-eagle.csv")
    assert len(table) == 3
    base = [r for r in table if r["method"] == "none"][0]
    for r in table:
        assert r["method"] in METHODS
        assert "sglang" in r["source"]
        assert number(r["throughput_tokens_per_s"]) > 0
        assert number(r["speedup_vs_baseline"]) == pytest.approx(
            number(r["throughput_tokens_per_s"]) / number(base["throughput_tokens_per_s"]), abs=1e-4)


PAPERS = rows("paper-acceptance.csv")


PAPER_ARXIV = {"EAGLE-2": "2406.16858", "EAGLE-3": "2503.01840", "Medusa": "2401.10774"}
PROPOSED = {"EAGLE-2": "EAGLE-2", "EAGLE-3": "EAGLE-3", "Medusa": "Medusa-2"}


def test_paper_acceptance_rows_are_consistent():
    """Each row cites its own paper's arXiv id in its location and source, no (paper, table,
    model, benchmark, method) is transcribed twice, and in every comparison a paper's proposed
    method has the longest acceptance length of that table row (what each paper reports; a
    row moved to the wrong method or model breaks it)."""
    assert {r["paper"] for r in PAPERS} == set(PAPER_ARXIV)
    compared: dict[tuple, dict[str, float]] = {}
    for r in PAPERS:
        assert r["arxiv"] == PAPER_ARXIV[r["paper"]], r
        assert r["arxiv"] in r["table_or_location"] + r["source"], r
        key = (r["paper"], r["table_or_location"], r["model"], r["benchmark"])
        taus = compared.setdefault(key, {})
        assert r["method_as_named"] not in taus, f"transcribed twice: {key} {r['method_as_named']}"
        taus[r["method_as_named"]] = number(r["acceptance_length"]) if r["acceptance_length"] else math.nan
    for key, taus in compared.items():
        own = taus[PROPOSED[key[0]]]
        others = [t for m, t in taus.items() if m != PROPOSED[key[0]] and not math.isnan(t)]
        assert all(t < own for t in others), (key, taus)


@pytest.mark.parametrize("row", PAPERS, ids=lambda r: f"{r['paper']}-{r['model']}-{r['benchmark']}-{r['method']}")
def test_paper_row_is_sane(row):
    assert row["arxiv"].count(".") == 1
    assert row["source"].strip()
    assert row["table_or_location"].strip()
    if row["acceptance_length"]:
        assert 1 <= number(row["acceptance_length"]) <= 12
    if row["speedup"]:
        assert 0.3 < number(row["speedup"]) < 8
    assert row["acceptance_length"] or row["speedup"]


def test_eagle3_paper_serving_rows():
    table = rows("eagle3-paper-serving.csv")
    assert len(table) == 9 * 2 + 8 * 2 + 3
    for r in table:
        assert r["method"] in METHODS
        assert 0.3 < number(r["speedup"]) < 6
        assert 1 <= int(r["batch"]) <= 512
        assert "2503.01840" in r["source"]
    # Table 3's headline: EAGLE-3 still 1.38x at batch 64 in SGLang on one H100.
    (row,) = [r for r in table if r["engine"] == "sglang-0.4.4" and r["method"] == "eagle3" and r["batch"] == "64"]
    assert number(row["speedup"]) == 1.38


# ------------------------------------------------------------------ models the rows need


def test_models_of_the_validation_rows_are_in_the_catalog():
    from specroof.models import load_model

    for name in ("llama-3.1-8b", "llama-3-70b", "qwen3-8b", "qwen3-0.6b", "glm-4.5-air"):
        assert load_model(name).source.startswith("https://huggingface.co/")
    qwen = load_model("qwen3-8b")
    assert (qwen.hidden_size, qwen.num_layers, qwen.num_heads, qwen.num_kv_heads, qwen.head_dim) == (4096, 36, 32, 8, 128)
    assert (qwen.intermediate_size, qwen.vocab_size, qwen.tie_word_embeddings) == (12288, 151936, False)
    glm = load_model("glm-4.5-air")
    assert (glm.hidden_size, glm.num_layers, glm.num_heads, glm.num_kv_heads, glm.head_dim) == (4096, 46, 96, 8, 128)
    assert (glm.num_experts, glm.experts_per_token, glm.moe_intermediate_size, glm.vocab_size) == (128, 8, 1408, 151552)


def test_time_breakdown_fractions():
    table = rows("specdecode-bench-time-breakdown.csv")
    assert len(table) == 48
    for r in table:
        parts = [number(r[k]) for k in ("drafting", "verification", "sampling", "overhead")]
        assert all(0 <= p <= 1 for p in parts)
        assert sum(parts) == pytest.approx(1, abs=2e-4)
        if r["method_id"] in ("none",):
            assert parts[0] < 0.001  # no drafting without speculation
    # page text: verification ~42% with drafting ~47% (Qwen3-8B draft model, batch 1); ~95% for n-gram on
    # Llama-3-70B at batch 512; rejection sampling < 1.7% everywhere
    def get(model, method, batch):
        (r,) = [r for r in table if (r["model_id"], r["method_id"], int(r["batch"])) == (model, method, batch)]
        return r
    q = get("qwen3-8b", "draft", 1)
    assert number(q["verification"]) == pytest.approx(0.42, abs=0.01)
    assert number(q["drafting"]) == pytest.approx(0.47, abs=0.01)
    assert number(get("llama-3-70b", "ngram", 512)["verification"]) == pytest.approx(0.95, abs=0.01)
    assert max(number(r["sampling"]) for r in table) < 0.017


def test_specdecode_csv_is_what_the_builder_makes(tmp_path):
    """The committed table is derived only from the committed readings and trace table: the
    builder's --check passes on this checkout and fails on a copy whose table was edited."""
    builder = ROOT / "tools" / "validation" / "build_specdecode_csv.py"

    def check(root: Path) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, str(builder), "--root", str(root), "--check"],
                              capture_output=True, text=True, timeout=300)

    assert check(ROOT).returncode == 0, check(ROOT).stdout
    shutil.copytree(ROOT / "data" / "validation", tmp_path / "data" / "validation")
    table = tmp_path / "data" / "validation" / "specdecode-bench-h100.csv"
    lines = table.read_text(encoding="utf-8").splitlines(keepends=True)
    table.write_text("".join(lines[:-1]), encoding="utf-8")  # one published row lost
    edited = check(tmp_path)
    assert edited.returncode == 1 and "differs" in edited.stdout
