"""Click choices read from a family's registry when the command runs, not when it is defined.

``click.Choice(METHODS.names())`` would freeze the list at import time; a member registered
later (a plug-in, a test's toy method) would be refused. :class:`RegistryChoice` asks the
registry on every parse and every ``--help``.
"""

from __future__ import annotations

from typing import Any

import click

from specroof.registry import Registry


class RegistryChoice(click.ParamType):
    """One member name of ``registry``; the error lists the members registered now."""

    def __init__(self, registry: Registry[Any]) -> None:
        self.registry = registry
        self.name = registry.what

    @property
    def choices(self) -> tuple[str, ...]:
        """The member names registered now (what ``click.Choice.choices`` gives its readers)."""
        return self.registry.names()

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str:
        return "[" + "|".join(self.registry.names()) + "]"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        if value in self.registry:
            return str(value)
        self.fail(f"{value!r} is not a {self.registry.what}: choose one of {', '.join(self.registry.names())}",
                  param, ctx)
