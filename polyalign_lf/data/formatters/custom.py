"""Your own data: one row per human answer, the bucket context given per row.

Row layout (JSONL, JSON array, parquet or a ``save_to_disk`` folder)::

    {"id": "faq-17",                       # unique within the dataset
     "question": "...", "answer": "...",   # answer = the human response (the SFT target)
     "context": "...",                     # optional passage / document
     "history": [{"role": "user", "text": "..."}, {"role": "assistant", "text": "..."}],  # optional, turns BEFORE question
     "language": "en" | "zh", "track": "single" | "multi", "family": "assistant" | "qa" | "dialogue",
     "style_bucket": "assistant_like",     # optional, free text
     "split": "train" | "val" | "test",    # optional
     "group": "conversation-3"}            # optional: rows of one conversation share a split

Split policy: the row's ``split`` if given; else the ``--source`` split name if it is train /
validation / test; else a deterministic hash of ``group`` (or ``id``) into 90 / 5 / 5.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from polyalign_lf.data.formatters._util import get_list, get_text
from polyalign_lf.data.formatters.base import Draft, FormatterSpec, Skip, hashed_split
from polyalign_lf.data.schema import FAMILIES, LANGUAGES, ROLES, TRACKS
from polyalign_lf.errors import InputError

SPLIT_ALIASES = {"train": "train", "val": "val", "validation": "val", "dev": "val", "test": "test"}


def _choice(row: Mapping[str, Any], column: str, allowed: tuple[str, ...]) -> str:
    value = get_text(row, column).strip()
    if value not in allowed:
        raise InputError(
            f"column {column!r} is {value!r}; expected one of {', '.join(allowed)}",
            hint=f"every custom row needs language ({'/'.join(LANGUAGES)}), track and family",
        )
    return value


def _history(row: Mapping[str, Any]) -> list[dict]:
    turns = []
    for k, turn in enumerate(get_list(row, "history", default=[])):
        if not isinstance(turn, Mapping) or turn.get("role") not in ROLES or not isinstance(turn.get("text"), str):
            raise InputError(f"history[{k}] must be {{'role': 'user'|'assistant', 'text': str}}, got {turn!r:.80}")
        turns.append({"role": turn["role"], "text": turn["text"]})
    return turns


def convert(rows: Iterable[Mapping[str, Any]], split: str, seed: int) -> Iterator[Draft | Skip]:
    source_split = SPLIT_ALIASES.get(split)
    for row in rows:
        row_id = get_text(row, "id").strip()
        if not row_id:
            raise InputError("column 'id' is empty", hint="give every row a unique id")
        language = _choice(row, "language", LANGUAGES)
        track = _choice(row, "track", TRACKS)
        family = _choice(row, "family", FAMILIES)
        answer = get_text(row, "answer")
        if not answer.strip():
            yield Skip("empty_answer", row_id)
            continue
        group = get_text(row, "group", default="") or None
        row_split = get_text(row, "split", default="").strip()
        if row_split:
            if row_split not in SPLIT_ALIASES:
                raise InputError(f"column 'split' is {row_split!r}; expected train, val or test")
            assigned = SPLIT_ALIASES[row_split]
        elif source_split:
            assigned = source_split
        else:
            assigned = hashed_split(group or row_id, seed)
        yield Draft(
            source_id=row_id,
            question=get_text(row, "question"),
            human_answer=answer,
            context=get_text(row, "context", default=""),
            dialogue_history=_history(row),
            split=assigned,
            group_key=group,
            language=language,
            track=track,
            family=family,
            style_bucket=get_text(row, "style_bucket", default="") or None,
        )


FORMATTER = FormatterSpec(
    name="custom",
    language="en",
    track="single",
    family="assistant",
    style_bucket="custom",
    hub_id="",
    source_splits=("train", "validation", "test", "all"),
    split_policy="row 'split' if present; else the --source split (train/validation/test); else hash of group or id 90/5/5",
    convert=convert,
    required_columns=("id", "question", "answer", "language", "track", "family"),
    aliases=("own", "user"),
    description="your own data: {id, question, answer, context?, history?, language, track, family, style_bucket?, split?, group?}",
)
