"""The cost of proposing candidates: Medusa/EAGLE-style heads or a separate draft model.

Verification alone is priced by the cost model; drafting adds to every speculative step:

- ``heads``: ``num_heads`` Medusa heads, each a residual SiLU block ([T, h] x [h, h]) and its
  own vocabulary projection ([T, h] x [h, V]), run on the ``batch x candidates`` hidden
  states of the verification step (as Medusa's implementation and the shared H200
  measurements do). GEMMs priced by the same roofline as the model's own.
- ``draft``: a draft model proposes a chain of ``n - 1`` tokens, one decoding step each
  (batch ``b``, one candidate, the same context length), priced with the same cost model
  for the draft's own architecture.
- ``none``: the candidates come for free (an upper bound, or prompt-lookup decoding).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from specroof.cost.dtypes import BYTES
from specroof.cost.operators import StepSetup
from specroof.cost.roofline import gemm_time
from specroof.cost.step import latency_for_setup, setup_step
from specroof.errors import SpecroofError

METHODS = ("none", "heads", "draft")
DEFAULT_HEADS = 5


def heads_ms(setup: StepSetup, b: np.ndarray, n: np.ndarray, num_heads: int) -> np.ndarray:
    """Milliseconds of ``num_heads`` Medusa heads over ``b * n`` tokens (shape of b*n)."""
    if num_heads < 1:
        raise SpecroofError(f"number of heads must be positive, got {num_heads}")
    m, prof = setup.model, setup.profile
    tokens = b * n
    wb, act = BYTES[setup.weight_dtype], BYTES[setup.activation_dtype]
    h, v = m.hidden_size, m.vocab_size
    machine = setup.machine
    _, _, block = gemm_time(tokens, h, h, 1, h * h * wb, act, prof.gemm_tiles, machine, prof.gemm_split_k)
    _, _, vocab = gemm_time(tokens, v, h, 1, h * v * wb, act, prof.gemm_tiles, machine, prof.gemm_split_k)
    silu_add = 6.0 * tokens * h * act / (setup.hardware.memory_bandwidth * prof.elementwise_efficiency)
    kernels = 4 * prof.kernel_overhead_us * 1e-6  # two GEMMs, SiLU, residual add
    return num_heads * (block + vocab + silu_add + kernels) * 1e3


def draft_ms(target: StepSetup, draft_model: Any, batch: np.ndarray, candidates: np.ndarray,
             seq_len: np.ndarray) -> np.ndarray:
    """Milliseconds of ``n - 1`` draft decoding steps per speculative step, on the target's device.

    Shape (len(batch), len(candidates), len(seq_len)). The draft runs with the target's
    dtypes and implementation profile.
    """
    draft = setup_step(draft_model, target.hardware, dtype=target.activation_dtype,
                       weight_dtype=target.weight_dtype, kv_dtype=target.kv_dtype, tp=target.tp,
                       profile=target.profile)
    one = latency_for_setup(draft, batch, [1], seq_len).latency_ms  # (B, 1, S)
    steps = (np.asarray(candidates, dtype=float) - 1.0)[None, :, None]
    return one * steps
