"""Tensor-parallel communication at decode sizes, and drafter layers under tensor parallelism:
the drafter's input projection replicated (as the engines build it) or sharded, the drafting
all-reduces priced at the drafter's own group size."""

from __future__ import annotations

import numpy as np
import pytest

from specroof.cost.drafting_ops import eagle_operations, mtp_operations
from specroof.cost.grid import Grid
from specroof.cost.pricing import price
from specroof.cost.setup import setup_step

TARGET = "llama-3.3-70b"


def _seconds(ops, setup) -> float:
    return float(sum(np.sum(np.asarray(price(op, setup).seconds) * op.count) for op in ops))


def _named(ops, name):
    return [op for op in ops if op.name == name]


def _eagle3_first_pass(tp: int, sharded: bool, draft_tp: int = 0):
    setup = setup_step(TARGET, "h100-sxm", tp=tp, profile="sglang", draft_tp=draft_tp, drafter_fc_sharded=sharded)
    return eagle_operations(setup, "eagle3", Grid.of([1], [4], [1024]), 4.0, True)


def test_replicated_eagle3_fc_holds_and_reads_the_whole_matrix_on_every_rank():
    head, ops = _eagle3_first_pass(8, sharded=False)
    (fc,) = _named(ops, "draft:eagle_fc")
    h = head.model.hidden_size
    assert fc.weight_bytes == 3 * h * h * 2  # 3h x h in bf16, not split over the 8 GPUs
    assert fc.shape.k == 3 * h and fc.shape.n == h


def test_replicated_fc_costs_more_per_gpu_than_sharded_at_tp8():
    rep_setup, rep = _eagle3_first_pass(8, sharded=False)
    shard_setup, shard = _eagle3_first_pass(8, sharded=True)
    (fc_rep,), (fc_shard,) = _named(rep, "draft:eagle_fc"), _named(shard, "draft:eagle_fc")
    assert fc_shard.weight_bytes == pytest.approx(fc_rep.weight_bytes / 8)
    # sharding adds one all-reduce of T x h to the layer's two
    assert len(_named(shard, "draft:allreduce")) == len(_named(rep, "draft:allreduce")) + 1
    fc_s = _seconds([fc_rep], rep_setup)
    shard_s = _seconds([fc_shard, _named(shard, "draft:allreduce")[0]], shard_setup)
    assert fc_s > 2 * shard_s  # 400 MB of weights per GPU against 50 MB and one small all-reduce
    assert _seconds(rep, rep_setup) > _seconds(shard, shard_setup)


def test_sharding_changes_nothing_on_one_gpu():
    _, one = _eagle3_first_pass(1, sharded=False)
    _, one_sharded = _eagle3_first_pass(1, sharded=True)
    assert [(op.name, op.weight_bytes) for op in one] == [(op.name, op.weight_bytes) for op in one_sharded]
    assert not _named(one, "draft:allreduce")


def test_mtp_projection_follows_the_same_switch():
    grid = Grid.of([1], [2], [1024])
    for sharded, tp_share in ((False, 1), (True, 8)):
        setup = setup_step("deepseek-v3", "h200", tp=8, profile="sglang", drafter_fc_sharded=sharded)
        _, ops = mtp_operations(setup, grid, 1.0)
        (proj,) = _named(ops, "draft:mtp_proj")
        h = setup.model.hidden_size
        assert proj.weight_bytes == pytest.approx(2 * h * h * setup.weight_bytes / tp_share)


def test_drafting_allreduces_are_priced_at_the_drafters_own_group():
    """An EAGLE head at its own TP (vLLM draft_tensor_parallel_size): its layer's all-reduces run
    over draft_tp GPUs, none on one."""
    _, same = _eagle3_first_pass(8, sharded=False)
    _, own2 = _eagle3_first_pass(8, sharded=False, draft_tp=2)
    _, own1 = _eagle3_first_pass(8, sharded=False, draft_tp=1)
    assert {op.shape.devices for op in _named(same, "draft:allreduce")} == {8}
    assert {op.shape.devices for op in _named(own2, "draft:allreduce")} == {2}
    assert not _named(own1, "draft:allreduce")


def test_the_engines_profiles_replicate_the_fc():
    """vLLM's ReplicatedLinear, SGLang's torch.nn.Linear, TensorRT-LLM's unmapped Linear."""
    for engine in ("vllm", "sglang", "trtllm"):
        assert setup_step(TARGET, "h100-sxm", tp=8, profile=engine).profile.drafter_fc_sharded is False
