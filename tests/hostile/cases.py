"""The hostile inputs: bad files and bad command lines, each with the words its error must contain."""

from __future__ import annotations

import json
from typing import Any

from hostile.harness import LLAMA_CONFIG, CliCase

BASE_MODEL: dict[str, Any] = json.loads(LLAMA_CONFIG.read_text())

DEVICE = {
    "name": '"mygpu"', "display_name": '"My GPU"', "memory_gb": "80.0", "memory_bandwidth_gbps": "2000.0",
    "sm_count": "108", "l2_cache_mb": "40.0", "interconnect_gbps": "300.0", "tdp_w": "400",
}
PEAKS = {"fp16": "312.0", "bf16": "312.0"}


def model_json(**changes: Any) -> str:
    """llama-7b's config.json with keys changed (value ... removes the key)."""
    data = {**BASE_MODEL, **changes}
    return json.dumps({k: v for k, v in data.items() if v is not ...})


def device_toml(peaks: dict[str, str] | None = None, extra: str = "", **changes: str) -> str:
    """A hardware TOML; values are TOML source text (``...`` removes the key)."""
    values = {**DEVICE, **changes}
    lines = [f"{k} = {v}" for k, v in values.items() if v is not ...]
    lines.append(extra)
    lines.append("[peak_tflops]")
    lines += [f"{k} = {v}" for k, v in (PEAKS if peaks is None else peaks).items()]
    return "\n".join(lines) + "\n"


def profile_toml(body: str, base: str = '"h200"') -> str:
    return f'base = {base}\nprofile_base = "pytorch-sdpa"\n[profile]\n{body}\n'


def scenario_toml(body: str) -> str:
    return 'model = "llama-7b"\nhardware = "h200"\n' + body + "\n"


def measurement(**changes: Any) -> str:
    row = {"model": "llama-7b", "hardware": "h200", "dtype": "fp16", "batch": 1, "candidates": 1,
           "seq_len": 1024, "latency_ms": 6.5}
    row.update(changes)
    return json.dumps({k: v for k, v in row.items() if v is not ...}) + "\n"


LAT = ["latency", "-H", "h200"]
SPEED = ["speedup", "-m", "llama-7b", "-H", "h200"]
PLAN = ["plan", "-m", "llama-7b", "-H", "h200"]
DEEP_JSON = "[" * 100_000 + "]" * 100_000
DEEP_TOML = "a = " + "[" * 100_000 + "]" * 100_000 + "\n"
DEEP_INLINE = "a = " + "{b = " * 5000 + "1" + "}" * 5000 + "\n"


def _model_cases() -> list[CliCase]:
    bad = {
        "kv-heads-zero": (dict(num_key_value_heads=0), "num_key_value_heads"),
        "kv-heads-negative": (dict(num_key_value_heads=-8), "num_key_value_heads"),
        "kv-heads-string": (dict(num_key_value_heads="8"), "num_key_value_heads"),
        "kv-heads-not-dividing": (dict(num_key_value_heads=5), "divisible"),
        "heads-fraction": (dict(num_attention_heads=2.5), "num_attention_heads"),
        "heads-zero": (dict(num_attention_heads=0), "num_attention_heads"),
        "heads-bool": (dict(num_attention_heads=True), "num_attention_heads"),
        "hidden-string": (dict(hidden_size="4096"), "hidden_size"),
        "hidden-negative": (dict(hidden_size=-4096), "hidden_size"),
        "hidden-huge-int": (dict(hidden_size=10**400), "hidden_size"),
        "hidden-huge-float": (dict(hidden_size=1e300), "hidden_size"),
        "hidden-not-divisible": (dict(hidden_size=4100), "divisible"),
        "hidden-missing": (dict(hidden_size=...), "hidden_size"),
        "layers-zero": (dict(num_hidden_layers=0), "num_hidden_layers"),
        "layers-list": (dict(num_hidden_layers=[32]), "num_hidden_layers"),
        "vocab-missing": (dict(vocab_size=...), "vocab_size"),
        "vocab-fraction": (dict(vocab_size=32000.5), "vocab_size"),
        "intermediate-missing": (dict(intermediate_size=...), "intermediate_size"),
        "intermediate-object": (dict(intermediate_size={"a": 1}), "intermediate_size"),
        "head-dim-zero": (dict(head_dim=0), "head_dim"),
        "tie-string-false": (dict(tie_word_embeddings="false"), "tie_word_embeddings"),
        "tie-number": (dict(tie_word_embeddings=0), "tie_word_embeddings"),
        "experts-no-per-token": (dict(num_local_experts=8), "num_experts_per_tok"),
        "experts-per-token-too-many": (dict(num_local_experts=8, num_experts_per_tok=9), "num_experts_per_tok"),
        "experts-negative": (dict(num_local_experts=-2), "num_local_experts"),
        "source-number": (dict(_source=5), "_source"),
        "mtp-layers-negative": (dict(num_nextn_predict_layers=-1), "num_nextn_predict_layers"),
        "mtp-layers-string": (dict(num_nextn_predict_layers="1"), "num_nextn_predict_layers"),
    }
    cases = [CliCase(f"model-{name}", [*LAT, "-m", "bad.json"], expect, files={"bad.json": model_json(**change)})
             for name, (change, expect) in bad.items()]
    cases += [
        CliCase("model-not-object", [*LAT, "-m", "bad.json"], "not a JSON object", files={"bad.json": "[1, 2]"}),
        CliCase("model-not-json", [*LAT, "-m", "bad.json"], "not valid JSON", files={"bad.json": "{hidden"}),
        CliCase("model-empty-file", [*LAT, "-m", "bad.json"], "not valid JSON", files={"bad.json": ""}),
        CliCase("model-deep-json", [*LAT, "-m", "bad.json"], "nested too deeply", files={"bad.json": DEEP_JSON}),
        CliCase("model-long-int-literal", [*LAT, "-m", "bad.json"], "bad.json",
                files={"bad.json": '{"hidden_size": ' + "9" * 5000 + "}"}),
        CliCase("model-nan-literal", [*LAT, "-m", "bad.json"], "hidden_size",
                files={"bad.json": model_json().replace('"hidden_size": 4096', '"hidden_size": NaN')}),
        CliCase("model-infinity-literal", [*LAT, "-m", "bad.json"], "vocab_size",
                files={"bad.json": model_json().replace('"vocab_size": 32000', '"vocab_size": Infinity')}),
        CliCase("model-not-utf8", [*LAT, "-m", "bad.json"], "UTF-8", files={"bad.json": b'{"a": "\xff\xfe"}'}),
        CliCase("model-dev-zero", [*LAT, "-m", "/dev/zero"], "not a regular file"),
        CliCase("model-dev-null", [*LAT, "-m", "/dev/null"], "not a regular file"),
        CliCase("model-directory-without-config", [*LAT, "-m", "emptydir/"], "not found",
                files={"emptydir/.keep": ""}),
        CliCase("model-missing-file", [*LAT, "-m", "nowhere/config.json"], "not found"),
        CliCase("model-unknown-name", [*LAT, "-m", "llama-8b"], "unknown model"),
        CliCase("model-huge-file", [*LAT, "-m", "big.json"], "larger than",
                files={"big.json": b" " * (17 * 1024 * 1024)}),
        CliCase("model-binary", [*LAT, "-m", "bad.json"], "bad.json", files={"bad.json": bytes(range(256)) * 4}),
        CliCase("model-text-config-bad", [*LAT, "-m", "bad.json"], "hidden_size",
                files={"bad.json": json.dumps({"text_config": {"hidden_size": -1}})}),
    ]
    return cases


def _hardware_cases() -> list[CliCase]:
    bad = {
        "bandwidth-nan": (dict(memory_bandwidth_gbps="nan"), "memory_bandwidth_gbps"),
        "bandwidth-inf": (dict(memory_bandwidth_gbps="inf"), "memory_bandwidth_gbps"),
        "bandwidth-negative": (dict(memory_bandwidth_gbps="-2000.0"), "memory_bandwidth_gbps"),
        "bandwidth-zero": (dict(memory_bandwidth_gbps="0"), "memory_bandwidth_gbps"),
        "bandwidth-string": (dict(memory_bandwidth_gbps='"2000"'), "memory_bandwidth_gbps"),
        "bandwidth-bytes-per-second": (dict(memory_bandwidth_gbps="2.0e12"), "memory_bandwidth_gbps"),
        "bandwidth-missing": (dict(memory_bandwidth_gbps=...), "memory_bandwidth_gbps"),
        "bandwidth-huge-int": (dict(memory_bandwidth_gbps="9" * 400), "memory_bandwidth_gbps"),
        "memory-negative": (dict(memory_gb="-80"), "memory_gb"),
        "memory-bool": (dict(memory_gb="true"), "memory_gb"),
        "sm-fraction": (dict(sm_count="108.5"), "sm_count"),
        "sm-zero": (dict(sm_count="0"), "sm_count"),
        "sm-string": (dict(sm_count='"many"'), "sm_count"),
        "sm-array": (dict(sm_count="[108]"), "sm_count"),
        "interconnect-negative": (dict(interconnect_gbps="-300.0"), "interconnect_gbps"),
        "interconnect-nan": (dict(interconnect_gbps="nan"), "interconnect_gbps"),
        "l2-negative": (dict(l2_cache_mb="-1"), "l2_cache_mb"),
        "tdp-string": (dict(tdp_w='"400W"'), "tdp_w"),
        "name-number": (dict(name="5"), "name"),
        "name-empty": (dict(name='""'), "name"),
        "display-name-table": (dict(display_name="{a = 1}"), "display_name"),
        "unknown-key": (dict(memory_bandwith_gbps="3"), "memory_bandwith_gbps"),
    }
    cases = [CliCase(f"hardware-{name}", ["latency", "-m", "llama-7b", "-H", "bad.toml"], expect,
                     files={"bad.toml": device_toml(**change)})
             for name, (change, expect) in bad.items()]
    peaks = {
        "peak-nan": ({"fp16": "nan"}, "peak_tflops"),
        "peak-negative": ({"fp16": "-312.0"}, "peak_tflops"),
        "peak-string": ({"fp16": '"312"'}, "peak_tflops"),
        "peak-in-flops": ({"fp16": "3.12e14"}, "peak_tflops"),
        "peak-empty": ({}, "peak_tflops"),
    }
    cases += [CliCase(f"hardware-{name}", ["latency", "-m", "llama-7b", "-H", "bad.toml"], expect,
                      files={"bad.toml": device_toml(peaks=p)})
              for name, (p, expect) in peaks.items()]
    cases += [
        CliCase("hardware-peak-not-table", ["latency", "-m", "llama-7b", "-H", "bad.toml"], "peak_tflops",
                files={"bad.toml": device_toml(peaks={}).replace("[peak_tflops]", "peak_tflops = 3")}),
        CliCase("hardware-base-self", ["latency", "-m", "llama-7b", "-H", "self.toml"], "itself",
                files={"self.toml": 'base = "self.toml"\n'}),
        CliCase("hardware-base-cycle", ["latency", "-m", "llama-7b", "-H", "a.toml"], "itself",
                files={"a.toml": 'base = "b.toml"\n', "b.toml": 'base = "a.toml"\n'}),
        CliCase("hardware-base-unknown", ["latency", "-m", "llama-7b", "-H", "p.toml"], "unknown hardware",
                files={"p.toml": 'base = "h900"\n'}),
        CliCase("hardware-base-number", ["latency", "-m", "llama-7b", "-H", "p.toml"], "base",
                files={"p.toml": "base = 7\n"}),
        CliCase("hardware-base-override-nan", ["latency", "-m", "llama-7b", "-H", "p.toml"], "memory_bandwidth_gbps",
                files={"p.toml": 'base = "h200"\nmemory_bandwidth_gbps = nan\n'}),
        CliCase("hardware-not-toml", ["latency", "-m", "llama-7b", "-H", "bad.toml"], "not valid TOML",
                files={"bad.toml": "memory_gb = = 3\n"}),
        CliCase("hardware-deep-toml", ["latency", "-m", "llama-7b", "-H", "bad.toml"], "bad.toml",
                files={"bad.toml": DEEP_TOML}),
        CliCase("hardware-deep-inline-table", ["latency", "-m", "llama-7b", "-H", "bad.toml"], "bad.toml",
                files={"bad.toml": DEEP_INLINE}),
        CliCase("hardware-not-utf8", ["latency", "-m", "llama-7b", "-H", "bad.toml"], "UTF-8",
                files={"bad.toml": b"name = \"\xff\"\n"}),
        CliCase("hardware-dev-zero", ["latency", "-m", "llama-7b", "-H", "/dev/zero"], "not a regular file"),
        CliCase("hardware-missing-file", ["latency", "-m", "llama-7b", "-H", "gone.toml"], "not found"),
        CliCase("hardware-unknown-name", ["latency", "-m", "llama-7b", "-H", "h201"], "unknown hardware"),
        CliCase("hardware-empty-file", ["latency", "-m", "llama-7b", "-H", "bad.toml"], "lacks",
                files={"bad.toml": ""}),
    ]
    return cases


def _profile_cases() -> list[CliCase]:
    bad = {
        "efficiency-zero": ("compute_efficiency = 0.0", "compute_efficiency"),
        "efficiency-above-one": ("bandwidth_efficiency = 1.5", "bandwidth_efficiency"),
        "efficiency-nan": ("elementwise_efficiency = nan", "elementwise_efficiency"),
        "efficiency-string": ('compute_efficiency = "0.5"', "compute_efficiency"),
        "overhead-negative": ("kernel_overhead_us = -3.0", "kernel_overhead_us"),
        "overhead-inf": ("launch_overhead_us = inf", "launch_overhead_us"),
        "fixed-negative": ("gemm_fixed_us = -1.0", "gemm_fixed_us"),
        "bool-string-false": ('cuda_graph = "false"', "cuda_graph"),
        "bool-string-no": ('fuse_qkv = "no"', "fuse_qkv"),
        "bool-number": ("gemm_split_k = 0", "gemm_split_k"),
        "tiles-garbage": ('gemm_tiles = "big"', "gemm_tiles"),
        "tiles-triple": ("gemm_tiles = [[64, 128, 3]]", "gemm_tiles"),
        "tiles-strings": ('gemm_tiles = [["a", "b"]]', "gemm_tiles"),
        "tiles-zero": ("gemm_tiles = [[0, 128]]", "gemm_tiles"),
        "tiles-empty": ("gemm_tiles = []", "gemm_tiles"),
        "ctas-fraction": ("attention_ctas_per_sm = 1.5", "attention_ctas_per_sm"),
        "operators-empty": ("operators = []", "operators"),
        "operators-unknown": ('operators = ["mlp"]', "operators"),
        "attention-unknown": ('attention = "flash"', "attention"),
        "unknown-field": ("compute_eficiency = 0.5", "compute_eficiency"),
        "passes-negative": ("elementwise_hidden_passes = -8.0", "elementwise_hidden_passes"),
        "graph-sizes-zero": ("cuda_graph_sizes = [0, 8]", "cuda_graph_sizes"),
        "graph-sizes-text": ('cuda_graph_sizes = "1,2,4"', "cuda_graph_sizes"),
        "graph-unit-unknown": ('cuda_graph_unit = "requests"', "cuda_graph_unit"),
        "host-step-nan": ("host_step_us = nan", "host_step_us"),
        "sampling-kernels-fraction": ("sampling_kernels = 2.5", "sampling_kernels"),
    }
    cases = [CliCase(f"profile-{name}", ["latency", "-m", "llama-7b", "-H", "prof.toml"], expect,
                     files={"prof.toml": profile_toml(body)})
             for name, (body, expect) in bad.items()]
    cases += [
        CliCase("profile-base-unknown-profile", ["latency", "-m", "llama-7b", "-H", "prof.toml"], "profile",
                files={"prof.toml": 'base = "h200"\nprofile_base = "fastest"\n[profile]\n'}),
        CliCase("profile-table-not-table", ["latency", "-m", "llama-7b", "-H", "prof.toml"], "profile",
                files={"prof.toml": 'base = "h200"\nprofile = 3\n'}),
        CliCase("profile-unknown-name", ["latency", "-m", "llama-7b", "-H", "h200", "--profile", "fast"],
                "unknown implementation profile"),
    ]
    return cases


def _scenario_cases() -> list[CliCase]:
    bad = {
        "cuda-graph-no": ('cuda_graph = "no"', "cuda_graph"),
        "cuda-graph-number": ("cuda_graph = 1", "cuda_graph"),
        "tp-string": ('tp = "2"', "tp"),
        "tp-zero": ("tp = 0", "tp"),
        "heads-fraction": ('method = "heads"\nheads = 2.5', "heads"),
        "max-depth-huge": ("max_depth = 1000000", "max_depth"),
        "method-unknown": ('method = "lookahead"', "method"),
        "draft-model-number": ("draft_model = 7", "draft_model"),
        "grid-batch-zero": ("[grid]\nbatch = [0, 1]", "grid.batch"),
        "grid-batch-string": ('[grid]\nbatch = ["1"]', "grid.batch"),
        "grid-huge-value": ("[grid]\nseq_len = [1000000000000]", "grid.seq_len"),
        "grid-huge-int": ("[grid]\nseq_len = [" + "9" * 400 + "]", "grid.seq_len"),
        "grid-unknown-axis": ("[grid]\nbatches = [1]", "[grid]"),
        "overrides-nan": ("[profile_overrides]\ncompute_efficiency = nan", "compute_efficiency"),
        "overrides-string-bool": ('[profile_overrides]\ngqa_kv_expand = "false"', "gqa_kv_expand"),
        "overrides-unknown": ("[profile_overrides]\nspeed = 2", "speed"),
        "unknown-key": ("acceptence = \"log:0.4\"", "acceptence"),
        "acceptance-number": ("acceptance = 0.477", "acceptance"),
        "description-table": ("description = {a = 1}", "description"),
    }
    cases = [CliCase(f"scenario-{name}", ["speedup", "--scenario", "s.toml"], expect,
                     files={"s.toml": scenario_toml(body)})
             for name, (body, expect) in bad.items()]
    cases += [
        CliCase("scenario-deep", ["speedup", "--scenario", "s.toml"], "s.toml", files={"s.toml": DEEP_TOML}),
        CliCase("scenario-not-utf8", ["speedup", "--scenario", "s.toml"], "UTF-8", files={"s.toml": b"\xff\xfe"}),
        CliCase("scenario-unknown-name", ["speedup", "--scenario", "medusa"], "unknown scenario"),
        CliCase("scenario-missing-file", ["speedup", "--scenario", "gone.toml"], "not found"),
    ]
    return cases


def _measurement_cases() -> list[CliCase]:
    lines = {
        "latency-nan": ('{"model": "llama-7b", "hardware": "h200", "dtype": "fp16", "batch": 1, "candidates": 1, '
                        '"seq_len": 1024, "latency_ms": NaN}\n', "latency_ms"),
        "latency-huge-int": (measurement(latency_ms=10**400), "latency_ms"),
        "latency-negative": (measurement(latency_ms=-1.0), "latency_ms"),
        "latency-string": (measurement(latency_ms="6.5"), "latency_ms"),
        "batch-fraction": (measurement(batch=1.5), "batch"),
        "batch-huge": (measurement(batch=10**12), "batch"),
        "cuda-graph-string": (measurement(cuda_graph="false"), "cuda_graph"),
        "ops-negative": (measurement(ops_ms={"qkv_proj": -1}), "qkv_proj"),
        "ops-list": (measurement(ops_ms=[1]), "ops_ms"),
        "model-missing": (measurement(model=...), "model"),
        "seq-len-missing": (measurement(seq_len=...), "seq_len"),
        "not-object": ("[1, 2, 3]\n", "object"),
        "deep": (DEEP_JSON + "\n", "nested too deeply"),
        "long-int-literal": ('{"batch": ' + "9" * 5000 + "}\n", "meas-bad.jsonl:1"),
        "broken-json": ("{model: llama}\n", "not valid JSON"),
    }
    cases = [CliCase(f"measurements-{name}", ["validate", "meas-bad.jsonl", "-H", "h200"], expect,
                     files={"meas-bad.jsonl": text})
             for name, (text, expect) in lines.items()]
    cases += [
        CliCase("measurements-empty", ["validate", "meas-bad.jsonl", "-H", "h200"], "no measurements",
                files={"meas-bad.jsonl": "# nothing\n"}),
        CliCase("measurements-not-utf8", ["validate", "meas-bad.jsonl", "-H", "h200"], "UTF-8",
                files={"meas-bad.jsonl": b"\xff\n"}),
        CliCase("measurements-dev-zero", ["validate", "/dev/zero", "-H", "h200"], "not a regular file"),
        CliCase("measurements-directory", ["calibrate", ".", "-o", "x.toml"], "directory"),
        CliCase("calibrate-unknown-model-in-file", ["calibrate", "meas-bad.jsonl", "-o", "out.toml"], "unknown model",
                files={"meas-bad.jsonl": "".join(measurement(model="llama-99b", batch=b) for b in range(1, 13))}),
    ]
    return cases


def _acceptance_cases() -> list[CliCase]:
    acc = ["acceptance", "--acceptance"]
    return [
        CliCase("acceptance-log-above-n", [*acc, "log:5", "--candidates", "1,2"], "tau"),
        CliCase("acceptance-log-above-n-speedup", [*SPEED, "--acceptance", "log:5", "--candidates", "2"], "log:5"),
        CliCase("acceptance-log-above-n-plan", [*PLAN, "--acceptance", "log:3", "--batch", "1"], "log:3"),
        CliCase("acceptance-log-negative", [*acc, "log:-1"], "A >= 0"),
        CliCase("acceptance-log-nan", [*acc, "log:nan"], "finite"),
        CliCase("acceptance-chain-above-one", [*acc, "chain:1.5"], "[0, 1]"),
        CliCase("acceptance-chain-text", [*acc, "chain:high"], "not a number"),
        CliCase("acceptance-unknown-kind", [*acc, "sequoia:0.5"], "unknown acceptance kind"),
        CliCase("acceptance-no-argument", [*acc, "log:"], "lacks its argument"),
        CliCase("acceptance-positional-sum", [*acc, "positional:0.8,0.5"], "sum"),
        CliCase("acceptance-positional-negative", [*acc, "positional:-0.1"], "probability"),
        CliCase("acceptance-positional-depth-million", [*acc, "positional:0.6,0.2", "--max-depth", "1000000"],
                "max depth"),
        CliCase("acceptance-positional-ten-million-nodes", [*acc, "positional:0.6,0.2", "--candidates", "10000000"],
                "65,536"),
        CliCase("acceptance-positional-wide-and-big", [*acc, "positional:" + ",".join(["0.001"] * 500),
                                                       "--candidates", "60000"], "ranks"),
        CliCase("acceptance-positional-depth-zero", [*acc, "positional:0.6", "--max-depth", "0"], "max depth"),
        CliCase("acceptance-depth-on-log", [*acc, "log:0.4", "--max-depth", "3"], "only to tree models"),
        CliCase("acceptance-medusa-unknown", [*acc, "medusa:vicuna-70b"], "vicuna"),
        CliCase("acceptance-medusa-missing-file", [*acc, "medusa:gone.csv"], "not found"),
        CliCase("acceptance-medusa-bad-accuracy", [*acc, "medusa:acc.csv"], "top1",
                files={"acc.csv": "model,head,top1,top2\nm,0,1.5,1.6\n"}),
        CliCase("acceptance-medusa-falling", [*acc, "medusa:acc.csv"], "below",
                files={"acc.csv": "model,head,top1,top2\nm,0,0.6,0.5\n"}),
        CliCase("acceptance-medusa-text", [*acc, "medusa:acc.csv"], "not a number",
                files={"acc.csv": "model,head,top1,top2\nm,0,high,0.7\n"}),
        CliCase("acceptance-medusa-nan", [*acc, "medusa:acc.csv"], "finite",
                files={"acc.csv": "model,head,top1,top2\nm,0,nan,0.7\n"}),
        CliCase("acceptance-medusa-not-utf8", [*acc, "medusa:acc.csv"], "UTF-8", files={"acc.csv": b"\xff\xfe"}),
        CliCase("acceptance-medusa-dev-zero", [*acc, "medusa:/dev/zero"], "regular file"),
        CliCase("acceptance-curve-above-n", [*acc, "curve:c.csv"], "exceeds",
                files={"c.csv": "candidates,acceptance_length\n4,5.0\n"}),
        CliCase("acceptance-curve-inf", [*acc, "curve:c.csv"], "finite",
                files={"c.csv": "candidates,acceptance_length\n4,inf\n"}),
        CliCase("acceptance-curve-falling", [*acc, "curve:c.csv", "--candidates", "1,4"], "falls",
                files={"c.csv": "candidates,acceptance_length\n4,2.0\n8,1.5\n"}),
        CliCase("acceptance-curve-header", [*acc, "curve:c.csv"], "header",
                files={"c.csv": "n,tau\n4,2\n"}),
        CliCase("acceptance-curve-huge", [*acc, "curve:c.csv"], "larger than",
                files={"c.csv": b"#" * (17 * 1024 * 1024)}),
        CliCase("acceptance-curve-beyond", [*acc, "curve:c.csv", "--candidates", "16"], "extrapolate",
                files={"c.csv": "candidates,acceptance_length\n4,2.0\n"}),
        CliCase("acceptance-show-tree-on-log", [*acc, "log:0.4", "--show-tree"], "tree model"),
        CliCase("acceptance-metrics-dev-zero", ["acceptance", "--from", "vllm-metrics:/dev/zero"], "/dev/zero"),
        CliCase("acceptance-metrics-infinite-counter", ["acceptance", "--from", "vllm-metrics:m.prom"], "finite",
                files={"m.prom": "vllm:spec_decode_num_drafts_total 1e400\n"}),
        CliCase("acceptance-metrics-not-utf8", ["acceptance", "--from", "vllm-metrics:m.prom"], "UTF-8",
                files={"m.prom": b"\xff\xfe"}),
        CliCase("acceptance-sglang-junk", ["acceptance", "--from", "sglang:s.log:3"], "s.log",
                files={"s.log": "nothing useful\n"}),
    ]


def _grid_cases() -> list[CliCase]:
    return [
        CliCase("grid-billion-range", [*SPEED, "--candidates", "1:1000000000:1"], "100,000"),
        CliCase("grid-billion-range-latency", [*LAT, "-m", "llama-7b", "--batch", "1:1000000000:1"], "100,000"),
        CliCase("grid-billion-range-acceptance", ["acceptance", "--acceptance", "log:0.4", "--candidates",
                                                  "1:1000000000:1"], "100,000"),
        CliCase("grid-many-ranges", [*SPEED, "--candidates", ",".join(["1:60000:1"] * 3)], "100,000"),
        CliCase("grid-value-too-large", [*SPEED, "--seq-len", "1e12"], "larger than"),
        CliCase("grid-value-huge-literal", [*SPEED, "--seq-len", "9" * 400], "--seq-len"),
        CliCase("grid-powers-huge", [*SPEED, "--batch", "1..1e300"], "larger than"),
        CliCase("grid-zero", [*SPEED, "--batch", "0"], "positive integer"),
        CliCase("grid-negative", [*SPEED, "--batch", "-4"], "positive integer"),
        CliCase("grid-fraction", [*SPEED, "--candidates", "2.5"], "positive integer"),
        CliCase("grid-text", [*SPEED, "--candidates", "many"], "not a number"),
        CliCase("grid-nan", [*SPEED, "--candidates", "nan"], "positive integer"),
        CliCase("grid-empty", [*SPEED, "--candidates", ","], "at least one value"),
        CliCase("grid-reversed-range", [*SPEED, "--batch", "64..1"], "empty"),
        CliCase("grid-step-zero", [*SPEED, "--batch", "1:8:0"], "positive integer"),
        CliCase("grid-bad-range", [*SPEED, "--batch", "1:8"], "start:stop:step"),
        CliCase("grid-too-many-points", [*SPEED, "--batch", "1:100000:1", "--candidates", "1:1000:1"], "points"),
        CliCase("grid-too-many-rows-speedup", [*SPEED, "--batch", "1:2000:1", "--candidates", "1:1000:1"], "100,000"),
        CliCase("grid-too-many-rows-latency", [*LAT, "-m", "llama-7b", "--batch", "1:1000:1", "--seq-len",
                                               "1:1000:1"], "100,000"),
        CliCase("plan-max-candidates-billions", [*PLAN, "--max-candidates", "5000000000"], "max candidates"),
        CliCase("plan-max-candidates-zero", [*PLAN, "--max-candidates", "0"], "max-candidates"),
        CliCase("plan-current-billions", [*PLAN, "--current", "5000000000"], "current"),
        CliCase("plan-too-many-points", [*PLAN, "--batch", "1:5000:1", "--max-candidates", "1024"], "points"),
        CliCase("plan-reserve-nan", [*PLAN, "--reserve-gb", "nan"], "reserve"),
        CliCase("plan-positional-unbounded-too-big", [*PLAN, "--acceptance", "positional:0.6,0.3",
                                                      "--max-candidates", "100000", "--batch", "1"], "candidates"),
        CliCase("explain-candidates-ten-million-tree", ["explain", "-m", "llama-7b", "-H", "h200", "--acceptance",
                                                        "positional:0.6,0.2", "--candidates", "10000000"], "65,536"),
        CliCase("explain-candidates-zero", ["explain", "-m", "llama-7b", "-H", "h200", "--candidates", "0"],
                "candidates"),
    ]


def _option_cases() -> list[CliCase]:
    return [
        CliCase("tp-not-dividing-heads", [*LAT, "-m", "llama-7b", "--tp", "3"], "--tp 3"),
        CliCase("tp-not-dividing-heads-speedup", [*SPEED, "--tp", "5"], "--tp 5"),
        CliCase("tp-zero", [*LAT, "-m", "llama-7b", "--tp", "0"], "tensor parallelism"),
        CliCase("tp-more-than-heads", [*LAT, "-m", "llama-7b", "--tp", "64"], "--tp 64"),
        CliCase("ops-empty-list", [*LAT, "-m", "llama-7b", "--ops", ","], "operator"),
        CliCase("ops-unknown", [*LAT, "-m", "llama-7b", "--ops", "mlp"], "operator"),
        CliCase("dtype-unknown", [*LAT, "-m", "llama-7b", "--dtype", "fp12"], "dtype"),
        CliCase("dtype-unsupported-by-device", ["latency", "-m", "llama-7b", "-H", "a100-80gb-sxm", "--dtype", "fp8"],
                "fp8"),
        CliCase("heads-zero", [*SPEED, "--method", "heads", "--heads", "0"], "heads"),
        CliCase("heads-on-draft", [*SPEED, "--heads", "3"], "--heads"),
        CliCase("draft-unknown", [*SPEED, "--draft-model", "llama-1m"], "unknown model"),
        CliCase("draft-bad-file", [*SPEED, "--draft-model", "bad.json"], "num_key_value_heads",
                files={"bad.json": model_json(num_key_value_heads=0)}),
        CliCase("latency-no-model", ["latency", "-H", "h200"], "--model"),
        CliCase("unknown-option", ["latency", "--modle", "llama-7b"], "--modle"),
        CliCase("unknown-command", ["speedups"], "speedups"),
        CliCase("format-unknown", [*LAT, "-m", "llama-7b", "--format", "xml"], "xml"),
        CliCase("tp-text", [*LAT, "-m", "llama-7b", "--tp", "two"], "two"),
        CliCase("ops-batch-huge", ["ops", "-m", "llama-7b", "-H", "h200", "--batch", "100000000000000"], "batch"),
        CliCase("ops-tp-not-dividing", ["ops", "-m", "llama-7b", "-H", "h200", "--tp", "3"], "--tp 3"),
        CliCase("ops-empty-operator-list", ["ops", "-m", "llama-7b", "-H", "h200", "--ops", ","], "operator"),
        CliCase("ops-draft-dev-zero", ["ops", "-m", "llama-7b", "-H", "h200", "--draft-model", "/dev/zero"],
                "regular file"),
        CliCase("ops-bad-hardware-file", ["ops", "-m", "llama-7b", "-H", "bad.toml"], "sm_count",
                files={"bad.toml": device_toml(sm_count="1.5")}),
        CliCase("ops-seq-len-huge", ["ops", "-m", "llama-7b", "-H", "h200", "--seq-len", "9" * 30], "seq_len"),
    ]


def _output_cases() -> list[CliCase]:
    return [
        CliCase("plot-unsupported-extension", [*SPEED, "--plot", "chart.gif"], ".png or .svg"),
        CliCase("plot-no-extension", [*SPEED, "--plot", "chart"], ".png or .svg"),
        CliCase("plot-missing-folder", [*SPEED, "--plot", "nowhere/chart.png"], "does not exist"),
        CliCase("plot-is-directory", [*SPEED, "--plot", "adir.png"], "directory", files={"adir.png/.keep": ""}),
        CliCase("plot-unwritable-folder", [*SPEED, "--plot", "/proc/chart.png"], "chart"),
        CliCase("plot-dev-full-folder", [*SPEED, "--plot", "/dev/full/chart.png"], "chart"),
        CliCase("plot-reference-without-plot", [*SPEED, "--reference", "r.csv"], "--plot"),
        CliCase("explain-plot-bad-extension", ["explain", "-m", "llama-7b", "-H", "h200", "--candidates", "8",
                                               "--plot", "w.txt"], "must end in"),
        CliCase("explain-plot-unwritable", ["explain", "-m", "llama-7b", "-H", "h200", "--candidates", "8",
                                            "--plot", "/proc/w.png"], "chart"),
        CliCase("validate-plot-bad-extension", ["validate", "meas.jsonl", "-H", "h200", "--plot", "v.jpg"],
                ".png or .svg"),
        CliCase("validate-plot-unwritable", ["validate", "meas.jsonl", "-H", "h200", "--plot", "/proc/v.png"],
                "chart"),
        CliCase("calibrate-output-is-input", ["calibrate", "meas.jsonl", "-o", "meas.jsonl"], "measurement file"),
        CliCase("calibrate-output-is-input-dotted", ["calibrate", "meas.jsonl", "-o", "./sub/../meas.jsonl"],
                "measurement file", files={"sub/.keep": ""}),
        CliCase("calibrate-output-is-hardware", ["calibrate", "meas.jsonl", "-H", "calibrated.toml",
                                                 "-o", "calibrated.toml"], "hardware"),
        CliCase("calibrate-output-missing-folder", ["calibrate", "meas.jsonl", "-o", "nowhere/p.toml"],
                "does not exist"),
        CliCase("calibrate-output-unwritable", ["calibrate", "meas.jsonl", "-o", "/proc/p.toml"], "not writable"),
        CliCase("calibrate-output-directory", ["calibrate", "meas.jsonl", "-o", "adir"], "directory",
                files={"adir/.keep": ""}),
        CliCase("calibrate-one-point", ["calibrate", "one.jsonl", "-o", "old-profile.toml"], "distinct",
                files={"one.jsonl": measurement()}),
        CliCase("calibrate-six-identical-points", ["calibrate", "six.jsonl", "-o", "old-profile.toml"], "distinct",
                files={"six.jsonl": measurement() * 6}),
        CliCase("calibrate-heads-only", ["calibrate", "heads.jsonl", "-o", "p.toml"], "decoder-step",
                files={"heads.jsonl": measurement(heads=5, seq_len=...)}),
        CliCase("calibrate-several-devices", ["calibrate", "two.jsonl", "-o", "p.toml"], "several devices",
                files={"two.jsonl": measurement() + measurement(hardware="a100-80gb-sxm")}),
    ]


CLI_CASES: list[CliCase] = [
    *_model_cases(), *_hardware_cases(), *_profile_cases(), *_scenario_cases(), *_measurement_cases(),
    *_acceptance_cases(), *_grid_cases(), *_option_cases(), *_output_cases(),
]
