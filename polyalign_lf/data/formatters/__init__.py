"""Registry of source-dataset formatters: ``polyalign datasets`` lists them."""

from __future__ import annotations

import importlib
import pkgutil

from polyalign_lf.data.formatters.base import Draft, FormatterSpec, Skip, hashed_split, stable_fraction
from polyalign_lf.errors import ConfigError

__all__ = ["Draft", "FormatterSpec", "Skip", "hashed_split", "stable_fraction", "all_formatters", "get_formatter"]


def all_formatters() -> dict[str, FormatterSpec]:
    """Every ``FORMATTER`` defined by a module of this package, by name."""
    found: dict[str, FormatterSpec] = {}
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_") or info.name == "base":
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        spec = getattr(module, "FORMATTER", None)
        if isinstance(spec, FormatterSpec):
            found[spec.name] = spec
    return dict(sorted(found.items()))


def get_formatter(name: str) -> FormatterSpec:
    formatters = all_formatters()
    key = name.strip().lower().replace("-", "_")
    for spec in formatters.values():
        if key == spec.name or key in spec.aliases:
            return spec
    raise ConfigError(
        f"unknown dataset {name!r}; `polyalign datasets` lists the {len(formatters)} available: {', '.join(formatters)}"
    )
