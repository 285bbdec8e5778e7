"""Judge prompt construction and answer parsing/validation (JSON-only answers)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from polyalign_lf.judge.rubric import DIMENSION_GUIDE, DIMENSIONS, RUBRIC_ID

SYSTEM_PROMPT = (
    "You are a careful bilingual (English/Chinese) evaluator of assistant responses. You judge a candidate "
    "response against the conversation, the context, the interaction setting and a human reference answer. "
    "You answer with ONE JSON object and nothing else."
)

# The metadata record of the paper's Appendix H, in its order. ``source_id`` comes from the record's meta;
# ``model_key`` and ``stage`` describe the run being judged (e.g. qwen25_1_5b, bucket_sft). Appendix H sends
# them, so they are sent by default; ``blind=True`` withholds the two that name the system under test.
METADATA_FIELDS = (
    "language",
    "dataset",
    "track",
    "family",
    "style_bucket",
    "length_bin",
    "bucket_id",
    "source_id",
    "model_key",
    "stage",
)
RUN_FIELDS = ("model_key", "stage")
# Appendix H's answer: exactly these three top-level keys.
ANSWER_KEYS = ("scores", "major_errors", "rationale")

# JSON schema of a valid answer; sent as ``response_format`` (structured output) when the server supports it.
ANSWER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "scores": {
            "type": "object",
            "properties": {d: {"type": "integer", "minimum": 1, "maximum": 5} for d in DIMENSIONS},
            "required": list(DIMENSIONS),
            "additionalProperties": False,
        },
        "major_errors": {"type": "array", "items": {"type": "string"}},
        "rationale": {"type": "string"},
    },
    "required": list(ANSWER_KEYS),
    "additionalProperties": False,
}


class JudgeAnswerError(ValueError):
    """The judge's answer is not a valid rubric JSON object (the message says why; used for the retry)."""


def _history_text(history: list[Mapping[str, str]]) -> str:
    if not history:
        return "(none)"
    return "\n".join(f"[{turn['role']}] {turn['text']}" for turn in history)


def judge_metadata(record: Mapping[str, Any], run: Mapping[str, Any] | None = None, *, blind: bool = False) -> dict:
    """Appendix H's metadata record for one candidate: the record's bucket fields, its source id, and the
    judged run's model key and stage (None when unknown; left out with ``blind``)."""
    run = run or {}
    meta = record.get("meta") or {}
    values = {name: record.get(name) for name in METADATA_FIELDS if name not in RUN_FIELDS + ("source_id",)}
    values["source_id"] = meta.get("source_id", record.get("source_id"))
    if not blind:
        values.update({name: run.get(name) for name in RUN_FIELDS})
    return {name: values[name] for name in METADATA_FIELDS if name in values}


def build_judge_messages(
    record: Mapping[str, Any], candidate: str, run: Mapping[str, Any] | None = None, *, blind: bool = False
) -> list[dict[str, str]]:
    """The chat messages asking one judge to score ``candidate`` for ``record`` (whose human answer is the
    reference); ``run`` holds the judged run's ``model_key`` and ``stage``."""
    metadata = judge_metadata(record, run, blind=blind)
    rubric = "\n".join(f"- {name}: {DIMENSION_GUIDE[name]}" for name in DIMENSIONS)
    user = (
        f"Rubric {RUBRIC_ID}. Score the CANDIDATE on each dimension with an integer from 1 to 5 "
        "(1 = severe failure, 3 = acceptable, 5 = excellent):\n"
        f"{rubric}\n\n"
        "Guidance:\n"
        "- The human reference shows what a human actually answered in this setting; judge substance and fit, "
        "not word overlap.\n"
        "- The setting (language, track, response family, style bucket, length bin) defines what is natural: a "
        "one-span extractive answer is natural for extractive QA, a multi-paragraph answer is natural for long-form.\n"
        "- Answers in the wrong language fail instruction following and conditional appropriateness.\n"
        "- A candidate that contradicts the given context fails factual grounding; name it in major_errors.\n\n"
        f"SETTING (metadata): {json.dumps(metadata, ensure_ascii=False)}\n\n"
        f"DIALOGUE HISTORY:\n{_history_text(record.get('dialogue_history') or [])}\n\n"
        f"CONTEXT:\n{record.get('context') or '(none)'}\n\n"
        f"USER REQUEST:\n{record['question']}\n\n"
        f"HUMAN REFERENCE ANSWER:\n{record['human_answer']}\n\n"
        f"CANDIDATE RESPONSE:\n{candidate}\n\n"
        "Reply with only this JSON object, with exactly these three keys (no prose, no code fence):\n"
        '{"scores": {' + ", ".join(f'"{d}": <1-5>' for d in DIMENSIONS) + "}, "
        '"major_errors": [<short strings>], "rationale": "<at most 35 words>"}'
    )
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]


_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.DOTALL)
_THINK = re.compile(r"<think>.*?</think>", re.DOTALL)


def _as_score(value: Any, dimension: str) -> int:
    if isinstance(value, bool):
        raise JudgeAnswerError(f"score for {dimension!r} is a boolean, expected an integer 1-5")
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int):
        raise JudgeAnswerError(f"score for {dimension!r} is {value!r}, expected an integer 1-5")
    if not 1 <= value <= 5:
        raise JudgeAnswerError(f"score for {dimension!r} is {value}, outside 1-5")
    return value


def parse_judge_answer(text: str | None) -> dict[str, Any]:
    """Parse and validate a judge answer; raise :class:`JudgeAnswerError` with the reason when invalid.

    Accepts the bare object, an object inside a code fence, or an object surrounded by stray text (reasoning
    models sometimes add a ``<think>`` block). Appendix H's three keys must all be present (``scores`` with
    every dimension an integer in [1, 5], ``major_errors`` a list, ``rationale`` a string); other keys are
    ignored.
    """
    if not text or not text.strip():
        raise JudgeAnswerError("empty answer")
    body = _THINK.sub("", text)
    fenced = _FENCE.search(body)
    if fenced:
        body = fenced.group(1)
    start, end = body.find("{"), body.rfind("}")
    if start < 0 or end <= start:
        raise JudgeAnswerError("no JSON object in the answer")
    try:
        obj = json.loads(body[start : end + 1])
    except json.JSONDecodeError as exc:
        raise JudgeAnswerError(f"invalid JSON ({exc.msg})") from None
    if not isinstance(obj, dict):
        raise JudgeAnswerError("the answer is not a JSON object")
    absent = [key for key in ANSWER_KEYS if key not in obj]
    if absent:
        raise JudgeAnswerError(
            f"missing key(s) {', '.join(absent)}: the answer needs exactly {', '.join(ANSWER_KEYS)}"
        )
    raw_scores = obj["scores"]
    if not isinstance(raw_scores, dict):
        raise JudgeAnswerError('"scores" is not an object')
    missing = [d for d in DIMENSIONS if d not in raw_scores]
    if missing:
        raise JudgeAnswerError(f"missing score(s): {', '.join(missing)}")
    scores = {d: _as_score(raw_scores[d], d) for d in DIMENSIONS}
    errors = obj["major_errors"]
    if not isinstance(errors, list):
        raise JudgeAnswerError('"major_errors" is not a list of strings')
    if not isinstance(obj["rationale"], str):
        raise JudgeAnswerError('"rationale" is not a string')
    return {"scores": scores, "major_errors": [str(e) for e in errors], "rationale": obj["rationale"]}
