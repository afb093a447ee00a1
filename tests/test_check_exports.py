"""``plan --export`` writes each engine's own per-batch form and a one-k fallback with the
version named, and what it writes reads back through ``specroof check`` with no trap."""

from __future__ import annotations

import json
import re
import warnings

import pytest
import yaml

from specroof.speculation.engines.config_check import TRAP, check_text
from specroof.speculation.exports import export_table
from specroof.speculation.plan import plan


def _plan(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return plan(*args, **kwargs)


@pytest.fixture(scope="module")
def plans():
    """Two-range plans: an EAGLE-3 chain, a draft model, and n-gram lookup out to 1,024 sequences."""
    return {
        "eagle3": _plan("llama-3.1-8b", "h100-sxm", [1, 8, 64, 128], [1024], acceptance="chain:0.8", method="eagle3",
                        max_candidates=6),
        "draft": _plan("llama-3-8b", "h200", [1, 64, 512, 1024], [1024], acceptance="chain:0.8",
                       draft_model="llama-3.2-1b"),
        "ngram": _plan("llama-3-8b", "h200", [1, 64, 512, 1024], [512], acceptance="chain:0.9", method="ngram",
                       max_candidates=6),
        "off-at-256": _plan("llama-3-8b", "h200", [1, 64, 256, 512], [1024], acceptance="chain:0.6",
                            draft_model="llama-3.2-1b"),  # [[1, 63, 2], [64, 255, 1], [256, 512, 0]]
    }


@pytest.mark.parametrize("engine", ["vllm", "sglang", "trtllm"])
@pytest.mark.parametrize("name", ["eagle3", "draft", "ngram", "off-at-256"])
def test_exports_read_back_with_no_trap(plans, engine, name):
    p = plans[name]
    assert len(export_table(p, "json")) > 1  # a real schedule, so the per-batch forms are exercised
    text = export_table(p, engine)
    reports = check_text(text, f"{name}.{engine}", engine)
    traps = [(r.config.label, f.check, f.detail) for r in reports for f in r.findings if f.status == TRAP]
    if name == "off-at-256":
        assert export_table(p, "json")[-1][2] == 0  # the plan stops speculating: the export still reads back
    if engine == "vllm" and name != "eagle3":  # model runner V2 does not run these: the table costs full graphs
        assert [check for _, check, _ in traps] == ["per-batch schedule"] and "warning: vLLM runs this table" in text
        one_k = [line[2:] for line in text.splitlines() if line.startswith("# vllm serve") and "--speculative" in line]
        assert one_k and all(not r.traps for line in one_k for r in check_text(line, "one-k", "vllm"))
        return
    assert not traps
    assert all(r.config.k == max(k for _, _, k in export_table(p, "json")) for r in reports[:1])


def test_vllm_per_batch_form_and_one_k_fallback(plans):
    ranges = export_table(plans["ngram"], "json")
    text = export_table(plans["ngram"], "vllm")
    (launch,) = [line for line in text.splitlines() if "vllm serve" in line and not line.startswith("#")]
    config = json.loads(re.search(r"--speculative-config '(.*)'", launch).group(1))
    assert config["num_speculative_tokens_per_batch_size"] == ranges and "v0.24" in text
    fallback = [line for line in text.splitlines() if line.startswith("# vllm serve")]
    assert [json.loads(re.search(r"--speculative-config '(.*)'", f).group(1))["num_speculative_tokens"]
            for f in fallback] == [k for _, _, k in ranges]
    top = max(end * (k + 1) for _, end, k in ranges)
    assert top > 2048 and f"--max-num-batched-tokens {top}" in launch  # vLLM drops graphs above the budget


def test_sglang_adaptive_steps_over_the_plans_k(plans):
    ranges = export_table(plans["eagle3"], "json")
    text = export_table(plans["eagle3"], "sglang")
    launches = [line for line in text.splitlines() if line.startswith("python3 -m sglang")]
    assert len(launches) == 1 and "--speculative-adaptive-config adaptive.json" in launches[0]
    (config,) = [json.loads(line[2:]) for line in text.splitlines() if line.startswith("# {\"candidate_steps\"")]
    assert config == {"candidate_steps": sorted({k for _, _, k in ranges if k > 0})}
    assert "PR #21599" in text and sum(line.startswith("# python3 -m sglang") for line in text.splitlines()) == 2


def test_sglang_without_adaptive_support_says_so(plans):
    text = export_table(plans["draft"], "sglang")  # STANDALONE: no adaptive steps yet
    assert "no per-batch form in SGLang for STANDALONE" in text
    assert sum(line.startswith("python3 -m sglang") for line in text.splitlines()) == len(
        export_table(plans["draft"], "json"))


def test_trtllm_export_is_one_yaml_file_with_the_schedule(plans):
    ranges = export_table(plans["eagle3"], "json")
    text = export_table(plans["eagle3"], "trtllm")
    launch, options_text = text.split("\n", 1)[1].split("trtllm-serve ", 1)[1].split("\n", 1)
    assert launch.endswith("--extra_llm_api_options extra.yaml")
    options = yaml.safe_load(options_text)
    spec = options["speculative_config"]
    assert spec["draft_len_schedule"] == {end: k for _, end, k in ranges if k > 0}
    assert spec["max_draft_len"] == max(k for _, _, k in ranges) and "PR #10860" in text
    assert options["cuda_graph_config"]["max_batch_size"] == ranges[-1][1]
    assert "#   speculative_config:" in text  # the one-k blocks, commented
