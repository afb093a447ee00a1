"""``explain()``: the gap between tau and the predicted speedup, split into causes."""

from __future__ import annotations

import json
import math
import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import specroof
from specroof import SpecroofError
from specroof.scenarios import load_scenario
from specroof.speculation.explain import explain

LINEAR_OPS = ("qkv_proj", "o_proj", "gate_up_proj", "down_proj", "moe_router")
from support import specroof_script

MEDUSA = load_scenario("medusa-appendix-g")

CONFIGS = [
    ("llama-3-8b", "h200", 8, 6, 1024, {"acceptance": "chain:0.8", "method": "draft", "draft_model": "llama-3.2-1b"}),
    ("llama-3-8b", "h200", 1, 40, 2048, {"acceptance": "medusa:vicuna-7b", "method": "heads", "heads": 5}),
    ("llama-7b", "a100-80gb-pcie", 4, 64, 1024, MEDUSA.options()),
    ("llama-7b", "a100-80gb-pcie", 4, 80, 1024, {**MEDUSA.options(), "cuda_graph": False}),
    ("mixtral-8x7b", "h100-sxm", 2, 16, 4096, {"acceptance": "log:0.5", "tp": 2, "cuda_graph": False}),
]


def check_decomposition(e, options, model, hardware):
    ref = specroof.speedup(model, hardware, [e.batch], [e.candidates], [e.seq_len], **options)
    assert e.speedup == float(ref.speedup[0, 0, 0])
    assert e.tau == float(ref.acceptance_length[0, 0, 0])
    assert e.t_spec_ms == float(ref.latency_ms[0, 0, 0]) and e.t_plain_ms == float(ref.ar_latency_ms[0, 0, 0])
    shares = sum(c["log_share"] for c in e.causes)
    assert abs(shares - math.log(e.t_spec_ms / e.t_plain_ms)) < 1e-9
    assert abs(shares - (math.log(e.tau) - math.log(e.speedup))) < 1e-9
    assert sum(c["added_ms"] for c in e.causes) == pytest.approx(e.t_spec_ms - e.t_plain_ms, rel=1e-9, abs=1e-12)
    assert sum(c["speedup_lost_points"] for c in e.causes) == pytest.approx(e.tau - e.speedup, abs=1e-9)
    assert math.prod(c["speedup_lost_factor"] for c in e.causes) == pytest.approx(e.tau / e.speedup, rel=1e-9)
    groups = e.groups()
    assert sum(g["log_share"] for g in groups) == pytest.approx(shares, abs=1e-12)


@pytest.mark.parametrize("model, hardware, batch, n, seq, options", CONFIGS)
def test_parts_add_up_to_the_log_gap(model, hardware, batch, n, seq, options):
    e = explain(model, hardware, batch, n, seq, **options)
    check_decomposition(e, options, model, hardware)
    names = [c["cause"] for c in e.causes]
    drafting = [c for c in e.causes if c["group"] == "drafting"]
    # drafting shows up as its own operations (draft:qkv_proj, medusa_vocab, ...), priced like any other
    assert bool(drafting) == (options.get("method", "none") != "none")
    if drafting:
        assert sum(c["added_ms"] for c in drafting) == pytest.approx(e.draft_ms, rel=1e-12) and e.draft_ms > 0
        assert all(c["plain_ms"] == 0.0 for c in drafting)
    if options.get("cuda_graph") is False:
        assert "launch" in names


def test_draft_model_gap_is_mostly_drafting():
    e = explain(*CONFIGS[0][:5], **CONFIGS[0][5])
    groups = {g["group"]: g for g in e.groups()}
    assert max(groups.values(), key=lambda g: g["log_share"])["group"] == "drafting"
    # The verification of 6 tokens at batch 8 barely costs more than one: memory-bound GEMMs.
    assert groups["linear layers"]["log_share"] < 0.05 * groups["drafting"]["log_share"]


def test_linear_layers_compute_bound_only_with_many_tokens():
    small = explain("llama-3-8b", "h200", 1, 2, 1024)
    big = explain("llama-3-8b", "h200", 64, 64, 1024)
    ridge = 989.4e12 / 4.8e12
    assert small.ridge_flops_per_byte == pytest.approx(ridge)
    for e, bound in ((small, "memory"), (big, "compute")):
        linear = [c for c in e.causes if c["cause"] in LINEAR_OPS]
        assert {c["cause"] for c in linear} == {"qkv_proj", "o_proj", "gate_up_proj", "down_proj"}
        assert all(c["bound"] == bound for c in linear), [(c["cause"], c["intensity"]) for c in linear]
        assert all((c["intensity"] > ridge) == (bound == "compute") for c in linear)
    step = specroof.latency("llama-3-8b", "h200", 64, 64, 1024)
    [gate_up] = [c for c in big.causes if c["cause"] == "gate_up_proj"]
    assert gate_up["intensity"] == pytest.approx(float(step.flops["gate_up_proj"].ravel()[0])
                                                 / float(step.bytes["gate_up_proj"].ravel()[0]))
    assert all(c["bound"] is None for c in big.causes if c["cause"] not in LINEAR_OPS)


def test_one_candidate_has_no_gap():
    e = explain("llama-3-8b", "h200", 4, 1, 1024, acceptance="chain:0.8", draft_model="llama-3.2-1b")
    assert e.speedup == 1.0 and e.tau == 1.0 and e.log_gap == 0.0
    assert all(c["added_ms"] == 0.0 and c["log_share"] == 0.0 and c["speedup_lost_points"] == 0.0 for c in e.causes)


@pytest.mark.parametrize("kwargs, match", [
    ({"batch": 0}, "batch"), ({"candidates": 0}, "candidates"), ({"seq_len": 2.5}, "seq_len"),
    ({"candidates": [1, 2]}, "candidates"), ({"method": "draft"}, "draft model"),
])
def test_bad_arguments(kwargs, match):
    args = {"batch": 1, "candidates": 4, "seq_len": 1024, **kwargs}
    with pytest.raises(SpecroofError, match=match):
        explain("llama-7b", "h200", **args)


@settings(max_examples=30, deadline=None)
@given(batch=st.integers(1, 256), n=st.integers(1, 96), seq=st.integers(1, 16384),
       method=st.sampled_from(["none", "heads", "draft"]), graph=st.booleans(),
       hardware=st.sampled_from(["h200", "a100-80gb-sxm", "l4", "mi300x"]))
def test_decomposition_holds_everywhere(batch, n, seq, method, graph, hardware):
    options = {"acceptance": "log:0.477", "method": method, "cuda_graph": graph}
    if method == "draft":
        options["draft_model"] = "llama-68m"
    e = explain("llama-2-7b", hardware, batch, n, seq, **options)
    check_decomposition(e, options, "llama-2-7b", hardware)


def test_waterfall_chart(tmp_path):
    from specroof.report.waterfall import waterfall_chart

    e = explain(*CONFIGS[2][:5], **CONFIGS[2][5])
    path = waterfall_chart(e, tmp_path / "why.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(SpecroofError, match="must end in"):
        waterfall_chart(e, tmp_path / "why.txt")
    with pytest.raises(SpecroofError, match="does not exist"):
        waterfall_chart(e, tmp_path / "missing" / "why.png")


# --------------------------------------------------------------------------- command line


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([specroof_script(), "explain", *args], capture_output=True, text=True, timeout=120)


ARGS = ["-m", "llama-3-8b", "-H", "h200", "--batch", "8", "--candidates", "6", "--acceptance", "chain:0.8",
        "--draft-model", "llama-3.2-1b"]


def test_cli_json_matches_library():
    proc = run(*ARGS, "--format", "json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    e = explain("llama-3-8b", "h200", 8, 6, 1024, acceptance="chain:0.8", method="draft", draft_model="llama-3.2-1b")
    assert data["summary"]["speedup"] == pytest.approx(e.speedup, rel=1e-12)
    assert [c["cause"] for c in data["causes"]] == [c["cause"] for c in e.causes]
    assert sum(c["log_share"] for c in data["causes"]) == pytest.approx(data["summary"]["log_gap"], abs=1e-9)


def test_cli_table_csv_and_plot(tmp_path):
    proc = run(*ARGS, "--plot", str(tmp_path / "w.png"))
    assert proc.returncode == 0, proc.stderr
    assert "ideal speedup tau" in proc.stdout and "drafting" in proc.stdout and "by group" in proc.stdout
    assert (tmp_path / "w.png").stat().st_size > 0
    csv_proc = run(*ARGS, "--format", "csv")
    header = csv_proc.stdout.splitlines()[0].split(",")
    assert {"batch", "candidates", "seq_len", "cause", "added_ms", "log_share", "speedup_lost_points"} <= set(header)


def test_cli_scenario():
    proc = run("--scenario", "medusa-appendix-g", "--batch", "4", "--candidates", "80", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["summary"]["model"] == "llama-7b" and data["summary"]["hardware"] == "a100-80gb-pcie"


@pytest.mark.parametrize("args", [
    ["--candidates", "0"], ["--batch", "0", "--candidates", "4"], [],
    ["--candidates", "4", "--plot", "chart.txt"], ["--candidates", "4", "--acceptance", "bogus:2"],
])
def test_cli_bad_input_exits_2(args):
    proc = run("-m", "llama-7b", "-H", "h200", *args)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:")


# ----------------------------------------------------------------------------- MoE verification tax

EXPERT_OPS = ("gate_up_proj", "down_proj", "moe_dispatch")


@pytest.mark.parametrize("profile", ["vllm", "sglang", "trtllm", "serving", "pytorch-sdpa"])
def test_moe_tax_is_the_growth_of_the_expert_operations(profile):
    """The tax line and the table describe the same operations: under every profile (the
    engines' fused MoE kernel included) the tax is the expert operations' added ms, and at
    least the extra experts' weights read once at datasheet bandwidth."""
    from specroof.hardware.accelerator import load_hardware
    from specroof.models.architecture import load_model

    e = explain("mixtral-8x7b", "h200", batch=1, candidates=16, acceptance="chain:0.8", profile=profile)
    tax = e.moe_tax
    growth = sum(c["added_ms"] for c in e.causes if c["cause"] in EXPERT_OPS)
    assert growth > 0
    assert tax["tax_ms"] == pytest.approx(growth, rel=1e-12)
    assert set(tax["expert_ops"]) <= set(EXPERT_OPS) and {"gate_up_proj", "down_proj"} <= set(tax["expert_ops"])
    m = load_model("mixtral-8x7b")
    expert_bytes = m.num_layers * 3 * m.hidden_size * m.mlp_width * 2  # gate, up, down in bf16, every layer
    floor_ms = (tax["experts_verify"] - tax["experts_plain"]) * expert_bytes / load_hardware("h200").memory_bandwidth * 1e3
    assert floor_ms < tax["tax_ms"] < e.verify_ms
    assert tax["tax_share_of_verify"] == pytest.approx(tax["tax_ms"] / e.verify_ms)


@pytest.mark.parametrize("profile", ["vllm", "sglang", "trtllm"])
def test_cli_moe_tax_line_matches_the_table(profile):
    args = ["explain", "-m", "mixtral-8x7b", "-H", "h200", "--profile", profile, "--batch", "8", "--candidates", "4",
            "--acceptance", "chain:0.8"]
    text = subprocess.run([specroof_script(), *args], capture_output=True, text=True, timeout=120)
    data = subprocess.run([specroof_script(), *args, "--format", "json"], capture_output=True, text=True, timeout=120)
    assert text.returncode == 0 and data.returncode == 0, text.stderr + data.stderr
    causes = json.loads(data.stdout)["causes"]
    growth = sum(c["added_ms"] for c in causes if c["cause"] in EXPERT_OPS)
    line = next(line for line in text.stdout.splitlines() if line.startswith("MoE verification tax"))
    assert f"+{growth:.3f} ms in gate_up_proj, down_proj" in line
    assert growth > 0.05
