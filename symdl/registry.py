"""``Registry[T]``: named things held as data, with close-match suggestions."""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from typing import Generic, Protocol, TypeVar

from symdl.errors import UnknownNameError

__all__ = ["Named", "Registry"]


class Named(Protocol):
    @property
    def name(self) -> str: ...


T = TypeVar("T", bound=Named)


class Registry(Generic[T]):
    """An explicit, ordered mapping from names to entries.

    >>> from dataclasses import dataclass
    >>> @dataclass(frozen=True)
    ... class Thing:
    ...     name: str
    >>> things = Registry[Thing]("thing")
    >>> things.add(Thing("gelu")).name
    'gelu'
    >>> things.get("gleu")
    Traceback (most recent call last):
    ...
    symdl.errors.UnknownNameError: no thing named 'gleu'; did you mean 'gelu'?
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}
        self._aliases: dict[str, str] = {}

    def add(self, entry: T) -> T:
        """Register ``entry`` under its name and under each of its ``aliases`` (if any)."""
        names = (entry.name, *getattr(entry, "aliases", ()))
        for name in names:
            if name in self._entries or name in self._aliases:
                raise ValueError(f"a {self.kind} named {name!r} is already registered")
        self._entries[entry.name] = entry
        self._aliases.update({alias: entry.name for alias in names[1:]})
        return entry

    def get(self, name: str) -> T:
        try:
            return self._entries[self._aliases.get(name, name)]
        except KeyError:
            raise UnknownNameError(self.unknown_message(name)) from None

    def unknown_message(self, name: str) -> str:
        known = [*self._entries, *self._aliases]
        close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
        hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        return f"no {self.kind} named {name!r}{hint}"

    def names(self) -> tuple[str, ...]:
        return tuple(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries or name in self._aliases

    def __iter__(self) -> Iterator[T]:
        return iter(self._entries.values())

    def __len__(self) -> int:
        return len(self._entries)
