"""Offline acceptance measurement (``specroof acceptance --measure``): not built yet."""

from __future__ import annotations

from typing import Any

from specroof.errors import SpecroofError


def measure_command(opts: dict[str, Any]) -> dict[str, Any]:
    """The profile ``--measure`` writes."""
    raise SpecroofError("--measure is not built yet")
