"""Architectures: the registry picks a model's list builder, and the list is the whole step.

Expected values come from the model's shapes (independent formulas written here), not from
the code's output: parameter counts against ``ModelConfig.parameter_count``, KV-cache bytes
against ``2 x layers x kv_heads x head_dim x bytes``, attention FLOPs against the score
products' ``4 b H n (s + n) d``.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

import specroof
from specroof import SpecroofError
from specroof.cost.architectures import ARCHITECTURES, Architecture, builder_for, model_operations, parameter_count
from specroof.cost.architectures.dense import dense_operations
from specroof.cost.grid import Grid
from specroof.cost.operation import ATTENTION, EMBEDDING
from specroof.cost.step import setup_step
from specroof.models.architecture import catalog_names, load_model
from specroof.speculation.footprint import memory_footprint

GRID = Grid.of([1, 8], [1, 4], [512, 2048])


@pytest.mark.parametrize("name", catalog_names())
def test_each_catalog_model_has_its_family_builder(name):
    model = load_model(name)
    assert builder_for(model).name == ("moe" if model.is_moe else "dense")


@pytest.mark.parametrize("name", catalog_names())
def test_parameter_count_read_off_the_list_matches_the_config(name):
    setup = setup_step(name, "h200", allow_unmodelled=True)
    ops = model_operations(setup, GRID)
    assert parameter_count(ops, setup.weight_bytes) == load_model(name).parameter_count()


@pytest.mark.parametrize("name, tp", [("llama-3-8b", 1), ("llama-3-8b", 4), ("mixtral-8x7b", 2), ("llama-7b", 1)])
def test_kv_cache_is_the_lists_cache_bytes_per_token(name, tp):
    m = load_model(name)
    setup = setup_step(name, "h200", tp=tp, kv_dtype="fp8")
    per_token = 2 * m.num_layers * math.ceil(m.num_kv_heads / tp) * m.head_dim * 1.0  # fp8: one byte
    ops = model_operations(setup, GRID)
    assert sum(op.cache_bytes_per_token * op.count for op in ops) == per_token
    assert [op.info for op in ops if op.cache_bytes_per_token] == [ATTENTION]
    fp = memory_footprint(name, "h200", [1, 8], [1, 4], [512, 2048], tp=tp, kv_dtype="fp8")
    b, n, s = np.meshgrid([1, 8], [1, 4], [512, 2048], indexing="ij")
    np.testing.assert_array_equal(fp.kv_cache_bytes, b * (s + n) * per_token)


def test_embedding_table_is_held_not_timed():
    m = load_model("llama-7b")
    result = specroof.latency("llama-7b", "h200", 1, 1, 1024)
    assert EMBEDDING.name not in result.ops_ms
    table = [op for op in result.passes[0].operations if op.info is EMBEDDING]
    assert len(table) == 1 and table[0].weight_bytes == m.vocab_size * m.hidden_size * 2.0
    assert result.fit.memory.weights_bytes == m.parameter_count() * 2.0


def test_eagle_head_holds_no_embedding_of_its_own():
    plain = memory_footprint("llama-3-8b", "h200", 1, 4, 1024)
    eagle = memory_footprint("llama-3-8b", "h200", 1, 4, 1024, method="eagle")
    m = load_model("llama-3-8b")
    h = m.hidden_size
    one_layer = h * (m.q_dim + 2 * m.kv_dim) + m.q_dim * h + 3 * h * m.intermediate_size + 2 * h
    # the fusion [2h -> h], one decoder layer and its final norm; no embedding, no LM head
    assert eagle.draft_weights_bytes == (2 * h * h + one_layer + h) * 2.0
    assert plain.draft_weights_bytes == 0.0


def test_deferred_attention_detail_is_the_score_products():
    result = specroof.latency("llama-7b", "h200", [2, 16], [1, 5], [256, 4096])
    m = load_model("llama-7b")
    b, n, s = np.meshgrid([2, 16], [1, 5], [256, 4096], indexing="ij")
    flops = 4.0 * b * m.num_heads * n * (s + n) * m.head_dim * m.num_layers
    np.testing.assert_allclose(result.flops["attention"], flops, rtol=1e-12)
    total = sum(result.ops_ms.values())
    np.testing.assert_allclose(result.latency_ms, total, rtol=1e-12)


def _quarter_cache(setup, grid, tokens=None, layers=None):
    """A toy latent-attention decoder: the dense list, its cache a quarter of the usual."""
    return [replace(op, cache_bytes_per_token=op.cache_bytes_per_token / 4) if op.info is ATTENTION else op
            for op in dense_operations(setup, grid, tokens, layers)]


@pytest.fixture
def toy_architecture():
    toy = ARCHITECTURES.register(Architecture(
        "toy-latent", "a dense decoder with a compressed cache", lambda m: m.name.startswith("toy-"), _quarter_cache))
    yield toy
    ARCHITECTURES.unregister(toy.name)


def test_a_registered_builder_takes_its_models_everywhere(toy_architecture):
    base = load_model("llama-3-8b")
    toy = replace(base, name="toy-llama")
    assert builder_for(toy) is toy_architecture and builder_for(base).name == "dense"
    usual = memory_footprint(base, "h200", 4, 1, 1024)
    small = memory_footprint(toy, "h200", 4, 1, 1024)
    assert small.kv_cache_bytes[0, 0, 0] == usual.kv_cache_bytes[0, 0, 0] / 4
    priced = specroof.latency(toy, "h200", 4, 1, 1024)
    np.testing.assert_allclose(priced.latency_ms, specroof.latency(base, "h200", 4, 1, 1024).latency_ms)
    assert priced.fit.memory.kv_cache_bytes[0, 0, 0] == small.kv_cache_bytes[0, 0, 0]


def test_no_builder_for_a_model_is_an_error(monkeypatch):
    monkeypatch.setattr(ARCHITECTURES, "_members", {})
    with pytest.raises(SpecroofError, match="no registered architecture builds it"):
        builder_for(load_model("llama-7b"))


@pytest.mark.parametrize("name, tp", [("llama-3-8b", 1), ("mixtral-8x7b", 2), ("llama-2-70b", 2)])
def test_fits_per_sequence_agrees_with_the_total(name, tp):
    fp = memory_footprint(name, "h200", [1, 16, 64, 256], [1, 8], [1024, 32768, 120000], tp=tp)
    np.testing.assert_array_equal(fp.fits, fp.total_bytes <= fp.capacity_bytes)
    assert fp.fits.any() and not fp.fits.all()  # the grid straddles the device's memory
    for index in [(0, 0, 0), (2, 1, 1), (3, 1, 2)]:
        assert fp.total_at(index) == pytest.approx(float(fp.total_bytes[index]), rel=1e-15)
