"""Natural Questions (``sentence-transformers/natural-questions``): Google queries → answer passages, English.

Columns: ``query, answer``. Train-only release → hashed split on the canonical *query* 90/5/5, so the
same query with different answers never straddles train and test (the reference hashed query+answer).
"""

from __future__ import annotations

from polyalign_lf.data.formatters._util import canonical_group, get_text
from polyalign_lf.data.formatters.base import Draft, FormatterSpec, Skip, hashed_split


def convert(rows, split, seed):
    for index, row in enumerate(rows):
        query, answer = get_text(row, "query"), get_text(row, "answer")
        source_id = f"{split}-{index:06d}"
        if not answer.strip():
            yield Skip("empty_answer", source_id)
            continue
        group = canonical_group(query)
        yield Draft(source_id=source_id, question=query, human_answer=answer, split=hashed_split(group, seed))


FORMATTER = FormatterSpec(
    name="natural_questions", language="en", track="single", family="qa", style_bucket="qa_search",
    hub_id="sentence-transformers/natural-questions", source_splits=("train",),
    split_policy="train-only release: hash of canonical query, 90/5/5 train/val/test",
    convert=convert, required_columns=("query", "answer"), aliases=("nq",),
    description="Natural Questions (sentence-transformers pairs): query and its answer passage",
)
