"""CoQA (``stanfordnlp/coqa``): conversational QA over a story, English, multi-turn.

Columns: ``source, story, questions, answers{input_text, answer_start, answer_end}`` (the official
``coqa-{train,dev}-v1.0.json`` release, ``{"data": [{id, source, story, questions: [{turn_id, input_text}],
answers: [{turn_id, input_text, span_text, …}]}]}``, is read too). Turn i: question_i,
context = story, history = earlier question/answer pairs, answer = ``answers.input_text[i]``.
Turns whose answer is ``unknown`` (unanswerable) are skipped as targets but stay in later turns'
history, as in the real conversation. Split: official train hashed by canonical story text 90/10 into
train/val (whole conversations); official validation → test.
"""

from __future__ import annotations

from polyalign_lf.data.formatters._util import canonical_group, get_list, get_text, short_hash, struct_values
from polyalign_lf.data.formatters.base import Draft, FormatterSpec, Skip, hashed_split

UNKNOWN = {"unknown", "unknown."}


def convert(rows, split, seed):
    for index, row in enumerate(rows):
        story = get_text(row, "story")
        questions = get_list(row, "questions")
        # the official release has lists of {turn_id, input_text, …}; the Hub has strings and a dict of lists
        questions = [q.get("input_text", "") if isinstance(q, dict) else q for q in questions]
        answers = struct_values(row, "answers", "input_text")
        conversation = f"{split}-{index:05d}-{short_hash(story)}"
        assigned = (
            hashed_split(canonical_group(story), seed, (("train", 0.9), ("val", 0.1))) if split == "train" else "test"
        )
        history: list[dict] = []
        for turn, question in enumerate(questions):
            answer = answers[turn] if turn < len(answers) and isinstance(answers[turn], str) else ""
            source_id = f"{conversation}-turn-{turn:02d}"
            if not answer.strip():
                yield Skip("empty_answer", source_id)
            elif answer.strip().lower() in UNKNOWN:
                yield Skip("unanswerable", source_id)
            else:
                yield Draft(
                    source_id=source_id,
                    question=question,
                    context=story,
                    human_answer=answer,
                    dialogue_history=list(history),
                    split=assigned,
                    group_key=conversation,
                    meta={
                        "conversation_id": conversation,
                        "turn_index": turn,
                        "story_source": get_text(row, "source", default=""),
                    },
                )
            history += [{"role": "user", "text": question}, {"role": "assistant", "text": answer}]


FORMATTER = FormatterSpec(
    name="coqa",
    language="en",
    track="multi",
    family="qa",
    style_bucket="qa_search",
    hub_id="stanfordnlp/coqa",
    source_splits=("train", "validation"),
    split_policy="official train hashed by story 90/10 → train/val (conversation level); official validation → test",
    convert=convert,
    required_columns=("story", "questions", "answers"),
    description="CoQA: conversational questions about a story, with the earlier turns as history",
)
