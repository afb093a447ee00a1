"""Hostile inputs of the readers and writers added with the engine metrics, kernels and reports:
metrics files and SGLang logs, kernel shapes, routing, parallelism, huge integers."""

from __future__ import annotations

import json

from hostile.cases import model_json
from hostile.harness import CliCase

DIGITS = "9" * 100_000  # an integer no float holds and Python will not print
FROM_VLLM = ["acceptance", "--from", "vllm-metrics:m.prom"]
LAT = ["latency", "-H", "h200"]


def prom(drafts: str = "10", drafted: str = "30", accepted: str = "20", extra: str = "") -> str:
    """A vLLM v1 scrape with the three totals (values as written) and optional extra lines."""
    return (f"vllm:spec_decode_num_drafts_total {drafts}\nvllm:spec_decode_num_draft_tokens_total {drafted}\n"
            f"vllm:spec_decode_num_accepted_tokens_total {accepted}\n{extra}")


def per_pos(*counts: str) -> str:
    return "".join(f'vllm:spec_decode_num_accepted_tokens_per_pos_total{{position="{i}"}} {c}\n'
                    for i, c in enumerate(counts))


def _vllm_cases() -> list[CliCase]:
    bad = {
        "nan": (prom(drafts="NaN"), "finite"),
        "plus-inf": (prom(drafted="+Inf"), "finite"),
        "minus-inf": (prom(accepted="-Inf"), "finite"),
        "negative": (prom(drafts="-10"), ">= 0"),
        "fractional": (prom(drafts="10.5"), "whole number"),
        "fractional-position": (prom(extra=per_pos("8.5", "7", "4.5")), "whole number"),
        "exponent-fraction": (prom(drafts="1.05e1"), "whole number"),
        "forty-digits": (prom("1" + "0" * 39, "3" + "0" * 39, "2" + "0" * 39), "2^53"),
        "hundred-thousand-digits": (prom(drafts=DIGITS), "2^53"),
        "duplicate-series": (prom(extra="vllm:spec_decode_num_drafts_total 10\n"), "same labels"),
        "duplicate-bare-and-total": (prom(extra="vllm:spec_decode_num_drafts 10\n"), "same labels"),
        "duplicate-labels-reordered": (
            'vllm:spec_decode_num_drafts_total{engine="0",model_name="m"} 10\n'
            'vllm:spec_decode_num_drafts_total{model_name="m",engine="0"} 10\n', "same labels"),
        "duplicate-position": (prom(extra=per_pos("8") + per_pos("8")), "same labels"),
        "label-twice": ('vllm:spec_decode_num_drafts_total{engine="0",engine="1"} 10\n', "label appears twice"),
        "value-text": (prom(drafts="ten"), "not a number"),
        "nul-in-value": (prom(drafts="10\x00"), "binary"),
    }
    cases = [CliCase(f"vllm-{name}", FROM_VLLM, expect, files={"m.prom": text}) for name, (text, expect) in bad.items()]
    cases += [
        CliCase("vllm-utf8-bom", FROM_VLLM, "byte-order mark", files={"m.prom": b"\xef\xbb\xbf" + prom().encode()}),
        CliCase("vllm-utf16-bom", FROM_VLLM, "UTF-16", files={"m.prom": prom().encode("utf-16")}),
        CliCase("vllm-binary", FROM_VLLM, "binary", files={"m.prom": bytes(range(256)) * 8}),
        CliCase("vllm-not-utf8", FROM_VLLM, "UTF-8", files={"m.prom": b"vllm:spec_decode_num_drafts_total \xff\n"}),
        CliCase("vllm-directory", ["acceptance", "--from", "vllm-metrics:adir"], "directory", files={"adir/.keep": ""}),
    ]
    return cases


def _sglang_cases() -> list[CliCase]:
    log = ["acceptance", "--from", "sglang:s.log:4"]
    info = ["acceptance", "--from", "sglang:s.json"]
    line = "[2025-01-01] Decode batch. #running-req: 1, accept len: {}, gen throughput (token/s): 100\n"
    server = {"speculative_num_draft_tokens": 4, "internal_states": [{"avg_spec_accept_length": 2.5}]}
    cases = [CliCase(f"sglang-log-{name}", log, expect, files={"s.log": line.format(value)})
             for name, (value, expect) in {
                 "nan": ("nan", "finite"), "inf": ("inf", "finite"), "negative": ("-3", ">= 1"),
                 "below-one": ("0.5", ">= 1"), "text": ("fast", "not a number"),
                 "hundred-thousand-digits": (DIGITS, ">= 1"), "above-n": ("7.5", "exceeds"),
             }.items()]
    cases += [
        CliCase("sglang-log-bom", log, "byte-order mark", files={"s.log": b"\xef\xbb\xbf" + line.format(2.5).encode()}),
        CliCase("sglang-log-binary", log, "binary", files={"s.log": b"accept len: 2.5\x00\x01\x02"}),
        CliCase("sglang-log-not-utf8", log, "UTF-8", files={"s.log": b"accept len: \xff\xfe2.5\n"}),
        CliCase("sglang-json-duplicate-key", info, "twice",
                files={"s.json": '{"speculative_num_draft_tokens": 4, "speculative_num_draft_tokens": 5, '
                                 '"avg_spec_accept_length": 2.5}'}),
        CliCase("sglang-json-nan", info, "finite",
                files={"s.json": '{"speculative_num_draft_tokens": 4, "avg_spec_accept_length": NaN}'}),
        CliCase("sglang-json-fractional-n", info, "positive integer",
                files={"s.json": json.dumps({**server, "speculative_num_draft_tokens": 4.5})}),
        CliCase("sglang-json-huge-n", info, "s.json",
                files={"s.json": '{"speculative_num_draft_tokens": ' + DIGITS + ', "avg_spec_accept_length": 2}'}),
        CliCase("sglang-json-huge-setting", info, "speculative_num_steps",
                files={"s.json": json.dumps({**server, "speculative_num_steps": 10 ** 40})}),
        CliCase("sglang-json-bom", info, "byte-order mark", files={"s.json": b"\xef\xbb\xbf" + json.dumps(server).encode()}),
        CliCase("sglang-json-deep", info, "nested too deeply", files={"s.json": '{"a": ' * 100_000 + "1" + "}" * 100_000}),
        CliCase("sglang-n-huge", ["acceptance", "--from", "sglang:s.log:" + DIGITS], "sglang",
                files={"s.log": line.format(2.5)}),
    ]
    return cases


def _number_cases() -> list[CliCase]:
    """Divisions and sizes guarded at their source, and integers too long to print."""
    kernel = ["kernel", "--hardware", "h200"]
    moe = [*kernel, "moe", "--num-tokens", "1", "--hidden-size", "4096", "--intermediate-size", "1024", "--top-k", "2"]
    mixtral = [*LAT, "-m", "mixtral-8x7b", "--moe-routing"]
    return [
        CliCase("kernel-moe-no-experts", moe, "--num-experts"),
        CliCase("kernel-moe-hundred-million-experts", [*moe, "--num-experts", "100000000"], "experts"),
        CliCase("kernel-grid-seven-gib", [*kernel, "gemm", "--m", "1:1000:1", "--n", "1:1000:1", "--k", "1"],
                "combinations"),
        CliCase("kernel-grid-three-axes", [*kernel, "gemm", "--m", "1:100:1", "--n", "1:100:1", "--k", "1:100:1"],
                "combinations"),
        CliCase("kernel-kv-len-zero", [*kernel, "decode_attention", "--batch", "1", "--kv-len", "0", "--num-heads",
                                       "8", "--num-kv-heads", "8", "--head-dim", "128"], "--kv-len"),
        CliCase("kernel-m-hundred-thousand-digits", [*kernel, "gemm", "--m", DIGITS, "--n", "1", "--k", "1"], "--m"),
        CliCase("zipf-extreme", [*mixtral, "zipf:1000"], "zipf:1000"),
        CliCase("zipf-float-max", [*mixtral, "zipf:1e308"], "zipf"),
        CliCase("zipf-hundred-thousand-digits", [*mixtral, "zipf:" + DIGITS], "zipf"),
        CliCase("tp-hundred-thousand-digits", [*LAT, "-m", "llama-7b", "--tp", DIGITS], "--tp"),
        CliCase("heads-hundred-thousand-digits", ["speedup", "-m", "llama-7b", "-H", "h200", "--method", "heads",
                                                  "--heads", DIGITS], "--heads"),
        CliCase("hardware-hundred-thousand-digits", [*LAT[:1], "-m", "llama-7b", "-H", "big.toml"], "big.toml",
                files={"big.toml": 'base = "h200"\nmemory_gb = ' + DIGITS + "\n"}),
        CliCase("scenario-hundred-thousand-digits", ["speedup", "--scenario", "s.toml"], "s.toml",
                files={"s.toml": 'model = "llama-7b"\nhardware = "h200"\ntp = ' + DIGITS + "\n"}),
        CliCase("model-hundred-thousand-digits", [*LAT, "-m", "bad.json"], "bad.json",
                files={"bad.json": model_json().replace('"vocab_size": 32000', '"vocab_size": ' + DIGITS)}),
        CliCase("measurements-hundred-thousand-digits", ["validate", "m.jsonl", "-H", "h200"], "m.jsonl",
                files={"m.jsonl": '{"model": "llama-7b", "latency_ms": ' + DIGITS + "}\n"}),
        CliCase("curve-hundred-thousand-digits", ["acceptance", "--acceptance", "curve:c.csv"], "c.csv",
                files={"c.csv": "candidates,acceptance_length\n" + DIGITS + ",2\n"}),
    ]


def _physics_cases() -> list[CliCase]:
    odd = model_json(num_attention_heads=28, num_key_value_heads=28, hidden_size=3584)  # 28 heads of 128
    return [
        CliCase("allreduce-sixteen-gpus", ["kernel", "--hardware", "h200", "allreduce", "--num-gpus", "16",
                                           "--message-bytes", "1000000"], "interconnect domain joins 8"),
        CliCase("allreduce-hundred-million-gpus", ["kernel", "--hardware", "h200", "allreduce", "--num-gpus",
                                                   "100000000", "--message-bytes", "1000000"], "at most 8"),
        CliCase("tp-beyond-nvlink-domain", [*LAT, "-m", "llama-7b", "--tp", "16"], "interconnect domain"),
        CliCase("tp-beyond-nvlink-pair", ["latency", "-H", "h100-nvl", "-m", "llama-7b", "--tp", "4"], "joins 2"),
        CliCase("tp-beyond-domain-speedup", ["speedup", "-m", "llama-2-70b", "-H", "h200", "--tp", "16"], "domain"),
        CliCase("tp-seven-intermediate-and-vocab", [*LAT, "-m", "odd.json", "--tp", "7"], "intermediate size 11008",
                files={"odd.json": odd}),
        CliCase("tp-seven-names-vocab", [*LAT, "-m", "odd.json", "--tp", "7"], "vocabulary 32000",
                files={"odd.json": odd}),
        CliCase("tp-seven-kv-heads", [*LAT, "-m", "qwen2.5-7b", "--tp", "7"], "4 KV heads"),
        CliCase("tp-kv-heads-neither-divides", [*LAT, "-m", "kv.json", "--tp", "4"], "KV heads",
                files={"kv.json": model_json(num_key_value_heads=6, num_attention_heads=24, hidden_size=3072)}),
        CliCase("tp-over-thousand", [*LAT, "-m", "llama-7b", "--tp", "4096"], "--tp 4096"),
    ]


PARSER_CASES: list[CliCase] = [*_vllm_cases(), *_sglang_cases(), *_number_cases(), *_physics_cases()]
