"""DeepSeek sparse attention (DeepSeek-V3.2): the lightning indexer of an MLA layer.

Per layer, with ``I`` indexer heads of width ``D`` (``index_n_heads``, ``index_head_dim``)::

    dsa_indexer_proj  [T, q_lora_rank] x [q_lora_rank, I D]   indexer queries, from the q latent
    dsa_indexer_proj  [T, h] x [h, D + I]                      indexer key and per-head weights
    dsa_indexer       fp8 scores of each query against every cached indexer key, top-k selection

The indexer's projections are replicated on every tensor-parallel rank (vLLM's ``Indexer``
builds them as ``ReplicatedLinear``, ``vllm/model_executor/models/deepseek_v2.py``), so its
heads do not split; its cache holds one fp8 key and scale per token and layer. The attention
that follows reads ``min(context, index_topk)`` tokens per query (:mod:`.mla`,
:func:`specroof.cost.pricing_mla.price_latent_attention`): verification stops growing with
the context there, while the indexer still scans the whole context.
"""

from __future__ import annotations

from specroof.cost.grid import Grid
from specroof.cost.operation import (
    DSA_INDEXER,
    DSA_INDEXER_PROJ,
    ArrayLike,
    GemmShape,
    IndexerShape,
    Operation,
    operation,
)
from specroof.cost.pricing_mla import indexer_token_bytes
from specroof.cost.setup import StepSetup


def indexer_operations(setup: StepSetup, grid: Grid, tokens: ArrayLike, num_layers: int) -> list[Operation]:
    """The indexer's projections and its scoring + top-k, for ``num_layers`` DSA layers."""
    m = setup.model
    heads, dim, h = m.index_n_heads, m.index_head_dim, m.hidden_size
    layers, wb = float(num_layers), setup.weight_bytes * num_layers
    q_in = m.q_lora_rank or h
    shape = IndexerShape(grid.b, grid.n, grid.s + grid.n, heads, dim, m.index_topk)
    return [
        operation(DSA_INDEXER_PROJ, GemmShape(tokens, heads * dim, q_in), layers, q_in * heads * dim * wb),
        operation(DSA_INDEXER_PROJ, GemmShape(tokens, dim + heads, h), layers, h * (dim + heads) * wb),
        operation(DSA_INDEXER, shape, layers, cache_bytes_per_token=indexer_token_bytes(dim)),
    ]
