"""Acceptance from the engines' own metrics: vLLM's Prometheus counters and SGLang's accept length."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import specroof
from specroof.cli import cli
from specroof.errors import SpecroofError
from specroof.speculation import EngineAcceptance, parse_acceptance, read_sglang, read_vllm_metrics
from specroof.speculation.engine_metrics import ASSUMPTION
from specroof.speculation.prometheus_text import parse_prometheus_text
from tests.support import run_cli

DATA = Path(__file__).parent / "data" / "engine-metrics"
K3 = DATA / "vllm-eagle3-k3.prom"
MODEL = "meta-llama/Llama-3.1-8B-Instruct"
LABELS = f'model_name="{MODEL}",engine="0"'


def scrape(drafts: float = 100, drafted: float = 300, accepted: float = 120, per_pos=(60, 40, 20),
           labels: str = LABELS, total: str = "_total", extra: str = "") -> str:
    """A minimal vLLM v1 scrape with HELP/TYPE lines, in the exposition format prometheus_client writes."""
    lines = []
    for name, value in (("num_drafts", drafts), ("num_draft_tokens", drafted), ("num_accepted_tokens", accepted)):
        if value is None:
            continue
        lines += [f"# HELP vllm:spec_decode_{name}{total} help text", f"# TYPE vllm:spec_decode_{name}{total} counter",
                  f"vllm:spec_decode_{name}{total}{{{labels}}} {value}",
                  f"vllm:spec_decode_{name}_created{{{labels}}} 1.7e+09"]
    if per_pos:
        lines.append("# TYPE vllm:spec_decode_num_accepted_tokens_per_pos_total counter")
        lines += [f'vllm:spec_decode_num_accepted_tokens_per_pos{total}{{{labels},position="{i}"}} {c}'
                  for i, c in enumerate(per_pos)]
    return "\n".join(lines) + "\n" + extra


def write(tmp_path: Path, text: str | bytes, name: str = "metrics.prom") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


# ------------------------------------------------------------------------------------------
# The Prometheus text parser
# ------------------------------------------------------------------------------------------


def test_parser_reads_the_real_format_example() -> None:
    samples, skipped = parse_prometheus_text(K3.read_text(), str(K3))
    assert skipped == 0
    names = {s.name for s in samples}
    assert "vllm:spec_decode_num_drafts_total" in names and "vllm:spec_decode_num_drafts_created" in names
    assert "vllm:time_to_first_token_seconds_bucket" in names
    per_pos = [s for s in samples if s.name == "vllm:spec_decode_num_accepted_tokens_per_pos_total"]
    assert [s.label("position") for s in per_pos] == ["0", "1", "2"]
    assert [s.value for s in per_pos] == [7400.0, 5300.0, 3600.0]
    assert per_pos[0].label("model_name") == MODEL and per_pos[0].label("engine") == "0"
    inf_bucket = [s for s in samples if s.label("le") == "+Inf"]
    assert inf_bucket and inf_bucket[0].value == 100.0


def test_parser_escapes_timestamps_exemplars_and_openmetrics_eof() -> None:
    text = ('# TYPE x counter\n'
            'x_total{a="q\\"uote",b="back\\\\slash",c="new\\nline",d="comma, and } brace",} 3 1700000000000\n'
            'y_total { a = "1" } 4e2 # {trace_id="abc"} 1.0\n'
            'z 5\n'
            '# EOF\n')
    samples, skipped = parse_prometheus_text(text, "t")
    assert skipped == 0
    x, y, z = samples
    assert x.label("a") == 'q"uote' and x.label("b") == "back\\slash" and x.label("c") == "new\nline"
    assert x.label("d") == "comma, and } brace" and x.value == 3.0
    assert y.value == 400.0 and y.label("a") == "1"
    assert z.labels == () and z.value == 5.0


def test_parser_skips_foreign_junk_but_not_broken_spec_decode_lines() -> None:
    samples, skipped = parse_prometheus_text("garbage here\nok 1\n", "t")
    assert skipped == 1 and [s.name for s in samples] == ["ok"]
    with pytest.raises(SpecroofError, match=r"^f\.prom:2: cannot read sample"):
        parse_prometheus_text('ok 1\nvllm:spec_decode_num_drafts_total{engine="0" 5\n', "f.prom",
                              keep="vllm:spec_decode_")


# ------------------------------------------------------------------------------------------
# vLLM: tau by hand
# ------------------------------------------------------------------------------------------


def test_vllm_per_position_curve_matches_hand_computation() -> None:
    model = parse_acceptance(f"vllm-metrics:{K3}")
    assert isinstance(model, EngineAcceptance)
    # p_i = accepted_per_pos[i] / num_drafts = 7400/10000, 5300/10000, 3600/10000
    assert model.position_rates == pytest.approx([0.74, 0.53, 0.36])
    # tau(1 + k) = 1 + sum_{i<k} p_i
    assert model.tau([1, 2, 3, 4]) == pytest.approx([1.0, 1.74, 2.27, 2.63])
    assert model.max_candidates == 4
    assert model.counters["num_drafts"] == 10000 and model.counters["num_accepted_tokens"] == 16300
    assert model.counters["mean_acceptance_length"] == pytest.approx(1 + 16300 / 10000)
    assert model.counters["draft_acceptance_rate"] == pytest.approx(16300 / 30000)
    assert model.describe() == f"vllm-metrics:{K3}"
    assert model.assumption == ASSUMPTION and "batch size" in ASSUMPTION


def test_vllm_refuses_to_extrapolate_beyond_drafted_positions() -> None:
    model = read_vllm_metrics(K3)
    with pytest.raises(SpecroofError, match="up to n=4 .3 draft tokens per step.; refusing to extrapolate"):
        model.tau(5)


def test_vllm_engines_are_summed() -> None:
    two = read_vllm_metrics(DATA / "vllm-two-engines.prom")
    one = read_vllm_metrics(K3)
    assert two.tau([1, 2, 3, 4]) == pytest.approx(one.tau([1, 2, 3, 4]))
    assert two.counters["num_drafts"] == 10000
    assert any("2 engine" in note for note in two.notes)


def test_vllm_without_per_position_counters_is_a_single_point() -> None:
    model = read_vllm_metrics(DATA / "vllm-no-per-position.prom")
    assert model.position_rates is None
    assert list(model.candidates) == [1, 4]
    assert model.tau(4) == pytest.approx(1 + 16300 / 10000)
    assert model.tau(2) == pytest.approx(1 + 1.63 / 3)  # the chord from (1, 1) to (4, 2.63)
    with pytest.raises(SpecroofError, match="refusing to extrapolate"):
        model.tau(5)
    assert [r["candidates"] for r in model.rows()] == [1, 4]


def test_vllm_mixed_models_need_a_choice() -> None:
    path = DATA / "vllm-two-models.prom"
    with pytest.raises(SpecroofError, match="2 models .*pick one with vllm-metrics:.*:MODEL"):
        parse_acceptance(f"vllm-metrics:{path}")
    qwen = parse_acceptance(f"vllm-metrics:{path}:Qwen/Qwen3-8B")
    assert qwen.tau([1, 2, 3]) == pytest.approx([1.0, 1.6, 1.9])  # 3000/5000, 1500/5000
    llama = parse_acceptance(f"vllm-metrics:{path}:{MODEL}")
    assert llama.tau(4) == pytest.approx(2.63)
    with pytest.raises(SpecroofError, match="no spec-decode counters for model_name 'Qwen/Qwen3-9B'.*did you mean"):
        parse_acceptance(f"vllm-metrics:{path}:Qwen/Qwen3-9B")


def test_vllm_model_names_may_hold_colons(tmp_path: Path) -> None:
    path = write(tmp_path, scrape(labels='model_name="org/m:v2",engine="0"'))
    assert parse_acceptance(f"vllm-metrics:{path}:org/m:v2").tau(4) == pytest.approx(2.2)


def test_vllm_counters_without_total_suffix_and_short_drafts(tmp_path: Path) -> None:
    # bare counter names (no _total) read the same; drafts shorter than the positions (n-gram) are noted
    path = write(tmp_path, scrape(drafted=250, total=""))
    model = read_vllm_metrics(path)
    assert model.tau([2, 3, 4]) == pytest.approx([1.6, 2.0, 2.2])
    assert any("short drafts" in note for note in model.notes)


# ------------------------------------------------------------------------------------------
# vLLM: refusals, each one line naming the file
# ------------------------------------------------------------------------------------------

BAD_VLLM = {
    "empty": ("", "no vLLM spec-decode counters"),
    "garbage": ("this is not a scrape\n{{{}}}\n\x00\x01", "binary data"),
    "json": ('{"avg_spec_accept_length": 3}', "no vLLM spec-decode counters"),
    "no spec decode": ((DATA / "vllm-no-spec-decode.prom").read_text(), "no vLLM spec-decode counters"),
    "v0 metrics": ('vllm:spec_decode_num_emitted_tokens_total{model_name="m"} 5\n'
                   'vllm:spec_decode_num_draft_tokens_total{model_name="m"} 5\n', "vLLM v0"),
    "negative": (scrape(accepted=-1, per_pos=()), "counter is a finite number >= 0"),
    "nan": (scrape(drafts="NaN"), "counter is a finite number >= 0"),
    "inf": (scrape(drafted="+Inf"), "counter is a finite number >= 0"),
    "accepted > drafted": (scrape(accepted=400, per_pos=()), "exceeds vllm:spec_decode_num_draft_tokens"),
    "zero drafts": (scrape(drafts=0, drafted=0, accepted=0, per_pos=()), "nothing was drafted yet"),
    "drafted < drafts": (scrape(drafted=50, accepted=20, per_pos=()), "is below vllm:spec_decode_num_drafts"),
    "missing drafts": (scrape(drafts=None), "lacks vllm:spec_decode_num_drafts_total"),
    "only per-position": (scrape(drafts=None, drafted=None, accepted=None), "only per-position counters"),
    "per-pos rises": (scrape(per_pos=(40, 60, 20)), "rises from 40 at position 0 to 60"),
    "per-pos > drafts": (scrape(drafts=100, drafted=300, accepted=220, per_pos=(120, 80, 20)), "exceeds vllm:spec_decode_num_drafts"),
    "missing position": (scrape(per_pos=()) + f'vllm:spec_decode_num_accepted_tokens_per_pos_total{{{LABELS},position="0"}} 80\n'
                         f'vllm:spec_decode_num_accepted_tokens_per_pos_total{{{LABELS},position="2"}} 40\n', "lacks position 1"),
    "bad position": (scrape(per_pos=()) + f'vllm:spec_decode_num_accepted_tokens_per_pos_total{{{LABELS},position="x"}} 8\n',
                     "position='x'"),
    "sum mismatch": (scrape(accepted=150), "sum to 120 but"),
    "more drafted than positions": (scrape(drafted=400, accepted=120), "cover only 3 positions"),
    "two scrapes": (scrape() + scrape(), "same labels as line"),
    "bad value": (scrape() + f"vllm:spec_decode_num_drafts_total{{{LABELS}}} lots\n", "cannot read sample"),
    "varying lengths, no per-pos": (scrape(drafted=250, per_pos=()), "varying lengths"),
}


@pytest.mark.parametrize("case", sorted(BAD_VLLM))
def test_vllm_refusals_are_one_line_naming_the_file(tmp_path: Path, case: str) -> None:
    text, message = BAD_VLLM[case]
    path = write(tmp_path, text)
    with pytest.raises(SpecroofError) as info:
        parse_acceptance(f"vllm-metrics:{path}")
    text = str(info.value)
    assert message in text, text
    assert str(path) in text and "\n" not in text


def test_vllm_unreadable_files(tmp_path: Path) -> None:
    binary = write(tmp_path, b"\xff\xfe\x00bad")
    for spec, message in [(f"vllm-metrics:{tmp_path / 'absent.prom'}", "not found"),
                          (f"vllm-metrics:{tmp_path}", "is a directory"),
                          (f"vllm-metrics:{binary}", "not a UTF-8 text file"),
                          ("vllm-metrics:", "lacks its argument")]:
        with pytest.raises(SpecroofError, match=message) as info:
            parse_acceptance(spec)
        assert "\n" not in str(info.value)


# ------------------------------------------------------------------------------------------
# SGLang
# ------------------------------------------------------------------------------------------


def test_sglang_server_info_states_n() -> None:
    model = parse_acceptance(f"sglang:{DATA / 'sglang-server-info.json'}")
    assert list(model.candidates) == [1, 4] and model.tau(4) == pytest.approx(3.0412)
    assert model.counters["speculative_algorithm"] == "EAGLE3"
    assert parse_acceptance(f"sglang:{DATA / 'sglang-server-info.json'}:4").tau(4) == pytest.approx(3.0412)
    with pytest.raises(SpecroofError, match="states speculative_num_draft_tokens=4, but N=5"):
        parse_acceptance(f"sglang:{DATA / 'sglang-server-info.json'}:5")
    with pytest.raises(SpecroofError, match="refusing to extrapolate"):
        model.tau(5)


def test_sglang_log_lines_are_averaged_with_equal_weight() -> None:
    log = DATA / "sglang-decode.log"
    with pytest.raises(SpecroofError, match=r"give it as sglang:.*:N \(N = --speculative-num-draft-tokens"):
        parse_acceptance(f"sglang:{log}")
    model = read_sglang(log, 4)
    assert model.tau(4) == pytest.approx((2.95 + 3.10 + 3.02 + 2.93) / 4)
    assert model.counters["log_lines"] == 4
    assert model.describe() == f"sglang:{log}:4"


def test_sglang_data_parallel_ranks_are_averaged(tmp_path: Path) -> None:
    info = {"speculative_num_draft_tokens": 6, "internal_states": [{"avg_spec_accept_length": 3.0},
                                                                     {"avg_spec_accept_length": 4.0}]}
    model = read_sglang(write(tmp_path, json.dumps(info), "info.json"))
    assert model.tau(6) == pytest.approx(3.5)
    assert any("2 data-parallel ranks" in note for note in model.notes)


BAD_SGLANG = {
    "empty": ("", "4", "neither SGLang server-info JSON nor a log"),
    "garbage": ("hello\nworld\n", "4", "neither SGLang server-info JSON nor a log"),
    "bad json": ("{not json", "4", "is not valid JSON"),
    "json list": ('{"internal_states": 3}', "4", "no internal_states[].avg_spec_accept_length"),
    "no key": ('{"internal_states": [{"last_gen_throughput": 1.0}]}', "4", "no internal_states"),
    "below one": ('{"internal_states": [{"avg_spec_accept_length": 0.5}]}', "4", "finite number >= 1"),
    "string value": ('{"internal_states": [{"avg_spec_accept_length": "fast"}]}', "4", "is not a number"),
    "above n": ('{"internal_states": [{"avg_spec_accept_length": 4.5}]}', "4", "exceeds N=4"),
    "n too small": ('{"internal_states": [{"avg_spec_accept_length": 1.0}]}', "1", "at least 2"),
    "n huge": ('{"speculative_num_draft_tokens": 1e308, "internal_states": [{"avg_spec_accept_length": 2}]}',
               "", "outside 2..4096"),
    "value with newline": ('{"internal_states": [{"avg_spec_accept_length": " 0.5\\n"}]}', "4", "finite number >= 1"),
    "bad stated n": ('{"speculative_num_draft_tokens": "four", "internal_states": [{"avg_spec_accept_length": 2}]}',
                     "", "expect a positive integer"),
    "log without number": ("Decode batch. accept len: , cuda graph: True\n", "4", "is not a number"),
    "log nan": ("Decode batch. accept len: nan, cuda graph: True\n", "4", "finite number >= 1"),
    "n not integer": ('{"internal_states": [{"avg_spec_accept_length": 2}]}', "x", "is not an integer"),
}


@pytest.mark.parametrize("case", sorted(BAD_SGLANG))
def test_sglang_refusals_are_one_line_naming_the_file(tmp_path: Path, case: str) -> None:
    text, n, message = BAD_SGLANG[case]
    path = write(tmp_path, text, "sglang.txt")
    with pytest.raises(SpecroofError) as info:
        parse_acceptance(f"sglang:{path}" + (f":{n}" if n else ""))
    text = str(info.value)
    assert message in text, text
    assert str(path) in text and "\n" not in text


# ------------------------------------------------------------------------------------------
# CLI and end to end
# ------------------------------------------------------------------------------------------


def invoke(*args: str) -> str:
    run = run_cli(*args)
    assert run.code == 0, run.stderr
    return run.stdout


def test_cli_from_table_states_counters_and_assumption() -> None:
    out = invoke("acceptance", "--from", f"vllm-metrics:{K3}")
    lines = out.splitlines()
    assert lines[0].startswith(f"What vllm-metrics:{K3} holds (vllm")
    assert "num_drafts 10000" in lines[1] and "num_accepted_tokens 16300" in lines[1]
    assert "independent of batch size" in lines[2]
    assert any(line.split()[:5] == ["4", "2", "3600", "0.360", "2.630"] for line in lines)


def test_cli_from_json_and_csv() -> None:
    data = json.loads(invoke("acceptance", "--from", f"vllm-metrics:{K3}", "--format", "json"))
    assert data["engine"] == "vllm" and data["assumption"] == ASSUMPTION
    assert data["counters"]["num_draft_tokens"] == 30000
    assert [r["candidates"] for r in data["rows"]] == [1, 2, 3, 4]
    rates = [r["acceptance_rate"] for r in data["rows"]]
    assert rates[0] is None and rates[1:] == pytest.approx([0.74, 0.53, 0.36])
    assert [r["acceptance_length"] for r in data["rows"]] == pytest.approx([1.0, 1.74, 2.27, 2.63])
    runner = CliRunner()
    result = runner.invoke(cli, ["acceptance", "--from", f"sglang:{DATA / 'sglang-decode.log'}:4", "--format", "csv"],
                           standalone_mode=False, catch_exceptions=False)
    assert result.stdout.splitlines()[0] == "candidates,draft_position,accepted,acceptance_rate,acceptance_length"
    assert result.stdout.splitlines()[2] == "4,,,,3.0"


@pytest.mark.parametrize("args,message", [
    (("--from", f"vllm-metrics:{K3}", "--candidates", "1,2"), "drop --candidates"),
    (("--from", "log:0.4"), "--from reads engine metrics"),
    ((), "either --acceptance SPEC .* or --from")])
def test_cli_from_rejects_other_options_and_kinds(args, message) -> None:
    run = run_cli("acceptance", *args)
    assert run.code == 2 and len(run.stderr.splitlines()) == 1
    assert re.search(message, run.stderr.removeprefix("error: ")), run.stderr


def test_cli_acceptance_spec_with_engine_metrics() -> None:
    rows = json.loads(invoke("acceptance", "--acceptance", f"vllm-metrics:{K3}", "--candidates", "1..4",
                             "--format", "json"))
    assert [r["acceptance_length"] for r in rows] == pytest.approx([1.0, 1.74, 2.63])


@pytest.mark.parametrize("args", [
    ["acceptance", "--from", f"vllm-metrics:{DATA / 'vllm-no-spec-decode.prom'}"],
    ["acceptance", "--acceptance", f"vllm-metrics:{K3}"],  # default candidates go past n=4
    ["acceptance", "--from", f"sglang:{DATA / 'sglang-decode.log'}"],
])
def test_cli_refusals_exit_2_with_one_line(args: list[str]) -> None:
    proc = subprocess.run([sys.executable, "-c", "from specroof.cli import main; main()", *args],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in proc.stderr


def test_speedup_with_vllm_metrics_end_to_end() -> None:
    result = CliRunner().invoke(cli, ["speedup", "-m", "llama-3-8b", "-H", "h200", "--batch", "1,8",
                                      "--candidates", "1,2,3,4", "--acceptance", f"vllm-metrics:{K3}",
                                      "--draft-model", "llama-3.2-1b", "--format", "json"],
                                standalone_mode=False, catch_exceptions=False)
    rows = json.loads(result.stdout)
    assert len(rows) == 8
    by_n = {(r["batch"], r["candidates"]): r for r in rows}
    for batch in (1, 8):  # the same tau at every batch size: the stated assumption
        assert [by_n[batch, n]["acceptance_length"] for n in (1, 2, 3, 4)] == pytest.approx([1.0, 1.74, 2.27, 2.63])
        assert by_n[batch, 1]["speedup"] == pytest.approx(1.0)
        assert by_n[batch, 3]["speedup"] > 1.0
    assert "independent of batch size" in result.stderr


def test_api_speedup_with_engine_metrics() -> None:
    result = specroof.speedup("llama-3-8b", "h200", batch=[1], candidates=[1, 4], seq_len=1024,
                              acceptance=f"sglang:{DATA / 'sglang-server-info.json'}")
    assert np.ravel(result.acceptance_length) == pytest.approx([1.0, 3.0412])
    with pytest.raises(SpecroofError, match="refusing to extrapolate"):
        specroof.speedup("llama-3-8b", "h200", batch=[1], candidates=[8], acceptance=f"vllm-metrics:{K3}")


# ------------------------------------------------------------------------------------------
# Fuzz: junk never raises anything but SpecroofError
# ------------------------------------------------------------------------------------------

_FRAGMENTS = [
    "vllm:spec_decode_num_drafts_total", "vllm:spec_decode_num_draft_tokens_total",
    "vllm:spec_decode_num_accepted_tokens_total", "vllm:spec_decode_num_accepted_tokens_per_pos_total",
    "vllm:spec_decode_num_drafts", "_created", "{", "}", ",", "=", '"', "\\", " ", "\n", "\t", "# TYPE ", "# HELP ",
    'model_name="m"', 'engine="0"', 'engine="1"', 'position="0"', 'position="1"', 'position="7"', 'position="-1"',
    'position="99999999999999"', 'position="²"', "1", "0", "-3", "2.5", "1e308", "1e309", "NaN", "+Inf", "-Inf", "0x10",
    "accept len: ", "Decode batch. ", '{"internal_states": [', '{"avg_spec_accept_length": ', "]}", "null", "true",
    '"speculative_num_draft_tokens": ', "1e999", "3.5",
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pieces=st.lists(st.one_of(st.sampled_from(_FRAGMENTS), st.text(max_size=8)), max_size=40),
       n=st.one_of(st.none(), st.integers(min_value=-2, max_value=10)))
def test_fuzz_parsers_raise_only_specroof_error(tmp_path: Path, pieces: list[str], n: int | None) -> None:
    path = tmp_path / "fuzz.txt"
    path.write_bytes("".join(pieces).encode("utf-8", errors="replace"))  # lone surrogates become '?'
    for reader in (lambda: read_vllm_metrics(path), lambda: read_vllm_metrics(path, model="m"),
                   lambda: read_sglang(path, n)):
        try:
            model = reader()
        except SpecroofError as exc:
            assert "\n" not in str(exc)
            continue
        taus = model.tau(np.arange(1, model.max_candidates + 1))
        assert taus[0] == 1.0 and np.all(np.diff(taus) >= -1e-12) and np.all(np.isfinite(taus))


def test_api_speedup_eagle3_with_vllm_metrics_on_the_vllm_profile() -> None:
    result = specroof.speedup("llama-3-8b", "h200", batch=[1, 32], candidates=[1, 2, 3, 4], seq_len=1024,
                              acceptance=f"vllm-metrics:{K3}", method="eagle3", profile="vllm")
    tau = np.asarray(result.acceptance_length)
    assert tau[0, :, 0] == pytest.approx([1.0, 1.74, 2.27, 2.63])
    assert tau[1, :, 0] == pytest.approx(tau[0, :, 0])  # the same at batch 32: the stated assumption
    assert np.all(np.asarray(result.speedup)[:, 3, 0] > 1.0)


def test_each_reader_says_what_its_n_counts(tmp_path):
    """vLLM counts the positions of a chain; SGLang's N counts tree nodes, unless its server info
    says topk 1 (a chain). The reader says so; nothing downstream compares engine names."""
    assert read_vllm_metrics(K3).counts == "positions"
    assert read_sglang(DATA / "sglang-server-info.json").counts == "positions"  # topk 1
    tree = json.loads((DATA / "sglang-server-info.json").read_text())
    tree["speculative_eagle_topk"] = 4
    (tmp_path / "tree.json").write_text(json.dumps(tree))
    assert read_sglang(tmp_path / "tree.json").counts == "nodes"
    assert read_sglang(DATA / "sglang-decode.log", 4).counts == "nodes"  # a log does not say topk
