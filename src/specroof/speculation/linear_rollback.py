"""``explain``'s linear-attention line: what speculation costs a hybrid model's recurrent layers.

A linear-attention layer has no KV cache to truncate: rejecting a suffix of the candidates
means restoring the state as it was after the last accepted token. Engines keep a state
checkpoint per candidate (:mod:`specroof.cost.architectures.linear` cites vLLM, SGLang and
TensorRT-LLM), so verifying ``n`` candidates holds and writes ``n - 1`` extra states per
sequence and layer, and the scan itself runs over ``n`` tokens instead of one. This module
reads both off the priced steps (the ``linear_rollback`` and ``linear_scan`` operations), so
the line and explain's table agree.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from specroof.cost.operation import LINEAR_ROLLBACK, LINEAR_SCAN
from specroof.cost.setup import StepSetup
from specroof.cost.step import StepLatency


def _ms(step: StepLatency, name: str) -> float:
    return float(np.asarray(step.ops_ms[name])[0, 0, 0]) if name in step.ops_ms else 0.0


def linear_rollback(setup: StepSetup, spec_step: StepLatency, plain_step: StepLatency,
                    verify_ms: float) -> dict[str, Any] | None:
    """The rollback record of one point (None for a model without linear layers): layers,
    checkpoints per sequence and their bytes, and the milliseconds the checkpoints and the
    longer scan add from ``plain_step`` to ``spec_step``."""
    if not setup.model.linear_layers:
        return None
    def held(name: str) -> float:  # bytes per sequence, all layers, of the target's operation ``name``
        return sum(float(np.max(np.asarray(op.operation.state_bytes_per_sequence, dtype=float)))
                   * float(np.max(op.operation.count)) for op in spec_step.operations if op.name == name)

    checkpoint_bytes, state_bytes = held(LINEAR_ROLLBACK.name), held(LINEAR_SCAN.name)
    rollback_ms = _ms(spec_step, LINEAR_ROLLBACK.name) - _ms(plain_step, LINEAR_ROLLBACK.name)
    scan_ms = _ms(spec_step, LINEAR_SCAN.name) - _ms(plain_step, LINEAR_SCAN.name)
    record = {"linear_layers": setup.model.linear_layers, "checkpoints": round(checkpoint_bytes / state_bytes) if state_bytes else 0,
              "checkpoint_bytes_per_sequence": checkpoint_bytes, "rollback_ms": rollback_ms, "scan_ms": scan_ms,
              "share_of_verify": (rollback_ms + scan_ms) / verify_ms}
    return {**record, "line": rollback_line(record)}


def rollback_line(record: dict[str, Any]) -> str:
    """explain's line for the record (``record["line"]``, what the CLI prints)."""
    return (f"linear-attention rollback: {record['linear_layers']} linear layers keep {record['checkpoints']} state "
            f"checkpoint(s) per sequence ({record['checkpoint_bytes_per_sequence'] / 1e6:.2f} MB) to undo rejected "
            f"candidates: +{record['rollback_ms']:.3f} ms writing them, +{record['scan_ms']:.3f} ms scanning the "
            f"candidates ({100 * record['share_of_verify']:.1f}% of the verify step)")
