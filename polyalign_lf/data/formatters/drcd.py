"""DRCD (``voidful/DRCD``): Delta Reading Comprehension Dataset, traditional-Chinese Wikipedia.

Accepts the nested SQuAD layout (``title, paragraphs[{context, qas[{id, question, answers[{text}]}]}]``)
and the flat one (``id, context, question, answers``). Text stays in traditional characters (NFKC
does not convert scripts). Official train/dev/test splits; questions without an answer are skipped.
"""

from __future__ import annotations

from polyalign_lf.data.formatters._squad_like import convert_official_splits
from polyalign_lf.data.formatters.base import FormatterSpec

SPLITS = {"train": "train", "dev": "val", "test": "test"}


def convert(rows, split, seed):
    yield from convert_official_splits(rows, split, SPLITS, title_meta=True)


FORMATTER = FormatterSpec(
    name="drcd",
    language="zh",
    track="single",
    family="qa",
    style_bucket="qa_search",
    hub_id="voidful/DRCD",
    source_splits=tuple(SPLITS),
    split_policy="official train/dev/test; unanswered questions skipped",
    convert=convert,
    required_columns=("id", "context", "question", "answers"),
    release_layouts=(("paragraphs",), ("context", "qas")),
    description="DRCD: traditional-Chinese span-extraction QA",
)
