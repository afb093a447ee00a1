"""The attention block of a linear-attention layer: a fixed recurrent state, not a KV cache.

Hybrid models (Qwen3-Next and Qwen3.5: Gated DeltaNet; Kimi Linear: KDA; Nemotron-H: Mamba-2)
run most layers as a linear recurrence. Per layer, with ``Hk`` key and ``Hv`` value heads of
widths ``dk`` and ``dv`` on one device (tensor parallelism splits the heads, as vLLM's
``Qwen3NextGatedDeltaNet`` and ``KimiDeltaAttention`` do), ``h`` the hidden size and ``T``
the step's tokens::

    linear_in_proj     [T, h] x [h, W_in]       one GEMM over the input widths (below)
    linear_conv1d      causal depthwise conv over the C conv channels, K taps: reads and
                       updates each sequence's window of K - 1 past inputs
    linear_scan        the recurrence over each sequence's n new tokens, chunked
                       (:func:`specroof.cost.pricing_linear.price_linear_scan`)
    linear_rollback    a checkpoint of the state after each of the n - 1 speculative
                       candidates, so a rejected suffix rolls back (0 at n = 1)
    linear_gated_norm  RMSNorm of the output gated by z
    linear_out_proj    [T, Hv dv] x [Hv dv, h]

Input widths ``W_in`` and conv channels ``C``:

- gated_deltanet (vLLM ``qwen3_next.py``: ``in_proj_qkvz`` and ``in_proj_ba``, priced as one
  GEMM): q and k ``Hk dk`` each, v and z ``Hv dv`` each, b and a ``Hv`` each; ``C = 2 Hk dk +
  Hv dv``.
- kda (vLLM ``kda.py``): q, k, v ``H d`` each, beta ``H``, the low-rank forget and output gates'
  down-projections ``d`` each (replicated on every rank), then their up-projections ``[T, d] x
  [d, H d]`` (a second ``linear_in_proj``, two groups); ``C = 3 H d``.
- mamba2 (``MambaMixer2``): z and x ``Hv dv`` each, B and C ``Hk dk`` each (``Hk``: n_groups,
  ``dk``: ssm_state_size), dt ``Hv``; ``C = Hv dv + 2 Hk dk``.

State per sequence and layer: ``Hv dk dv`` elements of the state dtype (``linear_state_dtype``,
default the activation dtype) plus the conv window ``C (K - 1)`` in the activation dtype. It
does not grow with the context: the operation carries it as ``state_bytes_per_sequence``
(:mod:`specroof.cost.memory`), not as ``cache_bytes_per_token``.

Rollback, as the engines keep it. vLLM (v0.11-0.24, ``vllm/v1/kv_cache_interface.py``
``MambaSpec.num_speculative_blocks`` = ``num_speculative_tokens``) gives each request ``1 +
num_speculative_blocks`` state slots, and its spec-decode recurrent kernel
(``fused_recurrent_gated_delta_rule`` with 2-D ``ssm_state_indices``) writes the state after
every verified token into them; the next step starts from the slot of the last accepted token.
SGLang (``mem_cache/memory_pool.py`` ``MambaPool``: ``intermediate_ssm_state_cache`` of
``speculative_num_draft_tokens`` states per request, and ``intermediate_conv_window``) and
TensorRT-LLM (``_torch/pyexecutor/mamba_cache_manager.py``: ``draft_tokens + 1`` intermediate
states, the accepted one copied back) do the same with one more slot. Priced as vLLM does:
``n - 1`` extra states per sequence held and written per step (no kernel of its own: the
recurrent kernel writes them); a profile with ``linear_state_copy`` (sglang, trtllm) holds one
more and reads and writes one more per step (the copy back); at the scan's fitted bandwidth
(:func:`specroof.cost.pricing_linear.price_linear_scan`). Verification always runs the
recurrent kernel (vLLM's GDN backend sends speculative tokens through
``fused_recurrent_gated_delta_rule``; the chunked kernel is the prefill's).
"""

from __future__ import annotations

import math

import numpy as np

from specroof.cost.dtypes import BYTES
from specroof.cost.grid import Grid
from specroof.cost.operation import (
    LINEAR_CONV,
    LINEAR_IN_PROJ,
    LINEAR_NORM,
    LINEAR_OUT_PROJ,
    LINEAR_ROLLBACK,
    LINEAR_SCAN,
    ArrayLike,
    ElementwiseShape,
    GemmShape,
    LinearScanShape,
    Operation,
    operation,
)
from specroof.cost.setup import StepSetup
from specroof.models.linear_layers import projection_widths

SCAN_CHUNK_TOKENS = 64
"""Tokens per chunk of the chunked scans (fla's ``chunk_gated_delta_rule`` and ``chunk_kda``
use BT = 64; vLLM and SGLang vendor them)."""

NORM_PASSES = 3
"""The gated RMSNorm reads the output and the gate z and writes the result: three passes."""


def linear_layer_count(setup: StepSetup, num_layers: int) -> int:
    """Linear-attention layers among ``num_layers``: the model's, unless a drafter runs an
    explicit number of layers (an MTP module's one layer is full attention)."""
    return setup.model.linear_layers if num_layers == setup.model.num_layers else 0


def _heads(setup: StepSetup) -> tuple[int, int]:
    """(key heads, value heads) on one device: split over ``tp``, at least one."""
    m = setup.model
    return max(1, math.ceil(m.linear_key_heads / setup.tp)), max(1, math.ceil(m.linear_value_heads / setup.tp))


def linear_widths(setup: StepSetup) -> tuple[int, int, int]:
    """(input-projection width, gate up-projection width (KDA; else 0), conv channels) on one device."""
    return projection_widths(setup.model, *_heads(setup))


def state_bytes(setup: StepSetup) -> float:
    """One sequence's state in one linear layer on one device: the recurrent state and the conv window."""
    m = setup.model
    _, hv = _heads(setup)
    conv = linear_widths(setup)[2] * (m.linear_conv_kernel - 1) * setup.activation_bytes
    recurrent = hv * m.linear_key_head_dim * m.linear_value_head_dim * BYTES[m.linear_state_dtype or setup.activation_dtype]
    return recurrent + conv


def linear_attention_operations(setup: StepSetup, grid: Grid, tokens: ArrayLike, num_layers: int) -> list[Operation]:
    """The linear-attention block of ``num_layers`` layers (see the module docstring)."""
    m = setup.model
    layers, wb, act = float(num_layers), setup.weight_bytes * num_layers, setup.activation_bytes
    h, b, n = m.hidden_size, grid.b, grid.n
    hk, hv = _heads(setup)
    width, gate_width, conv = linear_widths(setup)
    value = hv * m.linear_value_head_dim
    ops = [operation(LINEAR_IN_PROJ, GemmShape(tokens, width, h), layers, h * width * wb, tokens * width * act)]
    if gate_width:
        d = m.linear_key_head_dim
        ops.append(operation(LINEAR_IN_PROJ, GemmShape(tokens, gate_width, d, groups=2.0), layers,
                             2 * d * gate_width * wb))
    window = conv * (m.linear_conv_kernel - 1)
    conv_elements = 2 * tokens * conv + 2 * b * window  # inputs in, outputs out, the window read and written
    ops.append(operation(LINEAR_CONV, ElementwiseShape(conv_elements, 1.0), layers, conv * m.linear_conv_kernel * wb))
    one_state = state_bytes(setup)
    state_dtype = BYTES[m.linear_state_dtype or setup.activation_dtype]
    dims = (hv, m.linear_key_head_dim, m.linear_value_head_dim, state_dtype, SCAN_CHUNK_TOKENS)
    ops.append(operation(LINEAR_SCAN, LinearScanShape(b, n, *dims, key_heads=hk), layers,
                         2 * hv * wb, state_bytes_per_sequence=one_state))  # weights: A_log and dt_bias per head
    checkpoints = np.maximum(np.asarray(n, dtype=float) - 1.0, 0.0)
    copy = np.where(checkpoints > 0, 1.0, 0.0) if setup.profile.linear_state_copy else 0.0
    window_bytes = window * setup.activation_bytes
    rollback = LinearScanShape(b, 0.0, *dims, key_heads=hk, checkpoints=checkpoints + 2.0 * copy,
                               window_bytes=window_bytes)  # a copy back reads one state and writes one
    ops.append(operation(LINEAR_ROLLBACK, rollback, layers, state_bytes_per_sequence=(checkpoints + copy) * one_state))
    ops.append(operation(LINEAR_NORM, ElementwiseShape(NORM_PASSES * tokens * value, 1.0), layers,
                         m.linear_value_head_dim * wb))
    ops.append(operation(LINEAR_OUT_PROJ, GemmShape(tokens, h, value), layers, value * h * wb))
    return ops
