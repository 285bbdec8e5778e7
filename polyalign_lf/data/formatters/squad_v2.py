"""SQuAD v2 (``rajpurkar/squad_v2``): extractive QA over Wikipedia paragraphs, English.

Columns: ``id, title, context, question, answers{text, answer_start}``. Unanswerable questions (no
answer text) are skipped — the reference used the empty string as an SFT target. Split: official
train hashed by article title 90/10 into train/val (all paragraphs of an article together, so no
context leaks between them); official validation → test.
"""

from __future__ import annotations

from polyalign_lf.data.formatters._util import canonical_group, first_nonempty, get_struct, get_text, struct_list
from polyalign_lf.data.formatters.base import Draft, FormatterSpec, Skip, hashed_split


def convert(rows, split, seed):
    for row in rows:
        row_id = get_text(row, "id")
        answer = first_nonempty(struct_list(get_struct(row, "answers"), "text", "answers"))
        if not answer:
            yield Skip("unanswerable", row_id)
            continue
        title = get_text(row, "title", default="")
        context = get_text(row, "context")
        assigned = hashed_split(canonical_group(title or context), seed, (("train", 0.9), ("val", 0.1))) if split == "train" else "test"
        yield Draft(source_id=row_id, question=get_text(row, "question"), context=context, human_answer=answer,
                    split=assigned, meta={"title": title})


FORMATTER = FormatterSpec(
    name="squad_v2", language="en", track="single", family="qa", style_bucket="qa_search",
    hub_id="rajpurkar/squad_v2", source_splits=("train", "validation"),
    split_policy="official train hashed by article title 90/10 → train/val; official validation → test; unanswerable skipped",
    convert=convert, required_columns=("id", "context", "question", "answers"), aliases=("squad2", "squadv2"),
    description="SQuAD v2: answerable questions with their Wikipedia paragraph",
)
