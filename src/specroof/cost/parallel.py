"""Parallelism as deployed: how a step's work is split over the ``tp`` devices of one server.

specroof's ``tp`` is the number of GPUs a model instance runs on (SGLang's ``--tp``; vLLM's
``--tensor-parallel-size`` x ``--data-parallel-size``). Over them:

``dp_attention`` (SGLang ``--enable-dp-attention --dp D``; vLLM ``--data-parallel-size D``)
    attention runs data-parallel in ``D`` groups of ``tp / D`` GPUs: each group holds the whole
    attention weights (split over its ``tp / D`` GPUs), serves ``ceil(batch / D)`` of the
    sequences and keeps only their KV cache. The MLP still sees every token of the step (SGLang
    gathers them before the MLP and scatters after: an all-gather and a reduce-scatter of
    ``T x h``, the same bytes on the links as one all-reduce, priced as one).
``ep`` (SGLang ``--ep-size``; vLLM ``--enable-expert-parallel``)
    each GPU holds ``E / ep`` routed experts, each split over ``tp / ep`` GPUs. Without data-
    parallel attention every GPU holds every token and the experts' partial outputs are summed
    by the all-reduce tensor parallelism already pays. With it, tokens travel: an all-to-all
    sends each token to its experts' ranks and another brings the outputs back (DeepEP's
    dispatch and combine; :mod:`specroof.cost.pricing_comm`). That layout requires ``ep = tp``
    (SGLang's DeepEP backend runs the experts with ``moe_tp = 1``).
``draft_tp``
    the draft model or head at its own tensor-parallel degree (vLLM's
    ``draft_tensor_parallel_size``; 0: the target's layout).

The busiest GPU sets the step's time: :func:`max_rank_copies` gives the routed tokens the
most-loaded expert rank receives under the router law (:mod:`specroof.cost.routing`).
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from specroof.cost.grid import Grid
from specroof.cost.layout import rank_sequences
from specroof.cost.operation import ALLREDUCE, MOE_COMBINE_A2A, AllreduceShape, ArrayLike, Operation, operation

if TYPE_CHECKING:
    from specroof.cost.setup import StepSetup


def attention_tp(setup: "StepSetup") -> int:
    """GPUs one attention group's weights and heads are split over: ``tp / dp_attention``."""
    return setup.tp // setup.dp_attention


def attention_setup(setup: "StepSetup") -> "StepSetup":
    """One attention group's setup under data-parallel attention: heads and attention weights
    split over ``tp / dp`` (the setup itself without it)."""
    return setup if setup.dp_attention == 1 else replace(setup, tp=attention_tp(setup), dp_attention=1)


def attention_rank(setup: "StepSetup", grid: Grid, tokens: ArrayLike) -> tuple["StepSetup", Grid, ArrayLike]:
    """What one attention group prices under data-parallel attention: its setup (heads split
    over ``tp / dp``), its grid (``ceil(batch / dp)`` sequences) and its share of the tokens.
    Unchanged without it."""
    dp = setup.dp_attention
    if dp == 1:
        return setup, grid, tokens
    rank_grid = Grid(rank_sequences(grid.batch, dp), grid.candidates, grid.seq_len)
    share = rank_grid.b / grid.b
    return attention_setup(setup), rank_grid, tokens * share


def layer_communication(setup: "StepSetup", tokens: ArrayLike, num_layers: int,
                        mlp_operations: list[Operation]) -> list[Operation]:
    """The collectives between a step's blocks. Plain tensor parallelism: two all-reduces of
    ``T x h`` per layer (after attention, after the MLP). Data-parallel attention: an all-reduce
    of the group's tokens within its ``tp / dp`` GPUs after attention, and around a tensor-
    parallel MLP a gather and a scatter of all ``T`` tokens over the ``tp`` GPUs; layers whose
    experts exchange tokens by all-to-all (``moe_combine_a2a`` in the MLP) need no more."""
    h = setup.model.hidden_size
    if setup.dp_attention == 1:
        if setup.tp == 1:
            return []
        return [operation(ALLREDUCE, AllreduceShape(tokens * h, setup.tp), 2.0 * num_layers)]
    ops = []
    group = attention_tp(setup)
    if group > 1:
        ops.append(operation(ALLREDUCE, AllreduceShape(tokens / setup.dp_attention * h, group), float(num_layers)))
    a2a_layers = sum(float(np.max(op.count)) for op in mlp_operations if op.info is MOE_COMBINE_A2A)
    if num_layers - a2a_layers > 0:
        ops.append(operation(ALLREDUCE, AllreduceShape(tokens * h, setup.tp), float(num_layers - a2a_layers)))
    return ops


def expert_placement(shares: np.ndarray, ep: int) -> np.ndarray:
    """[E] rank of each expert: the most popular first, each to the least-loaded rank that still
    has room for ``E / ep`` experts (what an expert-placement balancer such as SGLang's and
    vLLM's EPLB aims at; under a uniform router every placement is the same)."""
    per_rank = shares.size // ep
    rank_of = np.empty(shares.size, dtype=int)
    load, held = np.zeros(ep), np.zeros(ep, dtype=int)
    for e in np.argsort(-shares, kind="stable"):
        open_ranks = np.flatnonzero(held < per_rank)
        r = open_ranks[np.argmin(load[open_ranks])]
        rank_of[e], load[r], held[r] = r, load[r] + shares[e], held[r] + 1
    return rank_of


def expected_max_poisson(means: np.ndarray) -> float:
    """E[max_r N_r] for independent ``N_r ~ Poisson(means[r])``: sum over x of P(max > x)."""
    top = float(np.max(means))
    if top <= 0:
        return 0.0
    x = np.arange(0, math.ceil(top + 12.0 * math.sqrt(top) + 12.0))
    log_fact = np.concatenate(([0.0], np.cumsum(np.log(np.arange(1, x.size)))))
    lam = np.maximum(means, 1e-300)[:, None]
    pmf = np.exp(x[None, :] * np.log(lam) - lam - log_fact[None, :])
    cdf = np.minimum(np.cumsum(pmf, axis=1), 1.0)
    return float(np.sum(1.0 - np.prod(cdf, axis=0)))


def max_rank_copies(setup: "StepSetup", tokens: ArrayLike) -> np.ndarray:
    """Expected routed token copies on the busiest of the ``ep`` expert ranks, for the step's
    ``tokens`` tokens (each routed to ``top_k`` experts).

    Each expert's expected tokens come from the router law (``MoERouting.expert_loads``); the
    experts are placed on ranks by :func:`expert_placement`; a rank's count is the sum of its
    experts' counts, taken as Poisson (a sum of many rare, nearly independent picks; it
    slightly overstates the spread of top-k picks without replacement, so the imbalance errs
    high). The busiest rank expects ``E[max_r N_r]`` copies, never fewer than the mean
    ``T top_k / ep`` nor more than a rank can get, ``T min(top_k, E / ep)``.
    """
    m, ep = setup.model, setup.ep
    t = np.asarray(tokens, dtype=float)
    values, inverse = np.unique(t, return_inverse=True)
    loads = setup.routing.expert_loads(m.num_experts, m.experts_per_token, values)  # [U, E]
    rank_of = expert_placement(loads[-1], ep)
    onehot = np.zeros((m.num_experts, ep))
    onehot[np.arange(m.num_experts), rank_of] = 1.0
    rank_means = loads @ onehot  # [U, ep]
    busiest = np.array([max(expected_max_poisson(row), float(np.max(row))) for row in rank_means])
    most = values * min(m.experts_per_token, m.num_experts // ep)  # a token reaches each expert once
    return np.minimum(busiest, most)[inverse].reshape(t.shape)
