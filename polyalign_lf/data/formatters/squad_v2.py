"""SQuAD v2 (``rajpurkar/squad_v2``): extractive QA over Wikipedia paragraphs, English.

Columns: ``id, title, context, question, answers{text, answer_start}``; the official ``train-v2.0.json`` /
``dev-v2.0.json`` (``{"version", "data": [{title, paragraphs: [{context, qas}]}]}``) is read too. Unanswerable questions (no
answer text) are skipped — the reference used the empty string as an SFT target. Split: official
train hashed by article title 90/10 into train/val (all paragraphs of an article together, so no
context leaks between them); official validation → test.
"""

from __future__ import annotations

from polyalign_lf.data.formatters._squad_like import iter_questions
from polyalign_lf.data.formatters._util import canonical_group
from polyalign_lf.data.formatters.base import Draft, FormatterSpec, Skip, hashed_split
from polyalign_lf.errors import InputError


def convert(rows, split, seed):
    for index, row in enumerate(rows):
        if "answers" in row and not isinstance(row["answers"], (dict, list)):
            raise InputError(
                f"column 'answers' must be an object {{text: [...], answer_start: [...]}}, "
                f"got {type(row['answers']).__name__}"
            )
        for k, item in enumerate(iter_questions(row)):  # a Hub row, or an article of the release's nested layout
            row_id = item["id"] or f"{split}-{index:05d}-{k}"
            if item["impossible"] or not item["answer"].strip():
                yield Skip("unanswerable", row_id)
                continue
            title, context = item["title"], item["context"]
            assigned = (
                hashed_split(canonical_group(title or context), seed, (("train", 0.9), ("val", 0.1)))
                if split == "train"
                else "test"
            )
            yield Draft(
                source_id=row_id,
                question=item["question"],
                context=context,
                human_answer=item["answer"],
                split=assigned,
                meta={"title": title},
            )


FORMATTER = FormatterSpec(
    name="squad_v2",
    language="en",
    track="single",
    family="qa",
    style_bucket="qa_search",
    hub_id="rajpurkar/squad_v2",
    source_splits=("train", "validation"),
    split_policy="official train hashed by article title 90/10 → train/val; official validation → test; unanswerable skipped",
    convert=convert,
    required_columns=("id", "context", "question", "answers"),
    aliases=("squad2", "squadv2"),
    release_layouts=(("title", "paragraphs"), ("paragraphs",), ("context", "qas")),
    description="SQuAD v2: answerable questions with their Wikipedia paragraph",
)
