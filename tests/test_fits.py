"""Does it fit? Every priced result says so, warns about the first point that does not, and the
plan's exports avoid them and can be pasted safely (``cost/capacity.py``, ``speculation/launch.py``)."""

from __future__ import annotations

import json
import shlex
import subprocess
import warnings
from dataclasses import replace

import numpy as np
import pytest

import specroof
from specroof.cost.capacity import DoesNotFitWarning
from specroof.models.architecture import load_model
from specroof.speculation.exports import export_table
from specroof.speculation.footprint import memory_footprint
from specroof.speculation.plan import batch_ranges, plan
from support import specroof_script


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([specroof_script(), *args], capture_output=True, text=True, timeout=120)


# --------------------------------------------------------------------------- library


def test_latency_fit_matches_the_memory_footprint_at_every_point():
    batch, n, seq = [1, 64, 256], [1, 8], [1024, 8000]
    with pytest.warns(DoesNotFitWarning, match="RTX 4090 does not fit at batch 64, n=1, seq_len 1024"):
        result = specroof.latency("llama-3-8b", "rtx-4090", batch, n, seq)
    fp = memory_footprint("llama-3-8b", "rtx-4090", batch, n, seq)
    np.testing.assert_array_equal(result.fit.fits, fp.fits)  # contexts within 8192: memory decides
    np.testing.assert_allclose(result.fit.footprint_gb, fp.total_bytes / 1e9, rtol=1e-12)
    records = result.to_records()
    assert [r["fits"] for r in records] == fp.fits.ravel().tolist()
    assert records[0]["fits"] is True and records[-1]["fits"] is False


def test_kv_cache_counts_the_verified_slots():
    """n candidates add n slots per sequence: the footprint grows by b x n x bytes per token."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DoesNotFitWarning)
        result = specroof.latency("llama-3-8b", "h200", [32], [1, 17], [4096])
    kv = result.fit.memory.kv_cache_bytes[0, :, 0]
    per_token = 2 * 32 * 8 * 128 * 2  # layers x KV heads x head_dim x fp16, K and V
    assert kv[1] - kv[0] == pytest.approx(32 * 16 * per_token)


def test_tp_splits_the_footprint_per_device():
    one = specroof.latency("llama-3-8b", "h200", [16], [4], [4096]).fit.footprint_gb[0, 0, 0]
    four = specroof.latency("llama-3-8b", "h200", [16], [4], [4096], tp=4).fit.footprint_gb[0, 0, 0]
    assert four < one / 3  # weights and KV heads split four ways (the reserve is not)


def test_context_beyond_the_model_maximum_does_not_fit():
    with pytest.warns(DoesNotFitWarning, match=r"context of 8,194 tokens \(seq_len \+ n\) is beyond "
                                               r"llama-3-8b's max_position_embeddings of 8,192"):
        result = specroof.speedup("llama-3-8b", "h200", [1], [1, 4], [4096, 8190], acceptance="chain:0.8")
    assert result.step.fit.fits[0].tolist() == [[True, True], [True, False]]
    # A config that states no maximum is not checked for context.
    free = replace(load_model("llama-3-8b"), max_position_embeddings=None)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DoesNotFitWarning)
        assert specroof.latency(free, "h200", [1], [4], [8192]).fit.fits.all()


def test_a_draft_model_brings_its_own_context_limit():
    # llama-68m was trained on 2048 positions: a draft pass over 4096 tokens is out of its range.
    with pytest.warns(DoesNotFitWarning, match="beyond llama-68m's max_position_embeddings of 2,048"):
        result = specroof.speedup("llama-2-7b", "h200", [1], [4], [3000], acceptance="chain:0.8",
                                  method="draft", draft_model="llama-68m")
    assert not result.step.fit.fits.any()


def test_ops_and_explain_records_carry_fits():
    with pytest.warns(DoesNotFitWarning):
        ops = specroof.ops("llama-3-8b", "rtx-4090", batch=256, candidates=1, seq_len=8000)
    assert all(r["fits"] is False and r["footprint_gb"] > 200 for r in ops.to_records())
    from specroof.speculation.explain import explain

    fine = explain("llama-3-8b", "h200", 8, 4, 1024, acceptance="chain:0.8").summary()
    assert fine["fits"] is True and 16 < fine["footprint_gb"] < 141


# --------------------------------------------------------------------------- command line


def test_cli_rtx_4090_batch_256_at_8k_is_flagged():
    proc = run("latency", "-m", "llama-3-8b", "-H", "rtx-4090", "--batch", "1,256", "--seq-len", "8000",
               "--format", "json")
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    assert [r["fits"] for r in rows] == [True, False]
    assert rows[1]["footprint_gb"] > 250  # the KV cache alone is 268 GB
    [line] = [x for x in proc.stderr.splitlines() if x.startswith("warning:") and "does not fit" in x]
    assert "does not fit at batch 256, n=1, seq_len 8000" in line and "against 24.0 GB" in line
    table = run("speedup", "-m", "llama-3-8b", "-H", "rtx-4090", "--batch", "1,256", "--seq-len", "8000",
                "--candidates", "1,4", "--acceptance", "chain:0.8")
    assert table.returncode == 0, table.stderr
    body = table.stdout.splitlines()
    assert "fits" in body[2] and body[-1].rstrip().endswith("NO") and body[-4].rstrip().endswith("yes")


def test_cli_plan_writes_no_export_for_a_model_that_does_not_fit():
    # Llama-3-70B in fp16 needs 144 GB of weights alone, more than one 141 GB H200.
    for engine in ("vllm", "sglang", "trtllm", "json"):
        proc = run("plan", "-m", "llama-3-70b", "-H", "h200", "--batch", "52", "--seq-len", "4096",
                   "--acceptance", "chain:0.8", "--export", engine)
        assert proc.returncode == 2, proc.stdout
        assert proc.stdout == "" and "vllm serve" not in proc.stdout
        assert "error: nothing in this plan fits" in proc.stderr
        warning = [x for x in proc.stderr.splitlines() if x.startswith("warning:")][0]
        needed = float(warning.split("needs ")[1].split(" GB")[0])
        assert needed > 200 and "against 141.0 GB" in warning


def test_cli_plan_export_stops_at_the_largest_batch_that_fits():
    proc = run("plan", "-m", "llama-3-8b", "-H", "rtx-4090", "--batch", "1,8,64,256", "--seq-len", "2048",
               "--acceptance", "chain:0.8", "--export", "vllm")
    assert proc.returncode == 0, proc.stderr
    with pytest.warns(DoesNotFitWarning):
        p = plan("llama-3-8b", "rtx-4090", [1, 8, 64, 256], [2048], acceptance="chain:0.8")
    assert p.fits[:, 0].tolist() == [True, True, False, False]  # 16 GB of weights + 17 GB of cache at 64
    assert "batch sizes above 8 do not fit" in proc.stdout
    [line] = [x for x in proc.stdout.splitlines() if x.startswith("vllm serve")]
    words = shlex.split(line)
    assert words[words.index("--max-num-seqs") + 1] == "8"
    assert json.loads(words[words.index("--speculative-config") + 1])["num_speculative_tokens_per_batch_size"][-1][1] == 8


# --------------------------------------------------------------------------- exports


def _tp4_plan():
    return plan("llama-3-70b", "h100-sxm", [1, 8, 64, 256], [1024], acceptance="chain:0.8", method="draft",
                draft_model="llama-3.2-1b", tp=4, dtype="bf16", weight_dtype="fp8", kv_dtype="fp8")


def test_tp4_vllm_export_carries_tp_dtypes_model_batch_and_graph_sizes():
    p = _tp4_plan()
    ranges = batch_ranges(p)
    [line] = [x for x in export_table(p, "vllm").splitlines() if x.startswith("vllm serve")]
    words = shlex.split(line)

    def flag(name):
        return words[words.index(name) + 1]

    assert words[:3] == ["vllm", "serve", "meta-llama/Meta-Llama-3-70B"]
    assert flag("--tensor-parallel-size") == "4" and flag("--dtype") == "bfloat16"
    assert flag("--quantization") == "fp8" and flag("--kv-cache-dtype") == "fp8"
    assert flag("--max-num-seqs") == "256"
    sizes = json.loads(flag("--compilation-config"))["cudagraph_capture_sizes"]
    for start, end, k in ranges:  # every batch size of the schedule, at its k + 1 tokens each, is covered
        assert max(sizes) >= end * (k + 1) and end * (k + 1) in sizes
    spec = json.loads(flag("--speculative-config"))
    assert spec["model"] == "meta-llama/Llama-3.2-1B" and spec["num_speculative_tokens_per_batch_size"] == ranges


def test_tp4_sglang_and_trtllm_exports_carry_tp():
    p = _tp4_plan()
    for line in (x for x in export_table(p, "sglang").splitlines() if x.startswith("python3")):
        words = shlex.split(line)
        assert words[words.index("--tp-size") + 1] == "4"
        assert words[words.index("--quantization") + 1] == "fp8"
        assert words[words.index("--kv-cache-dtype") + 1] == "fp8_e4m3"
        cap = int(words[words.index("--max-running-requests") + 1])
        assert cap == int(words[words.index("--cuda-graph-max-bs") + 1]) and 1 <= cap <= 256
    trt = export_table(p, "trtllm")
    assert "tensor_parallel_size: 4" in trt and "kv_cache_config:\n  dtype: fp8" in trt
    assert "cuda_graph_config:\n  enable_padding: true" in trt and "ModelOpt" in trt


@pytest.mark.parametrize("name", ["$(rm -rf ~)", "evil\nrm -rf ~", "a'b;`id`", "x --tensor-parallel-size 99"])
def test_exports_quote_a_hostile_model_folder_name(tmp_path, name):
    folder = tmp_path / name
    folder.mkdir()
    base = load_model("llama-3-8b")
    cfg = {"hidden_size": base.hidden_size, "intermediate_size": base.intermediate_size,
           "num_hidden_layers": base.num_layers, "num_attention_heads": base.num_heads,
           "num_key_value_heads": base.num_kv_heads, "vocab_size": base.vocab_size,
           "max_position_embeddings": 8192}
    (folder / "config.json").write_text(json.dumps(cfg), encoding="utf-8")
    p = plan(str(folder / "config.json"), "h200", [1, 64], [1024], acceptance="chain:0.8", method="eagle3",
             max_candidates=6)
    shown = name.replace("\n", "\\n")  # a newline is written as an escape: every command stays one line
    for engine, prefix in (("vllm", ("vllm serve ", "VLLM_USE_V2_MODEL_RUNNER=1 vllm serve ")),
                           ("sglang", ("python3 -m ",)), ("trtllm", ("trtllm-serve ",))):
        lines = export_table(p, engine).split("\n")
        commands = [x for x in lines if x.startswith(prefix)]
        assert commands
        for line in lines:  # a comment, a command, or (TensorRT-LLM) a YAML key
            assert line.startswith(("#", *prefix, " ")) or line.split(":")[0].isidentifier(), line
        for line in commands:
            words = shlex.split(line)
            assert sum(w.startswith("--tensor-parallel-size") or w.startswith("--tp-size") for w in words) <= 1
            assert "rm" not in words and "99" not in words and not any(w.startswith("$(") for w in words)
            assert any(w == f"<HF id or path of {shown}>" for w in words)
        for line in lines:
            if line.strip().startswith("speculative_model:"):
                assert json.loads(line.split(": ", 1)[1]) == f"<EAGLE-3 head checkpoint for {shown}>"


def test_explorer_charts_grey_out_points_that_do_not_fit():
    from specroof.web.figures import _UNFIT, heatmap_figure, speedup_figure

    with pytest.warns(DoesNotFitWarning):
        result = specroof.speedup("llama-3-8b", "rtx-4090", [1, 256], [1, 4], [4096], acceptance="chain:0.8")
    line = speedup_figure(result)
    colors = [t["marker"]["color"] for t in line["data"] if not t["name"].startswith("band: ")]
    assert _UNFIT not in colors[0] and colors[1] == [_UNFIT, _UNFIT]  # batch 256 needs 154 GB of 24
    assert "do not fit" in line["layout"]["title"]["text"]
    json.dumps(line)  # the page receives it as JSON
    heat = heatmap_figure(result)
    grey = [s for s in heat["layout"]["shapes"] if s.get("fillcolor") == _UNFIT]
    assert [(s["y0"] + 0.5, s["x0"] + 0.5) for s in grey] == [(1, 0), (1, 1)]
    json.dumps(heat)
