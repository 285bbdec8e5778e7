"""The one reader of model outputs keyed by record id, with strict alignment: a mismatch is an error, never a
join that silently drops rows.

* Predictions file (one output per record): JSONL rows ``{"id": str, "prediction": str, ...}``.
* Candidates file (several sampled outputs per prompt, for ``distribution`` / ``local`` HDPO pairs):
  JSONL rows ``{"id": str, "candidates": [str, ...], ...}``. A row may carry both keys.

Every caller gets the same checks (a string id, the field's type, no repeated id — both places named —, no
id outside the records); the options say what else a caller needs: every record covered (training pairs,
metrics), the row's question equal to its record's (judging), its bucket equal to its record's (metrics).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from polyalign_lf.core.text import unencodable_problem
from polyalign_lf.errors import ConfigError, InputError
from polyalign_lf.io import iter_jsonl

PREDICTION_ROW_HINT = 'predictions rows are {"id": <record id>, "prediction": <text>}'


def prediction_rows(path: str | os.PathLike) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """``(file:line, row)`` of a predictions JSONL file; a repeated id is refused naming both lines."""
    for lineno, row in iter_jsonl(path, unique="id"):
        yield f"{path}:{lineno}", row


def align_rows(
    rows: Iterable[tuple[str, Mapping[str, Any]]],
    records: Iterable[Mapping[str, Any]] | Iterable[str],
    *,
    field: str = "prediction",
    require_all: bool = True,
    records_label: str = "records file",
    check_question: bool = False,
    check_bucket: bool = False,
    where: str | None = None,
) -> dict[str, str]:
    """``{record id: text}`` from ``(where, row)`` pairs, checked against ``records`` (record dicts, or ids).

    ``require_all``: every record must have a row. ``check_question``: a row's ``question``/``instruction``
    must equal its record's question. ``check_bucket``: a row's ``bucket_id`` must equal its record's.
    """
    by_id: dict[str, Mapping[str, Any] | None] = {}
    for record in records:
        if isinstance(record, str):
            by_id[record] = None
        else:
            by_id[record["id"]] = record
    out: dict[str, str] = {}
    first_seen: dict[str, str] = {}
    for row_where, row in rows:
        rid = row.get("id")
        if not isinstance(rid, str) or not rid:
            raise InputError('row has no string "id"', where=row_where, hint=PREDICTION_ROW_HINT)
        text = row.get(field)
        if not isinstance(text, str):
            raise InputError(
                f"row {rid!r} has no string {field!r} field (got {type(text).__name__})",
                where=row_where,
                hint=PREDICTION_ROW_HINT,
            )
        problem = unencodable_problem(text)
        if problem:
            raise InputError(f"row {rid!r}: {field} {problem}", where=row_where)
        if rid in out:
            raise InputError(
                f"duplicate prediction for id {rid!r} (first at {first_seen[rid]})",
                where=row_where,
                hint="keep one prediction per record id",
            )
        if rid not in by_id:
            raise InputError(
                f"prediction for unknown record id {rid!r}: it is not in the {records_label}",
                where=row_where,
                hint="predictions must come from the same records file (and --split) as given here",
            )
        record = by_id[rid]
        if record is not None and check_question:
            for key in ("question", "instruction"):
                if isinstance(row.get(key), str) and row[key].strip() != record["question"].strip():
                    raise InputError(
                        f"{key!r} of this row differs from the question of record {rid!r}",
                        where=row_where,
                        hint="the predictions are misaligned with the records",
                    )
        if record is not None and check_bucket and "bucket_id" in row and row["bucket_id"] != record["bucket_id"]:
            raise InputError(
                f"prediction for id {rid!r} carries bucket_id {row['bucket_id']!r} but the record's is "
                f"{record['bucket_id']!r}",
                where=row_where,
                hint="the predictions were generated from another version of the test records",
            )
        out[rid] = text
        first_seen[rid] = row_where
    if require_all:
        missing = [rid for rid in by_id if rid not in out]
        if missing:
            raise InputError(
                f"{len(missing)} of {len(by_id)} record(s) have no prediction, e.g. {missing[:3]}",
                where=where,
                hint="generate predictions for every record of the split (or pass the matching --split)",
            )
    return out


def read_predictions(
    path: str | os.PathLike,
    records: Iterable[Mapping[str, Any]] | Iterable[str],
    *,
    field: str = "prediction",
    require_all: bool = True,
    records_label: str = "records file",
    check_question: bool = False,
    check_bucket: bool = False,
) -> dict[str, str]:
    """``{record id: prediction}`` read from a predictions JSONL file (see :func:`align_rows` for the options)."""
    return align_rows(
        prediction_rows(path),
        records,
        field=field,
        require_all=require_all,
        records_label=records_label,
        check_question=check_question,
        check_bucket=check_bucket,
        where=str(path),
    )


def read_candidates(
    path: str | os.PathLike, record_ids: Iterable[str], *, field: str = "candidates"
) -> dict[str, list[str]]:
    """``{record id: [candidate, ...]}``; records without a row are simply absent (they get no sampled pairs)."""
    wanted = set(record_ids)
    out: dict[str, list[str]] = {}
    for row_where, row in prediction_rows(path):
        rid = row.get("id")
        if not isinstance(rid, str) or not rid:
            raise InputError(
                'row has no string "id"',
                where=row_where,
                hint='candidates rows are {"id": <record id>, "candidates": [<text>, ...]}',
            )
        cands = row.get(field)
        if not isinstance(cands, list) or not all(isinstance(c, str) for c in cands):
            raise InputError(f"row {rid!r}: {field!r} must be a list of strings", where=row_where)
        if rid not in wanted:
            raise InputError(f"candidates for unknown record id {rid!r}", where=row_where)
        out[rid] = cands
    return out


def parse_named_paths(specs: list[str], option: str, *, file_names: bool = False) -> dict[str, Path]:
    """``NAME=PATH`` pairs of a command line (a bare PATH is named after its file stem); a repeated name is an
    error. ``file_names``: the command writes a file per NAME, so each must be one plain file name."""
    from polyalign_lf.options import name_problem

    named: dict[str, Path] = {}
    for spec in specs:
        name, sep, path = spec.partition("=")
        if not sep:
            path, name = spec, Path(spec).stem
        if not name or not path:
            raise ConfigError(f"{option} {spec!r}: expected NAME=PATH or PATH")
        problem = name_problem(name) if file_names else None
        if problem:
            raise ConfigError(
                f"{option} {spec!r}: the method name {name!r} {problem}; it names a file under --out, so use a plain "
                "name such as sft or bucket_sft"
            )
        if name in named:
            raise ConfigError(f"{option}: method name {name!r} given twice")
        named[name] = Path(path)
    return named


def prediction_path(text: str) -> Path:
    """argparse type of a one-file ``--predictions``: ``[NAME=]PATH`` like the commands that compare several
    methods take (so one spelling works everywhere); the NAME, if any, is ignored here."""
    name, sep, path = text.partition("=")
    return Path(path if sep and name and "/" not in name and path else text)
