"""Natural Questions (``sentence-transformers/natural-questions``): Google queries → answer passages, English.

Columns: ``query, answer``. Google's simplified release (``simplified-nq-train.jsonl.gz``: ``question_text,
document_text, annotations[{long_answer{start_token, end_token}}], example_id``) is read too: the answer is
the first annotator's long answer with its HTML tag tokens removed (rows without one are skipped as
``no_long_answer``); its tokens are space-joined, so punctuation spacing differs from the Hub pairs. Train-only release → hashed split on the canonical *query* 90/5/5, so the
same query with different answers never straddles train and test (the reference hashed query+answer).
"""

from __future__ import annotations

from polyalign_lf.data.formatters._util import canonical_group, get_text
from polyalign_lf.data.formatters.base import Draft, FormatterSpec, Skip, hashed_split


def simplified_long_answer(row) -> str:
    """The first annotator's long answer of a simplified-NQ row, as text: its document tokens without the
    HTML tag tokens (``<P>``, ``<Td>`` …), joined by spaces ("" when the annotator marked none)."""
    annotations = row.get("annotations") or []
    long_answer = annotations[0].get("long_answer") if annotations and isinstance(annotations[0], dict) else None
    if not isinstance(long_answer, dict) or long_answer.get("start_token", -1) < 0:
        return ""
    tokens = get_text(row, "document_text").split(" ")[long_answer["start_token"] : long_answer["end_token"]]
    return " ".join(t for t in tokens if t and not (t.startswith("<") and t.endswith(">")))


def convert(rows, split, seed):
    for index, row in enumerate(rows):
        if "question_text" in row:  # the official simplified release (simplified-nq-train.jsonl.gz)
            query, answer = get_text(row, "question_text"), simplified_long_answer(row)
            source_id = str(row.get("example_id", f"{split}-{index:06d}"))
            if not answer:
                yield Skip("no_long_answer", source_id)
                continue
        else:
            query, answer = get_text(row, "query"), get_text(row, "answer")
            source_id = f"{split}-{index:06d}"
        if not answer.strip():
            yield Skip("empty_answer", source_id)
            continue
        group = canonical_group(query)
        yield Draft(source_id=source_id, question=query, human_answer=answer, split=hashed_split(group, seed))


FORMATTER = FormatterSpec(
    name="natural_questions",
    language="en",
    track="single",
    family="qa",
    style_bucket="qa_search",
    hub_id="sentence-transformers/natural-questions",
    source_splits=("train",),
    split_policy="train-only release: hash of canonical query, 90/5/5 train/val/test",
    convert=convert,
    required_columns=("query", "answer"),
    aliases=("nq",),
    release_layouts=(("question_text", "document_text", "annotations"),),
    description="Natural Questions (sentence-transformers pairs): query and its answer passage",
)
