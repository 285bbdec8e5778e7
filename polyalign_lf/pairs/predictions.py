"""Reading model outputs keyed by record id, with strict alignment (a mismatch is an error, never a join
that silently drops rows).

* Predictions file (the greedy SFT output, one per record): JSONL rows ``{"id": str, "prediction": str, ...}``.
* Candidates file (several sampled outputs per prompt, for ``distribution`` / ``local`` HDPO pairs):
  JSONL rows ``{"id": str, "candidates": [str, ...], ...}``. A row may carry both keys.
"""

from __future__ import annotations

import os
from typing import Iterable, Iterator

from polyalign_lf.errors import InputError
from polyalign_lf.io import iter_jsonl


def _keyed_rows(path: str | os.PathLike, hint: str) -> Iterator[tuple[str, int, str, dict]]:
    """``(file:line, line number, record id, row)`` per row; a row without a non-empty string ``id`` is an error."""
    for lineno, row in iter_jsonl(path, unique="id"):
        where = f"{path}:{lineno}"
        rid = row.get("id")
        if not isinstance(rid, str) or not rid:
            raise InputError('row has no string "id"', where=where, hint=hint)
        yield where, lineno, rid, row


def read_predictions(path: str | os.PathLike, record_ids: Iterable[str], *, field: str = "prediction") -> dict[str, str]:
    """``{record id: prediction}`` for exactly the given record ids.

    Errors (naming file:line): a row without a string ``id`` or ``field``, a duplicated id, an id that is not
    among the records, and (after reading) record ids without a prediction.
    """
    wanted = set(record_ids)
    out: dict[str, str] = {}
    for where, _, rid, row in _keyed_rows(path, hint='predictions rows are {"id": <record id>, "prediction": <text>}'):
        text = row.get(field)
        if not isinstance(text, str):
            raise InputError(f"row {rid!r} has no string {field!r} field", where=where)
        if rid not in wanted:
            raise InputError(f"prediction for unknown record id {rid!r}", where=where,
                             hint="predictions must come from the same records file (and --split) as given here")
        out[rid] = text
    missing = [rid for rid in wanted if rid not in out]
    if missing:
        raise InputError(f"{len(missing)} record(s) have no prediction, e.g. {sorted(missing)[:3]}", where=str(path),
                         hint="generate predictions for every record of the split (or pass the matching --split)")
    return out


def read_candidates(path: str | os.PathLike, record_ids: Iterable[str], *, field: str = "candidates") -> dict[str, list[str]]:
    """``{record id: [candidate, ...]}``; records without a row are simply absent (they get no sampled pairs)."""
    wanted = set(record_ids)
    out: dict[str, list[str]] = {}
    for where, _, rid, row in _keyed_rows(path, hint='candidates rows are {"id": <record id>, "candidates": [<text>, ...]}'):
        cands = row.get(field)
        if not isinstance(cands, list) or not all(isinstance(c, str) for c in cands):
            raise InputError(f"row {rid!r}: {field!r} must be a list of strings", where=where)
        if rid not in wanted:
            raise InputError(f"candidates for unknown record id {rid!r}", where=where)
        out[rid] = cands
    return out
