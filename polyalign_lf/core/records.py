"""Bucket ids and record selection: the parts of the record contract every stage uses.

``bucket_id = language|track|family|length_bin`` (e.g. ``zh|single|qa|medium``).
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from polyalign_lf.errors import InputError

BUCKET_SEP = "|"


def make_bucket_id(language: str, track: str, family: str, length_bin: str) -> str:
    return BUCKET_SEP.join((language, track, family, length_bin))


def parse_bucket_id(bucket_id: str) -> dict[str, str]:
    parts = bucket_id.split(BUCKET_SEP)
    if len(parts) != 4:
        raise InputError(f"bucket_id {bucket_id!r} is not language|track|family|length_bin")
    return dict(zip(("language", "track", "family", "length_bin"), parts))


def coarser_bucket_ids(bucket_id: str) -> list[str]:
    """Back-off chain used when a bucket is too small: language|track|family, then language."""
    parts = bucket_id.split(BUCKET_SEP)
    return [BUCKET_SEP.join(parts[:3]), parts[0]]


def bucket_language(bucket_id: str) -> str:
    """The language part of a bucket id (``"zh"`` for ``zh|single|qa|short``)."""
    return bucket_id.split(BUCKET_SEP, 1)[0]


def bucket_track(bucket_id: str) -> str:
    """The track part of a bucket id (``"multi"`` for ``en|multi|dialogue|short``); ``""`` if it has none."""
    parts = bucket_id.split(BUCKET_SEP)
    return parts[1] if len(parts) > 1 else ""


def select_ids(records: Sequence[dict], sample: int | None, seed: int) -> list[str]:
    """The record ids to score: all, or a seeded sample shared by every method (so methods stay comparable)."""
    ids = [r["id"] for r in records]
    if sample is None or sample >= len(ids):
        return ids
    return sorted(random.Random(seed).sample(ids, sample), key=ids.index)
