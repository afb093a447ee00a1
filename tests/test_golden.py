"""Every number of the cost model is what tests/golden/golden.json recorded.

The file was computed at commit 901fab1 (before operations became an explicit list) by
``tests/golden/generate.py``; it is regenerated only in a commit that names the fix which
changes it. The tolerance is round-off only: summing the same terms in another order.

Fixes since 901fab1 (each regenerated the file):
- Medusa heads are priced through the same GEMM pricing as the model, so with the profile's
  tile policy (``medusa-appendix-g``: ``fill``, before: always ``fastest``), and their SiLU +
  residual add move 5 passes over [T, h] (SiLU read+write, add 2 reads + 1 write), not 6.
  Only the ``speedup/*/heads/*`` cases changed.
- Norm weights are replicated on every tensor-parallel device (memory at tp > 1; the
  golden cases are at tp = 1 and did not change).
- ``pytorch-sdpa`` runs GQA as the harness does (``enable_gqa=True``, mask included): no
  repeat_kv copy of K and V (``gqa_kv_expand = false``). Only the ``pytorch-sdpa`` cases of
  GQA models (Llama-3, Llama-2-70B, Mistral, Mixtral, Qwen2.5) changed, at n > 1.
- ``pytorch-sdpa`` runs MoE layers as the harness does (``moe_kernel = "per_expert"``): one
  gate+up and one down GEMM kernel per touched expert, and a ``moe_dispatch`` operation (router
  softmax/top-k, token gather, scale, ``index_add_``: 7 kernels per expert, 4 per layer). Only
  the ``pytorch-sdpa`` Mixtral cases changed; ``serving`` (one grouped kernel) did not.
- ``pytorch-sdpa``'s one-query (flash) attention splits the KV sequence as FlashAttention-2
  does and then launches a combine kernel (``split_kv_combine``): only its ``pytorch-sdpa``
  cases changed, where (sequence, head) blocks fill less than 80% of the SMs.
- ``pytorch-sdpa``'s per-expert MoE GEMMs are priced over the binomial spread of tokens per
  expert (eight equally likely loads), not at the mean load: only its Mixtral cases changed.
- ``pytorch-sdpa`` counts the two kernels SDPA launches to make a boolean tree mask additive
  (``attention_mask_kernels``) at n > 1: only its cases changed.
- Tokens per step never exceed what the drafting shape yields: 5 Medusa heads draft 5 levels,
  so ``chain:0.8`` counts 6 positions at n = 64, not 64. Only the ``speedup`` of the
  ``speedup/*/heads/*`` cases at n = 64 changed.
- GLM-4.5-Air's dense first layer (``first_k_dense_replace = 1``: a 10,944-wide gated MLP, as
  ``dense_gate_up_proj``/``dense_down_proj``) and its shared expert in the 45 MoE layers
  (``shared_gate_up_proj``/``shared_down_proj``) are priced; before, every layer was 128 routed
  experts and nothing else; under ``pytorch-sdpa`` its dense layer launches SiLU and the
  multiply once (per expert only in MoE layers). Only the ``glm-4.5-air`` cases changed.
- Sliding-window layers read at most the window (``min(s + n, W + n - 1)`` keys) and cache at
  most ``W + n - 1`` tokens (:mod:`specroof.cost.architectures.windows`); their attention is
  the ``window_attention`` operation. Only the Mistral-7B cases changed (its 4,096-token window
  on every layer), at seq_len 4096, by at most 0.07% of the step and 1.2% of attention.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from golden import generate  # tests/golden/generate.py: the cases, also run as a script to regenerate


@pytest.fixture(scope="module")
def recorded_and_now():
    recorded = json.loads(generate.GOLDEN.read_text(encoding="utf-8"))
    return recorded, generate.cases()


def test_same_cases(recorded_and_now):
    recorded, now = recorded_and_now
    assert sorted(now) == sorted(recorded)
    for key in recorded:
        assert sorted(now[key]) == sorted(recorded[key]), key


def test_same_numbers(recorded_and_now):
    recorded, now = recorded_and_now
    worst = (0.0, "")
    for key, case in recorded.items():
        for name, values in case.items():
            got = np.asarray(now[key][name])
            want = np.asarray(values)
            rel = np.max(np.abs(got - want) / np.maximum(np.abs(want), 1e-300)) if want.size else 0.0
            if rel > worst[0]:
                worst = (float(rel), f"{key} {name}")
    assert worst[0] <= 1e-9, f"largest relative change {worst[0]:.3g} at {worst[1]}"
