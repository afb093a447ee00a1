"""Operation lists of drafting: Medusa heads, and the passes of a draft model.

Drafting is priced like verification: its operations go through the same pricing functions
with the same profile (tiles, efficiencies, per-kernel gaps), and show up in ``ops_ms``,
``specroof ops``, ``explain`` and the charts under the ``drafting`` group.

- Medusa heads run on the verification step's ``T = batch x candidates`` hidden states, in
  the same forward: each head is a residual SiLU block ``x + SiLU([T, h] x [h, h])`` and its
  own vocabulary projection ``[T, h] x [h, V]`` (as Medusa's implementation and the shared
  H200 measurements run them).
- A draft model proposes a chain of ``n - 1`` tokens, one decoding step each (batch ``b``,
  one token per sequence, the target's context length): ``n - 1`` passes of its own decoder
  list, with the target's dtypes, profile and parallelism.

The lists price what a drafter runs on the tokens given; that plain decoding (``n = 1``)
drafts nothing is the speculative step's rule (:mod:`specroof.speculation.drafting`).
"""

from __future__ import annotations

from specroof.cost.decoder_ops import decoder_operations
from specroof.cost.grid import Grid
from specroof.cost.operation import (
    MEDUSA_BLOCK,
    MEDUSA_ELEMENTWISE,
    MEDUSA_VOCAB,
    ElementwiseShape,
    GemmShape,
    Operation,
    operation,
)
from specroof.cost.setup import StepSetup
from specroof.models.architecture import ModelConfig

MEDUSA_ELEMENTWISE_PASSES = 5.0
"""Per head, over its [T, h] activations: SiLU reads the block's GEMM output and writes its
activation (2 passes), the residual add reads the input and the activation and writes the sum
(3 passes)."""
MEDUSA_ELEMENTWISE_KERNELS = 2.0
"""SiLU and the residual add, one kernel each (unfused, as Medusa's PyTorch heads run)."""


def medusa_head_operations(setup: StepSetup, grid: Grid, heads: int) -> list[Operation]:
    """``heads`` Medusa heads over the verification step's ``batch x candidates`` hidden states."""
    m = setup.model
    h, v = m.hidden_size, m.vocab_size
    tokens = grid.tokens
    count = float(heads)
    wb = setup.weight_bytes * heads  # every head's weights stay loaded, at n = 1 too
    return [
        operation(MEDUSA_BLOCK, GemmShape(tokens, h, h), count, h * h * wb),
        operation(MEDUSA_ELEMENTWISE, ElementwiseShape(MEDUSA_ELEMENTWISE_PASSES * tokens * h,
                                                         MEDUSA_ELEMENTWISE_KERNELS), count),
        operation(MEDUSA_VOCAB, GemmShape(tokens, v, h), count, h * v * wb),
    ]


def draft_model_operations(target: StepSetup, draft: ModelConfig, grid: Grid) -> tuple[StepSetup, list[Operation]]:
    """The draft model's setup and the operations of ONE of its decoding passes (one token per
    sequence); the step runs ``n - 1`` such passes."""
    setup = target.for_model(draft)
    ops = decoder_operations(setup, grid.with_candidates([1]))
    return setup, [op.drafting(1.0) for op in ops]
