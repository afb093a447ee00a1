"""Profile ``research``: research code's eager per-step work (cost/engine_work/research.py).

Every operation must be priced on speculative steps and vanish on the plain one; its cost must
follow the physics it stands for (tree tokens, paths, heads, layers, context, host times); the
profile must say in its caveat that the host times are not measured on these code paths.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import specroof
from specroof.cost.engine_work import ENGINE_WORK, SpeculativeStep
from specroof.cost.engine_work.research import counts, tree_paths
from specroof.cost.grid import Grid
from specroof.cost.profile import get_profile
from specroof.errors import SpecroofWarning
from specroof.speculation.methods.shape import TreeShape

STEP_OPS = ("research_eager_attention", "research_tree_mask", "research_path_logits", "research_kv_compaction",
            "research_launches", "research_syncs", "research_cpu")
PASS_OPS = ("draft:research_pass_work", "draft:research_pass_syncs")
EAGLE_TREE = "steps=6,topk=10,tokens=60"


def _step(model="vicuna-7b", hw="a100-80gb-sxm", candidates=(1, 64), seq_len=512, profile="research", **kw):
    kw.setdefault("method", "heads")
    kw.setdefault("acceptance", "medusa:vicuna-7b")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SpecroofWarning)
        return specroof.speedup(model, hw, batch=1, candidates=list(candidates), seq_len=seq_len, profile=profile,
                                **kw).step


def _eagle(**kw):
    return _step(candidates=(1, 60), method="eagle", tree=EAGLE_TREE, acceptance="chain:0.7", **kw)


def _ms(step, name):
    return step.ops_ms[name].ravel()


def test_profile_selects_research_work_and_runs_eager():
    prof = get_profile("research")
    assert prof.speculation_work == "research" and prof.speculation_work in ENGINE_WORK
    assert not prof.cuda_graph and prof.launch_overhead_us > 0
    assert prof.host_sync_us > 0 and prof.host_cpu_op_us > 0


@pytest.mark.parametrize("build, names", [(_step, STEP_OPS), (_eagle, STEP_OPS + PASS_OPS)])
def test_every_operation_on_speculative_steps_only(build, names):
    step = build()
    for name in names:
        plain, spec = _ms(step, name)
        assert plain == 0.0, name
        assert spec > 0.0, name


def test_plain_step_is_the_models_alone():
    """At n = 1 the research work adds nothing: the same profile without it prices the same step."""
    bare = get_profile("research").with_overrides(speculation_work="none")
    assert _step(candidates=(1,)).latency_ms.ravel()[0] == pytest.approx(
        _step(candidates=(1,), profile=bare).latency_ms.ravel()[0], rel=1e-12)


@pytest.mark.parametrize("hw", ["a100-80gb-sxm", "rtx-3090"])  # launch-bound and GPU-bound plain steps
def test_speculative_step_pays_the_host_work_in_full(hw):
    """Serial launches, syncs and CPU calls are host time the GPU waits for: the step grows by them
    whether its forward is launch-bound or GPU-bound."""
    bare = get_profile("research").with_overrides(speculation_work="none")
    with_work, without = _step(hw=hw), _step(hw=hw, profile=bare)
    host = sum(_ms(with_work, name)[1] for name in ("research_launches", "research_syncs", "research_cpu"))
    assert host > 0
    assert with_work.latency_ms.ravel()[1] - without.latency_ms.ravel()[1] >= host - 1e-9


def test_host_work_follows_the_profile_times():
    prof = get_profile("research")
    double = prof.with_overrides(host_sync_us=2 * prof.host_sync_us, host_cpu_op_us=2 * prof.host_cpu_op_us,
                                 launch_overhead_us=2 * prof.launch_overhead_us)
    for name in ("research_launches", "research_syncs", "research_cpu"):
        assert _ms(_step(profile=double), name)[1] == pytest.approx(2 * _ms(_step(), name)[1], rel=1e-9)
    syncs = counts()["forward"]["mask_syncs"] + counts()["heads"]["syncs"]
    assert _ms(_step(), "research_syncs")[1] == pytest.approx(syncs * prof.host_sync_us / 1e3, rel=1e-9)
    serial = counts()["forward"]["mask_kernels"] + counts()["heads"]["serial_kernels"] + 2  # + the KV copy's
    assert _ms(_step(), "research_launches")[1] == pytest.approx(serial * prof.launch_overhead_us / 1e3, rel=1e-9)


def test_kv_bookkeeping_grows_with_layers():
    """KVCache keeps its lengths on the CPU: 7 calls per layer, so a 40-layer model pays 40/32."""
    small, large = _ms(_step("vicuna-7b"), "research_cpu")[1], _ms(_step("vicuna-13b"), "research_cpu")[1]
    per_layer = counts()["forward"]["cpu_ops_per_layer"] * get_profile("research").host_cpu_op_us / 1e3
    assert large - small == pytest.approx(8 * per_layer, rel=1e-9)


def test_eagle_tree_build_grows_with_tree_tokens():
    """EAGLE-2 builds its tree mask on the CPU row by row: 3 calls per drafted token."""
    def cpu(tokens):
        step = _step(candidates=(1, tokens), method="eagle", tree=f"steps=6,topk=10,tokens={tokens}",
                     acceptance="chain:0.7")
        return _ms(step, "research_cpu")[1]
    per_token = counts()["eagle"]["cpu_ops_per_tree_token"] * get_profile("research").host_cpu_op_us / 1e3
    assert cpu(60) - cpu(30) == pytest.approx(30 * per_token, rel=1e-9)


def test_path_logits_follow_paths_and_heads():
    """Medusa gathers every head's logits per path: more heads, more bytes; a wider tree (more
    tokens, more leaves) gathers more rows."""
    four, six = (_ms(_step(heads=h), "research_path_logits")[1] for h in (4, 6))
    assert six > four
    narrow, wide = (_ms(_step(candidates=(1, n)), "research_path_logits")[1] for n in (16, 64))
    assert wide > narrow


def test_mask_and_draft_kv_copy_grow_with_context():
    short, long = _eagle(seq_len=256), _eagle(seq_len=4096)
    for name in ("research_eager_attention", "research_tree_mask", "draft:research_pass_work"):
        assert _ms(long, name)[1] > _ms(short, name)[1], name


def test_eager_attention_scores_follow_tree_and_heads():
    """The eager attention's score traffic is heads x n x (context + n) per layer: a 13B model
    (40 heads, 40 layers) moves (40 x 40) / (32 x 32) of a 7B's at the same tree and context."""
    def score_bytes(model):
        step = _step(model)
        return sum(float(np.max(op.cost.bytes)) for op in step.operations if op.name == "research_eager_attention")
    assert score_bytes("vicuna-13b") / score_bytes("vicuna-7b") == pytest.approx(40 * 40 / (32 * 32), rel=1e-9)


def test_eagle3_maps_draft_tokens_every_pass():
    """EAGLE-3's d2t map adds kernels to each drafting pass: more launches than EAGLE-2's."""
    def pass_kernels(method):
        step = _step(candidates=(1, 60), method=method, tree=EAGLE_TREE, acceptance="chain:0.7")
        return sum(float(np.max(op.cost.kernels * op.operation.count)) for op in step.operations
                   if op.name == "draft:research_pass_work")
    assert pass_kernels("eagle3") - pass_kernels("eagle") == pytest.approx(
        2 * counts()["eagle3"]["d2t_kernels_per_pass"])  # the first pass and the later one


def test_tree_leaves_from_paths_and_bound():
    tree = TreeShape.of_paths([(), (0,), (1,), (0, 0), (0, 1), (0, 0, 0)])
    assert (tree.steps, tree.leaves) == (3, 3)  # (1,), (0, 1), (0, 0, 0)
    grid = Grid.of([1], [6, 6], [128])
    known = SpeculativeStep("heads", np.zeros(2), np.ones(2), tree=True,
                            depth=np.array([3.0, 3.0]), leaves=np.array([3.0, np.nan]))
    depth, leaves = tree_paths(known, grid)
    assert leaves.ravel().tolist() == [3.0, 3.0]  # unknown: at most n - depth = 3
    chain = tree_paths(SpeculativeStep("eagle", np.zeros(2), np.ones(2)), grid)
    assert chain[0].ravel().tolist() == [5.0, 5.0] and chain[1].ravel().tolist() == [1.0, 1.0]


def test_uncounted_method_and_batch_are_said():
    with pytest.warns(SpecroofWarning, match="method 'draft' is not modelled"):
        specroof.speedup("llama-2-7b", "a100-80gb-sxm", batch=1, candidates=[1, 4], seq_len=256, method="draft",
                         draft_model="llama-2-7b", acceptance="chain:0.7", profile="research")
    with pytest.warns(SpecroofWarning, match="batch 1 only"):
        specroof.speedup("vicuna-7b", "a100-80gb-sxm", batch=[1, 4], candidates=[1, 64], seq_len=256,
                         method="heads", acceptance="medusa:vicuna-7b", profile="research")


def test_caveat_names_missing_evidence():
    caveat = get_profile("research").caveat
    assert "not a measurement" in caveat and "not priced" in caveat


def test_rtx_3090_is_priced():
    step = _step(hw="rtx-3090")
    assert step.hardware.name == "rtx-3090" and _ms(step, "research_path_logits")[1] > 0
    # the same bytes on a slower memory take longer than on the A100
    assert _ms(step, "research_path_logits")[1] > _ms(_step(), "research_path_logits")[1]
