"""Shared file helpers: atomic writes, JSON/JSONL reading with file:line errors, progress bars.

Every stage writes its outputs through :func:`atomic_write` so an interrupt never leaves a
half-written file behind (the temporary file is replaced into place only after a clean close).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any, Iterable, Iterator

from polyalign_lf.errors import InputError


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "w", encoding: str | None = "utf-8") -> Iterator[Any]:
    """Open a temporary file next to ``path``; on success fsync and ``os.replace`` it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode, encoding=None if "b" in mode else encoding) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        # mkstemp creates 0600 files; give the result the permissions a plain open() would have.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_json(path: str | os.PathLike, obj: Any, indent: int | None = 2) -> None:
    with atomic_write(path) as handle:
        json.dump(obj, handle, ensure_ascii=False, indent=indent)
        handle.write("\n")


def write_jsonl(path: str | os.PathLike, rows: Iterable[dict]) -> int:
    """Write rows as JSON lines atomically; returns the number of rows written."""
    count = 0
    with atomic_write(path) as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False))
            handle.write("\n")
            count += 1
    return count


def read_json(path: str | os.PathLike) -> Any:
    path = Path(path)
    if not path.exists():
        raise InputError("file not found", where=str(path))
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except json.JSONDecodeError as exc:
        raise InputError(f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}", where=str(path)) from None
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text ({exc.reason})", where=str(path)) from None


def iter_jsonl(path: str | os.PathLike) -> Iterator[tuple[int, dict]]:
    """Yield ``(line_number, row)`` for each non-blank line; a bad line raises naming ``file:line``."""
    for lineno, _line, row in iter_jsonl_lines(path):
        yield lineno, row


def iter_jsonl_lines(path: str | os.PathLike) -> Iterator[tuple[int, str, dict]]:
    """:func:`iter_jsonl` that also yields each row's raw line (newline-terminated), for callers that copy
    kept rows verbatim instead of re-encoding them."""
    path = Path(path)
    if not path.exists():
        raise InputError("file not found", where=str(path))
    with open(path, encoding="utf-8") as handle:
        lineno = 0
        while True:
            try:
                line = handle.readline()
            except UnicodeDecodeError as exc:
                raise InputError(f"not UTF-8 text ({exc.reason})", where=f"{path}:{lineno + 1}") from None
            if not line:
                break
            lineno += 1
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                truncated = not line.endswith("\n")
                raise InputError(
                    f"invalid JSON ({exc.msg})" + (" — the file looks truncated" if truncated else ""),
                    where=f"{path}:{lineno}",
                ) from None
            if not isinstance(row, dict):
                raise InputError(f"expected a JSON object per line, got {type(row).__name__}", where=f"{path}:{lineno}")
            yield lineno, line if line.endswith("\n") else line + "\n", row


def read_jsonl(path: str | os.PathLike) -> list[dict]:
    return [row for _, row in iter_jsonl(path)]


def progress(iterable: Iterable | None = None, *, desc: str = "", total: int | None = None, unit: str = "it", **kwargs: Any):
    """A tqdm progress bar on stderr; silent when POLYALIGN_NO_PROGRESS=1."""
    from tqdm.auto import tqdm

    disable = os.environ.get("POLYALIGN_NO_PROGRESS", "0") == "1"
    return tqdm(iterable, desc=desc, total=total, unit=unit, disable=disable, file=sys.stderr, dynamic_ncols=True, **kwargs)
