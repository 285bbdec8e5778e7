"""User-facing errors. The ``polyalign`` CLI prints these as one clear message (what, where, how to fix)
instead of a traceback; anything else is a bug and keeps its traceback."""

from __future__ import annotations

import errno
import os
from pathlib import Path


class PolyalignError(Exception):
    """An error caused by the user's input or environment, with an actionable message."""

    exit_code = 2


class InputError(PolyalignError):
    """Malformed or inconsistent input data. ``where`` names the file (and line) at fault."""

    def __init__(self, message: str, where: str | None = None, hint: str | None = None):
        self.message = message  # the problem alone; ``where`` and ``hint`` are kept apart for callers that re-place it
        self.where = where
        self.hint = hint
        text = f"{where}: {message}" if where else message
        if hint:
            text += f"\n  hint: {hint}"
        super().__init__(text)


class UnsupportedLanguage(InputError, ValueError):
    """Text of a language the features do not cover (a ValueError too, for callers that catch that)."""


class ConfigError(PolyalignError):
    """An invalid or unsupported combination of options."""


class Interrupted(PolyalignError):
    """A signal (SIGINT, SIGTERM) stopped the command; finished work is kept and a rerun resumes. Exits with
    the shell's convention for a signal, 128 + its number (130 for SIGINT, 143 for SIGTERM)."""

    def __init__(self, signum: int, message: str = ""):
        import signal

        self.signum = signum
        self.exit_code = 128 + signum
        name = signal.Signals(signum).name
        super().__init__(message or f"stopped by {name}; finished outputs are kept, rerun the same command to resume")


class SegmenterError(ConfigError, ValueError):
    """A Chinese segmenter that cannot be used: unknown name, or not installed (a ValueError too, for callers)."""


class AllFailed(PolyalignError):
    """Every unit of work of a command failed (e.g. every judge request): nothing usable was produced."""

    exit_code = 1


# errno → (what went wrong, how to fix it), for file-system errors a command did not anticipate itself.
_OS_ERRORS: dict[int, tuple[str, str]] = {
    errno.ENOENT: ("no such file or folder", "check the path (did an earlier stage write it?)"),
    errno.EISDIR: ("is a folder, but a file was expected", "give a file path, e.g. DIR/name.jsonl"),
    errno.ENOTDIR: (
        "a part of this path is a file, not a folder",
        "choose a path whose parent folders are folders (or remove the file in the way)",
    ),
    errno.EACCES: ("permission denied", "choose a location you can read/write, or fix its permissions"),
    errno.EPERM: ("operation not permitted", "choose a location you can read/write, or fix its permissions"),
    errno.EROFS: ("the file system is read-only", "write the output somewhere writable (--out)"),
    errno.ENOSPC: (
        "no space left on the device",
        "free some space or write elsewhere; outputs are written atomically, so nothing half-written was kept",
    ),
    errno.EDQUOT: ("disk quota exceeded", "free some space or write elsewhere"),
    errno.EEXIST: ("already exists", "remove it or choose another path"),
    errno.ENAMETOOLONG: ("file name too long", "choose a shorter path"),
}


def describe_os_error(exc: OSError) -> str:
    """One paragraph for an OS error: what happened, to which path, and how to fix it."""
    what, fix = _OS_ERRORS.get(exc.errno or -1, (exc.strerror or str(exc), "check the path and try again"))
    where = exc.filename if exc.filename is not None else None
    if exc.errno in (errno.EEXIST, errno.ENOTDIR) and where is not None:
        # mkdir -p through a regular file: name the file that is in the way.
        blocker = next((p for p in (Path(where), *Path(where).parents) if p.is_file()), None)
        if blocker is not None:
            where, what = str(blocker), "is a file, but a folder is needed here"
            fix = "choose an output path whose parent folders are folders, or move the file away"
    if exc.filename2 is not None:
        where = f"{where} → {exc.filename2}"
    text = f"{where}: {what}" if where else what
    return f"{text}\n  hint: {fix}"


def debug_enabled() -> bool:
    """``POLYALIGN_DEBUG=1`` (or ``--debug``) lets tracebacks through, for bug reports."""
    return os.environ.get("POLYALIGN_DEBUG", "").strip().lower() in ("1", "true", "yes", "on")
