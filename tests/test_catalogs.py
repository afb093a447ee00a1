"""The shipped data catalogs: model configs (Hugging Face config.json) and accelerator TOMLs."""

from __future__ import annotations

import json
import sys
from importlib import resources

import pytest

from specroof.models import catalog_names, load_model

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


REQUIRED_MODELS = [
    "llama-7b", "llama-13b", "llama-33b", "llama-65b",
    "llama-2-7b", "llama-2-13b", "llama-2-70b",
    "llama-3-8b", "llama-3-70b",
    "vicuna-7b", "vicuna-13b", "vicuna-33b",
    "mistral-7b", "mixtral-8x7b",
    "qwen2.5-7b", "qwen2.5-72b",
    # draft models and newer targets
    "llama-68m", "llama-160m", "llama-3.2-1b", "qwen2.5-0.5b",
    "llama-3.1-8b", "llama-3.1-70b",
]

REQUIRED_HARDWARE = [
    "a100-40gb-sxm", "a100-80gb-pcie", "a100-80gb-sxm", "a40", "a6000", "l4", "l40s",
    "rtx-4090", "h100-pcie", "h100-sxm", "h200", "b200", "mi300x",
]

HW_TOP_KEYS = [
    "name", "display_name", "vendor", "memory_gb", "memory_bandwidth_gbps", "sm_count",
    "l2_cache_mb", "interconnect_gbps", "interconnect", "tdp_w", "peak_tflops", "sources",
]
HW_NUMERIC_KEYS = [
    "memory_gb", "memory_bandwidth_gbps", "sm_count", "l2_cache_mb", "interconnect_gbps", "tdp_w",
]
HW_SOURCE_KEYS = ["memory_bandwidth_gbps", "peak_tflops", "sm_count", "memory_gb", "interconnect_gbps", "notes"]
DTYPES = {"fp16", "bf16", "fp8", "fp4", "int8", "fp32"}


# --------------------------------------------------------------------------- models


@pytest.mark.parametrize("name", REQUIRED_MODELS)
def test_required_model_loads(name):
    assert name in catalog_names()
    model = load_model(name)
    assert model.name == name
    assert model.source.startswith("https://huggingface.co/")
    assert model.hidden_size > 0 and model.num_layers > 0
    assert model.num_heads % model.num_kv_heads == 0


@pytest.mark.parametrize("name", sorted(catalog_names()))
def test_catalog_json_is_a_plain_hf_config(name):
    file = resources.files("specroof.models") / "catalog" / f"{name}.json"
    cfg = json.loads(file.read_text(encoding="utf-8"))
    text = cfg.get("text_config", {})  # multimodal configs (Llama-4) nest the language model
    for key in ("architectures", "model_type", "hidden_size", "num_hidden_layers",
                "num_attention_heads", "vocab_size", "_source"):
        assert key in cfg or key in text, f"{name} lacks {key}"


def test_exact_shapes():
    llama3 = load_model("llama-3-8b")
    assert (llama3.hidden_size, llama3.num_layers, llama3.num_heads, llama3.num_kv_heads) == (4096, 32, 32, 8)
    assert llama3.vocab_size == 128256

    mixtral = load_model("mixtral-8x7b")
    assert mixtral.is_moe
    assert (mixtral.num_experts, mixtral.experts_per_token) == (8, 2)
    assert mixtral.mlp_width == 14336

    qwen = load_model("qwen2.5-7b")
    assert qwen.head_dim == 128
    assert (qwen.num_heads, qwen.num_kv_heads, qwen.vocab_size) == (28, 4, 152064)

    llama33 = load_model("llama-33b")
    assert (llama33.hidden_size, llama33.intermediate_size, llama33.num_layers, llama33.num_heads) == (
        6656, 17920, 60, 52,
    )
    llama2_70 = load_model("llama-2-70b")
    assert (llama2_70.num_heads, llama2_70.num_kv_heads, llama2_70.intermediate_size) == (64, 8, 28672)

    assert load_model("llama-3.2-1b").tie_word_embeddings
    assert load_model("llama-3.2-1b").head_dim == 64
    assert load_model("llama-68m").num_layers == 2
    assert load_model("llama-160m").num_layers == 12


@pytest.mark.parametrize("target,draft", [("vicuna-7b", "llama-68m"), ("llama-3-8b", "llama-3.2-1b"),
                                          ("qwen2.5-72b", "qwen2.5-0.5b")])
def test_drafts_are_much_smaller(target, draft):
    assert load_model(draft).parameter_count() < load_model(target).parameter_count() / 5


@pytest.mark.parametrize("name,expected", [
    ("llama-7b", 6.74e9),
    ("llama-2-70b", 69.0e9),
    ("mixtral-8x7b", 46.7e9),
    ("llama-3-8b", 8.03e9),
    ("qwen2.5-7b", 7.62e9),
])
def test_parameter_counts(name, expected):
    assert load_model(name).parameter_count() == pytest.approx(expected, rel=0.02)


# --------------------------------------------------------------------------- hardware


def _hardware_files():
    folder = resources.files("specroof.hardware") / "catalog"
    return {p.name[:-5]: p for p in folder.iterdir() if p.name.endswith(".toml")}


def _hardware(name):
    return tomllib.loads(_hardware_files()[name].read_text(encoding="utf-8"))


def test_required_hardware_present():
    missing = sorted(set(REQUIRED_HARDWARE) - set(_hardware_files()))
    assert not missing, f"missing accelerator files: {missing}"


def sources_of(data: dict) -> str:
    """Every source string of a hardware file, joined (a peak's source may be its own key)."""
    return " ".join(str(v) for v in data.get("sources", {}).values())


@pytest.mark.parametrize("name", sorted(_hardware_files()))
def test_hardware_schema(name):
    data = _hardware(name)
    for key in HW_TOP_KEYS:
        assert key in data, f"{name} lacks {key}"
    assert data["name"] == name
    assert isinstance(data["display_name"], str) and data["display_name"]
    assert isinstance(data["vendor"], str) and data["vendor"]
    assert isinstance(data["sm_count"], int)
    for key in HW_NUMERIC_KEYS:
        value = data[key]
        assert isinstance(value, (int, float)) and not isinstance(value, bool), (name, key)
        assert value > 0, (name, key)

    peaks = data["peak_tflops"]
    assert {"fp16", "bf16", "fp32"} <= set(peaks), name
    assert set(peaks) <= DTYPES, name
    for dtype, value in peaks.items():
        assert isinstance(value, (int, float)) and value > 0, (name, dtype)
    # tensor throughput never below non-tensor FP32, and 8-bit never below 16-bit
    assert peaks["fp16"] >= peaks["fp32"]
    for low in ("fp8", "int8"):
        if low in peaks:
            assert peaks[low] >= peaks["bf16"], (name, low)
    if "fp4" in peaks:  # FP4 tensor cores (Blackwell) double the fp8 rate, and say where the figure is from
        assert peaks["fp4"] >= peaks["fp8"] and "fp4" in sources_of(data), name

    sources = data["sources"]
    for key in HW_SOURCE_KEYS:
        assert isinstance(sources.get(key), str) and sources[key].strip(), (name, key)


@pytest.mark.parametrize("name", sorted(_hardware_files()))
def test_bandwidth_to_compute_ratio_is_plausible(name):
    """Bytes per kFLOP: catches sparse figures, wrong units (TB/s vs GB/s) and typos."""
    data = _hardware(name)
    bytes_per_kflop = data["memory_bandwidth_gbps"] * 1e9 / (data["peak_tflops"]["fp16"] * 1e12) * 1e3
    assert 0.5 <= bytes_per_kflop <= 50, (name, bytes_per_kflop)


def test_known_figures():
    assert _hardware("rtx-4090")["peak_tflops"]["fp16"] == 165.2  # FP32-accumulate half rate
    assert _hardware("rtx-3090")["peak_tflops"]["fp16"] == 71.0
    assert _hardware("a40")["peak_tflops"]["fp16"] == 149.7  # already dense
    assert "fp8" not in _hardware("a100-80gb-sxm")["peak_tflops"]
    h200 = _hardware("h200")
    assert (h200["memory_bandwidth_gbps"], h200["sm_count"], h200["peak_tflops"]["bf16"]) == (4800.0, 132, 989.4)
    assert _hardware("mi300x")["sm_count"] == 304
    assert _hardware("a100-80gb-pcie")["memory_bandwidth_gbps"] == 1935.0
