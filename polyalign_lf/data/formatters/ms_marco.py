"""MS MARCO v1.1 (``microsoft/ms_marco``, config ``v1.1``): Bing queries with human answers, English.

Columns: ``query, query_id, query_type, answers, wellFormedAnswers, passages{is_selected, passage_text, url}``;
the release files (``dev_v1.1.json``: one JSON lines row per query with ``passages`` as a list of objects,
or the column-oriented ``{"query": {"0": …}, …}`` of later releases) are read too.
Answer = first non-empty well-formed answer, else first non-empty answer. Context = the selected
passages (blank-line separated), else the first three. Queries whose only answer is the placeholder
``No Answer Present.`` are skipped (the reference trained on that string). Official splits.
"""

from __future__ import annotations

from polyalign_lf.data.formatters._util import first_nonempty, get_list, get_text, struct_values
from polyalign_lf.data.formatters.base import Draft, FormatterSpec, Skip

SPLITS = {"train": "train", "validation": "val", "test": "test"}
NO_ANSWER = "no answer present."


def convert(rows, split, seed):
    for index, row in enumerate(rows):
        raw_id = row.get("query_id")  # an int in the release files
        query_id = (
            str(raw_id)
            if isinstance(raw_id, int) and not isinstance(raw_id, bool)
            else get_text(row, "query_id", default="")
        ) or f"{split}-{index}"
        if row.get("wellFormedAnswers") == "[]":  # the release writes "no well-formed answer" as the string "[]"
            row = {**row, "wellFormedAnswers": []}
        well_formed = [
            a
            for a in get_list(row, "wellFormedAnswers", default=[])
            if isinstance(a, str) and a.strip().lower() != "[]"
        ]
        answers = get_list(row, "answers")
        answer = first_nonempty(well_formed) or first_nonempty(answers)
        if not answer:
            yield Skip("empty_answer", query_id)
            continue
        if answer.strip().lower() == NO_ANSWER:
            yield Skip("no_answer_present", query_id)
            continue
        texts = struct_values(row, "passages", "passage_text")  # Hub: dict of lists; release: list of objects
        selected = struct_values(row, "passages", "is_selected")
        chosen = [t for t, s in zip(texts, selected) if s and isinstance(t, str) and t.strip()]
        context = "\n\n".join(chosen or [t for t in texts[:3] if isinstance(t, str)])
        yield Draft(
            source_id=query_id,
            question=get_text(row, "query"),
            context=context,
            human_answer=answer,
            split=SPLITS[split],
            meta={
                "query_id": query_id,
                "query_type": get_text(row, "query_type", default=""),
                "used_well_formed_answer": bool(first_nonempty(well_formed)),
                "selected_passage_count": len(chosen),
            },
        )


FORMATTER = FormatterSpec(
    name="ms_marco",
    language="en",
    track="single",
    family="qa",
    style_bucket="qa_search",
    hub_id="microsoft/ms_marco",
    hub_config="v1.1",
    source_splits=tuple(SPLITS),
    split_policy="official train/validation/test; 'No Answer Present.' rows skipped",
    convert=convert,
    required_columns=("query", "answers", "passages"),
    aliases=("msmarco", "ms_marco_v1.1"),
    description="MS MARCO v1.1: human answers to search queries over retrieved passages",
)
