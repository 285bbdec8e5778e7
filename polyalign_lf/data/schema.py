"""The PolyAlign record schema (a contract: later stages, tests and users rely on these names).

One record = one human answer in its interaction context::

    id, dataset, split (train|val|test), language, track (single|multi), family, style_bucket,
    length_bin, question, context, dialogue_history [{role, text}], human_answer, bucket_id,
    meta {source_dataset, source_split, source_id, length_tokens, ...}

``bucket_id = language|track|family|length_bin``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import Any

from polyalign_lf.core.records import BUCKET_SEP, coarser_bucket_ids, make_bucket_id, parse_bucket_id  # noqa: F401  re-exported: the record contract
from polyalign_lf.core.text import unencodable_problem
from polyalign_lf.errors import InputError
from polyalign_lf.io import iter_jsonl, write_jsonl

RECORD_FIELDS: tuple[str, ...] = (
    "id",
    "dataset",
    "split",
    "language",
    "track",
    "family",
    "style_bucket",
    "length_bin",
    "question",
    "context",
    "dialogue_history",
    "human_answer",
    "bucket_id",
    "meta",
)
META_REQUIRED: tuple[str, ...] = ("source_dataset", "source_split", "source_id", "length_tokens")
SPLITS: tuple[str, ...] = ("train", "val", "test")
LANGUAGES: tuple[str, ...] = ("en", "zh")
TRACKS: tuple[str, ...] = ("single", "multi")
FAMILIES: tuple[str, ...] = ("assistant", "qa", "dialogue")
LENGTH_BINS: tuple[str, ...] = ("short", "medium", "long", "xlong")
ROLES: tuple[str, ...] = ("user", "assistant")


def validate_record(record: Any, where: str = "record") -> dict:
    """Check one record against the schema; raise :class:`InputError` naming ``where`` on the first problem."""
    if not isinstance(record, dict):
        raise InputError(f"expected a JSON object, got {type(record).__name__}", where=where)
    missing = [name for name in RECORD_FIELDS if name not in record]
    if missing:
        raise InputError(
            f"missing field(s) {', '.join(missing)}",
            where=where,
            hint="records must carry every field of polyalign_lf.data.schema.RECORD_FIELDS",
        )
    for name in ("id", "dataset", "question", "context", "human_answer", "bucket_id", "style_bucket"):
        if not isinstance(record[name], str):
            raise InputError(f"field {name!r} must be a string, got {type(record[name]).__name__}", where=where)
    if not record["id"]:
        raise InputError("field 'id' is empty", where=where)
    for name, allowed in (
        ("split", SPLITS),
        ("language", LANGUAGES),
        ("track", TRACKS),
        ("family", FAMILIES),
        ("length_bin", LENGTH_BINS),
    ):
        if record[name] not in allowed:
            raise InputError(f"field {name!r} is {record[name]!r}; expected one of {', '.join(allowed)}", where=where)
    expected = make_bucket_id(record["language"], record["track"], record["family"], record["length_bin"])
    if record["bucket_id"] != expected:
        raise InputError(
            f"bucket_id {record['bucket_id']!r} does not match its fields (expected {expected!r})", where=where
        )
    history = record["dialogue_history"]
    if not isinstance(history, list):
        raise InputError("field 'dialogue_history' must be a list of {role, text}", where=where)
    for k, turn in enumerate(history):
        if not isinstance(turn, dict) or turn.get("role") not in ROLES or not isinstance(turn.get("text"), str):
            raise InputError(f"dialogue_history[{k}] must be {{'role': 'user'|'assistant', 'text': str}}", where=where)
    for name, text in [(n, record[n]) for n in ("question", "context", "human_answer")] + [
        (f"dialogue_history[{k}].text", turn["text"]) for k, turn in enumerate(history)
    ]:
        problem = unencodable_problem(text)
        if problem:
            raise InputError(f"field {name!r} {problem}", where=where)
    meta = record["meta"]
    if not isinstance(meta, dict):
        raise InputError("field 'meta' must be an object", where=where)
    missing_meta = [name for name in META_REQUIRED if name not in meta]
    if missing_meta:
        raise InputError(f"meta is missing {', '.join(missing_meta)}", where=where)
    if not isinstance(meta["length_tokens"], int) or meta["length_tokens"] < 0:
        raise InputError("meta.length_tokens must be a non-negative integer", where=where)
    return record


def iter_records(path: str | os.PathLike, validate: bool = True) -> Iterator[dict]:
    """Read a records JSONL file, validating each line (errors name ``file:line``)."""

    for lineno, row in iter_jsonl(path, unique="id"):
        yield validate_record(row, where=f"{path}:{lineno}") if validate else row


def read_records(path: str | os.PathLike, validate: bool = True) -> list[dict]:
    return list(iter_records(path, validate=validate))


def write_records(path: str | os.PathLike, records: Iterable[dict], validate: bool = True) -> int:
    """Write records atomically as JSONL, validating each one first."""

    def checked() -> Iterator[dict]:
        for k, record in enumerate(records):
            yield validate_record(record, where=f"{path} (record {k})") if validate else record

    return write_jsonl(path, checked())
