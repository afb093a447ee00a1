"""Engines' own work around a speculative step: one module per engine, registered in ``ENGINE_WORK``.

Adding an engine's work (one module):

1. Write ``cost/engine_work/<engine>.py`` with an :class:`EngineWork` subclass whose hooks
   return the operations the engine's code launches around the model's passes, each emitted
   with a shape of an existing pricing kind (GEMM, elementwise, host, ...), so the same pricing
   functions price it. Declare new operations with :func:`engine_operation` in that module.
   Cite the engine code and version each operation was read from.
2. ``ENGINE_WORK.register(...)`` at the bottom of the module; import it below.
3. Name it in a profile's ``speculation_work`` (``cost/profiles.toml``); versioned profiles
   (``vllm@0.10``) may name different members.
"""

from __future__ import annotations

# Importing a member registers it.
# isort: off
import specroof.cost.engine_work.trtllm  # noqa: F401
import specroof.cost.engine_work.sglang  # noqa: F401
import specroof.cost.engine_work.research  # noqa: F401  (registers "research")
import specroof.cost.engine_work.vllm  # noqa: F401
# isort: on
from specroof.cost.engine_work.base import (
    ENGINE_WORK,
    NO_ENGINE_WORK,
    EngineWork,
    SpeculativeStep,
    engine_operation,
    engine_work,
)

__all__ = ["ENGINE_WORK", "NO_ENGINE_WORK", "EngineWork", "SpeculativeStep", "engine_operation", "engine_work"]
