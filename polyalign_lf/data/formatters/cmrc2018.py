"""CMRC2018 (``hfl/cmrc2018``): span-extraction reading comprehension over Chinese Wikipedia.

Columns: ``id, context, question, answers{text, answer_start}`` (the nested original layout works too).
Official train/validation/test splits; questions without an answer are skipped.
"""

from __future__ import annotations

from polyalign_lf.data.formatters._squad_like import convert_official_splits
from polyalign_lf.data.formatters.base import FormatterSpec

SPLITS = {"train": "train", "validation": "val", "test": "test"}


def convert(rows, split, seed):
    yield from convert_official_splits(rows, split, SPLITS)


FORMATTER = FormatterSpec(
    name="cmrc2018",
    language="zh",
    track="single",
    family="qa",
    style_bucket="qa_search",
    hub_id="hfl/cmrc2018",
    source_splits=tuple(SPLITS),
    split_policy="official train/validation/test; unanswered questions skipped",
    convert=convert,
    required_columns=("id", "context", "question", "answers"),
    aliases=("cmrc",),
    release_layouts=(("paragraphs",), ("context", "qas"), ("context_text", "qas")),
    description="CMRC2018: Chinese span-extraction QA",
)
