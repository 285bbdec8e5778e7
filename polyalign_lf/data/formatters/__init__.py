"""Registry of source-dataset formatters: ``polyalign datasets`` lists them.

Every module of this package that defines a ``FORMATTER`` is registered on first use; another package adds
one through the entry-point group ``polyalign_lf.formatters`` (its module calls
``FORMATTERS.register(spec.name, spec)``)."""

from __future__ import annotations

import importlib
import pkgutil

from polyalign_lf.core.registry import Registry
from polyalign_lf.data.formatters.base import Draft, FormatterSpec, Skip, hashed_split, stable_fraction
from polyalign_lf.errors import ConfigError

__all__ = [
    "FORMATTERS",
    "Draft",
    "FormatterSpec",
    "Skip",
    "hashed_split",
    "stable_fraction",
    "all_formatters",
    "get_formatter",
]


def _discover(registry: Registry[FormatterSpec]) -> None:
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_") or info.name == "base":
            continue
        spec = getattr(importlib.import_module(f"{__name__}.{info.name}"), "FORMATTER", None)
        if isinstance(spec, FormatterSpec):
            registry.register(spec.name, spec)


FORMATTERS: Registry[FormatterSpec] = Registry(
    "source dataset", entry_point_group="polyalign_lf.formatters", discover=_discover
)


def all_formatters() -> dict[str, FormatterSpec]:
    """Every registered formatter, by name."""
    return dict(sorted(FORMATTERS.items()))


def get_formatter(name: str) -> FormatterSpec:
    formatters = all_formatters()
    key = name.strip().lower().replace("-", "_")
    for spec in formatters.values():
        if key == spec.name or key in spec.aliases:
            return spec
    raise ConfigError(
        f"unknown dataset {name!r}; `polyalign datasets` lists the {len(formatters)} available: {', '.join(formatters)}"
    )
