"""``/api/catalog``: every choice the explorer offers, read from the registries and catalogs.

Drafting methods and engines come from their registries (a member registered later, a plug-in
or a test's toy one, is listed too); models, accelerators, profiles and scenarios from their
catalogs. ``web/static/catalog.js`` fills the page's method select and export tabs from it, so
the page spells no method or engine itself.
"""

from __future__ import annotations

from typing import Any

from specroof.cost.profile import profile_names
from specroof.hardware.accelerator import catalog_names as hardware_names
from specroof.models.architecture import catalog_names as model_names
from specroof.scenarios import scenario_names
from specroof.speculation.engines import ENGINES, Engine
from specroof.speculation.methods.catalog import method_catalog


def catalog() -> dict[str, Any]:
    """The explorer's choices: methods, engines, models, hardware, profiles, scenarios."""
    return {"models": list(model_names()), "hardware": list(hardware_names()), "profiles": list(profile_names()),
            "scenarios": list(scenario_names()), "methods": method_catalog(),
            "engines": [_engine(e) for e in ENGINES]}


def _engine(engine: Engine) -> dict[str, Any]:
    """An export engine: its names, the profile that models it, what it reads, how it spells methods."""
    return {
        "name": engine.name, "display_name": engine.display_name, "description": engine.description,
        "profile": engine.profile, "acceptance_kind": engine.metrics.kind if engine.metrics else None,
        "any_method": engine.any_method,
        "methods": {method: spelling.name for method, spelling in engine.spellings.items()},
    }
