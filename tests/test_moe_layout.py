"""Frontier mixture-of-experts models: shared experts, dense layers, grouped routing, the MTP
module, and the parameter counts their model cards publish.

Published figures (each a rounded number of billions, so "within its rounding" is +-0.5B):
- DeepSeek-V3: 671B total, 37B activated; "685B on Hugging Face, which includes 671B of the Main
  Model weights and 14B of the Multi-Token Prediction (MTP) Module weights"
  (https://huggingface.co/deepseek-ai/DeepSeek-V3, README, section 1 and "How to Run Locally").
- Qwen3-235B-A22B: 235B total, 22B activated (https://huggingface.co/Qwen/Qwen3-235B-A22B).
- GLM-4.5: 355B total, 32B active (https://github.com/zai-org/GLM-4.5 README, Model Introduction).
- Llama-4 Maverick: 400B total, 17B active (https://huggingface.co/meta-llama/Llama-4-Maverick-17B-128E-Instruct).
  Scout's card says 109B total; its language model reads 107.8B here (1.1% short, probably the
  vision encoder the checkpoint also holds and specroof does not price: not verified), so only
  its active 17B is compared.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import specroof
from specroof.cost.architectures import model_operations, parameter_count
from specroof.cost.architectures.decoder import layer_attention
from specroof.cost.drafting_ops import mtp_operations
from specroof.cost.grid import Grid
from specroof.cost.operation import (
    DENSE_DOWN_PROJ,
    DENSE_GATE_UP_PROJ,
    EMBEDDING,
    LM_HEAD,
    MTP_INPUT,
    MTP_PROJ,
    SHARED_DOWN_PROJ,
    SHARED_GATE_UP_PROJ,
)
from specroof.cost.setup import setup_step
from specroof.errors import SpecroofError
from specroof.models.architecture import load_model
from tests.support import run_specroof

CONFIGS = Path(__file__).parent / "data" / "configs"
GRID = Grid.of([1], [1], [128])
BILLION = 1e9


def _config(name: str) -> str:
    return str(CONFIGS / f"{name}.json")


def _write(tmp_path: Path, base: str, **changes) -> str:
    data = {**json.loads(Path(_config(base)).read_text(encoding="utf-8")), **changes}
    data = {k: v for k, v in data.items() if v is not None}
    path = tmp_path / "config.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


# ----------------------------------------------------------------------------- the layout read


@pytest.mark.parametrize("name, shared, shared_width, dense, groups", [
    ("deepseek-v3", 1, 2048, 3, (8, 4)),  # first_k_dense_replace 3, n_group 8, topk_group 4
    ("glm-4.5", 1, 1536, 3, (1, 1)),
    ("glm-4.5-air", 1, 1408, 1, (1, 1)),
    ("qwen3-235b-a22b", 0, 0, 0, (1, 1)),  # decoder_sparse_step 1, mlp_only_layers []
    ("qwen3-next-80b-a3b", 1, 512, 0, (1, 1)),  # Qwen's one shared expert of its own width
    ("llama-4-scout", 1, 8192, 0, (1, 1)),  # llama4_text: one implied shared expert of the routed width
])
def test_published_configs_read_their_layout(name, shared, shared_width, dense, groups):
    m = load_model(_config(name))
    assert (m.shared_experts, m.shared_expert_intermediate_size, m.dense_layers) == (shared, shared_width, dense)
    assert (m.expert_groups, m.expert_groups_per_token) == groups
    assert m.moe_layers == m.num_layers - dense


def test_llama4_dense_layers_are_intermediate_size_mlp_wide(tmp_path):
    """Maverick interleaves: layers 1, 3, ..., 47 are MoE (interleave_moe_layer_step 2)."""
    text = json.loads(Path(_config("llama-4-scout")).read_text(encoding="utf-8"))["text_config"]
    m = load_model(_write(tmp_path, "llama-4-scout", text_config={**text, "interleave_moe_layer_step": 2}))
    assert (m.dense_layers, m.intermediate_size, m.moe_intermediate_size) == (24, 16384, 8192)


@pytest.mark.parametrize("keys, dense", [
    ({"first_k_dense_replace": 1, "moe_layer_freq": 2}, 5),  # MoE: i >= 1 and i % 2 == 0 -> 2, 4, 6
    ({"mlp_only_layers": [0, 5], "decoder_sparse_step": 2}, 5),  # MoE: (i + 1) % 2 == 0, not 5 -> 1, 3, 7
    ({"moe_layers": [2, 3]}, 6),
    ({"interleave_moe_layer_step": 4}, 6),  # MoE: 3, 7
    ({"expert_layer_period": 2, "expert_layer_offset": 1}, 4),  # Jamba: 1, 3, 5, 7
    ({"first_k_dense_replace": 0, "mlp_only_layers": [], "decoder_sparse_step": 1, "moe_layer_freq": 1}, 0),
])
def test_dense_layer_rules_counted_by_hand(tmp_path, keys, dense):
    base = {"hidden_size": 64, "num_hidden_layers": 8, "num_attention_heads": 4, "vocab_size": 100,
            "intermediate_size": 256, "moe_intermediate_size": 32, "num_experts": 8, "num_experts_per_tok": 2}
    path = tmp_path / "config.json"
    path.write_text(json.dumps({**base, **keys}), encoding="utf-8")
    assert load_model(str(path)).dense_layers == dense


@pytest.mark.parametrize("changes, named", [
    ({"n_shared_experts": 300}, "n_shared_experts = 300 shared experts is more than the 256 routed"),
    ({"first_k_dense_replace": 62}, "first_k_dense_replace = 62 dense layers, but num_hidden_layers = 61"),
    ({"topk_group": 9}, "topk_group = 9 groups per token, but n_group = 8"),
    ({"n_group": 7}, "n_group = 7 does not divide the 256 routed experts"),
    ({"topk_group": 1, "num_experts_per_tok": 40}, "topk_group = 1 groups of 32 experts hold fewer than"),
    ({"mlp_only_layers": [70]}, "mlp_only_layers names layer 70, but num_hidden_layers = 61"),
    ({"decoder_sparse_step": 0}, "decoder_sparse_step must be at least 1"),
    ({"num_shared_experts": 2}, "n_shared_experts = 1 and num_shared_experts = 2 disagree"),
    ({"expert_layer_period": 2, "expert_layer_offset": 2}, "expert_layer_offset = 2 must be smaller"),
])
def test_inconsistent_layouts_get_one_error_naming_the_keys(tmp_path, changes, named):
    with pytest.raises(SpecroofError) as info:
        load_model(_write(tmp_path, "deepseek-v3", **changes))
    assert named in str(info.value) and "\n" not in str(info.value)


def test_an_absurd_layer_count_is_refused_not_enumerated(tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"hidden_size": 64, "num_hidden_layers": 10**9, "num_attention_heads": 4,
                                "vocab_size": 100, "intermediate_size": 256, "num_local_experts": 8,
                                "num_experts_per_tok": 2}), encoding="utf-8")
    with pytest.raises(SpecroofError, match="num_hidden_layers = 1,000,000,000 is more MoE layers"):
        load_model(str(path))


def test_shared_experts_without_routed_ones_are_refused(tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
                                "vocab_size": 100, "intermediate_size": 256, "n_shared_experts": 2}), encoding="utf-8")
    with pytest.raises(SpecroofError, match="n_shared_experts = 2 but no routed experts"):
        load_model(str(path))


def test_cli_says_one_error_line(tmp_path):
    out = run_specroof("latency", "-m", _write(tmp_path, "glm-4.5", n_shared_experts=161), "-H", "h200")
    assert out.returncode == 2 and out.stderr.startswith("error: ") and "Traceback" not in out.stderr
    assert out.stderr.strip().count("\n") == 0 and "n_shared_experts = 161" in out.stderr


# ----------------------------------------------------------------------------- the operation list


def test_deepseek_v3_lists_shared_and_dense_operations():
    setup = setup_step(_config("deepseek-v3"), "h200", tp=8, allow_unmodelled=True)
    ops = {op.info: op for op in model_operations(setup, GRID)}
    h = 7168
    assert ops[SHARED_GATE_UP_PROJ].count == 58 and ops[DENSE_GATE_UP_PROJ].count == 3
    assert ops[SHARED_GATE_UP_PROJ].shape.n == 2 * 2048 // 8  # one shared expert of 2048, split over 8
    assert ops[DENSE_DOWN_PROJ].shape.k == 18432 // 8
    assert ops[SHARED_DOWN_PROJ].weight_bytes == 58 * 2048 // 8 * h * 2
    routed = [op for op in model_operations(setup, GRID) if op.kind == "moe"]
    assert {op.count for op in routed} == {58.0}
    assert routed[0].shape.groups == (8, 4)


def _attention_parameters(setup, num_layers: int) -> float:
    """Weights of the attention blocks the list builds (plain attention, MLA after it lands)."""
    return sum(op.weight_bytes for build, count in layer_attention(setup, num_layers)
               for op in build(setup, GRID, GRID.tokens, count)) / setup.weight_bytes


def _mla_parameters(m: dict) -> int:
    """One DeepSeek-V3 layer's MLA weights from its config: q down (and its norm), q up, kv down
    (latent + RoPE key, and the latent's norm), kv up (nope keys and values), o_proj."""
    h, heads = m["hidden_size"], m["num_attention_heads"]
    q_lora, kv_lora, rope, nope, v = (m[k] for k in ("q_lora_rank", "kv_lora_rank", "qk_rope_head_dim",
                                                      "qk_nope_head_dim", "v_head_dim"))
    return (h * q_lora + q_lora + q_lora * heads * (nope + rope) + h * (kv_lora + rope) + kv_lora
            + kv_lora * heads * (nope + v) + heads * v * h)


def _counts(name: str) -> tuple[float, float, float]:
    """(total, active with the embedding and LM head, active without either) in parameters, read
    off the operation list. DeepSeek's attention is its MLA by the config's formula (the list's
    own attention block is swapped out, so this holds before and after MLA is built)."""
    setup = setup_step(_config(name), "h200", allow_unmodelled=True)
    m = setup.model
    total = parameter_count(model_operations(setup, GRID), setup.weight_bytes)
    raw = json.loads(Path(_config(name)).read_text(encoding="utf-8"))
    if "kv_lora_rank" in raw:
        total += m.num_layers * _mla_parameters(raw) - _attention_parameters(setup, m.num_layers)
    idle = (m.num_experts - m.experts_per_token) * 3 * m.hidden_size * m.moe_intermediate_size * m.moe_layers
    table = m.vocab_size * m.hidden_size
    return total, total - idle, total - idle - 2 * table


@pytest.mark.parametrize("name, total_b, active_b", [
    ("deepseek-v3", 671, 37), ("qwen3-235b-a22b", 235, 22), ("glm-4.5", 355, 32), ("llama-4-maverick", 400, 17)])
def test_parameter_counts_match_the_model_cards(name, total_b, active_b):
    """Totals within 1%. Vendors count "active" differently (with or without the embedding
    table and LM head: DeepSeek 37B and Qwen 22B include them, GLM's 32B does not), so the
    published figure must lie between the two conventions, within its rounding. Without the
    shared experts or the dense layers these fail (GLM-4.5: its shared experts are 2.1B)."""
    total, with_tables, without = _counts(name)
    assert total == pytest.approx(total_b * BILLION, rel=0.01)
    assert without - 0.5 * BILLION <= active_b * BILLION <= with_tables + 0.5 * BILLION


def test_llama4_scout_active_parameters():
    _, with_tables, without = _counts("llama-4-scout")
    assert without - 0.5 * BILLION <= 17 * BILLION <= with_tables + 0.5 * BILLION


def test_deepseek_mtp_module_is_the_published_14b():
    """The MTP module's own weights (one MoE layer of MLA, eh_proj, the norms) plus the copies of
    the embedding and LM head its checkpoint stores: 14B = 685B - 671B, two figures rounded to
    the billion (+-1B). Main model and module together round to 685B, the checkpoint's tensor
    count, which includes its fp8 block scales: one fp32 scale per 128 x 128 block of every
    quantized matrix (quantization_config weight_block_size), 1/16384 of the weights."""
    setup = setup_step(_config("deepseek-v3"), "h200", allow_unmodelled=True)
    module_setup, ops = mtp_operations(setup, GRID, 1.0, False)
    raw = json.loads(Path(_config("deepseek-v3")).read_text(encoding="utf-8"))
    own = sum(op.weight_bytes for op in ops) / setup.weight_bytes
    own += _mla_parameters(raw) - _attention_parameters(module_setup, 1)
    stored = own + 2 * raw["vocab_size"] * raw["hidden_size"]
    assert abs(stored - 14 * BILLION) <= 1.0 * BILLION
    checkpoint = (stored + _counts("deepseek-v3")[0]) * (1 + 1 / (128 * 128))
    assert abs(checkpoint - 685 * BILLION) <= 0.5 * BILLION


def test_mtp_module_is_one_moe_layer_with_its_input_projection():
    setup = setup_step(_config("deepseek-v3"), "h200", tp=8, allow_unmodelled=True)
    module, ops = mtp_operations(setup, GRID, 1.0, False)
    assert module.model.num_layers == 1 and module.model.dense_layers == 0 and module.model.mtp_layers == 0
    names = {op.info.base_name for op in ops}
    assert {MTP_INPUT.name, MTP_PROJ.name, SHARED_GATE_UP_PROJ.name, "gate_up_proj"} <= names
    assert DENSE_GATE_UP_PROJ.name not in names and EMBEDDING.name not in names
    h = 7168
    by_name = {op.info.base_name: op for op in ops}
    assert by_name[MTP_PROJ.name].shape.k == 2 * h and by_name[MTP_PROJ.name].weight_bytes == 2 * h * h * 2
    assert by_name[MTP_INPUT.name].weight_bytes == 2 * h * 2  # enorm and hnorm
    assert by_name[LM_HEAD.name].weight_bytes == 0.0  # the target's head
    assert all(op.group == "drafting" for op in ops)


def test_mtp_drafting_prices_a_moe_layer_on_glm():
    result = specroof.speedup(_config("glm-4.5"), "h200", tp=8, method="mtp", candidates=[2], seq_len=[1024],
                              acceptance="log:0.5")
    assert result.speedup.min() > 0 and "draft:shared_gate_up_proj" in result.step.ops_ms


# ----------------------------------------------------------------------------- explain


def test_explain_counts_experts_per_moe_layer():
    e = specroof.explain(_config("glm-4.5"), "h200", batch=4, candidates=4, tp=8, acceptance="log:0.5")
    tax = e.moe_tax
    assert tax["moe_layers"] == 89 and tax["shared_experts"] == 1 and tax["routed_experts"] == 160
    k, experts = 8, 160
    for tokens, key in ((4, "experts_plain"), (16, "experts_verify")):
        assert tax[key] == pytest.approx(experts * (1 - (1 - k / experts) ** tokens))
    assert "shared_gate_up_proj" not in tax["expert_ops"]  # every token runs them: no tax
    assert np.isfinite(tax["tax_ms"]) and tax["tax_ms"] > 0


def test_grouped_routing_reaches_the_price(tmp_path):
    """Under a skewed router the group limit changes the experts a step reads (cost/routing.py);
    under the uniform law it changes nothing (symmetry)."""
    flat = _write(tmp_path, "deepseek-v3", n_group=1, topk_group=1)
    kwargs = dict(tp=8, batch=[16], seq_len=[512], allow_unmodelled=True)
    skewed = [specroof.latency(path, "h200", moe_routing="zipf:1.0", **kwargs).ops_ms["gate_up_proj"]
              for path in (_config("deepseek-v3"), flat)]
    assert skewed[0].item() > skewed[1].item()  # the grouped draw wakes more experts
    uniform = [specroof.latency(path, "h200", **kwargs).ops_ms["gate_up_proj"] for path in (_config("deepseek-v3"), flat)]
    assert uniform[0].item() == uniform[1].item()


def test_every_shipped_mtp_module_is_held(tmp_path):
    """Two modules (num_nextn_predict_layers 2): twice the weights and KV cache, the same time."""
    one, two = (setup_step(path, "h200", tp=8, allow_unmodelled=True)
                for path in (_config("glm-4.5"), _write(tmp_path, "glm-4.5", num_nextn_predict_layers=2)))
    (_, ops_one), (_, ops_two) = mtp_operations(one, GRID, 1.0, False), mtp_operations(two, GRID, 1.0, False)
    assert sum(op.weight_bytes for op in ops_two) == 2 * sum(op.weight_bytes for op in ops_one)
    assert sum(op.cache_bytes_per_token for op in ops_two) == 2 * sum(op.cache_bytes_per_token for op in ops_one)
    times = [specroof.speedup(cfg, "h200", tp=8, method="mtp", candidates=[3], acceptance="log:0.5").draft_ms
             for cfg in (_config("glm-4.5"), _write(tmp_path, "glm-4.5", num_nextn_predict_layers=2))]
    np.testing.assert_allclose(times[0], times[1])


def test_eagle_head_of_a_layered_moe_target_is_one_dense_layer():
    result = specroof.speedup("glm-4.5-air", "h200", tp=4, method="eagle3", candidates=[3], acceptance="log:0.5")
    assert result.speedup.min() > 0
    assert not any(name.startswith("draft:shared") or name.startswith("draft:dense") for name in result.step.ops_ms)


def test_tensor_parallelism_must_split_the_shared_experts(tmp_path):
    path = _write(tmp_path, "glm-4.5-air", shared_expert_intermediate_size=1004)  # one shared expert, 1004 wide
    assert load_model(path).shared_expert_intermediate_size == 1004
    with pytest.raises(SpecroofError, match="shared-expert width 1004"):
        setup_step(path, "h200", tp=8)


@pytest.mark.parametrize("fields, words", [
    (dict(num_experts=4, experts_per_token=2, moe_intermediate_size=8, shared_experts=5,
          shared_expert_intermediate_size=8), "5 shared experts is more than the 4 routed experts"),
    (dict(num_experts=4, experts_per_token=2, moe_intermediate_size=8, dense_layers=3), "3 dense layers"),
    (dict(num_experts=8, experts_per_token=2, moe_intermediate_size=8, expert_groups=4,
          expert_groups_per_token=5), "4 expert groups with 5 per token"),
    (dict(shared_experts=1, shared_expert_intermediate_size=8), "apply only when num_experts > 0"),
])
def test_python_model_configs_are_checked_too(fields, words):
    from specroof.models.architecture import ModelConfig

    with pytest.raises(SpecroofError, match=words):
        ModelConfig(name="tiny", hidden_size=64, intermediate_size=128, num_layers=2, num_heads=4, num_kv_heads=4,
                    head_dim=16, vocab_size=100, **fields)


def test_explain_line_says_plain_versus_verify_per_moe_layer():
    from specroof.speculation.moe_explain import moe_tax_line

    e = specroof.explain(_config("glm-4.5"), "h200", batch=4, candidates=4, tp=8, acceptance="log:0.5")
    line = moe_tax_line(e.moe_tax, 16)
    assert f"{e.moe_tax['experts_verify']:.2f} of 160 routed experts woken in each of 89 MoE layers" in line
    assert f"vs {e.moe_tax['experts_plain']:.2f} for the plain step" in line
    assert "the shared expert runs for every token either way" in line
    out = run_specroof("explain", "-m", _config("glm-4.5"), "-H", "h200", "--tp", "8", "--batch", "4",
                       "--candidates", "4", "--acceptance", "log:0.5")
    assert out.returncode == 0, out.stderr
    assert line in out.stdout
