"""Sliding-window and chunked attention per layer, and attention sinks (models/windows.py,
cost/architectures/windows.py): which layers, what they read, what their cache holds."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

import specroof
from specroof.cost.architectures.windows import chunk_keys, window_keys
from specroof.errors import SpecroofError
from specroof.models.architecture import ModelConfig, load_model
from specroof.speculation.footprint import memory_footprint
from tests.support import run_specroof

CONFIGS = Path(__file__).parent / "data" / "configs"
BASE = {"hidden_size": 1024, "intermediate_size": 4096, "num_hidden_layers": 8, "num_attention_heads": 16,
        "num_key_value_heads": 4, "vocab_size": 32000, "max_position_embeddings": 32768}


def _load(tmp_path: Path, **extra) -> ModelConfig:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({**BASE, **extra}), encoding="utf-8")
    return load_model(str(path))


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


# ------------------------------------------------------------------ which layers


@pytest.mark.parametrize("name,layers,windowed,window,kind,sinks", [
    # gpt-oss-120b: layer_types alternate sliding (128) and full over 36 layers; sinks on every layer
    ("gpt-oss-120b", 36, 18, 128, "sliding", True),
    # Llama-4 Scout: no_rope_layers marks every 4th of 48 layers NoPE (global); the others chunked (8192)
    ("llama-4-scout", 48, 36, 8192, "chunked", False),
    # Gemma-3 1B: sliding_window_pattern 6 over 26 layers: full at layers 5, 11, 17, 23
    ("gemma-3-1b", 26, 22, 512, "sliding", False),
])
def test_published_configs_layer_counts(name, layers, windowed, window, kind, sinks):
    model = _quiet(load_model, str(CONFIGS / f"{name}.json"))
    assert (model.num_layers, model.window_layers, model.attention_window, model.window_kind,
            model.attention_sinks) == (layers, windowed, window, kind, sinks)
    assert json.loads((CONFIGS / f"{name}.json").read_text(encoding="utf-8"))["_source"].startswith("https://")


def test_gemma3_loads_without_unmodelled_keys():
    assert _quiet(load_model, str(CONFIGS / "gemma-3-1b.json")).unmodelled == ()


@pytest.mark.parametrize("extra,windowed", [
    ({"sliding_window": 4096}, 8),  # Mistral: every layer
    ({"sliding_window": 4096, "use_sliding_window": False}, 0),
    ({"sliding_window": 4096, "use_sliding_window": True, "max_window_layers": 6}, 2),  # Qwen2: i >= 6
    ({"sliding_window": 4096, "model_type": "gemma2"}, 4),  # Gemma-2's default pattern 2: even layers
    ({"sliding_window": 4096, "sliding_window_pattern": 4}, 6),
    ({"attention_chunk_size": 1024, "model_type": "llama4_text"}, 6),  # default: every 4th global
    ({"attention_chunk_size": 1024, "no_rope_layers": [1, 0, 1, 0, 1, 0, 1, 0]}, 4),
    ({"sliding_window": None}, 0),
    ({"sliding_window": 4096.0}, 8),  # an integral float is a whole number
    ({"layer_types": ["sliding_attention", "full_attention"] * 4, "sliding_window": 512}, 4),
    ({"layer_types": ["sliding_attention"] * 8, "sliding_window": 512, "use_sliding_window": False}, 0),
])
def test_which_layers_slide(tmp_path, extra, windowed):
    assert _load(tmp_path, **extra).window_layers == windowed


@pytest.mark.parametrize("extra,named", [
    ({"sliding_window": 65536}, "sliding_window = 65,536 is larger than max_position_embeddings = 32,768"),
    ({"layer_types": ["sliding_attention"] * 3}, "layer_types must name one type for each of the "
                                                 "num_hidden_layers = 8"),
    ({"layer_types": ["sliding_attention"] * 8}, "sliding_window (the window in tokens) is not set"),
    ({"layer_types": ["sliding_attention", "chunked_attention"] * 4, "sliding_window": 8,
      "attention_chunk_size": 8}, "mixes sliding and chunked"),
    ({"attention_chunk_size": 64, "no_rope_layers": [1, 2]}, "no_rope_layers must list 0 or 1"),
    ({"sliding_window": 64, "sliding_window_pattern": 0}, "sliding_window_pattern must be a positive"),
    ({"sliding_window": 4.5}, "sliding_window must be a positive whole number"),
])
def test_inconsistent_window_keys_are_one_error(tmp_path, extra, named):
    with pytest.raises(SpecroofError) as info:
        _load(tmp_path, **extra)
    assert named in str(info.value) and "\n" not in str(info.value)


def test_cli_error_for_a_window_beyond_the_context(tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({**BASE, "sliding_window": 65536}), encoding="utf-8")
    out = run_specroof("latency", "-m", str(path), "-H", "h200")
    assert out.returncode == 2 and out.stderr.startswith("error: ") and "sliding_window" in out.stderr
    assert "Traceback" not in out.stderr


def test_python_model_config_checks_window_fields():
    with pytest.raises(SpecroofError, match="window_layers 9 exceeds"):
        ModelConfig(name="x", hidden_size=64, intermediate_size=128, num_layers=8, num_heads=4, num_kv_heads=4,
                    head_dim=16, vocab_size=100, window_layers=9, attention_window=16, window_kind="sliding")


# ------------------------------------------------------------------ what they read and hold


def test_window_keys_by_hand():
    s, n = np.array([10.0, 127.0, 128.0, 5000.0]), np.array([4.0])
    assert window_keys(128, s, n).tolist() == [14, 131, 131, 131]  # min(s + n, W + n - 1)
    assert chunk_keys(128, s, n).tolist() == [14, 131, 4, 5000 % 128 + 4]  # exact: from the chunk start
    assert (chunk_keys(128, s, n) <= window_keys(128, s, n)).all()  # chunked layers priced at the top


def test_window_attention_flat_beyond_the_window_full_attention_grows():
    r = _quiet(specroof.latency, str(CONFIGS / "gpt-oss-120b.json"), "h200", candidates=[1, 4],
               seq_len=[512, 4096, 65536], allow_unmodelled=True)
    window = r.ops_ms["window_attention"]
    assert np.allclose(window[..., 0], window[..., 2], rtol=1e-12)  # 512 and 65,536: both beyond 128
    assert (np.diff(r.ops_ms["attention"], axis=2) > 0).all()


def test_chunked_attention_never_reads_more_than_a_chunk():
    """Llama-4: the chunked layers grow with the context within the first 8,192-token chunk, then
    stay at the chunk's top; the four global layers keep growing."""
    r = _quiet(specroof.latency, str(CONFIGS / "llama-4-scout.json"), "h200", candidates=[4],
               seq_len=[4096, 8191, 8192, 16384, 100000], allow_unmodelled=True)
    chunked, full = r.ops_ms["window_attention"][0, 0], r.ops_ms["attention"][0, 0]
    assert chunked[1] > chunked[0] and np.ptp(chunked[1:]) == 0
    assert (np.diff(full) > 0).all()


def test_mistral_within_the_window_prices_as_before_and_flat_beyond():
    """Within its 4,096-token window a windowed layer reads what a full one reads."""
    r = specroof.latency("mistral-7b", "h200", candidates=[1, 8], seq_len=[1024, 4000, 8192, 32000])
    assert "attention" not in r.ops_ms
    att = r.ops_ms["window_attention"]
    assert att[0, 0, 1] > att[0, 0, 0] and att[0, 0, 2] == pytest.approx(att[0, 0, 3], rel=1e-12)


def test_kv_memory_flat_beyond_the_window_for_windowed_layers():
    """gpt-oss: half the layers cache at most W + n - 1 tokens; the other half grow with the context."""
    mem = _quiet(memory_footprint, str(CONFIGS / "gpt-oss-120b.json"), "h200", candidates=[4],
                 seq_len=[1024, 2048, 4096], allow_unmodelled=True)
    kv = mem.kv_cache_per_sequence[0, 0]
    per_token_layer = 2 * 8 * 64 * 2  # K and V, 8 KV heads x 64, bf16
    full, windowed = 18 * per_token_layer, 18 * per_token_layer
    expected = [(s + 4) * full + (128 + 4 - 1) * windowed for s in (1024, 2048, 4096)]
    assert kv.tolist() == pytest.approx(expected, rel=1e-12)
    mistral = memory_footprint("mistral-7b", "h200", candidates=[1], seq_len=[4096, 8192, 100000 - 2])
    assert np.ptp(mistral.kv_cache_per_sequence) == 0  # every layer windowed: flat


def test_sinks_hold_one_value_per_head_and_layer():
    cfg = json.loads((CONFIGS / "gpt-oss-120b.json").read_text(encoding="utf-8"))
    with_sinks = _quiet(load_model, str(CONFIGS / "gpt-oss-120b.json"))
    plain = ModelConfig(**{**{f: getattr(with_sinks, f) for f in ("name", "hidden_size", "intermediate_size",
                                                                  "num_layers", "num_heads", "num_kv_heads",
                                                                  "head_dim", "vocab_size", "num_experts",
                                                                  "experts_per_token", "moe_intermediate_size")}})
    assert with_sinks.parameter_count() - plain.parameter_count() == cfg["num_hidden_layers"] * cfg[
        "num_attention_heads"]


def test_a_drafter_with_its_own_layer_count_is_full_attention():
    from specroof.cost.architectures.windows import window_layer_count
    from specroof.cost.setup import setup_step

    setup = _quiet(setup_step, str(CONFIGS / "gpt-oss-120b.json"), "h200", allow_unmodelled=True)
    assert window_layer_count(setup, 36) == 18 and window_layer_count(setup, 1) == 0


def test_profile_operators_choose_window_attention_with_attention():
    r = specroof.latency("mistral-7b", "h200", seq_len=[8192], operators=["qkv_proj", "attention"])
    assert set(r.ops_ms) >= {"window_attention"}
    r = specroof.latency("mistral-7b", "h200", seq_len=[8192], operators=["qkv_proj"])
    assert "window_attention" not in r.ops_ms


# ------------------------------------------------------------------ explain


def test_explain_reports_the_window_cap():
    from specroof.speculation.explain import explain

    beyond = _quiet(explain, str(CONFIGS / "gpt-oss-120b.json"), "h200", batch=8, candidates=4, seq_len=8192,
                    acceptance="chain:0.7", allow_unmodelled=True)
    cap = beyond.window_cap
    assert (cap["window_layers"], cap["window_tokens"], cap["keys_windowed"], cap["keys_full"]) == (18, 128, 131, 8196)
    assert cap["capped"] and beyond.summary()["window_cap"] is cap
    added = {c["cause"]: c["added_ms"] for c in beyond.causes}
    assert cap["window_added_ms"] == pytest.approx(added["window_attention"])
    within = _quiet(explain, str(CONFIGS / "gpt-oss-120b.json"), "h200", candidates=4, seq_len=100,
                    acceptance="chain:0.7", allow_unmodelled=True)
    assert not within.window_cap["capped"] and within.window_cap["keys_windowed"] == 104
    assert explain("llama-3-8b", "h200", candidates=4, acceptance="chain:0.7").window_cap is None


def test_explain_cli_prints_one_window_cap_line():
    out = run_specroof("explain", "-m", str(CONFIGS / "gemma-3-1b.json"), "-H", "h200", "--candidates", "4",
                       "--seq-len", "4096", "--acceptance", "chain:0.7")
    assert out.returncode == 0, out.stderr
    lines = [line for line in out.stdout.splitlines() if line.startswith("window cap: ")]
    assert len(lines) == 1 and "22 of 26 layers" in lines[0] and "sliding window of 512 tokens" in lines[0]


def test_ops_lists_each_projection_once_over_both_kinds_of_layer():
    from specroof.cost.architectures import model_operations
    from specroof.cost.grid import Grid
    from specroof.cost.setup import setup_step

    setup = _quiet(setup_step, str(CONFIGS / "gpt-oss-120b.json"), "h200", allow_unmodelled=True)
    ops = model_operations(setup, Grid.of([2], [4], [4096]))
    names = [op.name for op in ops]
    assert len(names) == len(set(names))
    counts = {op.name: float(op.count) for op in ops}
    assert (counts["qkv_proj"], counts["o_proj"], counts["attention"], counts["window_attention"]) == (36, 36, 18, 18)


@pytest.mark.parametrize("method", ["eagle3", "eagle"])
def test_drafters_of_a_windowed_target_are_full_attention(method):
    """gpt-oss EAGLE-3 (the published heads are Llama layers): the one-layer drafter has no window."""
    from specroof.cost.drafting_ops import eagle_model

    target = _quiet(load_model, str(CONFIGS / "gpt-oss-120b.json"))
    head = eagle_model(target, method)
    assert (head.num_layers, head.window_layers, head.attention_sinks) == (1, 0, False)
    result = _quiet(specroof.speedup, str(CONFIGS / "gpt-oss-120b.json"), "h200", candidates=[1, 4],
                    seq_len=[8192], method=method, acceptance="chain:0.7", allow_unmodelled=True)
    assert np.all(result.speedup > 0)


def test_mtp_module_of_a_windowed_model_is_full_attention(tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({**BASE, "sliding_window": 1024, "num_nextn_predict_layers": 1}), encoding="utf-8")
    result = specroof.speedup(str(path), "h200", candidates=[1, 3], seq_len=[8192], method="mtp",
                              acceptance="chain:0.7")
    assert np.all(result.speedup > 0)
