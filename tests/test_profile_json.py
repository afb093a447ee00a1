"""speculation_profile.json (NVIDIA Model-Optimizer's schema 1.0): read, validated, written, round-tripped."""

from __future__ import annotations

import copy
import json
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from specroof.errors import SpecroofError, SpecroofWarning
from specroof.speculation.acceptance_spec import parse_acceptance
from specroof.speculation.profile_acceptance import ProfileAcceptance
from specroof.speculation.profile_build import (
    histogram_from_positions,
    profile_from_engine,
    profile_from_marginals,
    profile_text,
    write_profile,
)
from specroof.speculation.profile_json import MEAN_TOLERANCE, check_profile, read_profile
from tests.support import run_cli

DATA = Path(__file__).parent / "data" / "engine-metrics"
K3 = DATA / "vllm-eagle3-k3.prom"


def hand_profile() -> dict:
    """Model-Optimizer's own test case (tests/test_speculation_profile.py): 100 steps, 40 of length 1,
    30 of length 2, 30 of length 3, K = 3; computed by hand here: P(len >= 2) = 0.6, P(len >= 3) = 0.3."""
    return {
        "schema_version": "1.0", "measured": True, "method": "eagle3", "draft_checkpoint": None,
        "target_model": None, "num_speculative_tokens": 3, "block_size": None, "max_supported_k": 3,
        "verification_method": "longest_prefix", "conditional_accept_rates": [0.6, 0.5, 0.0],
        "marginal_accept_rates": [0.6, 0.3, 0.0], "mean_accept_length": 1.9,
        "mean_accept_length_per_request": 1.9, "accept_length_model": "chain_analytic",
        "accept_length_by_k": {"3": 1.9}, "acceptance_length_histogram": {"1": 40, "2": 30, "3": 30},
        "per_category": {"coding": {"mean_accept_length": 2.2}, "writing": {"mean_accept_length": 1.6}},
        "measurement_conditions": {"dataset": "mt_bench"}, "validation": None,
    }


def run_warned(*args: str):
    """``run_cli`` with every warning shown (pytest's -W ignore would hide the ``warning:`` lines)."""
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        return run_cli(*args)


def write(tmp_path: Path, profile: dict, name: str = "p.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(profile))
    return path


def test_builder_matches_the_hand_computation():
    profile = profile_from_marginals([0.6, 0.3, 0.0], method="eagle3", histogram={"1": 40, "2": 30, "3": 30})
    assert profile["marginal_accept_rates"] == pytest.approx([0.6, 0.3, 0.0])
    assert profile["conditional_accept_rates"] == pytest.approx([0.6, 0.5, 0.0])
    assert profile["mean_accept_length"] == pytest.approx(1.9)
    assert profile["accept_length_model"] == "chain_analytic"
    assert profile["validation"]["mean_consistency"]["passed"]


def test_histogram_from_vllm_position_counts():
    # vLLM's per-position counters are longest-prefix counts: 100 drafts, 60 accepted position 0, 40 position 1...
    assert histogram_from_positions([60, 40, 20], 100) == {"1": 40, "2": 20, "3": 20, "4": 20}


def test_profile_acceptance_reads_tau_from_the_marginals(tmp_path):
    model = parse_acceptance(f"profile:{write(tmp_path, hand_profile())}")
    assert isinstance(model, ProfileAcceptance)
    assert model.tau([1, 2, 3, 4]) == pytest.approx([1.0, 1.6, 1.9, 1.9])
    with pytest.raises(SpecroofError, match="refusing to extrapolate"):
        model.tau(5)  # never past the largest K measured


def test_measured_per_k_gives_tau_only_where_measured(tmp_path):
    profile = hand_profile() | {"accept_length_model": "measured_per_k", "method": "dflash"}
    model = parse_acceptance(f"profile:{write(tmp_path, profile)}")
    assert model.max_candidates == 4
    assert float(model.tau(4)) == pytest.approx(1.9)
    assert list(model.candidates) == [1, 4]  # n = 2, 3 are not measured points


def test_category_mean(tmp_path):
    path = write(tmp_path, hand_profile())
    assert float(parse_acceptance(f"profile:{path}:coding").tau(4)) == pytest.approx(2.2)
    with pytest.raises(SpecroofError, match="no category 'cooking'.*coding, writing"):
        parse_acceptance(f"profile:{path}:cooking")


def test_unmeasured_placeholder_is_refused(tmp_path):
    stub = hand_profile() | {"measured": False, "mean_accept_length": None, "validation": None,
                             "acceptance_length_histogram": None, "accept_length_by_k": {},
                             "conditional_accept_rates": [0.0] * 3, "marginal_accept_rates": [0.0] * 3}
    read_profile(write(tmp_path, stub))  # a valid file...
    with pytest.raises(SpecroofError, match="unmeasured placeholder"):
        parse_acceptance(f"profile:{write(tmp_path, stub)}")  # ...but no acceptance


def test_every_problem_is_one_line(tmp_path):
    bad = hand_profile()
    bad["marginal_accept_rates"] = [0.6, 0.7, 1.2]          # rises, and 1.2 is no probability
    bad["conditional_accept_rates"] = [0.6, 0.5]            # one short
    bad["mean_accept_length"] = 1.5                         # != 1 + sum(marginals)
    bad["per_category"] = {"coding": {"mean_accept_length": 9.0}}
    with pytest.raises(SpecroofError) as info:
        read_profile(write(tmp_path, bad))
    lines = str(info.value).splitlines()
    # vector length, the 1.2, the mean vs the marginals, vs the histogram (twice), vs accept_length_by_k, the category
    assert len(lines) == 7, lines
    assert all(line.startswith(str(tmp_path / "p.json") + ": ") for line in lines)
    text = str(info.value)
    assert "conditional_accept_rates has 2 entries" in text
    assert "marginal_accept_rates[2] = 1.2 is not a probability" in text
    assert "per_category['coding'].mean_accept_length 9" in text
    assert "mean_accept_length 1.5 differs from 1 + sum(marginal_accept_rates) = 3.5" in text
    assert "mean_accept_length 1.5 is outside" not in text  # 1.5 is in range; the sum check applies instead


@pytest.mark.parametrize(("change", "message"), [
    ({"marginal_accept_rates": [0.6, 0.7, 0.0], "conditional_accept_rates": [0.6, 1.0, 0.0],
      "acceptance_length_histogram": None, "mean_accept_length": 2.3, "accept_length_by_k": {"3": 2.3}},
     "marginal_accept_rates rise from 0.6 at position 0 to 0.7"),
    ({"mean_accept_length": 1.9 + 2 * MEAN_TOLERANCE, "accept_length_by_k": {"3": 1.9 + 2 * MEAN_TOLERANCE}},
     "differs from 1 \\+ sum"),
    ({"conditional_accept_rates": [0.6, 0.6, 0.0]}, "multiply to 0.36"),
    ({"acceptance_length_histogram": {"1": 40, "2": 40, "3": 20}}, "P\\(length >= 2\\) = 0.6.*|P\\(length >= 3\\)"),
    ({"acceptance_length_histogram": {"1": 40, "5": 60}}, "length 5, outside 1..4"),
    ({"accept_length_by_k": {"3": 1.95}}, "accept_length_by_k\\[3\\] = 1.95 differs"),
    ({"max_supported_k": 2}, "max_supported_k 2 is below K = 3"),
    ({"schema_version": "2.0"}, "schema_version '2.0'"),
    ({"verification_method": "block"}, "block verification"),
    ({"marginal_accept_rates": "0.6"}, "marginal_accept_rates must be a list"),
    ({"measured": "yes"}, "measured must be true or false"),
    ({"accept_length_model": "guess"}, "accept_length_model"),
])
def test_malformed_profiles_are_refused(tmp_path, change, message):
    with pytest.raises(SpecroofError, match=message):
        read_profile(write(tmp_path, hand_profile() | change))


def test_unknown_keys_are_kept_and_named(tmp_path):
    profile = hand_profile() | {"new_field_of_a_later_schema": [1, 2]}
    with pytest.warns(SpecroofWarning, match="new_field_of_a_later_schema"):
        read = read_profile(write(tmp_path, profile))
    assert read == profile


def test_round_trip_profile_specroof_profile_is_lossless(tmp_path):
    original = hand_profile()
    source = write(tmp_path, original)
    result = run_cli("acceptance", "--from", f"profile:{source}", "--write-profile", str(tmp_path / "out.json"))
    assert result.code == 0, result.stderr
    assert json.loads((tmp_path / "out.json").read_text()) == original


def test_vllm_metrics_to_profile_and_back(tmp_path):
    out, again = tmp_path / "p.json", tmp_path / "q.json"
    result = run_cli("acceptance", "--from", f"vllm-metrics:{K3}", "--write-profile", str(out), "--method", "eagle3")
    assert result.code == 0, result.stderr
    profile = json.loads(out.read_text())
    assert profile["marginal_accept_rates"] == pytest.approx([0.74, 0.53, 0.36])  # 7400, 5300, 3600 of 10000
    assert profile["mean_accept_length"] == pytest.approx(2.63)
    engine = parse_acceptance(f"vllm-metrics:{K3}")
    assert parse_acceptance(f"profile:{out}").tau([1, 2, 3, 4]) == pytest.approx(engine.tau([1, 2, 3, 4]))
    assert run_cli("acceptance", "--from", f"profile:{out}", "--write-profile", str(again)).code == 0
    assert again.read_bytes() == out.read_bytes()


def test_unnamed_method_is_measured_per_k_with_a_warning(tmp_path):
    result = run_warned("acceptance", "--from", f"vllm-metrics:{K3}", "--write-profile", str(tmp_path / "p.json"))
    assert result.code == 0
    assert "warning: accept_length_model measured_per_k" in result.stderr
    assert json.loads((tmp_path / "p.json").read_text())["accept_length_model"] == "measured_per_k"


def test_sglang_mean_only_profile(tmp_path):
    out = tmp_path / "s.json"
    result = run_warned("acceptance", "--from", f"sglang:{DATA / 'sglang-server-info.json'}", "--write-profile", str(out))
    assert result.code == 0, result.stderr
    assert "no per-position rates" in result.stderr
    profile = read_profile(out)
    assert profile["marginal_accept_rates"] is None and profile["accept_length_model"] == "measured_per_k"
    assert float(parse_acceptance(f"profile:{out}").tau(4)) == pytest.approx(3.0412)


def test_writing_over_an_input_is_refused_and_leaves_it(tmp_path):
    source = write(tmp_path, hand_profile())
    before = source.read_bytes()
    result = run_cli("acceptance", "--from", f"profile:{source}", "--write-profile", str(source))
    assert result.code == 2 and "one of this command's input files" in result.stderr
    assert source.read_bytes() == before


def test_an_invalid_profile_is_never_written(tmp_path):
    out = tmp_path / "out.json"
    out.write_text("old")
    bad = hand_profile() | {"mean_accept_length": 3.5, "accept_length_by_k": {"3": 3.5}}
    with pytest.raises(SpecroofError):
        write_profile(out, bad)
    assert out.read_text() == "old"


@pytest.mark.parametrize("args", [
    ("--acceptance", "log:0.5", "--write-profile", "x.json"),
    ("--from", f"vllm-metrics:{K3}", "--method", "eagle3"),
    ("--acceptance", "log:0.5", "--target", "t"),
])
def test_option_combinations(args):
    result = run_cli("acceptance", *args)
    assert result.code == 2 and result.stderr.startswith("error: ") and len(result.stderr.strip().splitlines()) == 1


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 1000), min_size=2, max_size=8).filter(lambda h: sum(h) > 0))
def test_any_histogram_makes_a_valid_profile(counts):
    histogram = {str(i + 1): c for i, c in enumerate(counts)}
    k = len(counts) - 1
    total = sum(counts)
    marginal = [sum(counts[i + 1:]) / total for i in range(k)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        profile = profile_from_marginals(marginal, method="eagle3", histogram=histogram)
    check_profile(copy.deepcopy(profile), "generated")
    model = ProfileAcceptance(profile, "profile:generated")
    mean = sum((i + 1) * c for i, c in enumerate(counts)) / total
    assert float(model.tau(k + 1)) == pytest.approx(mean, abs=k * 1e-6)
    assert np.all(np.diff(model.tau(np.arange(1, k + 2))) >= -1e-12)


def test_speedup_uses_a_profile(tmp_path):
    path = write(tmp_path, hand_profile())
    result = run_cli("speedup", "-m", "llama-3-8b", "-H", "h200", "--batch", "1", "--candidates", "1,3",
                     "--acceptance", f"profile:{path}", "--method", "eagle3", "--format", "json")
    assert result.code == 0, result.stderr
    rows = json.loads(result.stdout)
    rows = rows["rows"] if isinstance(rows, dict) else rows
    assert [r["acceptance_length"] for r in rows] == pytest.approx([1.0, 1.9])


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(0, 500), min_size=2, max_size=7).filter(lambda h: sum(h[1:]) > 0),
       st.sampled_from(["eagle3", "dflash", None]))
def test_round_trip_is_lossless_for_any_measured_profile(tmp_path_factory, counts, method):
    total, k = sum(counts), len(counts) - 1
    marginal = [sum(counts[i + 1:]) / total for i in range(k)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SpecroofWarning)
        original = profile_from_marginals(marginal, method=method,
                                          histogram={str(i + 1): c for i, c in enumerate(counts)})
    path = tmp_path_factory.mktemp("rt") / "p.json"
    path.write_text(profile_text(original))
    again = profile_text(profile_from_engine(parse_acceptance(f"profile:{path}")))
    assert again == path.read_text()


def test_a_missing_output_folder_fails_before_any_work(tmp_path):
    result = run_cli("acceptance", "--from", f"vllm-metrics:{K3}", "--write-profile", str(tmp_path / "no" / "p.json"))
    assert result.code == 2 and "does not exist" in result.stderr and result.stdout == ""


def test_writing_one_category_is_refused(tmp_path):
    path = write(tmp_path, hand_profile())
    result = run_cli("acceptance", "--from", f"profile:{path}:coding", "--write-profile", str(tmp_path / "o.json"))
    assert result.code == 2 and "drop the :CATEGORY" in result.stderr
    assert not (tmp_path / "o.json").exists()


@pytest.mark.parametrize(("text", "message"), [
    ("[1, 2]", "expected a table/object"),
    ('{"schema_version": "1.0", "schema_version": "1.0"}', "twice"),
    ("[" * 100000 + "]" * 100000, "nested too deeply"),
    ("not json", "not valid JSON"),
])
def test_hostile_files_are_one_error(tmp_path, text, message):
    path = tmp_path / "p.json"
    path.write_text(text)
    result = run_cli("acceptance", "--acceptance", f"profile:{path}")
    assert result.code == 2 and message in result.stderr and len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(("change", "message"), [
    ({"marginal_accept_rates": [float("nan"), 0.3, 0.0]}, "finite"),
    ({"accept_length_by_k": {"99999999999999999999": 2.0}}, "1..64"),
    ({"num_speculative_tokens": 10 ** 30}, "at most"),
    ({"acceptance_length_histogram": {"1": -5}}, ">= 0"),
])
def test_hostile_values_are_refused(tmp_path, change, message):
    with pytest.raises(SpecroofError, match=message):
        read_profile(write(tmp_path, hand_profile() | change))
