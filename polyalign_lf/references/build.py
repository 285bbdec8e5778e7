"""Per-bucket human reference statistics, built from the TRAIN split only, with back-off for small buckets.

For every bucket ``language|track|family|length_bin`` and also for each coarser level
(``language|track|family`` and ``language``), per feature: count, mean, population std,
q10/q25/q50/q75/q90 (linear interpolation) and a robust scale (IQR / 1.349).

Lookup (:meth:`BucketReferences.resolve`) uses the bucket itself when it has ≥ ``min_bucket_size``
human answers, otherwise the first coarser level that does (``schema.coarser_bucket_ids``); the language
level is the last resort even when smaller. Small buckets therefore never vanish.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from polyalign_lf.data.schema import coarser_bucket_ids
from polyalign_lf.errors import InputError
from polyalign_lf.io import read_json, write_json
from polyalign_lf.options import number_problem
from polyalign_lf.references.support import DEFAULT_EPSILON, support_distance, support_scale

REFERENCES_FORMAT = "polyalign-bucket-references/1"
QUANTILES: tuple[tuple[str, float], ...] = (("q10", 0.10), ("q25", 0.25), ("q50", 0.50), ("q75", 0.75), ("q90", 0.90))
STAT_KEYS: tuple[str, ...] = ("mean", "std") + tuple(k for k, _ in QUANTILES) + ("robust_scale",)
BANDS: dict[str, tuple[str, str]] = {"q10_q90": ("q10", "q90"), "q25_q75": ("q25", "q75")}
DEFAULT_MIN_BUCKET_SIZE = 20


def feature_statistics(matrix: np.ndarray) -> dict[str, np.ndarray]:
    """Column statistics of ``matrix`` [n, d] (NaNs ignored): mean, population std, quantiles, robust scale."""
    m = np.asarray(matrix, np.float64)
    stats = {"mean": np.nanmean(m, axis=0), "std": np.nanstd(m, axis=0)}
    qs = np.nanquantile(m, [q for _, q in QUANTILES], axis=0)
    for (key, _), row in zip(QUANTILES, qs):
        stats[key] = row
    stats["robust_scale"] = (stats["q75"] - stats["q25"]) / 1.349
    return stats


@dataclass
class BucketReferences:
    feature_names: list[str]
    schema_version: str
    min_bucket_size: int
    entries: dict[str, dict]  # key (bucket or coarser id) -> {"count": int, stat: [d floats]}
    band: str = "q10_q90"
    epsilon: float = DEFAULT_EPSILON
    summary: dict = field(default_factory=dict)
    _cache: dict = field(default_factory=dict, repr=False)

    def resolve(self, bucket_id: str) -> str:
        """The reference key used for ``bucket_id`` (itself, or a coarser level; see module docstring)."""
        chain = [bucket_id] + coarser_bucket_ids(bucket_id)
        for key in chain:
            entry = self.entries.get(key)
            if entry is not None and entry["count"] >= self.min_bucket_size:
                return key
        if chain[-1] in self.entries:
            return chain[-1]
        raise InputError(
            f"no reference statistics for bucket {bucket_id!r} or its language {chain[-1]!r}",
            hint="the references were built from train data without this language",
        )

    def support(self, key: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(l, u, s) vectors of reference ``key`` for the configured band and ε."""
        if key not in self._cache:
            entry = self.entries[key]
            lo_key, hi_key = BANDS[self.band]
            lower, upper = np.asarray(entry[lo_key], np.float64), np.asarray(entry[hi_key], np.float64)
            self._cache[key] = (
                lower,
                upper,
                support_scale(lower, upper, np.asarray(entry["std"], np.float64), self.epsilon),
            )
        return self._cache[key]

    def support_matrices(self, bucket_ids: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Row-aligned (L, U, S) matrices [n, d] for the given bucket ids."""
        keys = [self.resolve(b) for b in bucket_ids]
        d = len(self.feature_names)
        L, U, S = (np.empty((len(keys), d)) for _ in range(3))
        for k, key in enumerate(keys):
            L[k], U[k], S[k] = self.support(key)
        return L, U, S

    def distance(self, matrix: np.ndarray, bucket_ids: Sequence[str]) -> np.ndarray:
        """D_b(z) (Eq. 4) of each row of ``matrix`` to its bucket's support."""
        matrix = np.asarray(matrix)
        if matrix.ndim != 2 or matrix.shape[1] != len(self.feature_names):
            raise ValueError(
                f"feature matrix has shape {matrix.shape}; the references have {len(self.feature_names)} features"
            )
        if matrix.shape[0] == 0:
            return np.zeros(0)
        L, U, S = self.support_matrices(bucket_ids)
        return support_distance(matrix, L, U, S)

    # -------------------------------------------------------------- (de)serialization
    def to_json(self) -> dict:
        return {
            "format": REFERENCES_FORMAT,
            "feature_schema_version": self.schema_version,
            "feature_names": self.feature_names,
            "min_bucket_size": self.min_bucket_size,
            "band": self.band,
            "epsilon": self.epsilon,
            "summary": self.summary,
            "buckets": self.entries,
        }

    def save(self, path: str | os.PathLike) -> None:
        write_json(path, self.to_json(), indent=None)

    @classmethod
    def from_json(cls, data: dict, where: str = "references", expected_schema: str | None = None) -> BucketReferences:
        if not isinstance(data, dict) or data.get("format") != REFERENCES_FORMAT:
            raise InputError(
                f"not a polyalign bucket-references file (format {data.get('format') if isinstance(data, dict) else None!r})",
                where=where,
                hint="build it with `polyalign references`",
            )
        if expected_schema is not None and data["feature_schema_version"] != expected_schema:
            raise InputError(
                f"references were built with feature schema {data['feature_schema_version']!r}, this installation uses {expected_schema!r}",
                where=where,
                hint="rebuild them: `polyalign features` then `polyalign references`",
            )
        if data.get("band") not in BANDS:
            raise InputError(f"unknown support band {data.get('band')!r}", where=where)
        _check_reference_numbers(data, where)
        return cls(
            list(data["feature_names"]),
            data["feature_schema_version"],
            int(data["min_bucket_size"]),
            data["buckets"],
            data["band"],
            float(data["epsilon"]),
            data.get("summary", {}),
        )

    @classmethod
    def load(cls, path: str | os.PathLike, expected_schema: str | None = None) -> BucketReferences:
        return cls.from_json(read_json(path), where=str(path), expected_schema=expected_schema)


def _check_reference_numbers(data: dict, where: str) -> None:
    """Every statistic a support distance uses is a finite number, with one value per feature."""
    hint = "the file was altered or corrupted; rebuild it with `polyalign references`"
    problem = number_problem(data.get("epsilon"), 0.0, above=True)
    if problem:
        raise InputError(f"epsilon {problem}", where=where, hint=hint)
    names, buckets = data.get("feature_names"), data.get("buckets")
    if not isinstance(names, list) or not isinstance(buckets, dict) or not buckets:
        raise InputError("feature_names must be a list and buckets a non-empty object", where=where, hint=hint)
    for key, entry in buckets.items():
        if not isinstance(entry, dict):
            raise InputError(f"bucket {key!r} is not an object", where=where, hint=hint)
        for stat, values in entry.items():
            if not isinstance(values, list):
                continue
            if len(values) != len(names):
                raise InputError(
                    f"bucket {key!r}: {stat} has {len(values)} values for {len(names)} features",
                    where=where,
                    hint=hint,
                )
            for name, value in zip(names, values):
                problem = number_problem(value)
                if problem:
                    raise InputError(f"bucket {key!r}: {stat} of feature {name!r} {problem}", where=where, hint=hint)


def build_references(
    matrix: np.ndarray,
    bucket_ids: Sequence[str],
    splits: Sequence[str],
    feature_names: Sequence[str],
    schema_version: str,
    *,
    min_bucket_size: int = DEFAULT_MIN_BUCKET_SIZE,
    band: str = "q10_q90",
    epsilon: float = DEFAULT_EPSILON,
) -> BucketReferences:
    """Reference statistics from the rows whose split is ``train`` (other rows are counted, not used)."""
    if band not in BANDS:
        raise ValueError(f"band must be one of {sorted(BANDS)}")
    if min_bucket_size < 1:
        raise ValueError("min_bucket_size must be >= 1")
    matrix = np.asarray(matrix, np.float64)
    splits = np.asarray(list(splits))
    train = splits == "train"
    excluded = {str(s): int(c) for s, c in zip(*np.unique(splits[~train], return_counts=True))}
    if not train.any():
        raise InputError(
            "no train-split rows: references are built from the train split only",
            hint="pass features extracted from the train records",
        )
    train_buckets = [b for b, keep in zip(bucket_ids, train) if keep]
    train_matrix = matrix[train]
    groups: dict[str, list[int]] = {}
    for row, bucket in enumerate(train_buckets):
        for key in [bucket] + coarser_bucket_ids(bucket):
            groups.setdefault(key, []).append(row)
    entries: dict[str, dict] = {}
    for key in sorted(groups):
        rows = groups[key]
        stats = feature_statistics(train_matrix[rows])
        entries[key] = {"count": len(rows), **{k: [round(float(v), 8) for v in stats[k]] for k in STAT_KEYS}}
    refs = BucketReferences(list(feature_names), schema_version, min_bucket_size, entries, band, epsilon)
    full = sorted(set(train_buckets))
    backed_off = {b: refs.resolve(b) for b in full if refs.resolve(b) != b}
    refs.summary = {
        "train_rows": int(train.sum()),
        "excluded_rows_by_split": excluded,
        "buckets": len(full),
        "backed_off_buckets": backed_off,
    }
    return refs
