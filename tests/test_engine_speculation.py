"""Drafting methods as engines run them (EAGLE, EAGLE-3, MTP, n-gram, trees), engine per-step
costs, and the exports of each method."""

from __future__ import annotations

import json

import numpy as np
import pytest

import specroof
from specroof.cost.profile import get_profile
from specroof.errors import SpecroofError
from specroof.speculation.exports import export_table
from specroof.speculation.footprint import memory_footprint
from specroof.speculation.plan import plan
from support import run_specroof


def _records(**kwargs):
    args = {"model": "llama-3.1-8b", "hardware": "h100-sxm", "batch": 8, "candidates": 4, "seq_len": 1024,
            "dtype": "bf16"}
    args.update(kwargs)
    return {r["name"]: r for r in specroof.ops(**args).to_records()}, specroof.ops(**args)


@pytest.mark.parametrize("method", ["eagle", "eagle3"])
def test_eagle_is_one_layer_at_the_target_width(method):
    recs, result = _records(method=method)
    target = specroof.load_model("llama-3.1-8b")
    h, tokens = target.hidden_size, 8 * 4
    vocab = 32000 if method == "eagle3" else target.vocab_size
    drafted = [r for r in result.to_records() if r["name"] == "draft:lm_head"]
    # first pass over every verified token (vLLM's EagleProposer), projecting only each sequence's
    # last row to logits; then n - 2 = 2 passes of one token
    assert [r["count"] for r in drafted] == [1.0, 2.0]
    assert drafted[0]["flops"] == pytest.approx(2 * 8 * h * vocab)
    assert drafted[1]["flops"] == pytest.approx(2 * 2 * 8 * h * vocab)
    qkv = [r for r in result.to_records() if r["name"] == "draft:qkv_proj"][0]
    width_in = 2 * h if method == "eagle3" else h  # EAGLE-3's layer reads embedding and hidden state
    q_out = (target.num_heads + 2 * target.num_kv_heads) * target.head_dim
    assert qkv["flops"] == pytest.approx(2 * tokens * width_in * q_out)
    fc = [r for r in result.to_records() if r["name"] == "draft:eagle_fc"]
    fused = 3 if method == "eagle3" else 2
    assert fc[0]["flops"] == pytest.approx(2 * tokens * fused * h * h)
    assert len(fc) == (1 if method == "eagle3" else 2)  # EAGLE-3 fuses the target's states once per step


def test_drafting_is_zero_for_plain_decoding_and_speedup_one():
    for kwargs in ({"method": "eagle3"}, {"method": "ngram", "proposal_rate": 0.5},
                   {"method": "draft", "draft_model": "llama-3.2-1b"}, {"method": "eagle", "tree": "steps=3,topk=2"}):
        s = specroof.speedup("llama-3.1-8b", "h100-sxm", [1, 64], [1, 4], 1024, acceptance="chain:0.7",
                             profile="vllm", **kwargs)
        assert np.all(s.draft_ms[:, 0] == 0) and np.allclose(s.speedup[:, 0], 1.0)
        if kwargs["method"] != "ngram":
            assert np.all(s.draft_ms[:, 1] > 0)


def test_a_tree_runs_one_pass_per_level_not_one_per_node():
    """SpecDecode-Bench's 21-node EAGLE tree: depth 3, branching 4 -> 3 drafting passes."""
    tree = specroof.ops("llama-3.1-8b", "h100-sxm", 4, 21, 1024, method="eagle", tree="steps=3,topk=4,tokens=21")
    chain = specroof.ops("llama-3.1-8b", "h100-sxm", 4, 21, 1024, method="eagle")
    passes = lambda r: sum(x["count"] for x in r.to_records() if x["name"] == "draft:lm_head")  # noqa: E731
    assert passes(tree) == 3 and passes(chain) == 20
    tree_ms = sum(r["time_ms"] for r in tree.to_records() if r["group"] == "drafting")
    chain_ms = sum(r["time_ms"] for r in chain.to_records() if r["group"] == "drafting")
    assert tree_ms < chain_ms / 3
    later = [r for r in tree.to_records() if r["name"] == "draft:qkv_proj"][1]
    assert later["count"] == 2  # later passes process topk = 4 tokens per sequence each
    assert later["flops"] == pytest.approx(2 * 2 * 4 * 4 * 4096 * 6144)


def test_tree_acceptance_model_shapes_the_drafting():
    """Without --tree, a tree acceptance model's best n-node tree sets depth and branching."""
    acc = specroof.parse_acceptance("positional:0.6,0.2,0.1")
    tree = acc.tree(16)
    depth = max(len(p) for p in tree)
    recs = specroof.ops("llama-3-8b", "h200", 2, 16, 1024, method="eagle3", acceptance=acc).to_records()
    assert sum(r["count"] for r in recs if r["name"] == "draft:lm_head") == depth


def test_ngram_verifies_the_proposing_share_and_yields_less():
    full = specroof.speedup("llama-3.1-8b", "h100-sxm", [64], [4], 1024, acceptance="chain:0.6", method="ngram")
    half = specroof.speedup("llama-3.1-8b", "h100-sxm", [64], [4], 1024, acceptance="chain:0.6", method="ngram",
                            proposal_rate=0.5)
    free = specroof.speedup("llama-3.1-8b", "h100-sxm", [64], [4], 1024, acceptance="chain:0.6")
    np.testing.assert_allclose(full.speedup, free.speedup, rtol=1e-12)  # every sequence proposes: as free drafts
    tau = float(free.acceptance_length[0, 0, 0])
    assert float(half.acceptance_length[0, 0, 0]) == pytest.approx(1 + 0.5 * (tau - 1))
    assert float(half.latency_ms[0, 0, 0]) < float(full.latency_ms[0, 0, 0])  # 2.5 tokens per sequence, not 4
    tokens = {r["name"]: r for r in specroof.ops("llama-3.1-8b", "h100-sxm", 64, 4, 1024, method="ngram",
                                                    proposal_rate=0.5).to_records()}
    h = 4096
    assert tokens["o_proj"]["flops"] == pytest.approx(32 * 2 * 64 * 2.5 * h * h)


def test_mtp_needs_mtp_layers(tmp_path):
    with pytest.raises(SpecroofError, match="no num_nextn_predict_layers"):
        specroof.speedup("llama-3.1-8b", "h100-sxm", 1, [1, 2], method="mtp", acceptance="chain:0.8")
    config = json.loads(json.dumps({
        "hidden_size": 4096, "intermediate_size": 10944, "num_hidden_layers": 46, "num_attention_heads": 96,
        "num_key_value_heads": 8, "head_dim": 128, "vocab_size": 151552, "n_routed_experts": 128,
        "num_experts_per_tok": 8, "moe_intermediate_size": 1408, "num_nextn_predict_layers": 1}))
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    assert specroof.load_model(path).mtp_layers == 1
    s = specroof.speedup(path, "h100-sxm", [1, 16], [1, 4], 1024, method="mtp", acceptance="chain:0.8", tp=2)
    assert np.all(s.draft_ms[:, 1] > 0)
    recs = [r for r in s.step.operations if r.name == "draft:gate_up_proj"]
    assert recs and all(r.operation.kind == "moe" for r in recs)  # the MTP layer is a full MoE layer


def test_memory_of_eagle_heads_shares_the_embedding():
    target = specroof.load_model("llama-3.1-8b")
    h = target.hidden_size
    plain = memory_footprint("llama-3.1-8b", "h100-sxm", 1, 4, 1024, dtype="bf16")
    eagle3 = memory_footprint("llama-3.1-8b", "h100-sxm", 1, 4, 1024, dtype="bf16", drafting=specroof.Drafting.of("eagle3"))
    layer = h * (4096 + 2 * 1024) * 2 + h * 4096 + 3 * h * 14336  # q/k/v read [T, 2h], o, MLP
    expected = 2.0 * (layer + 3 * h * h + 32000 * h + 3 * h)  # + fc 3h->h, own LM head, norms
    assert eagle3.draft_weights_bytes == pytest.approx(expected, rel=1e-9)
    assert eagle3.weights_bytes == plain.weights_bytes
    assert np.all(eagle3.kv_cache_bytes > plain.kv_cache_bytes)  # one more layer of KV


def test_engine_profile_costs_are_in_plain_and_speculative_steps():
    plain = specroof.ops("llama-3.1-8b", "h100-sxm", 8, 1, 1024, profile="vllm@0.10")
    names = [r["name"] for r in plain.to_records()]
    assert "host_step" in names and "sampling" in names
    host = [r for r in plain.to_records() if r["name"] == "host_step"][0]
    assert host["time_ms"] == pytest.approx(get_profile("vllm@0.10").host_step_us / 1e3)
    serving = specroof.ops("llama-3.1-8b", "h100-sxm", 8, 1, 1024)
    assert "host_step" not in [r["name"] for r in serving.to_records()]


def test_cuda_graph_padding_by_tokens_and_by_batch():
    h = 4096
    vllm = {r["name"]: r for r in specroof.ops("llama-3.1-8b", "h100-sxm", 3, 3, 1024, profile="vllm").to_records()}
    assert vllm["o_proj"]["flops"] == pytest.approx(32 * 2 * 16 * h * h)  # 9 tokens run as the 16-token graph
    sglang = {r["name"]: r for r in specroof.ops("llama-3.1-8b", "h100-sxm", 9, 3, 1024,
                                                  profile="sglang").to_records()}
    assert sglang["o_proj"]["flops"] == pytest.approx(32 * 2 * 10 * 3 * h * h)  # batch 9 -> graph of batch 10
    eager = {r["name"]: r for r in specroof.ops("llama-3.1-8b", "h100-sxm", 3, 3, 1024, profile="vllm",
                                                 cuda_graph=False).to_records()}
    assert eager["o_proj"]["flops"] == pytest.approx(32 * 2 * 9 * h * h)  # eager steps are not padded


@pytest.mark.parametrize("kwargs, message", [
    ({"method": "eagle", "tree": "steps=2,topk=8"}, "tree wider than the candidates"),
    ({"method": "ngram", "proposal_rate": 0.0}, "in \\(0, 1\\]"),
    ({"method": "ngram", "proposal_rate": 1.5}, "in \\(0, 1\\]"),
    ({"method": "eagle3", "draft_vocab": 200000}, "larger than"),
    ({"method": "eagle", "draft_vocab": 32000}, "applies only to method 'eagle3'"),
    ({"method": "heads", "proposal_rate": 0.5}, "applies only to method 'ngram'"),
    ({"method": "eagle", "tree": "steps=3"}, "needs steps=D and topk=K"),
    ({"method": "eagle", "tree": "steps=2,topk=2,tokens=9"}, "tokens=9 is more than"),
])
def test_bad_drafting_is_one_error(kwargs, message):
    with pytest.raises(SpecroofError, match=message):
        specroof.speedup("llama-3.1-8b", "h100-sxm", 1, [1, 4], 1024, acceptance="chain:0.8", **kwargs)


def test_cli_bad_drafting_is_one_line_exit_2():
    out = run_specroof("speedup", "-m", "llama-3.1-8b", "-H", "h100-sxm", "--candidates", "1,4",
                       "--method", "ngram", "--proposal-rate", "2")
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and out.stderr.startswith("error: ")


def _plan(**kwargs):
    return plan("llama-3.1-8b", "h100-sxm", [1, 8, 64], [1024], acceptance="chain:0.7", max_candidates=6,
                dtype="bf16", **kwargs)


def test_exports_name_each_engines_own_options():
    p = _plan(method="eagle3")
    vllm = export_table(p, "vllm")
    config = json.loads(vllm.split("--speculative-config '")[1].split("'")[0])
    assert config["method"] == "eagle3" and config["num_speculative_tokens_per_batch_size"] == export_table(p, "json")
    assert "--speculative-algorithm EAGLE3" in export_table(p, "sglang")
    trt = export_table(p, "trtllm")
    assert "decoding_type: Eagle3" in trt and "max_draft_len:" in trt and "speculative_model:" in trt
    ngram = _plan(method="ngram", proposal_rate=0.6)
    assert '"method": "ngram"' in export_table(ngram, "vllm") and "decoding_type: NGram" in export_table(ngram, "trtllm")
    assert "--speculative-algorithm NGRAM" in export_table(ngram, "sglang")
    draft = _plan(draft_model="llama-3.2-1b")
    assert "decoding_type: DraftTarget" in export_table(draft, "trtllm")
    assert "STANDALONE" in export_table(draft, "sglang")
    eagle1 = _plan(method="eagle")
    assert "no EAGLE-1/2 heads" in export_table(eagle1, "trtllm")


def test_plan_with_a_tree_exports_its_shape():
    p = plan("llama-3.1-8b", "h100-sxm", [1], [1024], acceptance="positional:0.7,0.2,0.05", max_candidates=12,
             method="eagle3", dtype="bf16")
    text = export_table(p, "sglang")
    n = int(p.best_candidates[0, 0])
    # the export reads the acceptance model's best n-node tree
    depth = max(len(path) for path in p.acceptance.tree(n))
    assert f"--speculative-num-steps {depth}" in text and f"--speculative-num-draft-tokens {n}" in text


def test_plan_with_an_explicit_tree_searches_only_the_n_it_can_verify():
    p = plan("llama-3.1-8b", "h100-sxm", [1, 64], [1024], acceptance="positional:0.7,0.2,0.05", max_candidates=12,
             method="eagle3", tree="steps=3,topk=4", dtype="bf16", profile="sglang")
    assert set(p.best_candidates.ravel()) <= {1} | set(range(5, 13))  # the first level of 4 needs n >= 5
    assert not p.fits_grid[:, 1:4, :].any()  # n = 2..4 cannot hold the tree: never chosen
    with pytest.raises(SpecroofError, match="cannot verify the tree"):
        plan("llama-3.1-8b", "h100-sxm", [1], [1024], acceptance="chain:0.8", max_candidates=8, method="eagle",
             tree="steps=2,topk=2", current=2)
