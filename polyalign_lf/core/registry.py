"""One registry pattern for every extension family (detectors, metrics, critics, generation engines).

A family is a :class:`Registry`: entries are registered under a name by the module that defines them
(``@DETECTORS.register("binoculars")``), the family's built-in modules are imported on first use (so
importing a registry stays light), and other packages add entries without editing this one through the
family's entry-point group (``[project.entry-points."polyalign_lf.detectors"]`` in their pyproject.toml:
``my_detector = "my_pkg.detectors"``; loading the module registers what it defines).
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from polyalign_lf.errors import ConfigError

T = TypeVar("T")


class Registry(Generic[T]):
    """Named entries of one extension family."""

    def __init__(
        self,
        family: str,
        builtins: tuple[str, ...] = (),
        entry_point_group: str | None = None,
        discover: Callable[[Registry[T]], None] | None = None,
    ) -> None:
        self.family = family  # what one entry is, for messages: "detector", "metric"
        self._builtins = builtins  # modules whose import registers the built-in entries
        self._entry_point_group = entry_point_group
        self._discover = discover  # registers built-ins found another way (e.g. every module of a package)
        self._entries: dict[str, T] = {}
        self._loaded = False

    def register(self, name: str, entry: T | None = None, *, replace: bool = False):
        """Register ``entry`` under ``name``; without ``entry``, a decorator that registers what it decorates.

        A name is registered once: a second registration is an error unless ``replace`` (a plugin that
        overrides a built-in says so)."""

        def add(value: T) -> T:
            if name in self._entries and not replace and self._entries[name] is not value:
                raise ConfigError(f"a {self.family} named {name!r} is already registered; pass replace=True")
            self._entries[name] = value
            return value

        return add if entry is None else add(entry)

    def unregister(self, name: str) -> None:
        self._entries.pop(name, None)

    def get(self, name: str) -> T:
        self._load()
        if name not in self._entries:
            raise ConfigError(f"unknown {self.family} {name!r}; choose from {', '.join(self._entries) or '(none)'}")
        return self._entries[name]

    def names(self) -> tuple[str, ...]:
        self._load()
        return tuple(self._entries)

    def items(self) -> Iterator[tuple[str, T]]:
        self._load()
        return iter(list(self._entries.items()))

    def __contains__(self, name: object) -> bool:
        self._load()
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True  # first, so a built-in module that reads the registry while loading does not recurse
        for module in self._builtins:
            importlib.import_module(module)
        if self._discover is not None:
            self._discover(self)
        if self._entry_point_group:
            _load_entry_points(self._entry_point_group, self.family)


def _load_entry_points(group: str, family: str) -> None:
    from importlib.metadata import entry_points

    for point in entry_points(group=group):
        try:
            loaded = point.load()
        except Exception as exc:  # a broken third-party plugin must name itself, not break every command
            raise ConfigError(
                f"the {family} plugin {point.name!r} ({point.value}, entry point group {group}) failed to load: "
                f"{type(exc).__name__}: {exc}"
            ) from None
        if inspect.isfunction(loaded):  # a function that registers when called; a module registered on import
            loaded()
