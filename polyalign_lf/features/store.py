"""Feature files: one ``.npz`` per text field (records' human answers, or a predictions file).

Arrays: ``matrix`` float32 [n, d]; ``ids``, ``bucket_ids``, ``languages``, ``splits`` (str [n]);
``feature_names`` (str [d]); ``schema_version`` (str scalar); ``source`` (what text was featurized).
Rows are aligned with their records by ``ids`` — consumers join by id, never by position.
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from polyalign_lf.errors import InputError
from polyalign_lf.io import atomic_write


@dataclass
class FeatureTable:
    matrix: np.ndarray
    ids: list[str]
    bucket_ids: list[str]
    languages: list[str]
    splits: list[str]
    feature_names: list[str]
    schema_version: str
    source: str = ""

    def __post_init__(self) -> None:
        n = self.matrix.shape[0]
        for name in ("ids", "bucket_ids", "languages", "splits"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"FeatureTable.{name} has {len(getattr(self, name))} rows, matrix has {n}")
        if self.matrix.ndim != 2 or self.matrix.shape[1] != len(self.feature_names):
            raise ValueError("matrix columns do not match feature_names")

    def __len__(self) -> int:
        return self.matrix.shape[0]


def save_feature_table(path: str | os.PathLike, table: FeatureTable) -> None:
    with atomic_write(path, "wb") as handle:
        np.savez(
            handle,
            matrix=table.matrix.astype(np.float32),
            ids=np.asarray(table.ids, dtype=str),
            bucket_ids=np.asarray(table.bucket_ids, dtype=str),
            languages=np.asarray(table.languages, dtype=str),
            splits=np.asarray(table.splits, dtype=str),
            feature_names=np.asarray(table.feature_names, dtype=str),
            schema_version=np.asarray(table.schema_version),
            source=np.asarray(table.source),
        )


def load_feature_table(path: str | os.PathLike, expected_schema: str | None = None) -> FeatureTable:
    path = Path(path)
    if not path.is_file():
        raise InputError("feature file not found", where=str(path), hint="create it with `polyalign features`")
    try:
        data = np.load(path, allow_pickle=False)
        table = FeatureTable(
            matrix=data["matrix"].astype(np.float32),
            ids=data["ids"].tolist(),
            bucket_ids=data["bucket_ids"].tolist(),
            languages=data["languages"].tolist(),
            splits=data["splits"].tolist(),
            feature_names=data["feature_names"].tolist(),
            schema_version=str(data["schema_version"]),
            source=str(data["source"]),
        )
    except (KeyError, ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise InputError(
            f"not a polyalign feature file, or a truncated/corrupt one ({exc})",
            where=str(path),
            hint="recreate it with `polyalign features`",
        ) from None
    bad_rows = np.flatnonzero(~np.isfinite(table.matrix).all(axis=1))
    if bad_rows.size:
        k = int(bad_rows[0])
        column = table.feature_names[int(np.flatnonzero(~np.isfinite(table.matrix[k]))[0])]
        raise InputError(
            f"{bad_rows.size} row(s) hold values that are not finite (NaN or infinity), e.g. row {k} "
            f"(id {table.ids[k]!r}), feature {column!r}",
            where=str(path),
            hint="features are finite by construction: the file was altered or corrupted; recreate it with `polyalign features`",
        )
    if table.source == "human_answer":  # one human answer per record (model tables may hold several candidates per id)
        seen: dict[str, int] = {}
        for k, rid in enumerate(table.ids):
            first = seen.setdefault(rid, k)
            if first != k:
                raise InputError(
                    f"duplicate id {rid!r} in rows {first} and {k}",
                    where=str(path),
                    hint="a human-answer table has one row per record; recreate it with `polyalign features`",
                )
    if expected_schema is not None and table.schema_version != expected_schema:
        raise InputError(
            f"feature schema {table.schema_version!r} differs from the expected {expected_schema!r}",
            where=str(path),
            hint="re-extract the features with this version of polyalign",
        )
    return table
