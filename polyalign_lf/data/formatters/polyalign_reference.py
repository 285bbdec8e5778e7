"""The reference implementation's released data, as its users have it: ``polyalign prepare polyalign_reference
--from-dir <checkout>/sample`` (or its released artifact files).

Two layouts are read as they are:

* **normalized records** (the reference README's schema): ``id, dataset, split, language, track, family,
  style_bucket, length_bin, question, context, dialogue_history, human_answer, bucket_id, meta``;
* **LLaMA-Factory views** (alpaca JSON): ``instruction`` (the question), ``input`` (the context),
  ``output`` (the human answer), ``history`` (earlier ``[user, assistant]`` pairs — a list, or the same list
  written as a Python-literal string, as in the reference's ``sample/`` files), and the bucket columns
  ``bucket_id, family, track, style_bucket, length_bin`` (+ ``dist_sft_weight``, ``system``).

The authors' bucket ids are kept: ``length_bin`` comes from the row (the measured bin is kept in
``meta.computed_length_bin`` when it differs), and a row whose ``bucket_id`` disagrees with its own
language/track/family/length_bin, or whose values are not PolyAlign's, is skipped with that reason (counted in
the manifest). The plain views (``test-sample.json``: no bucket columns) cannot be mapped: their rows are
skipped as ``no_bucket_columns`` — use the ``dist_sft_*`` view of the same rows. The reference's
profile system prompt (which names the gold length bin) is not part of the record; it is kept in
``meta.reference_system`` for the study's profile-prompt ablation. LF-view rows have no id: ``source_id`` is
the split and the row's position in its file.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from polyalign_lf.data.formatters._util import get_text
from polyalign_lf.data.formatters.base import Draft, FormatterSpec, Skip
from polyalign_lf.data.schema import FAMILIES, LANGUAGES, LENGTH_BINS, TRACKS

SPLITS = {"train": "train", "validation": "val", "test": "test"}
RECORD_COLUMNS = ("id", "human_answer", "bucket_id", "language", "track", "family", "length_bin", "question")
VIEW_COLUMNS = ("instruction", "output")


def _history_pairs(value: Any) -> list[dict] | str:
    """``[[user, assistant], …]`` (or its Python-literal string) → turns; a reason string when unreadable."""
    if value is None or value == "" or value == []:
        return []
    if isinstance(value, str):
        try:
            value = ast.literal_eval(value)  # the reference wrote str(list) into some rows
        except (ValueError, SyntaxError):
            return "unreadable_history"
    if not isinstance(value, (list, tuple)):
        return "unreadable_history"
    turns = []
    for pair in value:
        if not (isinstance(pair, (list, tuple)) and len(pair) == 2 and all(isinstance(t, str) for t in pair)):
            return "unreadable_history"
        turns += [{"role": "user", "text": pair[0]}, {"role": "assistant", "text": pair[1]}]
    return turns


def _record_history(value: Any) -> list[dict] | str:
    if value is None:
        return []
    if not isinstance(value, (list, tuple)):
        return "unreadable_history"
    turns = []
    for turn in value:
        if not (
            isinstance(turn, Mapping)
            and turn.get("role") in ("user", "assistant")
            and isinstance(turn.get("text"), str)
        ):
            return "unreadable_history"
        turns.append({"role": turn["role"], "text": turn["text"]})
    return turns


def _bucket_problem(bucket_id: str, language: str, track: str, family: str, length_bin: str) -> str | None:
    for value, allowed, what in (
        (language, LANGUAGES, "language"),
        (track, TRACKS, "track"),
        (family, FAMILIES, "family"),
        (length_bin, LENGTH_BINS, "length_bin"),
    ):
        if value not in allowed:
            return f"unknown_{what}"
    if bucket_id != f"{language}|{track}|{family}|{length_bin}":
        return "bucket_id_mismatch"
    return None


def convert(rows: Iterable[Mapping[str, Any]], split: str, seed: int) -> Iterator[Draft | Skip]:
    assigned = SPLITS.get(split)
    for index, row in enumerate(rows):
        if "human_answer" in row:
            yield _from_record(row, assigned)
        else:
            yield _from_view(row, assigned, f"{assigned or split}-{index}")


def _from_record(row: Mapping[str, Any], assigned: str | None) -> Draft | Skip:
    row_id = get_text(row, "id").strip()
    language, track = get_text(row, "language"), get_text(row, "track")
    family, length_bin = get_text(row, "family"), get_text(row, "length_bin")
    problem = _bucket_problem(get_text(row, "bucket_id"), language, track, family, length_bin)
    if problem:
        return Skip(problem, row_id)
    history = _record_history(row.get("dialogue_history"))
    if isinstance(history, str):
        return Skip(history, row_id)
    row_split = get_text(row, "split", default="")  # a record's own split (train/val/test) wins over the file's
    split = SPLITS.get(row_split) or (row_split if row_split in SPLITS.values() else assigned)
    return Draft(
        source_id=row_id,
        question=get_text(row, "question"),
        human_answer=get_text(row, "human_answer"),
        context=get_text(row, "context", default=""),
        dialogue_history=history,
        split=split,
        meta={"reference_dataset": get_text(row, "dataset", default="")},
        language=language,
        track=track,
        family=family,
        style_bucket=get_text(row, "style_bucket", default="") or None,
        length_bin=length_bin,
    )


def _from_view(row: Mapping[str, Any], assigned: str | None, source_id: str) -> Draft | Skip:
    bucket_id = get_text(row, "bucket_id", default="")
    if not bucket_id:
        return Skip("no_bucket_columns", source_id)
    language = bucket_id.split("|", 1)[0]
    track, family = get_text(row, "track", default=""), get_text(row, "family", default="")
    length_bin = get_text(row, "length_bin", default="")
    problem = _bucket_problem(bucket_id, language, track, family, length_bin)
    if problem:
        return Skip(problem, source_id)
    history = _history_pairs(row.get("history"))
    if isinstance(history, str):
        return Skip(history, source_id)
    meta: dict[str, Any] = {}
    if get_text(row, "system", default=""):
        meta["reference_system"] = get_text(row, "system")
    if get_text(row, "dist_sft_weight", default=""):
        meta["reference_weight"] = get_text(row, "dist_sft_weight")
    return Draft(
        source_id=source_id,
        question=get_text(row, "instruction"),
        human_answer=get_text(row, "output"),
        context=get_text(row, "input", default=""),
        dialogue_history=history,
        split=assigned,
        meta=meta,
        language=language,
        track=track,
        family=family,
        style_bucket=get_text(row, "style_bucket", default="") or None,
        length_bin=length_bin,
    )


FORMATTER = FormatterSpec(
    name="polyalign_reference",
    language="en",
    track="single",
    family="qa",
    style_bucket="reference",
    hub_id="",
    source_splits=("train", "validation", "test"),
    split_policy="the record's split, else the file's split (train / val / test in its name); bucket ids as released",
    convert=convert,
    required_columns=VIEW_COLUMNS,
    release_layouts=(RECORD_COLUMNS,),
    aliases=("reference", "reference_sample"),
    description="the PolyAlign reference implementation's released data: normalized records or its "
    "LLaMA-Factory views (sample/dist_sft_*.json), authors' bucket ids kept",
)
