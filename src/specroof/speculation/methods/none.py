"""``none``: the candidates come for free, so the step prices verification alone (an upper bound)."""

from __future__ import annotations

from specroof.speculation.methods.base import METHODS, Method

NONE = METHODS.register(Method(
    name="none",
    description="free candidates: drafting costs nothing, an upper bound",
    label="free drafts",
))
