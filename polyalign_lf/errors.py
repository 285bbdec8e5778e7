"""User-facing errors. The ``polyalign`` CLI prints these as one clear message (what, where, how to fix)
instead of a traceback; anything else is a bug and keeps its traceback."""

from __future__ import annotations


class PolyalignError(Exception):
    """An error caused by the user's input or environment, with an actionable message."""

    exit_code = 2


class InputError(PolyalignError):
    """Malformed or inconsistent input data. ``where`` names the file (and line) at fault."""

    def __init__(self, message: str, where: str | None = None, hint: str | None = None):
        self.where = where
        self.hint = hint
        text = f"{where}: {message}" if where else message
        if hint:
            text += f"\n  hint: {hint}"
        super().__init__(text)


class ConfigError(PolyalignError):
    """An invalid or unsupported combination of options."""
