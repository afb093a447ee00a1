"""``specroof check``: each trap has a config that shows it and one that does not, the capture
trap is caught on configs modelled on published vLLM bug reports, malformed configs are one
``error:`` line, and the exit status says whether a trap was found."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from specroof.errors import SpecroofError
from specroof.speculation.engines.config_check import NA, OK, TRAP, UNKNOWN, DraftFacts, check_text, model_facts
from specroof.speculation.engines.config_check.draft_traps import trained_depths
from specroof.speculation.engines.config_check.vllm_config import capture_grid
from support import run_cli

DATA = Path(__file__).parent / "data" / "check"
HEAD = "seanmamasde/llama4-maverick-17B-128E-eagle3-sglang"


def findings(text: str, engine: str | None = None, facts: DraftFacts | None = None) -> dict[str, object]:
    (report,) = check_text(text, "test", engine, facts)
    return {f.check: f for f in report.findings}


def vllm(spec: dict, *flags: str, env: str = "") -> str:
    return env + "vllm serve some/model " + " ".join(flags) + f" --speculative-config '{json.dumps(spec)}'"


V2 = "VLLM_USE_V2_MODEL_RUNNER=1 "


EAGLE3 = {"method": "eagle3", "model": "some/head", "num_speculative_tokens": 3}


# --------------------------------------------------------------------------- capture sizes

def test_capture_trap_on_the_issue_27325_config():
    found = findings((DATA / "vllm-issue-27325.sh").read_text())["cuda-graph capture"]
    assert found.status == TRAP
    assert "384 tokens" in found.detail and "256 tokens" in found.detail  # 128 x 3 against min(2 x 128, 512)
    assert '"max_cudagraph_capture_size": 384' in found.fix


def test_capture_trap_on_the_pr_37865_truncation():
    (report,) = check_text((DATA / "vllm-pr37865-truncation.sh").read_text(), "t")
    assert report.config.capture.sizes == (1, 2, 4, 8, 16, 24, 32, 40)  # the list the PR comment quotes
    capture = report.findings[0]
    assert capture.status == TRAP and "42 tokens" in capture.detail and "40 tokens" in capture.detail
    assert '"max_cudagraph_capture_size": 48' in capture.fix  # 42 is off the grid: the next grid value


def test_capture_covered_by_explicit_sizes():
    text = vllm(EAGLE3, "--max-num-seqs 128", "--compilation-config '{\"cudagraph_capture_sizes\": [4, 256, 512]}'")
    assert findings(text)["cuda-graph capture"].status == OK
    short = vllm(EAGLE3, "--max-num-seqs 128", "--compilation-config '{\"cudagraph_capture_sizes\": [4, 256, 508]}'")
    assert findings(short)["cuda-graph capture"].status == TRAP


def test_capture_sizes_above_the_budget_are_dropped():
    text = vllm(EAGLE3, "--max-num-seqs 128", "--max-num-batched-tokens 256",
                "--compilation-config '{\"cudagraph_capture_sizes\": [256, 512]}'")
    assert findings(text)["cuda-graph capture"].status == TRAP


def test_graphs_capped_below_the_served_context():
    graphs = "--compilation-config '{\"cudagraph_capture_sizes\": [4, 512]}'"
    capped = vllm(EAGLE3, "--max-num-seqs 128", graphs, "--max-model-len 32768", "--max-seq-len-to-capture 8192")
    found = findings(capped)["cuda-graph capture"]
    assert found.status == TRAP and found.fix == "--max-seq-len-to-capture 32768"
    assert findings(capped.replace("32768", "8192"))["cuda-graph capture"].status == OK


def test_eager_by_choice_is_not_a_capture_trap():
    assert findings(vllm(EAGLE3, "--max-num-seqs 512", "--enforce-eager"))["cuda-graph capture"].status == OK


@settings(max_examples=40, deadline=None)
@given(max_seqs=st.integers(1, 512), k=st.integers(1, 8))
def test_the_capture_fix_removes_the_trap(max_seqs, k):
    """Whatever the default leaves uncovered, the suggested max_cudagraph_capture_size covers."""
    spec = {"method": "eagle3", "model": "h", "num_speculative_tokens": k}
    found = findings(vllm(spec, f"--max-num-seqs {max_seqs}"))["cuda-graph capture"]
    need = max_seqs * (k + 1)
    assert (found.status == TRAP) == (need > max(capture_grid(min(2 * max_seqs, 512))))
    if found.status == TRAP:
        fixed = vllm(spec, f"--max-num-seqs {max_seqs}", found.fix.split(" (or")[0].split(";")[0].replace(" and ", " "))
        assert findings(fixed)["cuda-graph capture"].status == OK


def test_sglang_capture_in_requests():
    assert findings((DATA / "sglang-graph-short.sh").read_text())["cuda-graph capture"].status == TRAP
    fixed = (DATA / "sglang-graph-short.sh").read_text().replace("--cuda-graph-max-bs 64", "--cuda-graph-max-bs 256")
    assert findings(fixed)["cuda-graph capture"].status == OK
    unset = fixed.replace("--cuda-graph-max-bs 256", "")
    assert findings(unset)["cuda-graph capture"].status == UNKNOWN  # SGLang sizes it from GPU memory


def test_trtllm_capture_default_128_requests():
    yaml = "max_batch_size: 512\nspeculative_config:\n  decoding_type: Eagle3\n  max_draft_len: 3\n"
    found = findings(yaml)["cuda-graph capture"]
    assert found.status == TRAP and "max_batch_size: 512" in found.fix
    assert findings(yaml + "cuda_graph_config:\n  max_batch_size: 512\n")["cuda-graph capture"].status == OK


# --------------------------------------------------------------------------- token budget

def test_token_budget_eaten_by_k_plus_one():
    found = findings(vllm(EAGLE3, "--max-num-seqs 256", "--max-num-batched-tokens 512"))["token budget"]
    assert found.status == TRAP and "1024 tokens" in found.detail and "128 sequences" in found.detail
    assert findings(vllm(EAGLE3, "--max-num-seqs 256", "--max-num-batched-tokens 1024"))["token budget"].status == OK


def test_unset_vllm_budget_is_told_by_size():
    assert findings(vllm(EAGLE3, "--max-num-seqs 256"))["token budget"].status == OK  # 1024 <= 2048
    assert findings(vllm(EAGLE3, "--max-num-seqs 1024"))["token budget"].status == UNKNOWN  # 4096: 2048 or 8192
    assert findings(vllm(EAGLE3, "--max-num-seqs 4096"))["token budget"].status == TRAP  # 16384 > 8192


def test_trtllm_budget_and_sglang_has_none():
    yaml = ("max_batch_size: 4096\nmax_num_tokens: 8192\ncuda_graph_config:\n  max_batch_size: 4096\n"
            "speculative_config:\n  decoding_type: MTP\n  max_draft_len: 3\n")
    assert findings(yaml)["token budget"].status == TRAP
    assert findings(yaml.replace("8192", "16384"))["token budget"].status == OK
    assert findings((DATA / "sglang-graph-short.sh").read_text())["token budget"].status == NA


# --------------------------------------------------------------------------- per-batch schedule

def test_schedule_without_graphs_for_its_draft_length():
    spec = {**EAGLE3, "num_speculative_tokens": 4, "num_speculative_tokens_per_batch_size": [[1, 8, 4], [9, 64, 2]]}
    no_multiple_of_3 = "--compilation-config '{\"cudagraph_capture_sizes\": [5, 10, 20, 40, 80, 160, 320]}'"
    found = findings(vllm(spec, "--max-num-seqs 64", no_multiple_of_3, env=V2))["per-batch schedule"]
    assert found.status == TRAP and "batches 9-64 (K=2)" in found.detail and "multiple of 3" in found.detail
    with_graphs = "--compilation-config '{\"cudagraph_capture_sizes\": [5, 10, 20, 40, 96, 192]}'"
    assert findings(vllm(spec, "--max-num-seqs 64", with_graphs, env=V2))["per-batch schedule"].status == OK


def test_schedule_range_above_the_largest_graph():
    spec = {**EAGLE3, "num_speculative_tokens_per_batch_size": [[1, 16, 3], [17, 256, 1]]}
    found = findings(vllm(spec, "--max-num-seqs 256", env=V2))["per-batch schedule"]  # default graphs: 512 tokens
    assert found.status == OK
    small = findings(vllm(spec, "--max-num-seqs 256", "--compilation-config '{\"max_cudagraph_capture_size\": 256}'",
                          env=V2))
    assert small["per-batch schedule"].status == TRAP and "batches 17-256 (K=1)" in small["per-batch schedule"].detail
    assert findings(vllm(EAGLE3))["per-batch schedule"].status == NA


@pytest.mark.parametrize("method, env, fix", [
    ("eagle3", "", "VLLM_USE_V2_MODEL_RUNNER=1"), ("eagle3", V2, None),
    ("draft_model", "", "one num_speculative_tokens"), ("draft_model", V2, "one num_speculative_tokens")])
def test_a_per_batch_table_on_the_v1_runner_loses_full_graphs(method, env, fix):
    spec = {**EAGLE3, "method": method, "num_speculative_tokens_per_batch_size": [[1, 16, 3], [17, 64, 1]]}
    found = findings(vllm(spec, "--max-num-seqs 64", env=env))["per-batch schedule"]
    assert (found.status == OK) if fix is None else (found.status == TRAP and fix in found.fix)


def test_trtllm_stage1_schedule_is_flagged_with_the_current_form():
    found = findings((DATA / "trtllm-stage1.yaml").read_text())["per-batch schedule"]
    assert found.status == UNKNOWN
    assert "draft_len_schedule: {3: 4, 7: 2}" in found.fix  # 1-3 draft 4, 4-7 draft 2, 8+ off


def test_bad_schedules_are_errors():
    with pytest.raises(SpecroofError, match="start at batch 1"):
        check_text(vllm({**EAGLE3, "num_speculative_tokens_per_batch_size": [[2, 8, 3]]}), "t")
    with pytest.raises(SpecroofError, match="exceeds max_draft_len"):
        check_text("speculative_config:\n  decoding_type: Eagle3\n  max_draft_len: 2\n"
                   "  draft_len_schedule: {8: 3}\n", "t")


# --------------------------------------------------------------------------- draft TP

@pytest.mark.parametrize("method, draft_tp, status", [
    ("eagle3", None, OK), ("eagle3", 4, OK), ("eagle3", 2, TRAP), ("eagle3", 1, OK), ("draft_model", 1, TRAP)])
def test_draft_tp(method, draft_tp, status):
    spec = {**EAGLE3, "method": method}
    if draft_tp is not None:
        spec["draft_tensor_parallel_size"] = draft_tp
    assert findings(vllm(spec, "--tensor-parallel-size 4"))["draft TP"].status == status


# --------------------------------------------------------------------------- trained depth

def test_mtp_depth_against_the_models_modules():
    facts = model_facts(str(DATA / "target-mtp1.json"), None, None)
    mtp = {"method": "mtp", "num_speculative_tokens": 3}
    found = findings(vllm(mtp), facts=facts)["draft depth"]
    assert found.status == TRAP and "1 MTP module" in found.detail
    assert findings(vllm({**mtp, "num_speculative_tokens": 1}), facts=facts)["draft depth"].status == OK
    assert findings(vllm(mtp))["draft depth"].status == UNKNOWN  # no --model given


def test_head_depth_from_the_table_and_the_flag():
    trained, source = trained_depths()[HEAD]
    head = {"method": "eagle3", "model": HEAD, "num_speculative_tokens": trained + 1}
    assert findings(vllm(head))["draft depth"].status == TRAP
    assert findings(vllm({**head, "num_speculative_tokens": trained}))["draft depth"].status == OK
    assert findings(vllm(EAGLE3))["draft depth"].status == UNKNOWN
    assert findings(vllm(EAGLE3), facts=DraftFacts(trained_k=2))["draft depth"].status == TRAP
    assert findings(vllm({"method": "ngram", "num_speculative_tokens": 9}))["draft depth"].status == NA


def test_every_trained_depth_row_has_a_source():
    assert trained_depths()
    assert all(source.startswith("trained_depth.toml: https://") for _, source in trained_depths().values())


# --------------------------------------------------------------------------- draft context

def test_draft_window_shorter_than_the_served_context():
    facts = model_facts(None, str(DATA / "draft-2k.json"), None)
    spec = {"method": "draft_model", "model": "small", "num_speculative_tokens": 3}
    found = findings(vllm(spec, "--max-model-len 8192"), facts=facts)["draft context"]
    assert found.status == TRAP and "--max-model-len 2048" in found.fix
    assert findings(vllm(spec, "--max-model-len 2k"), facts=facts)["draft context"].status == OK  # 2000 tokens
    target = model_facts(str(DATA / "target-mtp1.json"), str(DATA / "draft-2k.json"), None)
    assert findings(vllm(spec), facts=target)["draft context"].status == TRAP  # the target's 32768 positions
    assert findings(vllm(spec, "--max-model-len 8192"))["draft context"].status == UNKNOWN
    capped = findings(vllm({**spec, "max_model_len": 4096}, "--max-model-len 8192"))["draft context"]
    assert capped.status == TRAP and "max_model_len" in capped.detail


# --------------------------------------------------------------------------- the command

def test_cli_exit_status_and_clean_message():
    trap = run_cli("check", str(DATA / "vllm-issue-27325.sh"))
    assert trap.code == 1 and "TRAP" in trap.stdout and "no speculation traps" not in trap.stdout
    clean = run_cli("check", str(DATA / "vllm-clean.sh"))
    assert clean.code == 0, clean.stdout + clean.stderr
    assert "no speculation traps found (checked: cuda-graph capture, token budget" in clean.stdout
    rows = json.loads(run_cli("check", str(DATA / "vllm-clean.sh"), "--format", "json").stdout)
    assert {r["check"] for r in rows} == {"cuda-graph capture", "token budget", "per-batch schedule", "draft TP",
                                          "draft depth", "draft context"}


def test_dotted_speculative_config_options():
    text = ("vllm serve m --max-num-seqs 128 --speculative-config.method eagle3 "
            "--speculative-config.num_speculative_tokens 2 --speculative-config.model some/head")
    (report,) = check_text(text, "dotted")
    assert (report.config.method, report.config.k, report.config.draft) == ("eagle3", 2, "some/head")
    assert report.findings[0].status == TRAP  # 128 x 3 tokens against the default 256


def test_several_launch_lines_are_checked_each():
    text = (DATA / "sglang-graph-short.sh").read_text()
    reports = check_text(text + "\n" + text.replace("--cuda-graph-max-bs 64", "--cuda-graph-max-bs 256"), "two")
    assert [r.findings[0].status for r in reports] == [TRAP, OK]
    assert reports[0].config.label == "two:2" and reports[1].config.label.startswith("two:")


@pytest.mark.parametrize("text, engine, message", [
    ("{\"num_speculative_tokens\": 3,", None, "not valid JSON"),
    ("vllm serve m --speculative-config '{\"num_speculative_tokens\": 3}", None, "cannot split the command line"),
    ("speculative_config: [unclosed\n", None, "not valid YAML"),
    ("hello world\n", None, "cannot tell which engine"),
    ("", None, "empty"),
    ("vllm serve m --speculative-config '{\"num_speculative_tokens\": 3}'", "sglang", "no sglang launch command"),
    ("vllm serve m --max-num-seqs 8", None, "no --speculative-config"),
    (vllm({"num_speculative_tokens": "three"}), None, "expected a whole number"),
    ("trtllm-serve m --extra_llm_api_options extra.yaml\n", None, "check the YAML file"),
])
def test_malformed_configs_are_one_error_line(tmp_path, text, engine, message):
    config = tmp_path / "config.txt"
    config.write_text(text)
    out = run_cli("check", str(config), *(["--engine", engine] if engine else []))
    assert out.code == 2 and out.stdout == ""
    assert out.stderr.startswith("error: ") and message in out.stderr and len(out.stderr.splitlines()) == 1


SEEDS = sorted(p.read_text() for p in DATA.iterdir() if p.suffix in (".sh", ".yaml"))


@settings(max_examples=150, deadline=None)
@given(seed=st.sampled_from(SEEDS), cut=st.integers(0, 400), length=st.integers(0, 40),
       insert=st.text(alphabet="'\"{}[]:-=\\\n #0123456789abc,", max_size=12),
       engine=st.sampled_from([None, "vllm", "sglang", "trtllm"]))
def test_mangled_configs_are_a_report_or_one_user_error(seed, cut, length, insert, engine):
    """Any edit of a real config (a cut, a stray quote or bracket) is read or refused as a
    SpecroofError, never another exception."""
    text = seed[:cut] + insert + seed[cut + length:]
    try:
        reports = check_text(text, "fuzz", engine)
    except SpecroofError as exc:
        assert "\n" not in str(exc).strip()
    else:
        assert all(len(r.findings) == 6 for r in reports)


@pytest.mark.parametrize("value", ["1" + "0" * 400, '"' + "9" * 100 + 'k"', "1e400", "-3", "true", '"3.5"'])
def test_out_of_range_numbers_are_refused(value):
    with pytest.raises(SpecroofError, match="num_speculative_tokens"):
        check_text('{"num_speculative_tokens": ' + value + "}", "t")


def test_a_docker_launch_of_vllm_is_read():
    text = ("docker run --gpus all -p 8000:8000 --ipc=host vllm/vllm-openai:latest --model m --max-num-seqs 64 "
            "--speculative-config '{\"method\": \"ngram\", \"num_speculative_tokens\": 5, \"prompt_lookup_max\": 4}'")
    (report,) = check_text(text, "docker")
    assert (report.config.engine, report.config.k, report.config.max_seqs.value) == ("vllm", 5, 64)
    assert report.findings[0].status == TRAP  # 64 x 6 = 384 tokens against min(2 x 64, 512) = 128


def test_unset_vllm_limits_are_read_for_both_gpu_classes():
    """vllm serve defaults to 256 sequences on small GPUs and A100s, 1024 on the others: a trap on
    one class only is 'unknown' and shows both readings; a trap on both is a trap."""
    one = findings(json.dumps({"method": "eagle3", "model": "h", "num_speculative_tokens": 1}))["cuda-graph capture"]
    assert one.status == UNKNOWN and "256 sequences" in one.detail and "1024 sequences" in one.detail
    both = findings(json.dumps({"method": "eagle3", "model": "h", "num_speculative_tokens": 2}))["cuda-graph capture"]
    assert both.status == TRAP and "256 sequences x (K + 1 = 3) = 768 tokens" in both.detail
