"""specroof: will speculative decoding make my model faster on my GPU?

The public API is imported lazily so that ``import specroof`` (and the CLI's start-up)
stays fast; ``specroof.latency`` etc. load their modules on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "latency": "specroof.cost.step",
    "StepLatency": "specroof.cost.step",
    "ImplementationProfile": "specroof.cost.profile",
    "get_profile": "specroof.cost.profile",
    "load_model": "specroof.models.architecture",
    "ModelConfig": "specroof.models.architecture",
    "load_hardware": "specroof.hardware.accelerator",
    "Accelerator": "specroof.hardware.accelerator",
    "SpecroofError": "specroof.errors",
    "speedup": "specroof.speculation.speedup",
    "plan": "specroof.speculation.plan",
    "ops": "specroof.speculation.breakdown",
    "explain": "specroof.speculation.explain",
    "memory_footprint": "specroof.speculation.footprint",
    "Study": "specroof.speculation.study",
    "kernel_latency": "specroof.cost.kernel_latency",
    "Drafting": "specroof.speculation.drafting",
    "Grid": "specroof.cost.grid",
    "calibrate": "specroof.calibration.fit",
    "validate": "specroof.calibration.validate",
    "parse_acceptance": "specroof.speculation.acceptance_spec",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'specroof' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
