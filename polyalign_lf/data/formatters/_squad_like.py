"""Extractive-QA rows in either the flat Hub layout or the nested original SQuAD layout.

Flat: ``{id, context, question, answers: {text: [...], answer_start: [...]}, [is_impossible], [title]}``.
Nested: ``{title, paragraphs: [{context, qas: [{id, question, answers: [{text, answer_start}], [is_impossible]}]}]}``
(the SQuAD/DRCD release files, after their ``{"version", "data"}`` wrapper) or one paragraph ``{context, qas: [...]}``;
CMRC2018's original release, ``{context_id, context_text, title, qas: [{query_id, query_text, answers: [...]}]}``.
Answers may also be a plain list of strings or of ``{text}``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from polyalign_lf.data.formatters._util import first_nonempty, get_list, get_text
from polyalign_lf.data.formatters.base import Draft, Skip
from polyalign_lf.errors import InputError


def answer_texts(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, Mapping):
        texts = value.get("text")
        if isinstance(texts, str):
            return [texts]
        return [t for t in (texts or []) if isinstance(t, str)]
    if isinstance(value, (list, tuple)):
        out = []
        for item in value:
            if isinstance(item, str):
                out.append(item)
            elif isinstance(item, Mapping) and isinstance(item.get("text"), str):
                out.append(item["text"])
        return out
    if isinstance(value, str):
        return [value]
    raise InputError(f"'answers' must be {{text: [...]}} or a list, got {type(value).__name__}")


def iter_questions(row: Mapping[str, Any]) -> Iterator[dict]:
    """Yield ``{id, title, context, question, answer, impossible}`` for every question in a row."""
    title = get_text(row, "title", default="")
    if "paragraphs" in row or "qas" in row:
        paragraphs = get_list(row, "paragraphs") if "paragraphs" in row else [row]
        for p_index, paragraph in enumerate(paragraphs):
            if not isinstance(paragraph, Mapping):
                raise InputError(f"paragraphs[{p_index}] must be an object with context and qas")
            # CMRC2018's original release names them context_text / query_text / query_id
            context = get_text(paragraph, "context_text" if "context_text" in paragraph else "context")
            for q_index, qa in enumerate(get_list(paragraph, "qas")):
                if not isinstance(qa, Mapping):
                    raise InputError(f"paragraphs[{p_index}].qas[{q_index}] must be an object")
                question = get_text(qa, "query_text" if "query_text" in qa else "question")
                qid = get_text(qa, "query_id" if "query_id" in qa else "id", default="")
                yield {
                    "id": qid or f"{title}-{p_index}-{q_index}",
                    "title": title,
                    "context": context,
                    "question": question,
                    "answer": first_nonempty(answer_texts(qa.get("answers"))),
                    "impossible": bool(qa.get("is_impossible")),
                }
        return
    missing = [column for column in ("context", "question", "answers") if column not in row]
    if missing:
        raise InputError(
            f"missing column(s) {', '.join(missing)} (row has: {', '.join(list(row)[:8])})",
            hint="expected the Hub column layout id/context/question/answers, or the release layout "
            "title/paragraphs[context, qas] (CMRC2018's original: context_text/qas[query_text])",
        )
    yield {
        "id": get_text(row, "id", default=""),
        "title": title,
        "context": get_text(row, "context"),
        "question": get_text(row, "question"),
        "answer": first_nonempty(answer_texts(row.get("answers"))),
        "impossible": bool(row.get("is_impossible")),
    }


def convert_official_splits(
    rows, split: str, splits: Mapping[str, str], *, title_meta: bool = False
) -> Iterator[Draft | Skip]:
    """The ``convert`` of a SQuAD-like source with official splits (``splits`` maps source → our split).

    Unanswerable and empty-answer questions are counted skips; ``title_meta`` keeps the article title in
    ``meta.title``.
    """
    for index, row in enumerate(rows):
        for k, item in enumerate(iter_questions(row)):
            source_id = item["id"] or f"{split}-{index:05d}-{k}"
            if item["impossible"] or not item["answer"].strip():
                yield Skip("unanswerable" if item["impossible"] else "empty_answer", source_id)
                continue
            yield Draft(
                source_id=source_id,
                question=item["question"],
                context=item["context"],
                human_answer=item["answer"],
                split=splits[split],
                meta={"title": item["title"]} if title_meta else {},
            )
