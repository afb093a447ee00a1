"""Multi-head latent attention (DeepSeek-V3) and DeepSeek sparse attention (DeepSeek-V3.2).

The configs under tests/data/configs/ are the published config.json files (``_source``). Their
keys that other builders model (shared experts, dense first layers, the checkpoint's fp8
format) are allowed here with ``allow_unmodelled``: these tests look at attention only.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

from specroof.cost.architectures import model_operations
from specroof.cost.grid import Grid
from specroof.cost.memory import cache_bytes_per_token
from specroof.cost.operation import LatentAttentionShape
from specroof.cost.pricing import price
from specroof.cost.pricing_mla import ABSORB_MAX_QUERIES, MLA_BLOCK_ROWS
from specroof.cost.setup import setup_step
from specroof.errors import SpecroofError
from specroof.models.architecture import load_model
from tests.support import run_specroof

CONFIGS = Path(__file__).parent / "data" / "configs"
V3 = str(CONFIGS / "deepseek-v3.json")
V32 = str(CONFIGS / "deepseek-v3.2.json")


def _setup(config: str = V3, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return setup_step(config, options.pop("hardware", "h200"), allow_unmodelled=True, **options)


def _ops(setup, batch=1, candidates=1, seq_len=1024):
    return model_operations(setup, Grid.of(batch, candidates, seq_len))


def _by_name(ops, name):
    return [op for op in ops if op.name == name]


def test_config_fields_read_from_the_published_keys():
    m = load_model(V3)
    assert m.is_mla and not m.is_dsa
    assert (m.q_lora_rank, m.kv_lora_rank, m.qk_rope_head_dim, m.qk_nope_head_dim, m.v_head_dim) == (
        1536, 512, 64, 128, 128)
    assert not {u.key for u in m.unmodelled} & {"kv_lora_rank", "q_lora_rank", "v_head_dim"}
    d = load_model(V32)
    assert d.is_dsa and (d.index_topk, d.index_n_heads, d.index_head_dim) == (2048, 64, 128)


@pytest.mark.parametrize(("tp", "kv_dtype", "kv_bytes"), [(1, "bf16", 2), (8, "bf16", 2), (8, "fp8", 1)])
def test_kv_bytes_per_token_are_the_latent_and_rope_key_on_every_rank(tp, kv_dtype, kv_bytes):
    """(kv_lora_rank + qk_rope_head_dim) x layers x bytes: not per head, and not split by TP."""
    setup = _setup(tp=tp, dtype="bf16", kv_dtype=kv_dtype)
    assert cache_bytes_per_token(_ops(setup)) == (512 + 64) * 61 * kv_bytes


def test_dsa_adds_the_indexer_cache():
    """Per layer: the latent, plus an fp8 indexer key of 128 elements and one fp32 scale."""
    setup = _setup(V32, tp=8, dtype="bf16")
    assert cache_bytes_per_token(_ops(setup)) == ((512 + 64) * 2 + 128 + 4) * 61


def test_op_list_has_the_latent_projections_and_no_plain_attention():
    setup = _setup(tp=8, dtype="bf16", fuse_qkv=False)
    names = [op.name for op in _ops(setup)]
    for name in ("q_a_proj", "q_proj", "kv_a_proj", "mla_bmm", "kv_b_proj", "mla_attention", "o_proj"):
        assert name in names, names
    assert "qkv_proj" not in names and "attention" not in names
    fused = [op.name for op in _ops(_setup(tp=8, dtype="bf16"))]
    assert "q_a_proj" not in fused and "kv_a_proj" in fused  # vLLM's fused_qkv_a_proj


def test_attention_weights_per_layer_by_hand():
    """DeepSeek-V3 at tp 1: q_a 7168x1536, kv_a 7168x576, q_b 1536x(128x192), kv_b 512x(128x256),
    o 128x128x7168 = 187.1 M weights per layer."""
    setup = _setup(dtype="bf16")
    names = {"q_a_proj", "q_proj", "kv_a_proj", "mla_bmm", "kv_b_proj", "mla_attention", "o_proj"}
    held = sum(op.weight_bytes for op in _ops(setup) if op.name in names) / 2 / 61
    by_hand = 7168 * 1536 + 7168 * 576 + 1536 * 128 * 192 + 512 * 128 * 256 + 128 * 128 * 7168
    assert held == by_hand
    assert by_hand == pytest.approx(187.1e6, rel=1e-3)


def test_tp_splits_heads_but_not_the_replicated_down_projections():
    one, eight = _setup(dtype="bf16"), _setup(tp=8, dtype="bf16")
    kv_a = [_by_name(_ops(s), "kv_a_proj")[0].weight_bytes for s in (one, eight)]
    q = [_by_name(_ops(s), "q_proj")[0].weight_bytes for s in (one, eight)]
    assert kv_a[0] == kv_a[1]  # replicated (with q_a_proj: fused_qkv_a_proj)
    assert q[0] == 8 * q[1]


def test_few_queries_take_the_absorbed_path_a_long_prefill_the_naive_one():
    setup = _setup(tp=8, dtype="bf16")
    ops = _ops(setup, candidates=[1, 4, ABSORB_MAX_QUERIES, ABSORB_MAX_QUERIES + 1, 1024], seq_len=2048)
    bmm = np.asarray(_by_name(ops, "mla_bmm")[0].count).ravel()
    naive = np.asarray(_by_name(ops, "kv_b_proj")[0].count).ravel()
    assert list(bmm) == [61, 61, 61, 0, 0]
    assert list(naive) == [0, 0, 0, 61, 61]


def test_absorbed_attention_is_cheaper_than_naive_for_a_verification_step():
    """Same shape, both paths: over a long cache the absorbed path reads one latent per token,
    the naive one every head's K and V (and the up-projection is not even counted here)."""
    setup = _setup(tp=8, dtype="bf16")
    absorbed = price(_by_name(_ops(setup, candidates=4, seq_len=8192), "mla_attention")[0], setup)
    shape = LatentAttentionShape(1.0, float(ABSORB_MAX_QUERIES + 1), 8192.0 + ABSORB_MAX_QUERIES + 1,
                                 16, 512, 64, 128, 128)
    naive_op = _by_name(_ops(setup, candidates=4, seq_len=8192), "mla_attention")[0]
    naive = price(type(naive_op)(naive_op.info, shape), setup)
    # per cached token: one 576-element latent against 16 heads x (192 + 128) bf16 = 8.9x
    assert float(np.max(absorbed.bytes)) < float(np.max(naive.bytes)) / 8


def test_verified_tokens_fill_the_padded_head_tile():
    """16 heads per GPU (tp 8): n x 16 query rows are padded to 64, so 1 to 4 tokens cost the
    same compute; the fifth starts a second tile."""
    setup = _setup(tp=8, dtype="bf16")
    assert MLA_BLOCK_ROWS == 64
    op = _by_name(_ops(setup, candidates=[1, 2, 4, 5], seq_len=4096), "mla_attention")[0]
    compute = np.asarray(price(op, setup).compute_s).ravel()
    assert compute[0] == pytest.approx(compute[2], rel=0.01)
    assert compute[3] > 1.8 * compute[0]


def test_dsa_attention_stops_growing_with_context_beyond_index_topk():
    setup = _setup(V32, tp=8, dtype="bf16")
    ops = _ops(setup, batch=8, candidates=4, seq_len=[1024, 4096, 16384, 65536])
    attention = np.asarray(price(_by_name(ops, "mla_attention")[0], setup).seconds).ravel()
    indexer = np.asarray(price(_by_name(ops, "dsa_indexer")[0], setup).seconds).ravel()
    assert attention[0] < attention[1]  # below index_topk the context still counts
    assert attention[1] == pytest.approx(attention[2]) == pytest.approx(attention[3])
    assert indexer[3] > 2 * indexer[2]  # the indexer still scans the whole context
    dense = _ops(_setup(tp=8, dtype="bf16"), batch=8, candidates=4, seq_len=[16384, 65536])
    dense_s = np.asarray(price(_by_name(dense, "mla_attention")[0], setup).seconds).ravel()
    assert dense_s[1] > 2 * dense_s[0]


def test_dsa_step_grows_slower_with_context_than_dense_mla():
    v3 = _setup(tp=8, dtype="bf16")
    v32 = _setup(V32, tp=8, dtype="bf16")
    from specroof.cost.step import latency_for_setup

    grow = {}
    for name, setup in (("mla", v3), ("dsa", v32)):
        ms = latency_for_setup(setup, 32, 4, [8192, 65536]).latency_ms.ravel()
        grow[name] = ms[1] - ms[0]
    assert grow["dsa"] < grow["mla"] / 2


# ----------------------------------------------------------------------------------- bad input

BASE = {"hidden_size": 1024, "intermediate_size": 2048, "num_hidden_layers": 2, "num_attention_heads": 8,
        "vocab_size": 1000}
MLA = {"kv_lora_rank": 256, "qk_rope_head_dim": 32, "qk_nope_head_dim": 64, "v_head_dim": 64}


def _write(tmp_path: Path, extra: dict) -> str:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({**BASE, **extra}), encoding="utf-8")
    return str(path)


@pytest.mark.parametrize(("extra", "named"), [
    ({**MLA, "qk_rope_head_dim": None}, ("kv_lora_rank", "qk_rope_head_dim")),
    ({**MLA, "v_head_dim": 0}, ("kv_lora_rank", "v_head_dim")),
    ({**MLA, "qk_nope_head_dim": 0, "qk_rope_head_dim": 0}, ("qk_rope_head_dim", "qk_nope_head_dim")),
    ({**MLA, "index_topk": 2048}, ("index_topk", "index_n_heads")),
])
def test_inconsistent_latent_keys_get_one_error_naming_them(tmp_path, extra, named):
    with pytest.raises(SpecroofError) as info:
        load_model(_write(tmp_path, extra))
    message = str(info.value)
    assert "\n" not in message and all(key in message for key in named), message


@pytest.mark.parametrize("extra", [{"qk_rope_head_dim": 64}, {"q_lora_rank": 512},
                                   {"index_topk": 2048, "index_n_heads": 64, "index_head_dim": 128}])
def test_latent_keys_without_kv_lora_rank_are_another_design_refused_by_name(tmp_path, extra):
    """DeepSeek-V4 writes q_lora_rank, qk_rope_head_dim and the indexer keys without a latent
    cache: not MLA, so not priced as MLA; refused as unmodelled unless allowed."""
    import specroof

    model = load_model(_write(tmp_path, extra))
    assert not model.is_mla and not model.is_dsa
    with pytest.raises(SpecroofError) as info:
        specroof.latency(model, "h200")
    assert all(key in str(info.value) for key in extra) and "kv_lora_rank" in str(info.value)


def test_python_config_with_latent_fields_but_no_kv_lora_rank_is_refused():
    from specroof.models.architecture import ModelConfig

    with pytest.raises(SpecroofError, match="q_lora_rank = 512 given without kv_lora_rank"):
        ModelConfig(name="x", hidden_size=1024, intermediate_size=2048, num_layers=2, num_heads=8, num_kv_heads=8,
                    head_dim=128, vocab_size=1000, q_lora_rank=512)


def test_a_v_head_dim_equal_to_head_dim_without_mla_is_harmless(tmp_path):
    m = load_model(_write(tmp_path, {"v_head_dim": 128}))  # 1024 / 8 heads
    assert not m.is_mla and m.v_head_dim == 0 and not m.unmodelled


def test_cli_bad_config_is_one_error_line(tmp_path):
    run = run_specroof("ops", "-m", _write(tmp_path, {**MLA, "qk_rope_head_dim": None}), "-H", "h200")
    assert run.returncode == 2 and run.stderr.startswith("error: ") and "Traceback" not in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1 and "qk_rope_head_dim" in run.stderr


def test_cli_ops_lists_mla_operations():
    run = run_specroof("ops", "-m", V3, "-H", "h200", "--tp", "8", "--allow-unmodelled", "--format", "json")
    assert run.returncode == 0, run.stderr
    names = {row["name"] for row in json.loads(run.stdout)}
    assert {"kv_a_proj", "q_proj", "mla_bmm", "mla_attention", "o_proj"} <= names


# ----------------------------------------------------------------------------------- explain


def _explain(config: str, candidates: int, seq_len: int = 4096, tp: int = 8):
    from specroof.speculation.explain import explain

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return explain(config, "h200", batch=8, candidates=candidates, seq_len=seq_len, method="mtp",
                       acceptance="chain:0.7", tp=tp, allow_unmodelled=True)


def test_explain_says_where_the_absorbed_path_puts_the_verified_tokens():
    from specroof.speculation.explain_mla import mla_line

    four, five = _explain(V3, 4).mla, _explain(V3, 5).mla
    assert four["path"] == "absorbed" and four["heads_per_gpu"] == 16
    assert (four["rows_verify"], four["tiles_plain"], four["tiles_verify"]) == (64, 1, 1)
    assert (five["rows_verify"], five["tiles_verify"]) == (80, 2)
    assert five["verify_ms"] - five["plain_ms"] > four["verify_ms"] - four["plain_ms"] > 0
    assert "kv_b_proj" not in four["operations"]  # the naive path runs at no point here
    line = mla_line(four)
    assert line.startswith("MLA absorbed path: 64 query rows") and "\n" not in line


def test_explain_dsa_reads_the_top_k():
    note = _explain(V32, 4, seq_len=32768).mla
    assert note["dsa_keys_per_query"] == 2048 and note["context"] == 32772
    assert "dsa_indexer" in note["operations"]


def test_explain_has_no_mla_line_for_plain_attention():
    from specroof.speculation.explain import explain

    assert explain("llama-3-8b", "h100-sxm", candidates=4, acceptance="chain:0.7").mla is None


@pytest.mark.parametrize("config", [V3, V32])
def test_model_parameter_count_is_the_builders(config):
    """ModelConfig.parameter_count (the catalog's params column) and the builder's weights agree at tp 1."""
    from specroof.cost.architectures import parameter_count

    setup = _setup(config, dtype="bf16")
    assert setup.model.parameter_count() == parameter_count(_ops(setup), 2.0)


def test_explain_counts_the_attention_groups_heads_under_dp_attention():
    """Data-parallel attention keeps all 128 heads on each GPU of DeepSeek-V3's attention group
    (tp 8 / dp 8 = one GPU), so the MLA line counts 128 heads there, 16 under plain TP 8."""
    import warnings

    import specroof

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kw = dict(tp=8, method="mtp", batch=32, candidates=3, seq_len=4096, acceptance="chain:0.8")
        plain = specroof.explain("deepseek-v3", "h200", **kw)
        grouped = specroof.explain("deepseek-v3", "h200", ep=8, dp_attention=8, **kw)
    assert plain.mla["heads_per_gpu"] == 16 and grouped.mla["heads_per_gpu"] == 128
