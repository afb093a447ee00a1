"""Weights as deployed: per-group precision, block-scaled formats, the checkpoint's quantization.

The gpt-oss-120b and DeepSeek-V3 configs are tests/data/configs/ (published config.json files,
each naming its source).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import specroof
from specroof.cost.dtypes import BYTES
from specroof.cost.engine_kernels import fitted_overrides, fitted_section
from specroof.cost.engine_work.base import ENGINE_OPERATIONS
from specroof.cost.operation import REGISTRY
from specroof.cost.precision import GROUP_OF, GROUPS, WEIGHTLESS, parse_weight_dtype, resolve_precision, tensor_group
from specroof.cost.setup import setup_step
from specroof.errors import SpecroofError, SpecroofWarning
from specroof.models.architecture import ModelConfig, load_model
from tests.support import run_specroof

CONFIGS = Path(__file__).parent / "data" / "configs"
GPT_OSS = str(CONFIGS / "gpt-oss-120b.json")
DEEPSEEK = str(CONFIGS / "deepseek-v3.json")


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SpecroofWarning)
        return fn(*args, **kwargs)


# --------------------------------------------------------------------------- formats


def test_bytes_per_weight_include_the_scales():
    assert BYTES["fp8_block"] == pytest.approx(1.0 + 4.0 / (128 * 128))  # one fp32 scale per 128 x 128
    assert BYTES["mxfp4"] * 8 == pytest.approx(4.25)  # e2m1 + one e8m0 per 32
    assert BYTES["nvfp4"] * 8 == pytest.approx(4.5)  # e2m1 + one e4m3 per 16


# --------------------------------------------------------------------------- the setting


def test_parse_plain_grouped_and_mixed():
    assert parse_weight_dtype("fp8") == ("fp8", {})
    assert parse_weight_dtype("experts=mxfp4, attention=bf16") == (None, {"experts": "mxfp4", "attention": "bf16"})
    assert parse_weight_dtype("nvfp4,head=bf16") == ("nvfp4", {"head": "bf16"})
    assert parse_weight_dtype(None) == (None, {})


@pytest.mark.parametrize("text, words", [
    ("expert=mxfp4", "unknown tensor group 'expert'"), ("experts=fp3", "unknown weight dtype for experts"),
    ("experts=fp8,experts=bf16", "sets experts twice"), ("fp8,,experts=bf16", "empty item"),
    ("fp8,bf16", "two plain dtypes"),
])
def test_parse_errors_name_the_item(text, words):
    with pytest.raises(SpecroofError, match=words):
        parse_weight_dtype(text)


def test_plain_setting_replaces_the_checkpoint_and_groups_override_it():
    checkpoint = {"attention": "fp8_block", "experts": "fp8_block", "draft": None}
    assert resolve_precision(None, checkpoint, "bf16").of("experts") == "fp8_block"
    assert resolve_precision(None, checkpoint, "bf16").of("draft") == "bf16"  # the MTP layer kept at 16 bits
    assert resolve_precision("fp8", checkpoint, "bf16").dtypes == ()
    mixed = resolve_precision("experts=nvfp4", checkpoint, "bf16")
    assert (mixed.of("experts"), mixed.of("attention"), mixed.of("head")) == ("nvfp4", "fp8_block", "bf16")


def test_every_operation_has_a_group_or_holds_no_weights():
    """A new operation must say which group its weights belong to (GROUP_OF) or that it holds
    none (WEIGHTLESS; engine work, ENGINE_OPERATIONS, holds none): an unlisted one would run at the
    default dtype whatever the setting."""
    assert set(GROUP_OF.values()) <= set(GROUPS)
    assert sorted(name for name, info in REGISTRY.items()
                  if info not in GROUP_OF and info not in WEIGHTLESS and name not in ENGINE_OPERATIONS) == []


# --------------------------------------------------------------------------- the checkpoint


def test_quantization_config_is_read():
    deepseek, gpt = load_model(DEEPSEEK), load_model(GPT_OSS)
    assert deepseek.quantization == "fp8_block"
    assert deepseek.checkpoint_precision == {g: "fp8_block" for g in ("attention", "mlp", "experts")}
    assert gpt.quantization == "mxfp4"  # modules_to_not_convert: self_attn, router, embed_tokens, lm_head
    assert gpt.checkpoint_precision == {"mlp": "mxfp4", "experts": "mxfp4"}


def _config(quantization: dict) -> dict:
    return {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 4, "num_attention_heads": 4,
            "vocab_size": 1000, "num_local_experts": 8, "num_experts_per_tok": 2, "quantization_config": quantization}


def test_modelopt_nvfp4_keeps_attention_and_the_mtp_layer():
    kept = [f"model.layers.{i}.self_attn*" for i in range(4)] + ["lm_head", "model.layers.4*"]
    model = ModelConfig.from_hf_config(_config({"quant_method": "modelopt", "quant_algo": "NVFP4", "ignore": kept}),
                                       "toy-nvfp4")
    assert model.checkpoint_precision == {"mlp": "nvfp4", "experts": "nvfp4", "draft": None}


def test_a_group_kept_in_some_layers_is_priced_by_the_majority_with_a_warning():
    kept = ["model.layers.0.self_attn.q_proj"]
    with pytest.warns(SpecroofWarning, match="keeps attention unquantized in 1 of 4 layers"):
        model = ModelConfig.from_hf_config(_config({"quant_method": "fp8", "weight_block_size": [128, 128],
                                                    "modules_to_not_convert": kept}), "toy-fp8")
    assert model.checkpoint_precision["attention"] == "fp8_block"


def test_an_unknown_quant_method_is_refused_by_name_or_warned_when_allowed():
    path = CONFIGS / "gpt-oss-120b.json"
    import json

    cfg = json.loads(path.read_text())
    cfg["quantization_config"] = {"quant_method": "awq", "bits": 4}
    model = ModelConfig.from_hf_config(cfg, "gpt-oss-awq")
    assert model.quantization == ""
    with pytest.raises(SpecroofError, match="quantization_config"):
        specroof.latency(model, "h200", seq_len=64)
    with pytest.warns(SpecroofWarning, match="quantization_config"):
        specroof.latency(model, "h200", seq_len=64, allow_unmodelled=True)


# --------------------------------------------------------------------------- memory


def test_gpt_oss_120b_weighs_its_published_checkpoint():
    """OpenAI's gpt-oss model card: the gpt-oss-120b checkpoint is 60.8 GiB (MXFP4 experts,
    the rest bf16)."""
    mem = _quiet(specroof.memory_footprint, GPT_OSS, "h200", dtype="bf16", allow_unmodelled=True)
    assert mem.weights_bytes == pytest.approx(60.8 * 2**30, rel=0.02)
    bf16 = _quiet(specroof.memory_footprint, GPT_OSS, "h200", dtype="bf16", weight_dtype="bf16",
                  allow_unmodelled=True)
    assert bf16.weights_bytes > 3.0 * mem.weights_bytes  # 117 B parameters at 2 bytes: 234 GB


@pytest.mark.skipif(not hasattr(ModelConfig, "kv_lora_rank") or not hasattr(ModelConfig, "shared_experts"),
                    reason="prices DeepSeek-V3's weights once the MLA and shared-expert builders are merged")
def test_deepseek_v3_fp8_weighs_about_700_gb():
    """DeepSeek-V3's README: 671 B main-model parameters (plus the 14 B MTP module), stored fp8 with
    128 x 128 block scales, embedding, router and LM head in bf16: about 673 GB without MTP."""
    mem = _quiet(specroof.memory_footprint, DEEPSEEK, "h200", dtype="bf16", tp=8)
    assert mem.weights_bytes * 8 == pytest.approx(673e9, rel=0.02)


def test_weights_follow_each_groups_precision():
    """Mixtral with int4 experts: only the experts' bytes change, to a quarter of bf16."""
    base = setup_step("mixtral-8x7b", "h200", dtype="bf16")
    mixed = setup_step("mixtral-8x7b", "h200", dtype="bf16", weight_dtype="experts=int4")
    a = specroof.memory_footprint(base, None)
    b = specroof.memory_footprint(mixed, None)
    m = base.model
    experts = m.num_layers * m.num_experts * 3 * m.hidden_size * m.moe_intermediate_size
    assert a.weights_bytes - b.weights_bytes == pytest.approx(experts * (2.0 - 0.5), rel=1e-12)


def test_draft_group_sets_every_drafting_operation():
    target = setup_step("llama-3-8b", "h200", dtype="bf16", weight_dtype="fp8")
    mixed = setup_step("llama-3-8b", "h200", dtype="bf16", weight_dtype="fp8,draft=bf16")
    a = specroof.memory_footprint(target, None, 1, 4, method="eagle3")
    b = specroof.memory_footprint(mixed, None, 1, 4, method="eagle3")
    assert b.weights_bytes == a.weights_bytes
    assert b.draft_weights_bytes == pytest.approx(2.0 * a.draft_weights_bytes, rel=1e-12)


# --------------------------------------------------------------------------- time


def test_a_group_runs_its_own_formats_kernels():
    """experts=nvfp4 on B200 under the fitted vllm profile: the experts are priced with the
    nvfp4 MoE fields fitted to NVIDIA's measured kernels, attention with the bf16 ones."""
    setup = setup_step("mixtral-8x7b", "b200", dtype="bf16", weight_dtype="experts=nvfp4", profile="vllm")
    fitted = (fitted_section("b200", "vllm") or {}).get("nvfp4", {})
    assert "moe_fixed_us" in fitted and "compute_efficiency" in fitted, "no [b200.vllm.nvfp4] GEMM and MoE fit"
    assert fitted["moe_fixed_us"] != fitted_section("b200", "vllm")["bf16"]["moe_fixed_us"]
    variant = setup.for_weights("nvfp4")
    assert variant.profile.moe_fixed_us == fitted["moe_fixed_us"]
    assert setup.profile.moe_fixed_us == fitted_overrides("b200", "vllm", "bf16")["moe_fixed_us"]
    assert variant.compute_dtype == "fp4" and setup.compute_dtype == "bf16"
    step = specroof.latency(setup.model, "b200", batch=1, candidates=[1, 8], dtype="bf16", profile="vllm",
                            weight_dtype="experts=nvfp4")
    plain = specroof.latency(setup.model, "b200", batch=1, candidates=[1, 8], dtype="bf16", profile="vllm")
    np.testing.assert_allclose(step.ops_ms["qkv_proj"], plain.ops_ms["qkv_proj"])
    assert np.all(step.ops_ms["gate_up_proj"] < plain.ops_ms["gate_up_proj"])


def test_mxfp4_on_hopper_runs_at_the_16_bit_rate():
    setup = _quiet(setup_step, GPT_OSS, "h200", dtype="bf16", profile="vllm", allow_unmodelled=True)
    assert setup.precision.of("experts") == "mxfp4"
    assert setup.for_weights("mxfp4").compute_dtype == "bf16"  # W4A16: dequantized in the kernel
    ops = _quiet(specroof.latency, setup.model, "h200", dtype="bf16", profile="vllm", allow_unmodelled=True).passes[0]
    groups = {op.name: tensor_group(op, setup.precision) for op in ops.operations}
    assert groups["gate_up_proj"] == "experts" and groups["qkv_proj"] == "attention"
    assert {op.name: op.weight_dtype for op in ops.operations}["gate_up_proj"] == "mxfp4"


@pytest.mark.parametrize("hardware", ["a100-80gb-sxm", "h200"])
def test_nvfp4_where_the_device_has_no_fp4_is_one_error_line(hardware):
    done = run_specroof("latency", "-m", "mixtral-8x7b", "-H", hardware, "--weight-dtype", "experts=nvfp4")
    assert done.returncode == 2
    assert done.stderr.startswith("error: ") and done.stderr.count("\n") == 1
    assert hardware in done.stderr and "(experts)" in done.stderr and "nvfp4" in done.stderr


def test_modelopt_hf_quant_config_beside_the_config_is_read(tmp_path):
    """NVIDIA's NVFP4 checkpoints name their format in hf_quant_config.json (TensorRT Model
    Optimizer), e.g. nvidia/Qwen3-235B-A22B-NVFP4: quant_algo NVFP4, group_size 16, routers and
    lm_head excluded."""
    import json

    cfg = _config(None)
    del cfg["quantization_config"]
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    (tmp_path / "hf_quant_config.json").write_text(json.dumps({"producer": {"name": "modelopt"}, "quantization": {
        "quant_algo": "NVFP4", "kv_cache_quant_algo": "FP8", "group_size": 16,
        "exclude_modules": [f"model.layers.{i}.mlp.gate" for i in range(4)] + ["lm_head"]}}))
    model = load_model(str(tmp_path / "config.json"))
    assert model.checkpoint_precision == {"attention": "nvfp4", "mlp": "nvfp4", "experts": "nvfp4"}
    with pytest.raises(SpecroofError, match="cannot run nvfp4 weights"):
        setup_step(model, "h100-sxm")
    assert setup_step(model, "b200").precision.of("experts") == "nvfp4"
    assert setup_step(model, "b200").kv_dtype == "fp8"  # kv_cache_quant_algo: FP8
    assert setup_step(model, "b200", kv_dtype="bf16").kv_dtype == "bf16"


def test_a_drafter_with_its_own_checkpoint_does_not_take_the_targets_format():
    """gpt-oss's EAGLE-3 heads are 16-bit checkpoints: the target's MXFP4 experts do not make the
    head's dense MLP MXFP4; an MTP module is a layer of the target's checkpoint and does."""
    setup = _quiet(setup_step, GPT_OSS, "h200", dtype="bf16", allow_unmodelled=True)
    study = _quiet(specroof.speedup, GPT_OSS, "h200", candidates=4, dtype="bf16", method="eagle3",
                   allow_unmodelled=True)
    draft = [op for one in study.step.passes[1:] for op in one.operations if op.info.base_name == "gate_up_proj"]
    assert draft and all(op.weight_dtype is None for op in draft)  # the default: bf16
    assert setup.precision.of("mlp") == "mxfp4"
    mtp = _quiet(specroof.speedup, DEEPSEEK, "h200", candidates=3, dtype="bf16", method="mtp", tp=8,
                 allow_unmodelled=True)
    module = [op for one in mtp.step.passes[1:] for op in one.operations if op.info.base_name == "gate_up_proj"]
    assert module and all(op.weight_dtype == "fp8_block" for op in module)


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="abcdefgimnopqrstx0123456789_=, ", max_size=40))
def test_any_setting_parses_or_is_one_error(text):
    """Whatever is typed, --weight-dtype is read or refused with a SpecroofError (never a traceback)."""
    try:
        plain, groups = parse_weight_dtype(text)
    except SpecroofError as exc:
        assert "\n" not in str(exc)
        return
    assert plain is None or plain in BYTES
    assert set(groups) <= set(GROUPS) and set(groups.values()) <= set(BYTES)
