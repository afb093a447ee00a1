"""An MoE layer under expert parallelism: each GPU runs its ``E / ep`` experts on the tokens
routed to them, and the busiest GPU sets the time.

:func:`expert_parallel` rewrites an MoE block built for plain tensor parallelism
(:func:`specroof.cost.architectures.moe.moe_mlp`) for ``ep > 1`` (:mod:`specroof.cost.parallel`)::

    moe_router        [T / dp, h] x [h, E]         each attention group routes its own tokens
    moe_dispatch_a2a  T / dp tokens x top_k        to the experts' ranks (dp > 1 only)
    gate_up_proj      E / ep experts of width 2 i / (tp / ep), over the busiest rank's tokens
    down_proj         likewise
    moe_combine_a2a   the outputs back to their tokens' ranks (dp > 1 only)

The expert GEMMs are priced as one rank's layer: ``E / ep`` experts fed the routed copies the
busiest rank expects (:func:`specroof.cost.parallel.max_rank_copies`), spread over its experts
by the same router law. Their resident weights are one GPU's: ``E / ep`` experts at
``1 / (tp / ep)`` of their width.
"""

from __future__ import annotations

from dataclasses import MISSING, fields, replace

import numpy as np

from specroof.cost.operation import (
    DOWN_PROJ,
    MOE_COMBINE_A2A,
    MOE_DISPATCH_A2A,
    MOE_ROUTER,
    AllToAllShape,
    ArrayLike,
    MoEShape,
    Operation,
    OpInfo,
    operation,
)
from specroof.cost.parallel import max_rank_copies
from specroof.cost.setup import StepSetup


def expert_parallel(setup: StepSetup, tokens: ArrayLike, num_layers: int, ops: list[Operation]) -> list[Operation]:
    """``ops`` (an MoE block of ``num_layers`` layers) as one GPU of ``ep`` expert ranks runs it;
    unchanged when ``ep = 1``."""
    if setup.ep == 1:
        return ops
    m, dp = setup.model, setup.dp_attention
    local = m.num_experts // setup.ep
    copies = max_rank_copies(setup, tokens)  # routed copies the busiest rank receives
    out: list[Operation] = []
    for op in ops:
        if op.info is MOE_ROUTER and dp > 1:
            op = replace(op, shape=replace(op.shape, m=tokens / dp))
        elif isinstance(op.shape, MoEShape) and op.shape.num_experts == m.num_experts:
            if dp > 1 and not any(isinstance(o.shape, MoEShape) for o in out):  # before the first expert GEMM
                out.append(_a2a(MOE_DISPATCH_A2A, setup, tokens, num_layers))
            op = _shard(op, local, copies, setup.ep)
        out.append(op)
    if dp > 1:
        out.append(_a2a(MOE_COMBINE_A2A, setup, tokens, num_layers))
    return out


def _a2a(info: OpInfo, setup: StepSetup, tokens: ArrayLike, num_layers: int) -> Operation:
    """One all-to-all per MoE layer, each rank sending its attention group's tokens."""
    m = setup.model
    phase = "dispatch" if info is MOE_DISPATCH_A2A else "combine"
    shape = AllToAllShape(np.asarray(tokens, dtype=float) / setup.dp_attention, m.hidden_size, m.experts_per_token,
                          m.num_experts, setup.ep, phase)
    return operation(info, shape, float(num_layers))


def _shard(op: Operation, local: int, copies: np.ndarray, widen: int) -> Operation:
    """One expert GEMM as one rank runs it: its ``local`` experts fed ``copies`` routed tokens,
    each expert ``widen`` (= ep) times as wide as under plain tensor parallelism (it is split
    over ``tp / ep`` GPUs instead of ``tp``; engines require widths divisible by ``tp``)."""
    s = op.shape
    n, k = (s.n, s.k * widen) if op.info is DOWN_PROJ else (s.n * widen, s.k)
    top_k = min(s.top_k, local)
    share = local / s.num_experts
    return replace(op, shape=_local_shape(s, tokens=copies / top_k, num_experts=local, top_k=top_k, n=n, k=k),
                   weight_bytes=op.weight_bytes * share * widen, activation_bytes=op.activation_bytes * share)


def _local_shape(shape: MoEShape, **local: object) -> MoEShape:
    """``shape`` with the rank's own values; any other field (e.g. grouped routing, which
    describes the whole layer's experts) back to its default, as one rank's experts have none."""
    rest = {f.name: f.default for f in fields(shape) if f.name not in local and f.default is not MISSING}
    return replace(shape, **local, **rest)
