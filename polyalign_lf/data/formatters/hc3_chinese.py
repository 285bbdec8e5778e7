"""HC3-Chinese (``Hello-SimpleAI/HC3-Chinese``): questions with human and ChatGPT answers, Chinese.

Columns: ``id, question, human_answers, chatgpt_answers`` (+ ``source`` in ``all.jsonl``). One record
per non-empty *human* answer (ChatGPT answers are never used). Train-only release → hashed split on the
canonical question, 90/5/5, so all answers of a question (even when it appears in two sources) share a
split.
"""

from __future__ import annotations

from polyalign_lf.data.formatters._util import canonical_group, get_list, get_text, short_hash
from polyalign_lf.data.formatters.base import Draft, FormatterSpec, Skip, hashed_split


def convert(rows, split, seed):
    for index, row in enumerate(rows):
        question = get_text(row, "question")
        source = get_text(row, "source", default="")
        row_id = get_text(row, "id", default="") or str(index)
        base = f"{source or split}-{row_id}-{short_hash(question)}"
        if not question.strip():
            yield Skip("empty_question", base)
            continue
        group = canonical_group(question)
        answers = get_list(row, "human_answers")
        if not answers:
            yield Skip("no_human_answer", base)
        for k, answer in enumerate(answers):
            source_id = f"{base}-{k}"
            if not isinstance(answer, str) or not answer.strip():
                yield Skip("empty_answer", source_id)
                continue
            yield Draft(
                source_id=source_id,
                question=question,
                human_answer=answer,
                split=hashed_split(group, seed),
                group_key=group,
                meta={"hc3_source": source, "answer_index": k},
            )


FORMATTER = FormatterSpec(
    name="hc3_chinese",
    language="zh",
    track="single",
    family="qa",
    style_bucket="longform_qa",
    hub_id="Hello-SimpleAI/HC3-Chinese",
    hub_config="all",
    source_splits=("train",),
    split_policy="train-only release: hash of canonical question 90/5/5 (all human answers of a question together)",
    convert=convert,
    required_columns=("question", "human_answers"),
    aliases=("hc3", "hc3_zh"),
    description="HC3-Chinese: every human answer (ChatGPT answers ignored)",
)
