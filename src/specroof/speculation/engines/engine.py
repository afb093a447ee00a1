"""An inference engine as a record, and :data:`ENGINES`, the registry everything above reads.

An engine is what a plan is exported to (``specroof plan --export NAME``): a writer that turns
the plan into the engine's launch command or configuration, the engine's own name and option
for each drafting method (data: ``method_names.toml``), and, where the engine reports its
acceptance, the reader of its metrics (an acceptance spec ``KIND:FILE``).

This module imports no member, so the acceptance specs (which a plan itself needs) can read
the engines' metrics readers without importing the export writers: the writers take a plan
(:class:`specroof.speculation.plan.PlanResult`), and plan.py reaches the acceptance specs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from specroof.datafiles import read_toml
from specroof.errors import SpecroofError
from specroof.registry import Registry
from specroof.speculation.acceptance import AcceptanceModel

METHOD_NAMES = "method_names.toml"
_SPELLING_KEYS = {"name", "option", "weights", "config", "depth_key", "draft_shape", "stand_in", "note", "refused"}


@dataclass(frozen=True)
class Spelling:
    """How one engine names one drafting method, and the options that go with it.

    ``name`` is the engine's word for the method, given to ``option`` (a flag or config key);
    ``None`` means the engine cannot run the method, ``refused`` saying why. ``weights`` is
    what the engine loads to draft: ``""`` nothing, ``"draft-model"`` the plan's draft model,
    ``"target"`` modules shipped in the target checkpoint, anything else a separate checkpoint
    so described (a placeholder the user fills in). ``config`` holds fixed extra options,
    ``depth_key`` the option that takes k, ``draft_shape`` whether the engine's tree-shape flags
    apply. ``stand_in``: the engine has no exact counterpart and ``name`` is the closest drafting
    it runs; ``note`` is printed beside the launch.
    """

    method: str
    name: str | None = None
    option: str = ""
    weights: str = ""
    config: Mapping[str, Any] = field(default_factory=dict)
    depth_key: str = ""
    draft_shape: bool = True
    stand_in: bool = False
    note: str = ""
    refused: str = ""

    @property
    def supported(self) -> bool:
        return self.name is not None


ExportWriter = Callable[[Any, list[list[int]], Spelling], list[str]]
"""(plan, batch ranges [[start, end, k], ...], the method's spelling) -> the launch lines. The plan
is a :class:`specroof.speculation.plan.PlanResult`, not named here: plan.py reaches this module
through the acceptance specs, and a name here would close an import cycle."""


@dataclass(frozen=True)
class MetricsReader:
    """An acceptance spec read from the engine's own counters: ``KIND:ARGS`` -> a tau(n) curve."""

    kind: str
    syntax: str
    parse: Callable[[str], AcceptanceModel]


@dataclass(frozen=True)
class Engine:
    """One engine a plan can be exported to.

    ``write`` is None for a format that is only the batch-size schedule (``json``), which
    names no method (``any_method``). ``profile``: the implementation profile
    (``cost/profiles.toml``) that models the engine; ``kernel_backend``: its name in NVIDIA's
    kernel database (:data:`specroof.kernels.schema.BACKENDS`); ``metrics``: its acceptance
    reader, if it reports acceptance.
    """

    name: str
    display_name: str
    description: str
    write: ExportWriter | None = None
    spellings: Mapping[str, Spelling] = field(default_factory=dict)
    any_method: bool = False
    profile: str | None = None
    kernel_backend: str | None = None
    metrics: MetricsReader | None = None

    def spell(self, method: str) -> Spelling:
        """This engine's spelling of ``method`` (possibly a refusal), or a SpecroofError saying
        the engine's data does not mention the method and which methods it does spell."""
        if self.any_method:
            return Spelling(method, method)
        if method in self.spellings:
            return self.spellings[method]
        known = [m for m, s in self.spellings.items() if s.supported]
        raise SpecroofError(f"engine {self.name} ({self.display_name}) has no spelling of drafting method "
                            f"{method!r}; it runs {', '.join(known) or 'no drafting method'} (add a row "
                            f"[{self.name}.{method}] to speculation/engines/{METHOD_NAMES})")

    def refusal(self, spelling: Spelling) -> str:
        """One comment line: why the engine cannot run the method, and what it drafts with instead."""
        exact = [s for s in self.spellings.values() if s.supported and not s.stand_in]
        names = list(dict.fromkeys(str(s.name) for s in exact))
        why = spelling.refused or f"{self.display_name} cannot run drafting method {spelling.method}"
        return (f"# {why}: it drafts with {_either(names)}. "
                f"Re-plan with --method {_either([s.method for s in exact])}.")


ENGINES: Registry[Engine] = Registry("engine", "--export")
"""Every engine a plan can be exported to, in the order the CLI and the explorer list them.

Adding an engine (one module, plus data):

1. Write ``speculation/engines/<name>.py`` with its export writer: ``write(plan, ranges,
   spelling) -> lines`` (launch helpers: :mod:`specroof.speculation.launch`).
2. Spell every registered drafting method in ``method_names.toml`` under ``[<name>.<method>]``
   (the engine's name for it, its option, what weights it loads; a method it cannot run gets
   ``refused = "why"`` instead of a name). ``spellings_of("<name>")`` reads the rows.
3. If it reports acceptance, a :class:`MetricsReader` (kind, syntax, parser): ``specroof
   acceptance --from`` and every ``--acceptance KIND:FILE`` then read it.
4. ``ENGINES.register(Engine(...))`` at the bottom of the module; import the module in
   ``engines/__init__.py``. The CLI's ``--export`` choice, ``export_table``, the explorer's
   tabs and ``/api/catalog`` read this registry.

An engine registered from outside the package (a plug-in, a test's toy engine) is seen
everywhere the built-in ones are; it may pass its spellings as :class:`Spelling` records.
"""


def spellings_of(engine: str) -> dict[str, Spelling]:
    """The rows of ``method_names.toml`` for ``engine``: method name -> :class:`Spelling`."""
    rows = _method_names().get(engine, {})
    return {method: spelling(method, row, f"{METHOD_NAMES} [{engine}.{method}]") for method, row in rows.items()}


def spelling(method: str, row: Mapping[str, Any], where: str = "spelling") -> Spelling:
    """One :class:`Spelling` from a table row; unknown keys and a row with neither a name nor a
    reason for refusing are errors (a typo never silently drops an option)."""
    unknown = sorted(set(row) - _SPELLING_KEYS)
    if unknown:
        raise SpecroofError(f"{where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(_SPELLING_KEYS))}")
    if ("name" in row) == ("refused" in row):
        raise SpecroofError(f"{where}: give either name (the engine's word for the method) or refused (why not)")
    return Spelling(method=method, **dict(row))


@cache
def _method_names() -> dict[str, Any]:
    return read_toml(resources.files("specroof.speculation.engines") / METHOD_NAMES, METHOD_NAMES)


def _either(words: list[str]) -> str:
    """'a', 'a or b', 'a, b or c'."""
    return " or ".join(filter(None, [", ".join(words[:-1]), words[-1]])) if words else "nothing"


def metrics_readers() -> list[MetricsReader]:
    """The acceptance readers of the registered engines, in registry order."""
    return [engine.metrics for engine in ENGINES if engine.metrics is not None]


def metrics_reader(kind: str) -> MetricsReader | None:
    """The engine acceptance reader for the spec kind ``kind`` (``vllm-metrics``), if any."""
    return next((reader for reader in metrics_readers() if reader.kind == kind), None)


def metrics_kinds() -> tuple[str, ...]:
    """The acceptance-spec kinds read from engines' metrics (``specroof acceptance --from``)."""
    return tuple(reader.kind for reader in metrics_readers())
