"""What `polyalign evaluate` reads besides the predictions: precomputed feature/embedding arrays (checked:
2-D, numeric, finite), the per-bucket feature scales of bucket references, and the human-answer cache shared
by every method evaluated on one test set."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from polyalign_lf.core.records import bucket_language
from polyalign_lf.errors import InputError
from polyalign_lf.io import atomic_write


def load_npy(path: str | None, what: str) -> np.ndarray | None:
    if path is None:
        return None
    if not Path(path).is_file():
        raise InputError(f"{what} file not found", where=str(path))
    try:
        array = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise InputError(
            f"cannot read {what} as a .npy array: truncated or not a .npy file ({exc})", where=str(path)
        ) from None
    if not isinstance(array, np.ndarray) or array.ndim != 2 or not np.issubdtype(array.dtype, np.number):
        raise InputError(f"{what} must be a 2-D numeric array, got {getattr(array, 'shape', '?')}", where=str(path))
    bad = np.flatnonzero(~np.isfinite(array).all(axis=1))
    if bad.size:
        raise InputError(
            f"{bad.size} row(s) of {what} are not finite (NaN or infinity), e.g. row {int(bad[0])}",
            where=str(path),
            hint="features and embeddings are finite by construction: recompute the file",
        )
    return array


def load_reference_scales(
    path: str, feature_names: list[str] | None, schema_version: str | None, bucket_ids: list[str]
) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Per-bucket BNG feature scales from a ``polyalign references`` file (train split, with back-off).

    Returns ``(scales, used)``: ``used[bucket]`` is the reference entry the scale came from (the bucket itself
    or a coarser level, resolved by :meth:`BucketReferences.resolve`). The scale is the entry's robust scale
    (IQR/1.349), its std where that is 0, then the language level's — as for the held-out default.
    """
    from polyalign_lf.references import BucketReferences

    refs = BucketReferences.load(path, expected_schema=schema_version)
    if feature_names is not None and list(refs.feature_names) != list(feature_names):
        raise InputError(
            "the references' feature names differ from the features used for BNG",
            where=path,
            hint="rebuild the references with the installed `polyalign features`",
        )

    def entry_scale(key: str) -> np.ndarray:
        entry = refs.entries[key]
        robust, std = np.asarray(entry["robust_scale"], np.float64), np.asarray(entry["std"], np.float64)
        return np.where(robust > 0, robust, std)

    scales: dict[str, np.ndarray] = {}
    used: dict[str, str] = {}
    for bucket in sorted(set(bucket_ids)):
        try:
            key = refs.resolve(bucket)
        except InputError:
            continue  # reported by evaluate() as a skipped bucket
        scale = entry_scale(key)
        language = bucket_language(bucket)
        if language in refs.entries and language != key:
            scale = np.where(scale > 0, scale, entry_scale(language))
        scales[bucket], used[bucket] = scale, key
    return scales, used


def _save_npy(path: Path, array: np.ndarray) -> None:

    with atomic_write(path, "wb") as handle:
        np.save(handle, array)


def human_side_fingerprint(records: list[dict]) -> str:
    """sha256 of every record's (id, language, human answer), in id order: the cache key of the human side.

    Keyed by content, not by ids alone: a test file whose answers changed under the same ids (a fixed typo, a
    re-normalized release) gets new features and embeddings instead of the stale ones."""
    digest = hashlib.sha256()
    for record in sorted(records, key=lambda r: r["id"]):
        for part in (record["id"], record["language"], record["human_answer"]):
            digest.update(part.encode("utf-8") + b"\x00")
        digest.update(b"\n")
    return digest.hexdigest()


def fill_human_cache(cache_dir: str, records: list[dict], pre: Any, config: Any, log) -> None:
    """Load (or compute and store) the human answers' features and embeddings for this test set.

    They do not depend on the method, so evaluating N methods on one test set computes them once. Files are
    keyed by the human answers' content (:func:`human_side_fingerprint`), the feature schema and the encoder.
    """

    cache = Path(cache_dir)
    cache.mkdir(parents=True, exist_ok=True)
    key = human_side_fingerprint(records)[:16]
    answers = [r["human_answer"] for r in records]
    if pre.human_features is None:
        from polyalign_lf.features import FEATURE_SCHEMA_VERSION, extract_features, feature_names

        path = cache / f"human_features.{key}.{FEATURE_SCHEMA_VERSION}.npy"
        if path.is_file():
            pre.human_features = load_npy(str(path), "cached human features")
        else:
            log("extracting features of the human answers (cached for the next method)")
            pre.human_features = extract_features(answers, [r["language"] for r in records], show_progress=True)
            _save_npy(path, pre.human_features)
        pre.feature_names, pre.feature_schema_version = list(feature_names()), FEATURE_SCHEMA_VERSION
    if not config.skip_mauve and pre.human_embeddings is None:
        from polyalign_lf.core.embeddings import resolve_encoder
        from polyalign_lf.metrics.evaluate import mauve_embeddings

        # the featurizer and the truncation decide the vectors (the protocol's sampling happens later)
        featurizer = f"{resolve_encoder(config.mauve_featurizer)}|max_tokens={config.mauve.max_text_tokens}"
        tag = hashlib.sha1(featurizer.encode("utf-8")).hexdigest()[:12]
        path = cache / f"human_embeddings.{key}.{tag}.npy"
        if path.is_file():
            pre.human_embeddings = load_npy(str(path), "cached human embeddings")
        else:
            log(f"embedding human answers with {config.mauve_featurizer} (cached for the next method)")
            pre.human_embeddings = mauve_embeddings(answers, replace(config, show_progress=True))
            _save_npy(path, pre.human_embeddings)
