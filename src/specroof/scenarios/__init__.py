"""Scenarios: a TOML file that fixes a whole study (model, device, profile, acceptance, grid).

Shipped scenarios live beside this module (``<name>.toml``); users pass a name or a path to
``--scenario``. Explicit command-line flags override what a scenario sets.

Format::

    description = "..."
    model = "llama-7b"
    hardware = "a100-80gb-pcie"
    dtype = "fp16"
    profile = "medusa-appendix-g"
    acceptance = "log:0.477"
    method = "none"            # none | heads | draft
    draft_model = "llama-68m"  # for method = "draft"
    [grid]
    batch = [1, 2, 4]
    candidates = [1, 16, 32]
    seq_len = [1024]
    reference = "reference/x.csv"  # published points to overlay (relative to this file)
    [profile_overrides]        # any ImplementationProfile field
    compute_efficiency = 0.6
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from specroof.checks import BOOL, NAME, TEXT, Check, annotation, check, choice, integer, pydantic, schema_of
from specroof.datafiles import packaged_names, read_toml
from specroof.errors import SpecroofError, suggest

#: Most values one grid axis of a scenario may list.
MAX_AXIS_VALUES = 100_000
_AXES = ("batch", "candidates", "seq_len")


def _axis() -> Any:
    from typing import Annotated

    value = annotation(Check(integer, ge=1, le=100_000_000))
    return Annotated[list[value], pydantic().Field(min_length=1, max_length=MAX_AXIS_VALUES)]


@lru_cache(maxsize=1)
def _grid() -> Any:
    return schema_of("ScenarioGrid", {k: (Check(build=_axis, optional=True), None) for k in _AXES})


_NAME = NAME.or_none()
#: The keys of a scenario file: (check, default). ``method`` is checked as a name only: the
#: drafting methods live floors above scenarios, and the method is checked where the scenario
#: is used, as a ``--method`` would be; ``profile_overrides`` likewise when applied to the profile.
_KEYS: dict[str, tuple[Check, Any]] = {
    "name": (_NAME, None), "description": (TEXT, ""),
    "model": (_NAME, None), "hardware": (_NAME, None), "dtype": (_NAME, None), "weight_dtype": (_NAME, None),
    "kv_dtype": (_NAME, None), "attention": (choice("fused", "unfused").or_none(), None),
    "cuda_graph": (BOOL.or_none(), None), "profile": (_NAME, None),
    "tp": (Check(integer, ge=1, le=4096, optional=True), None), "acceptance": (_NAME, None),
    "method": (_NAME, None), "draft_model": (_NAME, None),
    "heads": (Check(integer, ge=1, le=64, optional=True), None),
    "max_depth": (Check(integer, ge=1, le=1024, optional=True), None),
    "grid": (Check(build=_grid), None), "reference": (TEXT, ""),
    "profile_overrides": (Check(build=lambda: dict[str, Any]), None),
}
#: The keys that are options of speedup() (the study's settings).
_SETTINGS = tuple(k for k in _KEYS if k not in ("name", "description", "grid", "reference", "profile_overrides"))
_KNOWN = set(_KEYS)


@lru_cache(maxsize=1)
def _schema() -> Any:
    defaults = {"grid": _grid()(), "profile_overrides": {}}
    return schema_of("ScenarioFile", {k: (c, defaults.get(k, d)) for k, (c, d) in _KEYS.items()})


@dataclass(frozen=True)
class Scenario:
    """A named study: settings (keyword options of speedup()), grid and profile overrides."""

    name: str
    description: str
    settings: dict[str, Any]
    grid: dict[str, list[int]]
    profile_overrides: dict[str, Any] = field(default_factory=dict)
    reference: str = ""
    folder: Any = None  # where the scenario file lives; ``reference`` is relative to it

    def reference_file(self) -> Any:
        """The published-results CSV the scenario reproduces, or None."""
        if not self.reference or self.folder is None:
            return None
        return self.folder / self.reference

    def options(self) -> dict[str, Any]:
        """Keyword options for speedup()/latency(): settings merged with profile overrides."""
        return {**self.profile_overrides, **{k: v for k, v in self.settings.items() if k not in ("model", "hardware")}}


def scenario_names() -> tuple[str, ...]:
    return packaged_names(__name__, "", ".toml")


def load_scenario(scenario: str | Path) -> Scenario:
    """A shipped scenario by name, or a scenario TOML file by path."""
    text_source: Any
    if not isinstance(scenario, (str, Path)):
        raise SpecroofError(f"scenario must be a name or a path, got {type(scenario).__name__}")
    if isinstance(scenario, Path) or str(scenario).endswith(".toml") or "/" in str(scenario):
        path = Path(scenario)
        if not path.is_file():
            raise SpecroofError(f"scenario file not found: {path}")
        text_source, name, folder = path, path.stem, path.parent
    else:
        name = str(scenario)
        if name not in scenario_names():
            raise SpecroofError(
                f"unknown scenario {name!r}{suggest(name, scenario_names())}; shipped: {', '.join(scenario_names())}"
            )
        text_source = resources.files(__name__) / f"{name}.toml"
        folder = resources.files(__name__)
    data = read_toml(text_source, f"scenario {scenario}")
    unknown = sorted(set(data) - _KNOWN)
    if unknown:
        raise SpecroofError(f"scenario {name}: unknown key(s) {', '.join(unknown)}{suggest(unknown[0], _KNOWN)}")
    grid = data.get("grid", {})
    if not isinstance(grid, dict) or set(grid) - set(_AXES):
        raise SpecroofError(f"scenario {name}: [grid] may only set batch, candidates and seq_len")
    for key, values in grid.items():
        if not isinstance(values, list) or not values:
            raise SpecroofError(f"scenario {name}: grid.{key} must be a non-empty list of positive integers")
    if not isinstance(data.get("profile_overrides", {}), dict):
        raise SpecroofError(f"scenario {name}: [profile_overrides] must be a table")
    checked = check(_schema(), data, f"scenario {name}")
    settings = {k: getattr(checked, k) for k in _SETTINGS if k in data}
    grid_values = {k: list(getattr(checked.grid, k)) for k in grid}
    return Scenario(
        name=checked.name or name, description=checked.description, settings=settings, grid=grid_values,
        profile_overrides=dict(checked.profile_overrides), reference=checked.reference, folder=folder,
    )
