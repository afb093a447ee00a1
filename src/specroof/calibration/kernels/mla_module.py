"""A whole MLA attention layer priced by the MLA builder, for NVIDIA's measured module tables.

The database's ``mla_generation_module`` tables time DeepSeek-V3's attention layer on one GPU
(``num_heads`` of its 128 heads there, one new token per sequence): nothing is fitted to them.
Each row is priced as the sum of the operations :func:`specroof.cost.architectures.mla.mla_attention_operations`
emits for one layer, under the engine's profile as a user gets it (its shipped GEMM and MLA
kernel fits), so the comparison checks the builder's operation list and its parts' pricing at
once. The elementwise work of the layer (norms of the q and kv latents, RoPE, the cache write),
which a step prices once for all layers in its ``elementwise`` operation, is not in the sum.
"""

from __future__ import annotations

import warnings

import numpy as np

from specroof.cost.architectures.mla import mla_attention_operations
from specroof.cost.grid import Grid
from specroof.cost.kernel_latency import kernel_setup
from specroof.cost.operation import MLA_BMM, GemmShape, operation
from specroof.cost.pricing import price
from specroof.cost.profile import ImplementationProfile
from specroof.cost.setup import setup_step
from specroof.models.architecture import ModelConfig

DEEPSEEK_V3 = dict(hidden_size=7168, intermediate_size=18432, num_layers=1, vocab_size=129280, head_dim=128,
                   q_lora_rank=1536, kv_lora_rank=512, qk_rope_head_dim=64, qk_nope_head_dim=128, v_head_dim=128)
"""The attention shapes of DeepSeek-V3's config.json (the model the mla_module tables measure)."""
DEEPSEEK_V32_INDEXER = dict(index_topk=2048, index_n_heads=64, index_head_dim=128)
"""DeepSeek-V3.2's indexer (config.json; its attention is DeepSeek-V3's): the dsa_module tables."""


def module_model(heads: int, sparse: bool = False) -> ModelConfig:
    """DeepSeek-V3's (``sparse``: V3.2's) attention with ``heads`` heads on the GPU (its share
    under tensor parallelism)."""
    indexer = DEEPSEEK_V32_INDEXER if sparse else {}
    return ModelConfig(name=f"deepseek-attention-{heads}h", num_heads=heads, num_kv_heads=heads, **DEEPSEEK_V3,
                       **indexer)


def predict_module(rows: np.ndarray, hardware: str, profile: str | ImplementationProfile,
                   sparse: bool = False) -> np.ndarray:
    """Microseconds of each ``mla_module`` (``sparse``: ``dsa_module``) row, bf16 GEMMs, under
    ``profile`` on ``hardware``: each head count's rows priced at once on the grid of their
    batches and context lengths."""
    out = np.empty(len(rows))
    for heads in np.unique(rows["num_heads"]):
        for kv in np.unique(rows["kv_dtype"]):
            with warnings.catch_warnings():  # the fitted-profile caveats are not this check's business
                warnings.simplefilter("ignore")
                setup = setup_step(module_model(int(heads), sparse), hardware, dtype="bf16", kv_dtype=str(kv),
                                   profile=profile)
            sel = np.flatnonzero((rows["num_heads"] == heads) & (rows["kv_dtype"] == kv))
            batches, contexts = np.unique(rows["batch"][sel]), np.unique(rows["kv_len"][sel])
            grid = Grid.of(batches, 1, contexts - 1)
            total = sum(np.broadcast_to(price(op, setup).seconds * np.asarray(op.count), grid.shape)
                        for op in mla_attention_operations(setup, grid, grid.tokens, 1))
            b_at = np.searchsorted(batches, rows["batch"][sel])
            s_at = np.searchsorted(contexts, rows["kv_len"][sel])
            out[sel] = np.asarray(total)[b_at, 0, s_at] * 1e6
    return out


def predict_bmm(rows: np.ndarray, hardware: str, profile: str) -> np.ndarray:
    """Microseconds of each ``mla_bmm`` row: the builder's ``mla_bmm`` GEMM (``num_heads`` groups
    of [num_tokens, 128] x [128, 512], or x [512, 128] for ``post``) under ``profile``'s bf16
    GEMM fields, which were fitted to plain GEMMs only."""
    setup = kernel_setup(hardware, profile, "bf16")
    nope, latent = DEEPSEEK_V3["qk_nope_head_dim"], DEEPSEEK_V3["kv_lora_rank"]
    out = np.empty(len(rows))
    for heads in np.unique(rows["num_heads"]):
        for op in ("pre", "post"):
            sel = (rows["num_heads"] == heads) & (rows["op"] == op)
            n, k = (latent, nope) if op == "pre" else (nope, latent)
            shape = GemmShape(rows["num_tokens"][sel].astype(float), n, k, groups=float(heads))
            out[sel] = price(operation(MLA_BMM, shape), setup).seconds * 1e6
    return out
