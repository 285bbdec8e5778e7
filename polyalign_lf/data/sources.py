"""Reading a source split: a local file or folder in the Hub column layout, or the Hub id itself.

Supported inputs (``--source SPLIT=PATH``):

* ``*.jsonl`` — one JSON object per line (errors name ``file:line``);
* ``*.json`` — a JSON array of objects, JSON lines, or an original SQuAD-style ``{"data": [...]}`` file;
* ``*.parquet`` — read in record batches (streamed);
* a folder of such files (read in sorted order);
* a ``datasets.Dataset.save_to_disk`` folder, or a ``DatasetDict`` one (the ``SPLIT`` sub-folder is used);
* a Hub id such as ``databricks/databricks-dolly-15k`` when it is not a local path and the Hub is reachable.

Every row comes with ``where`` (``file:line`` or ``file:row N``) so errors can point at it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping

from polyalign_lf.errors import ConfigError, InputError
from polyalign_lf.io import iter_jsonl

DATA_SUFFIXES = (".jsonl", ".json", ".parquet")


@dataclass
class SourceRows:
    rows: Iterator[tuple[str, Mapping[str, Any]]]  # (where, row)
    description: str
    total: int | None = None  # number of rows when known up front (parquet, arrow)
    columns: list[str] | None = field(default=None)  # column names when known up front


def hub_offline() -> bool:
    return any(os.environ.get(k, "0").lower() in ("1", "true", "yes") for k in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"))


def _iter_json_file(path: Path) -> Iterator[tuple[str, Mapping[str, Any]]]:
    with open(path, encoding="utf-8") as handle:
        try:
            head = handle.read(4096).lstrip("\ufeff \t\r\n")
        except UnicodeDecodeError as exc:
            raise InputError(f"not UTF-8 text ({exc.reason})", where=str(path)) from None
    if head.startswith("["):
        from polyalign_lf.io import read_json

        data = read_json(path)
        for k, row in enumerate(data):
            if not isinstance(row, dict):
                raise InputError(f"expected a JSON object, got {type(row).__name__}", where=f"{path}:item {k}")
            yield f"{path}:item {k}", row
        return
    # JSON lines in a .json file (the Hub often ships them so), or one object holding "data".
    yielded = 0
    try:
        for lineno, row in iter_jsonl(path):
            yielded += 1
            yield f"{path}:{lineno}", row
    except InputError:
        if yielded:  # a bad line inside a JSON-lines file: report that line
            raise
        from polyalign_lf.io import read_json

        data = read_json(path)  # raises a clear error if this is not JSON at all
        if isinstance(data, dict) and isinstance(data.get("data"), list):
            for k, row in enumerate(data["data"]):
                if not isinstance(row, dict):
                    raise InputError(f"expected a JSON object in 'data', got {type(row).__name__}", where=f"{path}:data[{k}]")
                yield f"{path}:data[{k}]", row
            return
        raise


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
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        return SourceRows(((f"{path}:{n}", row) for n, row in iter_jsonl(path)), str(path))
    if suffix == ".json":
        return SourceRows(_iter_json_file(path), str(path))
    if suffix == ".parquet":
        meta = _parquet_file(path)
        return SourceRows(_iter_parquet(path), str(path), total=meta.metadata.num_rows, columns=list(meta.schema_arrow.names))
    raise InputError(f"unsupported file type {suffix or '(none)'}", where=str(path),
                     hint=f"use {', '.join(DATA_SUFFIXES)} files, a folder of them, or a datasets.save_to_disk folder")


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


def open_source(spec: str, *, split: str, split_aliases: tuple[str, ...] = (), hub_config: str | None = None) -> SourceRows:
    """Open one source split. ``spec`` is a local path or a Hub dataset id."""
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
            raise InputError(f"this DatasetDict folder has no split {split!r} (it has {', '.join(available)})", where=str(path))
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in DATA_SUFFIXES
                       and not any(part.startswith(".") for part in p.relative_to(path).parts))
        if not files:
            raise InputError(f"no {', '.join(DATA_SUFFIXES)} files in this folder", where=str(path))
        parts = [_open_file(f) for f in files]
        totals = [p.total for p in parts]
        return SourceRows(_chain(parts), f"{path} ({len(files)} files)",
                          total=sum(totals) if all(t is not None for t in totals) else None)
    if spec.count("/") == 1 and not spec.startswith((".", "/", "~")):
        return open_hub(spec, split=split, hub_config=hub_config)
    raise InputError("no such file or folder", where=spec, hint="pass a local jsonl/json/parquet file or folder, or a Hub dataset id when online")


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
        raise InputError(f"cannot load split {split!r} (config {hub_config!r}) from the Hub: {exc}", where=hub_id,
                         hint="download the files and pass --source SPLIT=PATH instead") from None
    label = f"{hub_id}{'/' + hub_config if hub_config else ''}[{split}]"
    return SourceRows(((f"{label}:row {k}", row) for k, row in enumerate(dataset)), label)
