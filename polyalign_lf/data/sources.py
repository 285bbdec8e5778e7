"""Reading a source split: a local file or folder in the Hub column layout, or the Hub id itself.

Supported inputs (``--source SPLIT=PATH``):

* ``*.jsonl`` — one JSON object per line (errors name ``file:line``);
* ``*.json`` — a JSON array of objects, JSON lines, or one object wrapping the rows as the authors publish
  them (``{"data": [...]}``, column-oriented, keyed by id; see :func:`unwrap_rows`);
* ``*.jsonl.gz`` / ``*.json.gz`` — the same, gzip-compressed;
* ``*.parquet`` — read in record batches (streamed); ``*.arrow`` — a ``datasets`` Arrow file;
* a folder of such files (read in sorted order);
* a ``datasets.Dataset.save_to_disk`` folder, or a ``DatasetDict`` one (the ``SPLIT`` sub-folder is used);
* a Hub id such as ``databricks/databricks-dolly-15k`` when it is not a local path and the Hub is reachable.

Every row comes with ``where`` (``file:line`` or ``file:row N``) so errors can point at it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from polyalign_lf.errors import ConfigError, InputError
from polyalign_lf.io import iter_jsonl, open_bytes, read_json

DATA_SUFFIXES = (".jsonl", ".json", ".parquet", ".arrow", ".jsonl.gz", ".json.gz")


def data_suffix(path: Path) -> str:
    """The data-format suffix of a file name (``.jsonl.gz`` counts as one), or ``""``."""
    name = path.name.lower()
    return next((s for s in sorted(DATA_SUFFIXES, key=len, reverse=True) if name.endswith(s)), "")


@dataclass
class SourceRows:
    rows: Iterator[tuple[str, Mapping[str, Any]]]  # (where, row)
    description: str
    total: int | None = None  # number of rows when known up front (parquet, arrow)
    columns: list[str] | None = field(default=None)  # column names when known up front


def hub_offline() -> bool:
    return any(
        os.environ.get(k, "0").lower() in ("1", "true", "yes") for k in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")
    )


def _iter_json_file(path: Path) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Rows of a ``.json`` / ``.json.gz`` file, whatever shape its authors published:

    * a JSON array of objects (CMRC2018's original release);
    * JSON Lines — but only when there is more than one object line, or the one object is not a wrapper;
    * one object wrapping the rows (:func:`unwrap_rows`), minified on one line (DRCD, SQuAD v2) or
      pretty-printed (CMRC2018's SQuAD-style file).
    """

    with open_bytes(path) as handle:
        try:  # only the first character matters here; the readers below check the encoding line by line
            head = handle.read(64).decode("utf-8", errors="ignore").lstrip("\ufeff \t\r\n")
        except (EOFError, OSError) as exc:
            raise InputError(f"cannot read this file: truncated or not gzip ({exc})", where=str(path)) from None
    if head.startswith("["):
        data = read_json(path)
        for k, row in enumerate(data):
            if not isinstance(row, dict):
                raise InputError(f"expected a JSON object, got {type(row).__name__}", where=f"{path}:item {k}")
            yield f"{path}:item {k}", row
        return
    lines = iter_jsonl(path)
    try:
        first = next(lines, None)
    except InputError:  # not JSON Lines: one pretty-printed JSON document
        obj = read_json(path)
        rows = unwrap_rows(obj, str(path))
        if rows is None:
            raise InputError(
                f"one JSON object that holds no rows (its keys: {_first_keys(obj)})",
                where=str(path),
                hint="expected JSON Lines, a JSON array of rows, or an object with a 'data' list",
            ) from None
        yield from rows
        return
    if first is None:
        return
    second = next(lines, None)
    if second is None:  # exactly one object: a dataset wrapper on one (minified) line, or a single row
        rows = unwrap_rows(first[1], str(path))
        if rows is not None:
            yield from rows
            return
        yield f"{path}:{first[0]}", first[1]
        return
    yield f"{path}:{first[0]}", first[1]
    yield f"{path}:{second[0]}", second[1]
    for lineno, row in lines:
        yield f"{path}:{lineno}", row


def _iter_text_lines(path: Path) -> Iterator[tuple[str, Mapping[str, Any]]]:

    with open_bytes(path) as handle:
        for lineno, raw in enumerate(handle, start=1):
            try:
                text = raw.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError as exc:
                raise InputError(f"not UTF-8 text ({exc.reason})", where=f"{path}:{lineno}") from None
            if text.strip():
                yield f"{path}:{lineno}", {"text": text}


def _first_keys(obj: Any) -> str:
    return ", ".join(list(obj)[:8]) if isinstance(obj, dict) else type(obj).__name__


def unwrap_rows(obj: Any, where: str) -> list[tuple[str, Mapping[str, Any]]] | None:
    """The rows inside one JSON object, or None when it is not a wrapper of rows. Recognized wrappers:

    * ``{"version": …, "data": [row, …]}`` — SQuAD v2, CMRC2018 (SQuAD-style), DRCD, CoQA, DuReader-robust;
    * column-oriented ``{"column": {"0": value, "1": …}, …}`` — MS MARCO's release files (pandas ``to_json``);
    * ``{"ID": {row}, …}`` keyed by id — MultiWOZ 2.1's ``data.json`` (the key becomes the row's ``id``).
    """
    if not isinstance(obj, dict) or not obj:
        return None
    data = obj.get("data")
    if isinstance(data, list):
        rows = []
        for k, row in enumerate(data):
            if not isinstance(row, dict):
                raise InputError(
                    f"expected a JSON object in 'data', got {type(row).__name__}", where=f"{where}:data[{k}]"
                )
            rows.append((f"{where}:data[{k}]", row))
        return rows
    if not all(isinstance(v, dict) for v in obj.values()):
        return None
    columns = list(obj.values())
    index = list(columns[0])
    if len(obj) > 1 and all(str(i).isdigit() for i in index) and all(list(c) == index for c in columns):
        names = list(obj)
        return [(f"{where}:row {i}", {name: obj[name][i] for name in names}) for i in index]
    if all(isinstance(v, dict) and v and not all(str(i).isdigit() for i in v) for v in columns):
        return [(f"{where}:{key}", {"id": key, **value}) for key, value in obj.items()]
    return None


def _iter_parquet(path: Path) -> Iterator[tuple[str, Mapping[str, Any]]]:
    import pyarrow.parquet as pq

    n = 0
    for batch in pq.ParquetFile(path).iter_batches(batch_size=2048):
        for row in batch.to_pylist():
            yield f"{path}:row {n}", row
            n += 1


def _parquet_file(path: Path):
    import pyarrow.parquet as pq

    try:
        return pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises ArrowInvalid / OSError for truncated or non-parquet files
        raise InputError(f"cannot read parquet file ({exc})", where=str(path), hint="is the file complete?") from None


def _open_file(path: Path) -> SourceRows:
    suffix = data_suffix(path) or path.suffix.lower()
    if suffix in (".jsonl", ".jsonl.gz"):
        return SourceRows(((f"{path}:{n}", row) for n, row in iter_jsonl(path)), str(path))
    if suffix in (".json", ".json.gz"):
        return SourceRows(_iter_json_file(path), str(path))
    if suffix == ".arrow":
        return _open_arrow_file(path)
    if suffix == ".txt":  # a plain-text release (one row per line), e.g. DailyDialog's dialogues_train.txt
        return SourceRows(_iter_text_lines(path), str(path))
    if suffix == ".parquet":
        meta = _parquet_file(path)
        return SourceRows(
            _iter_parquet(path), str(path), total=meta.metadata.num_rows, columns=list(meta.schema_arrow.names)
        )
    raise InputError(
        f"unsupported file type {suffix or '(none)'}",
        where=str(path),
        hint=f"use {', '.join(DATA_SUFFIXES)} files, a folder of them, or a datasets.save_to_disk folder",
    )


def _open_arrow_file(path: Path) -> SourceRows:
    """One ``.arrow`` file as ``datasets`` writes them (its cache and ``save_to_disk`` shards)."""
    import datasets

    try:
        dataset = datasets.Dataset.from_file(str(path))
    except Exception as exc:  # pyarrow raises ArrowInvalid / OSError for truncated or foreign files
        raise InputError(
            f"cannot read this .arrow file ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})",
            where=str(path),
            hint="is it complete, and written by `datasets`?",
        ) from None
    rows = ((f"{path}:row {k}", row) for k, row in enumerate(dataset))
    return SourceRows(rows, str(path), total=len(dataset), columns=list(dataset.column_names))


def _open_arrow_dataset(path: Path) -> SourceRows:
    import datasets

    try:
        dataset = datasets.load_from_disk(str(path))
    except Exception as exc:
        raise InputError(f"cannot load this datasets.save_to_disk folder ({exc})", where=str(path)) from None
    rows = ((f"{path}:row {k}", row) for k, row in enumerate(dataset))
    return SourceRows(rows, str(path), total=len(dataset), columns=list(dataset.column_names))


def _chain(parts: list[SourceRows]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    for part in parts:
        yield from part.rows


def open_source(
    spec: str | list[str], *, split: str, split_aliases: tuple[str, ...] = (), hub_config: str | None = None
) -> SourceRows:
    """Open one source split. ``spec`` is a local path, a list of them (read in order), or a Hub dataset id."""
    if isinstance(spec, list):
        parts = [open_source(item, split=split, split_aliases=split_aliases, hub_config=hub_config) for item in spec]
        totals = [p.total for p in parts]
        return SourceRows(
            _chain(parts), f"{len(parts)} files", total=sum(totals) if all(t is not None for t in totals) else None
        )
    path = Path(spec).expanduser()
    if path.is_file():
        return _open_file(path)
    if path.is_dir():
        if (path / "state.json").exists() and (path / "dataset_info.json").exists():
            return _open_arrow_dataset(path)
        if (path / "dataset_dict.json").exists():
            for name in (split, *split_aliases):
                if (path / name / "state.json").exists():
                    return _open_arrow_dataset(path / name)
            available = sorted(p.name for p in path.iterdir() if (p / "state.json").exists())
            raise InputError(
                f"this DatasetDict folder has no split {split!r} (it has {', '.join(available)})", where=str(path)
            )
        files = sorted(
            p
            for p in path.rglob("*")
            if p.is_file() and data_suffix(p) and not any(part.startswith(".") for part in p.relative_to(path).parts)
        )
        if not files:
            raise InputError(f"no {', '.join(DATA_SUFFIXES)} files in this folder", where=str(path))
        parts = [_open_file(f) for f in files]
        totals = [p.total for p in parts]
        return SourceRows(
            _chain(parts),
            f"{path} ({len(files)} files)",
            total=sum(totals) if all(t is not None for t in totals) else None,
        )
    if spec.count("/") == 1 and not spec.startswith((".", "/", "~")):
        return open_hub(spec, split=split, hub_config=hub_config)
    raise InputError(
        "no such file or folder",
        where=spec,
        hint="pass a local jsonl/json/parquet file or folder, or a Hub dataset id when online",
    )


def open_hub(hub_id: str, *, split: str, hub_config: str | None = None) -> SourceRows:
    """Stream one split from the Hugging Face Hub (only when online)."""
    if hub_offline():
        raise ConfigError(
            f"{hub_id!r} is not a local path and the Hugging Face Hub is disabled (HF_HUB_OFFLINE / HF_DATASETS_OFFLINE)",
        )
    import datasets

    try:
        dataset = datasets.load_dataset(hub_id, hub_config, split=split, streaming=True)
    except Exception as exc:  # network errors, unknown ids/configs/splits: all user-facing
        raise InputError(
            f"cannot load split {split!r} (config {hub_config!r}) from the Hub: {exc}",
            where=hub_id,
            hint="download the files and pass --source SPLIT=PATH instead",
        ) from None
    label = f"{hub_id}{'/' + hub_config if hub_config else ''}[{split}]"
    return SourceRows(((f"{label}:row {k}", row) for k, row in enumerate(dataset)), label)
