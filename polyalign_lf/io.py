"""Shared file helpers: atomic writes, JSON/JSONL reading with file:line errors, progress bars.

Every stage writes its outputs through :func:`atomic_write` so an interrupt never leaves a
half-written file behind (the temporary file is replaced into place only after a clean close).
"""

from __future__ import annotations

import contextlib
import glob
import gzip
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from polyalign_lf.errors import InputError


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "w", encoding: str | None = "utf-8") -> Iterator[Any]:
    """Open a temporary file next to ``path``; on success fsync and ``os.replace`` it into place."""
    path = check_output_file(path)
    make_dirs(path.parent)
    remove_stale_temp_files(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode, encoding=None if "b" in mode else encoding) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        # mkstemp creates 0600 files; give the result the permissions a plain open() would have.
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(exc, OSError) and exc.filename is None:
            exc.filename = str(path)  # e.g. a full disk at fsync: say which output could not be written
        raise


def make_dirs(folder: str | os.PathLike) -> Path:
    """``mkdir -p`` with a clear error when a part of the path is a file."""
    folder = Path(folder)
    _refuse_file_in_the_way(folder)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _refuse_file_in_the_way(folder: Path) -> None:
    """The nearest existing part of ``folder`` must be a folder."""
    for part in (folder, *folder.parents):
        if part.exists():
            if not part.is_dir():
                raise InputError(
                    "is a file, but a folder is needed here",
                    where=str(part),
                    hint="choose an output path whose parent folders are folders, or move the file away",
                )
            return


def remove_stale_temp_files(path: str | os.PathLike) -> int:
    """Remove the temporary files earlier, killed writers of ``path`` left behind (their process is gone)."""
    path = Path(path)
    removed = 0
    for tmp in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        pid_text = tmp.name[len(path.name) + 2 :].split(".", 1)[0]
        if pid_text.isdigit() and _process_alive(int(pid_text)):
            continue  # a concurrent writer still at work
        with contextlib.suppress(OSError):
            if tmp.is_dir():
                shutil.rmtree(tmp)
            else:
                tmp.unlink()
            removed += 1
    return removed


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # our own earlier attempt, abandoned (e.g. an exception in a retried step)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


LOCK_SUFFIX = ".lock"


def _lock_path(path: Path) -> Path:
    return path.with_name(f".{path.name}{LOCK_SUFFIX}")


def _lock_holder(lock: Path) -> tuple[int, str] | None:
    """(pid, start time) written in a lock file, or None when it cannot be read (being written, or garbage)."""
    try:
        pid_text, _, started = lock.read_text(encoding="utf-8").partition(" ")
    except OSError:
        return None
    return (int(pid_text), started.strip()) if pid_text.isdigit() else None


@contextlib.contextmanager
def output_lock(path: str | os.PathLike, *, wait_s: float = 0.0) -> Iterator[Path]:
    """One writer per output: hold ``.NAME.lock`` beside ``path`` (pid and start time) while writing it.

    A second writer waits up to ``wait_s`` seconds (short read-modify-write steps, e.g. merging a
    dataset_info.json), then is refused naming the holder's pid. A lock whose process is gone (killed) is
    stale and taken over. Best effort against races between two processes both cleaning the same stale lock.
    """
    path = Path(path)
    lock = _lock_path(path)
    make_dirs(lock.parent)
    deadline = time.monotonic() + wait_s
    while True:
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            holder = _lock_holder(lock)
            # our own pid holds it too when another thread or an outer call of this process writes the output
            if holder is not None and holder[0] != os.getpid() and not _process_alive(holder[0]):
                with contextlib.suppress(OSError):  # stale: its writer was killed
                    os.replace(lock, lock.with_name(f"{lock.name}.{os.getpid()}.stale.tmp"))
                    os.unlink(lock.with_name(f"{lock.name}.{os.getpid()}.stale.tmp"))
                continue
            if time.monotonic() < deadline:
                time.sleep(0.1)
                continue
            who = f"pid {holder[0]}, started {holder[1]}" if holder else "another process"
            raise InputError(
                f"another polyalign process ({who}) is writing this output right now",
                where=str(path),
                hint="wait for it to finish (or stop it), or write to another --out; a lock left behind by a killed "
                f"process is cleaned up automatically ({lock.name})",
            ) from None
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(f"{os.getpid()} {time.strftime('%Y-%m-%dT%H:%M:%S')}\n")
        break
    try:
        yield lock
    finally:
        with contextlib.suppress(OSError):
            lock.unlink()


def check_output_file(path: str | os.PathLike) -> Path:
    """Refuse an output file path that is a folder or lies under a file (call it before long work)."""
    path = Path(path)
    if path.is_dir():
        raise InputError(
            "is a folder, but the output is a file", where=str(path), hint="give a file path, e.g. DIR/name.jsonl"
        )
    _refuse_file_in_the_way(path.parent)
    return path


def check_output_folder(folder: str | os.PathLike, *, overwrite: bool = False) -> Path:
    """Refuse an output folder that is a file, or that exists with content and ``overwrite`` is not set
    (call it before long work, so a run is not wasted on an output it may not write)."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise InputError(
            "is a file, but the output is a folder", where=str(folder), hint="choose a folder path for --out"
        )
    if folder.is_dir() and any(folder.iterdir()):
        if not overwrite:
            raise InputError(
                "the output folder already exists and is not empty",
                where=str(folder),
                hint="pass --overwrite to replace it whole, or choose another --out",
            )
        here = Path.cwd().resolve()
        if folder.resolve() == here or folder.resolve() in here.parents or folder.resolve() == Path.home().resolve():
            raise InputError(
                "--overwrite would replace this folder whole, and it is the current folder, one above it "
                "or the home folder",
                where=str(folder),
                hint="give the output its own folder, e.g. --out runs/x",
            )
    return folder


@contextlib.contextmanager
def replace_folder(folder: str | os.PathLike, *, overwrite: bool = False) -> Iterator[Path]:
    """Build an output folder in a temporary sibling and swap it into place on success.

    An existing non-empty ``folder`` is refused unless ``overwrite``; then it is replaced whole, so no file
    of an earlier run survives next to the new ones. On any error (or Ctrl-C) the old folder is untouched
    and the temporary one is removed.
    """
    folder = check_output_folder(folder, overwrite=overwrite)
    make_dirs(folder.parent)
    with output_lock(folder):  # a second writer of the same folder is refused, not mixed in
        yield from _replace_folder_locked(folder)


def _replace_folder_locked(folder: Path) -> Iterator[Path]:
    remove_stale_temp_files(folder)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.{os.getpid()}.", suffix=".tmp", dir=folder.parent))
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_umask())
        if folder.exists():
            old = folder.with_name(f".{folder.name}.{os.getpid()}.old.tmp")
            os.replace(folder, old)
            os.replace(tmp, folder)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


@contextlib.contextmanager
def cleaned_up_on_error(folder: str | os.PathLike) -> Iterator[Path]:
    """Run a block that may create ``folder``; if the block fails and created it, an empty ``folder`` is removed
    (a failed first run leaves no empty output folder behind)."""
    folder = Path(folder)
    existed = folder.exists()
    try:
        yield folder
    except BaseException:
        if not existed and folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
        raise


def _umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


def backup_file(path: str | os.PathLike) -> Path:
    """Rename ``path`` to ``PATH.bak-YYYYmmdd-HHMMSS`` (a counter is added if that exists); returns the backup."""

    path = Path(path)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    backup = path.with_name(f"{path.name}.bak-{stamp}")
    k = 1
    while backup.exists():
        k += 1
        backup = path.with_name(f"{path.name}.bak-{stamp}-{k}")
    os.replace(path, backup)
    return backup


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
    if path.is_dir():
        raise InputError("is a folder, but a JSON file was expected", where=str(path))
    try:
        with open_bytes(path) as handle:
            return json.loads(handle.read().decode("utf-8"))
    except json.JSONDecodeError as exc:
        truncated = exc.pos >= len(exc.doc.rstrip())
        raise InputError(
            f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
            + (" — the file looks truncated" if truncated else ""),
            where=str(path),
        ) from None
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text ({exc.reason})", where=str(path)) from None
    except (EOFError, OSError) as exc:  # a truncated or corrupt .gz
        raise InputError(f"cannot read this file: truncated or not gzip ({exc})", where=str(path)) from None


def open_bytes(path: str | os.PathLike):
    """Open a file for reading bytes; ``*.gz`` files are decompressed on the fly."""

    path = Path(path)
    return gzip.open(path, "rb") if path.name.lower().endswith(".gz") else open(path, "rb")


def iter_jsonl(path: str | os.PathLike, *, unique: str | None = None) -> Iterator[tuple[int, dict]]:
    """Yield ``(line_number, row)`` for each non-blank line; a bad line raises naming ``file:line``
    (``unique``: see :func:`iter_jsonl_lines`)."""
    for lineno, _line, row in iter_jsonl_lines(path, unique=unique):
        yield lineno, row


def iter_jsonl_lines(path: str | os.PathLike, *, unique: str | None = None) -> Iterator[tuple[int, str, dict]]:
    """:func:`iter_jsonl` that also yields each row's raw line (newline-terminated), for callers that copy
    kept rows verbatim instead of re-encoding them. ``unique`` names a field (e.g. ``"id"``) whose values
    must not repeat: a repeat is an error naming both lines."""
    path = Path(path)
    if not path.exists():
        raise InputError("file not found", where=str(path))
    if path.is_dir():
        raise InputError("is a folder, but a JSON Lines file was expected", where=str(path))
    seen = UniqueKeys(unique, str(path)) if unique else None
    # Bytes, decoded line by line: a text-mode reader decodes in chunks and would blame the wrong line.
    with open_bytes(path) as handle:
        for lineno, raw in _numbered_lines(handle, path):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise InputError(
                    f"not UTF-8 text ({exc.reason} at byte {exc.start})",
                    where=f"{path}:{lineno}",
                    hint="convert the file to UTF-8 (compressed files must be decompressed first)",
                ) from None
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
                raise InputError(
                    f"expected a JSON object per line, got {type(row).__name__}", where=f"{path}:{lineno}"
                )
            if seen is not None:
                seen.add(row.get(unique), lineno)
            yield lineno, line if line.endswith("\n") else line + "\n", row


def _numbered_lines(handle, path: Path) -> Iterator[tuple[int, bytes]]:
    lineno = 0
    while True:
        try:
            raw = handle.readline()
        except (EOFError, OSError) as exc:  # a truncated or corrupt .gz stream
            raise InputError(
                f"cannot read past this line: the file is truncated or corrupt ({exc})", where=f"{path}:{lineno + 1}"
            ) from None
        if not raw:
            return
        lineno += 1
        yield lineno, raw


class UniqueKeys:
    """Remembers where each key was first seen; a repeat is an :class:`InputError` naming both places.
    One instance can span several files (pass ``path`` to :meth:`add`)."""

    def __init__(self, field: str, path: str | os.PathLike | None = None):
        self.field, self.path = field, None if path is None else str(path)
        self.first: dict[Any, tuple[str | None, int]] = {}

    def add(self, key: Any, lineno: int, path: str | os.PathLike | None = None) -> None:
        if key is None:
            return  # a missing key is the row validator's to report, with its own message
        path = self.path if path is None else str(path)
        hashable = json.dumps(key, sort_keys=True) if isinstance(key, (dict, list)) else key
        first = self.first.setdefault(hashable, (path, lineno))
        if first != (path, lineno):
            where_first = f"line {first[1]}" if first[0] == path else f"{first[0]}:{first[1]}"
            raise InputError(
                f"duplicate {self.field} {key!r} (first at {where_first})",
                where=f"{path}:{lineno}",
                hint=f"every row needs its own {self.field}; remove or rename the repeat",
            )


def recover_jsonl(path: str | os.PathLike) -> tuple[list[dict], int]:
    """The rows of a resumable append-only JSONL file (``*.partial``) and the count of torn lines dropped.

    A line that is not a complete JSON object (an interrupted write, undecodable bytes) is dropped and the
    file rewritten without it, so the next append starts on a fresh line and the lost row is redone. Every
    resumable writer (generate, judge) recovers this one way.
    """
    path = Path(path)
    if not path.exists():
        return [], 0
    rows: list[dict] = []
    good: list[bytes] = []
    torn = 0
    with open(path, "rb") as handle:
        for raw in handle:
            if not raw.strip():
                continue
            try:
                row = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError):
                row = None
            if not isinstance(row, dict) or not raw.endswith(b"\n"):
                torn += 1
                continue
            rows.append(row)
            good.append(raw)
    if torn:
        with atomic_write(path, "wb") as handle:
            handle.writelines(good)
    return rows, torn


def read_jsonl(path: str | os.PathLike, *, unique: str | None = None) -> list[dict]:
    return [row for _, row in iter_jsonl(path, unique=unique)]


def progress(
    iterable: Iterable | None = None, *, desc: str = "", total: int | None = None, unit: str = "it", **kwargs: Any
):
    """A tqdm progress bar on stderr; silent when POLYALIGN_NO_PROGRESS=1."""
    from tqdm.auto import tqdm

    disable = os.environ.get("POLYALIGN_NO_PROGRESS", "0") == "1"
    return tqdm(
        iterable, desc=desc, total=total, unit=unit, disable=disable, file=sys.stderr, dynamic_ncols=True, **kwargs
    )
