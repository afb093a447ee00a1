"""Exports for other simulators: Dynamo mocker's speculative flags and llm-d inference-sim's latency profile."""

from __future__ import annotations

import json
import re
import shlex
import warnings

import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from specroof.cli import cli
from specroof.speculation.acceptance import ChainAcceptance, CurveAcceptance
from specroof.speculation.engines.dynamo_mocker import MAX_NEXTN, conditional_rates
from specroof.speculation.exports import export_table
from specroof.speculation.plan import batch_ranges, plan


def _plan(acceptance: str = "chain:0.7", batch=(1, 8, 64), seq_len=(1024,), max_candidates: int = 5):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return plan("llama-3.1-8b", "h100-sxm", list(batch), list(seq_len), acceptance=acceptance, method="eagle3",
                    max_candidates=max_candidates)


class _Fake:
    """Just what conditional_rates reads of a plan: its acceptance model."""

    def __init__(self, acceptance):
        self.acceptance = acceptance


@settings(max_examples=40, deadline=None)
@given(alpha=st.floats(0.05, 0.95), k=st.integers(1, 5))
def test_a_chains_conditional_rates_are_its_alpha(alpha, k):
    assert conditional_rates(_Fake(ChainAcceptance(alpha)), k) == pytest.approx([alpha] * k)


def test_conditional_rates_keep_the_plans_tokens_per_step():
    curve = CurveAcceptance([(1, 1.0), (2, 1.8), (3, 2.3), (4, 2.55), (5, 2.6)])
    rates = conditional_rates(_Fake(curve), 4)
    mean_tokens = 1 + sum(np.prod(rates[:i]) for i in range(1, 5))  # the mocker's expectation
    assert mean_tokens == pytest.approx(2.6)
    assert rates[0] == pytest.approx(0.8) and all(0 <= r <= 1 for r in rates)


def _launches(text: str) -> list[list[str]]:
    return [shlex.split(line.lstrip("# ")) for line in text.splitlines() if "dynamo.mocker" in line]


def test_dynamo_mocker_export_has_one_launch_per_k_of_the_schedule():
    p = _plan()
    text = export_table(p, "dynamo-mocker")
    launches = _launches(text)
    ks = [k for _, _, k in batch_ranges(p)]
    assert len(launches) == len(ks)
    for words, k in zip(launches, ks):
        if k == 0:
            assert "--aic-nextn" not in words
            continue
        nextn = int(words[words.index("--aic-nextn") + 1])
        rates = words[words.index("--aic-nextn-accept-rates") + 1].split(",")
        assert nextn == min(k, MAX_NEXTN) and len(rates) == nextn
        assert [float(r) for r in rates] == pytest.approx([0.7] * nextn, abs=1e-4)
    engine_args = [json.loads(line.split("JSON: ", 1)[1]) for line in text.splitlines() if "JSON: " in line]
    assert all(set(a) == {"max_num_seqs", "aic_nextn", "aic_nextn_accept_rates", "aic_mtp_seed"} for a in engine_args)


def test_dynamo_mocker_caps_k_at_five_and_says_so():
    p = _plan("chain:0.95", batch=(1,), max_candidates=8)
    assert batch_ranges(p)[0][2] > MAX_NEXTN
    text = export_table(p, "dynamo-mocker")
    assert "at most 5 draft tokens" in text
    (words,) = _launches(text)
    assert words[words.index("--aic-nextn") + 1] == "5"


def test_llmd_profile_folds_speculation_into_the_token_latency():
    p = _plan(batch=(1, 8, 64), seq_len=(1024, 4096))
    text = export_table(p, "llm-d-sim")
    profile = yaml.safe_load(text)
    assert profile["engine"] == "vllm" and profile["latency-calculator"] == "per-token"
    ranges = batch_ranges(p)
    assert profile["max-num-seqs"] == ranges[-1][1]
    itl_us = int(re.fullmatch(r"(\d+)us", profile["latencies"]["inter-token-latency"]).group(1))
    k1 = ranges[0][2]
    expected_us = 1000 * np.mean(p.ar_latency_ms[0] / p.sweep_speedup[0, k1])
    assert itl_us == pytest.approx(expected_us, abs=1)
    plain_us = 1000 * np.mean(p.ar_latency_ms[0])
    assert itl_us < plain_us  # speculation helps at batch 1 with chain 0.7
    assert f"inter-token-latency: {round(plain_us)}us" in text  # the A/B line, commented
    assert profile["latencies"]["time-factor-under-load"] >= 1.0


def test_plan_export_cli_writes_the_interop_formats():
    args = ["plan", "-m", "llama-3.1-8b", "-H", "h100-sxm", "--batch", "1,8", "--seq-len", "1024",
            "--acceptance", "chain:0.7", "--method", "eagle3", "--max-candidates", "4", "--export"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mocker = CliRunner().invoke(cli, [*args, "dynamo-mocker"])
        llmd = CliRunner().invoke(cli, [*args, "llm-d-sim"])
    assert mocker.exit_code == 0, mocker.output
    assert "--aic-nextn-accept-rates" in mocker.output
    assert llmd.exit_code == 0 and "inter-token-latency:" in llmd.output
