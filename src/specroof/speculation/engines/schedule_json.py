"""``json``: the plan's batch-size schedule alone, ``[[start_batch, end_batch, k], ...]``.

Not an engine's launch: the list any engine or script can read (see
:func:`specroof.speculation.plan.batch_ranges`). It names no drafting method, so it takes every
one.
"""

from __future__ import annotations

from specroof.speculation.engines.engine import ENGINES, Engine

ENGINES.register(Engine(
    name="json", display_name="Batch-size schedule (JSON)",
    description="the schedule [[start_batch, end_batch, k], ...] alone, for any engine or script",
    any_method=True))
