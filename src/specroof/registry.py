"""A family's registry: the one place its members are named.

Architectures, drafting methods and engines are families. Each is a folder with one module per
member and a :class:`Registry` in the folder's ``__init__``; the registry's docstring holds the
recipe for adding a member. Everything above the family (the CLI's choices, the explorer's
``/api/catalog``, exports, docs) reads the registry, so a member's name is written once, in its
own module.

Members register themselves when their module is imported::

    METHODS: Registry[Method] = Registry("drafting method", "--method")
    METHODS.register(Method(name="eagle3", ...))

A member may be registered from outside the package too (a test's toy method, a user's plug-in):
it is then seen everywhere the built-in ones are.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Generic, Protocol, TypeVar

from specroof.errors import SpecroofError, suggest


class Named(Protocol):
    """What a registry holds: anything with a ``name``."""

    @property
    def name(self) -> str: ...


T = TypeVar("T", bound=Named)


class Registry(Generic[T]):
    """Members of one family by name, in registration order.

    ``what`` names the family in messages ("drafting method"); ``option`` is the CLI option or
    input field that takes a member's name, so an unknown name says where it came from.
    """

    def __init__(self, what: str, option: str = "") -> None:
        self.what = what
        self.option = option
        self._members: dict[str, T] = {}

    def register(self, member: T, *, replace: bool = False) -> T:
        """Add ``member``; a second member of the same name is a bug unless ``replace``."""
        name = member.name
        if not name or name != name.strip() or any(c.isspace() for c in name):
            raise ValueError(f"{self.what} name {name!r}: a non-empty name without spaces")
        if name in self._members and not replace:
            raise ValueError(f"{self.what} {name!r} is registered twice")
        self._members[name] = member
        return member

    def unregister(self, name: str) -> None:
        """Remove a member (tests that register a toy member clean up with this)."""
        self._members.pop(name, None)

    def get(self, name: str) -> T:
        """The member called ``name``, or a :class:`SpecroofError` listing the choices."""
        try:
            return self._members[name]
        except (KeyError, TypeError):
            where = f"{self.option} " if self.option else ""
            raise SpecroofError(
                f"{where}{name!r}: unknown {self.what}{suggest(str(name), self._members)}; "
                f"choose one of {', '.join(self._members)}") from None

    def names(self) -> tuple[str, ...]:
        return tuple(self._members)

    def __contains__(self, name: object) -> bool:
        return name in self._members

    def __iter__(self) -> Iterator[T]:
        return iter(tuple(self._members.values()))

    def __len__(self) -> int:
        return len(self._members)
