"""Config keys that change the cost but are not modelled: refused by name, or priced with a warning each.

The frontier configs under tests/data/configs/ are the published config.json files (each
names its source in ``_source``).
"""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import pytest

import specroof
from specroof.errors import SpecroofError, SpecroofWarning
from specroof.models.architecture import ModelConfig, load_model
from specroof.models.unmodelled import UNMODELLED, find_unmodelled
from tests.support import run_specroof

CONFIGS = Path(__file__).parent / "data" / "configs"

# Context beyond every window of these configs (Llama-4's 8,192-token chunks).
LONG = 16384
# The example refusal: a published config (every key of which is modelled now) with Nemotron-H's
# non-gated shared-expert width and its Mamba layer pattern, which nobody models.
REFUSED_KEY = "moe_shared_expert_intermediate_size"
REFUSED = {REFUSED_KEY: 1408, "hybrid_override_pattern": "M-M-M*-"}


def _config(name: str) -> Path:
    return CONFIGS / f"{name}.json"


def _refused(tmp_path: Path, base: str = "glm-4.5-air", **extra) -> Path:
    data = {**json.loads(_config(base).read_text(encoding="utf-8")), REFUSED_KEY: 1408, **extra}
    path = tmp_path / "refused.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


@pytest.mark.parametrize("name", sorted(p.stem for p in CONFIGS.glob("*.json")))
def test_published_configs_are_modelled_whole(name):
    """Every published config kept here (DeepSeek-V3/V3.2, gpt-oss, Qwen3-Next, Llama-4, Gemma-3...)
    names its source and has no key left unmodelled."""
    data = json.loads(_config(name).read_text(encoding="utf-8"))
    assert data["_source"].startswith("https://huggingface.co/"), name
    assert load_model(str(_config(name))).unmodelled == (), name


@pytest.mark.parametrize("base", ["deepseek-v3", "gpt-oss-120b", "qwen3-next-80b-a3b"])
def test_refused_with_every_key_named(base, tmp_path):
    path = _refused(tmp_path, base, **REFUSED)
    with pytest.raises(SpecroofError) as info:
        specroof.latency(str(path), "h200", seq_len=LONG)
    message = str(info.value)
    assert "--allow-unmodelled" in message and "\n" not in message
    named = {k for k in UNMODELLED if re.search(rf"\b{k}\b", message)}
    assert named == set(REFUSED), message


@pytest.mark.parametrize("base", ["deepseek-v3", "gpt-oss-120b", "qwen3-next-80b-a3b"])
def test_priced_with_one_warning_per_key_when_allowed(base, tmp_path):
    path = _refused(tmp_path, base, **REFUSED)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = specroof.latency(str(path), "h200", seq_len=LONG, allow_unmodelled=True)
    assert result.latency_ms.min() > 0
    ours = [str(w.message) for w in caught if issubclass(w.category, SpecroofWarning) and "ignoring " in str(w.message)]
    keys = {m.split("ignoring ", 1)[1].split(" = ", 1)[0] for m in ours}
    assert keys == set(REFUSED)
    assert len(ours) == len(keys)  # one warning per key, not per operation


def test_cli_refuses_then_prices_with_warnings(tmp_path):
    """DeepSeek-V3 with a key nobody models: refused, then priced with MTP (target and module
    share the config: one warning per key, not one per model built from it)."""
    path = str(_refused(tmp_path, "deepseek-v3"))
    refused = run_specroof("speedup", "-m", path, "-H", "h200", "--method", "mtp", "--candidates", "2")
    assert refused.returncode == 2 and refused.stderr.startswith("error: ") and "--allow-unmodelled" in refused.stderr
    assert "Traceback" not in refused.stderr
    allowed = run_specroof("speedup", "-m", path, "-H", "h200", "--method", "mtp",
                           "--candidates", "2", "--allow-unmodelled", "--tp", "8", "--format", "json")
    assert allowed.returncode == 0, allowed.stderr
    lines = [line for line in allowed.stderr.splitlines() if line.startswith("warning: ")]
    assert len(lines) == len(set(lines))  # one warning per key
    assert [line for line in lines if f"ignoring {REFUSED_KEY}" in line]
    assert json.loads(allowed.stdout)[0]["speedup"] > 0


@pytest.mark.parametrize("command", [["latency"], ["speedup"], ["plan", "--batch", "1"], ["ops"],
                                     ["explain", "--candidates", "4"]])
def test_every_command_takes_the_flag(command, tmp_path):
    args = [*command, "-m", str(_refused(tmp_path)), "-H", "h200"]
    assert run_specroof(*args).returncode == 2
    out = run_specroof(*args, "--allow-unmodelled")
    assert out.returncode == 0, out.stderr
    assert f"ignoring {REFUSED_KEY}" in out.stderr


def test_memory_footprint_takes_the_keyword(tmp_path):
    from specroof.speculation.footprint import memory_footprint

    with pytest.raises(SpecroofError, match=REFUSED_KEY):
        memory_footprint(str(_refused(tmp_path)), "h200")
    assert memory_footprint(str(_refused(tmp_path)), "h200", allow_unmodelled=True).total_bytes.min() > 0


def test_config_that_accepts_its_keys_warns_on_every_use(tmp_path):
    accepting = _refused(tmp_path, _specroof_allow_unmodelled=[REFUSED_KEY])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        specroof.latency(str(accepting), "h200")
    keys = {str(w.message).split("ignoring ", 1)[1].split(" = ")[0] for w in caught
            if issubclass(w.category, SpecroofWarning) and "ignoring" in str(w.message)}
    assert keys == {REFUSED_KEY}


def test_glm_45_air_is_modelled_whole():
    """Its dense first layer and shared expert are priced (cost/architectures/moe.py): nothing left."""
    assert load_model(str(_config("glm-4.5-air"))).unmodelled == ()
    assert load_model("glm-4.5-air").unmodelled == ()


@pytest.mark.parametrize("harmless", [
    {"sliding_window": None}, {"use_sliding_window": False, "sliding_window": 4096, "max_window_layers": 28},
    {"sliding_window": 32768, "max_position_embeddings": 32768},
    {"layer_types": ["full_attention"] * 4}, {"kv_lora_rank": None},
    {"quantization_config": None},
])
def test_values_that_provably_change_nothing_pass_silently(harmless):
    assert find_unmodelled({"hidden_size": 64, "max_position_embeddings": 8192, **harmless}) == ()


@pytest.mark.parametrize("key", sorted(UNMODELLED))
def test_every_table_key_is_found_when_it_matters(key):
    value = {"layer_types": ["mamba"], "v_head_dim": 96}.get(key, 7)
    cfg = {"max_position_embeddings": 8192, key: value}
    assert key in {f.key for f in find_unmodelled(cfg)}


def test_grouped_routing_is_read_not_refused():
    """n_group / topk_group are priced by the router law (cost/routing.py), skewed or not."""
    found = {f.key for f in load_model(str(_config("deepseek-v3"))).unmodelled}
    assert not found & {"n_group", "topk_group"}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        specroof.latency(str(_config("deepseek-v3")), "h200", moe_routing="zipf:1.0", allow_unmodelled=True)
    assert not any("n_group" in str(w.message) or "topk_group" in str(w.message) for w in caught)


def test_python_model_configs_have_nothing_unmodelled():
    cfg = ModelConfig(name="tiny", hidden_size=64, intermediate_size=128, num_layers=2, num_heads=4,
                      num_kv_heads=4, head_dim=16, vocab_size=100)
    assert specroof.latency(cfg, "h200").latency_ms.min() > 0


# ----------------------------------------------------------------- conflicting and absurd keys

BASE = {"hidden_size": 4096, "intermediate_size": 14336, "num_hidden_layers": 32, "num_attention_heads": 32,
        "num_key_value_heads": 8, "vocab_size": 32000}


def _load(tmp_path: Path, extra: dict) -> ModelConfig:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({**BASE, **extra}), encoding="utf-8")
    return load_model(str(path))


@pytest.mark.parametrize("extra,named", [
    ({"n_routed_experts": 8, "num_local_experts": 16, "num_experts_per_tok": 2}, ("n_routed_experts", "num_local_experts")),
    ({"num_local_experts": 8, "num_experts": 8, "n_routed_experts": 4, "num_experts_per_tok": 2},
     ("num_local_experts", "n_routed_experts")),
    ({"n_embd": 2048}, ("hidden_size", "n_embd")),
    ({"n_layer": 12}, ("num_hidden_layers", "n_layer")),
    ({"num_local_experts": 8, "num_experts_per_tok": 2, "experts_per_token": 4},
     ("num_experts_per_tok", "experts_per_token")),
    ({"num_nextn_predict_layers": 1, "mtp_num_hidden_layers": 2}, ("num_nextn_predict_layers", "mtp_num_hidden_layers")),
])
def test_conflicting_keys_are_refused_by_their_names(tmp_path, extra, named):
    with pytest.raises(SpecroofError) as info:
        _load(tmp_path, extra)
    message = str(info.value)
    assert all(k in message for k in named) and "disagree" in message


@pytest.mark.parametrize("extra,named,internal", [
    ({"num_nextn_predict_layers": 1000}, "num_nextn_predict_layers", "mtp_layers"),
    ({"mtp_num_hidden_layers": 65}, "mtp_num_hidden_layers", "mtp_layers"),
    ({"n_routed_experts": 8, "num_experts_per_tok": 9}, "n_routed_experts = 8", "experts_per_token must"),
    ({"num_experts_per_tok": 2}, "num_experts_per_tok = 2 but no expert count", "num_experts >"),
    ({"num_local_experts": 8}, "num_local_experts = 8 but no num_experts_per_tok", "experts_per_token"),
    ({"hidden_size": 4100}, "hidden_size 4100 is not divisible by num_attention_heads 32", "num_heads"),
    ({"num_key_value_heads": 5}, "num_key_value_heads 5", "num_kv_heads"),
    ({"sliding_window": "4096"}, "sliding_window must be a positive whole number", "window_of"),
    ({"attention_chunk_size": -1}, "attention_chunk_size must be a positive whole number", "window_of"),
    ({"_specroof_allow_unmodelled": "sliding_window"}, "_specroof_allow_unmodelled must be a list", "accepted"),
])
def test_absurd_keys_are_refused_by_the_users_names(tmp_path, extra, named, internal):
    with pytest.raises(SpecroofError) as info:
        _load(tmp_path, extra)
    message = str(info.value)
    assert named in message and internal not in message, message


def test_agreeing_synonyms_are_fine(tmp_path):
    cfg = _load(tmp_path, {"num_local_experts": 8, "n_routed_experts": 8, "num_experts_per_tok": 2,
                           "experts_per_token": 2})
    assert (cfg.num_experts, cfg.experts_per_token) == (8, 2)


def test_explorer_api_refuses_then_allows(tmp_path):
    pytest.importorskip("starlette")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient
    from specroof.web.app import create_app

    with TestClient(create_app(upload_dir=tmp_path / "uploads"), raise_server_exceptions=False,
                    base_url="http://127.0.0.1") as client:
        upload = client.post("/api/upload?kind=model", content=_refused(tmp_path).read_bytes())
        assert upload.status_code == 200, upload.text
        model = upload.json()["token"]
        params = {"model": model, "hardware": "h200", "candidates": "1,4"}
        refused = client.get("/api/speedup", params=params)
        assert refused.status_code == 400 and REFUSED_KEY in refused.text
        allowed = client.get("/api/speedup", params={**params, "allow_unmodelled": "true"})
        assert allowed.status_code == 200, allowed.text
