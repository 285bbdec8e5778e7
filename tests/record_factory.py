"""Schema-valid records for tests, built in one place so every test speaks the same record contract.

:func:`make_record` returns a record that passes :func:`polyalign_lf.data.schema.validate_record`;
keyword options set the fields tests vary (bucket parts, texts, history, split). :func:`toy_records`
is the small bilingual set the evaluation-side tests (judge, detect, human-eval, report) share.
"""

from __future__ import annotations

from polyalign_lf.data.schema import make_bucket_id


def make_record(
    k: int,
    *,
    language: str = "en",
    track: str = "single",
    family: str = "qa",
    length_bin: str = "short",
    question: str = "What is the capital of France?",
    answer: str = "Paris",
    context: str = "",
    history: list[dict] | None = None,
    split: str = "test",
    style_bucket: str = "plain",
    dataset: str = "unit",
    length_tokens: int | None = None,
) -> dict:
    """Record number ``k`` (id ``{language}-{k}``); ``length_tokens`` defaults to the answer's word count."""
    return {
        "id": f"{language}-{k}",
        "dataset": dataset,
        "split": split,
        "language": language,
        "track": track,
        "family": family,
        "style_bucket": style_bucket,
        "length_bin": length_bin,
        "question": question,
        "context": context,
        "dialogue_history": history or [],
        "human_answer": answer,
        "bucket_id": make_bucket_id(language, track, family, length_bin),
        "meta": {
            "source_dataset": dataset,
            "source_split": "test",
            "source_id": str(k),
            "length_tokens": len(answer.split()) if length_tokens is None else length_tokens,
        },
    }


TOY_ANSWERS: dict[str, list[str]] = {
    "en": [
        "Paris is the capital of France.",
        "It was built in 1889 for the World's Fair.",
        "About three hundred metres tall, including the antennas.",
        "Gustave Eiffel's company designed it.",
        "Yes, visitors can climb the stairs to the second floor.",
        "The tower is repainted every seven years.",
    ],
    "zh": [
        "巴黎是法国的首都。",
        "它建于1889年，用于世界博览会。",
        "大约三百米高，包括天线。",
        "埃菲尔的公司设计了它。",
        "可以，游客可以爬楼梯到二层。",
        "这座塔每七年重新粉刷一次。",
    ],
}
TOY_LENGTH_BINS: tuple[str, ...] = ("short", "medium")


def toy_record(k: int, language: str, length_bin: str) -> dict:
    """One record of the toy Eiffel-Tower QA set (dataset ``toy``, style ``extractive``)."""
    answers = TOY_ANSWERS[language]
    return make_record(
        k,
        language=language,
        length_bin=length_bin,
        dataset="toy",
        style_bucket="extractive",
        length_tokens=8,
        question=f"Question {k} about the tower?" if language == "en" else f"关于这座塔的问题{k}？",
        context="The Eiffel Tower is in Paris." if language == "en" else "埃菲尔铁塔在巴黎。",
        answer=answers[k % len(answers)],
    )


def toy_records() -> list[dict]:
    """12 records: en/zh × short/medium × 3 (ids ``en-0`` … ``zh-5``)."""
    return [
        toy_record(b * 3 + j, language, length_bin)
        for language in ("en", "zh")
        for b, length_bin in enumerate(TOY_LENGTH_BINS)
        for j in range(3)
    ]
