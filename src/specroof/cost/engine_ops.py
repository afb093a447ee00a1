"""What a serving engine adds to a forward pass: CUDA-graph padding, sampling, host time.

The verification pass of a step is the model's operation list (:mod:`specroof.cost.architectures`)
on the tokens the engine actually runs (padded up to its captured CUDA-graph sizes), plus
logits processing and sampling over every verified token and the host time of an engine step.
The plain PyTorch profiles have none of these (their fields are 0), so their steps are the
model's list alone.
"""

from __future__ import annotations

import numpy as np

from specroof.cost.architectures import model_operations
from specroof.cost.architectures.decoder import LOGITS_BYTES
from specroof.cost.grid import Grid
from specroof.cost.operation import HOST_STEP, SAMPLING, ArrayLike, ElementwiseShape, HostShape, Operation, operation
from specroof.cost.profile import ImplementationProfile
from specroof.cost.setup import StepSetup


def padded_tokens(profile: ImplementationProfile, batch: ArrayLike, per_sequence: ArrayLike) -> np.ndarray:
    """Tokens a CUDA-graph replay processes for ``batch`` sequences of ``per_sequence`` tokens.

    The step is padded up to the next captured size (tokens, or batch size times tokens per
    sequence); a step beyond the largest captured size runs unpadded (no graph). Eager
    profiles and profiles without captured sizes never pad.
    """
    batch = np.asarray(batch, dtype=float)
    tokens = batch * per_sequence
    if not profile.cuda_graph or not profile.cuda_graph_sizes:
        return tokens
    sizes = np.asarray(profile.cuda_graph_sizes, dtype=float)
    unit = tokens if profile.cuda_graph_unit == "tokens" else batch * np.ones_like(tokens)
    index = np.searchsorted(sizes, np.ceil(unit))
    padded_unit = np.where(index < sizes.size, sizes[np.minimum(index, sizes.size - 1)], unit)
    return padded_unit if profile.cuda_graph_unit == "tokens" else padded_unit * per_sequence


def engine_operations(setup: StepSetup, tokens: ArrayLike) -> list[Operation]:
    """Sampling over ``tokens`` verified tokens and the host time of one engine step."""
    prof = setup.profile
    ops: list[Operation] = []
    if prof.sampling_passes:
        elements = prof.sampling_passes * tokens * setup.model.vocab_size
        ops.append(operation(SAMPLING, ElementwiseShape(elements, float(prof.sampling_kernels), LOGITS_BYTES)))
    if prof.host_step_us:
        ops.append(operation(HOST_STEP, HostShape(prof.host_step_us)))
    return ops


def verification_operations(setup: StepSetup, grid: Grid) -> list[Operation]:
    """The target's pass of one step: its operation list on the engine's padded tokens, then
    sampling of every verified token and the step's host time."""
    padded = padded_tokens(setup.profile, grid.b, grid.n)
    return model_operations(setup, grid, tokens=padded) + engine_operations(setup, grid.tokens)
