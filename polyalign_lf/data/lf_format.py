"""One record → one LLaMA-Factory alpaca example. Training export, preference pairs and inference prompts
all go through :func:`record_to_alpaca`, so the model is always prompted exactly as it was trained.

Nothing derived from the gold answer (its length bin, style or text) enters the prompt side, with one
deliberate exception kept for parity with the reference implementation: the ``oracle`` profile prompt names
the gold length bin (see :func:`profile_system_prompt`); it exists to measure that leakage, never by default.
"""

from __future__ import annotations

from typing import Any


def history_to_pairs(history: list[dict]) -> tuple[list[list[str]], str]:
    """Turn ``dialogue_history`` (turns before the current question) into alpaca ``history`` pairs.

    Consecutive turns of one role are joined with a newline; a history that opens with an assistant turn
    gets an empty user turn; a trailing user turn (asked but unanswered before the current question) is
    returned separately so the caller can prefix it to the question.
    """
    merged: list[list[str]] = []  # [role, text]
    for turn in history:
        text = (turn.get("text") or "").strip()
        if not text:
            continue
        role = turn["role"]
        if merged and merged[-1][0] == role:
            merged[-1][1] += "\n" + text
        else:
            merged.append([role, text])
    if merged and merged[0][0] == "assistant":
        merged.insert(0, ["user", ""])
    pending_user = ""
    if merged and merged[-1][0] == "user":
        pending_user = merged.pop()[1]
    pairs = [[merged[k][1], merged[k + 1][1]] for k in range(0, len(merged) - 1, 2)]
    return pairs, pending_user


# Which interaction profile a system prompt names: "none" (the template's default system prompt), "situation"
# (family, track and style: what a deployed system knows before it answers) or "oracle" (the situation plus
# the gold answer's length bin, as the reference implementation's Bucket-SFT views did in training and test).
PROFILE_PROMPTS: tuple[str, ...] = ("none", "situation", "oracle")
_PROFILE_PREAMBLE = "You are a helpful assistant. Answer in this response profile:"


PROFILE_PROMPT_HELP = (
    "none (default): the template's system prompt; situation: family, track and style of the interaction; "
    "oracle: the situation plus the gold answer's length bin (leaks the answer length: for parity with the "
    "reference implementation only)"
)


def profile_system_prompt(record: dict, profile: str) -> str | None:
    """The per-record system prompt of ``profile`` (None for ``none``: the template's default applies).

    ``oracle`` names the record's gold length bin, which is derived from the human answer: a model prompted
    with it is told how long the answer must be, at training and at test time. It exists only to measure how
    much of a gain that leakage explains."""
    if profile not in PROFILE_PROMPTS:
        raise ValueError(f"unknown profile prompt {profile!r}; choose from {', '.join(PROFILE_PROMPTS)}")
    if profile == "none":
        return None
    fields = [f"family={record['family']}", f"track={record['track']}", f"style={record['style_bucket']}"]
    if profile == "oracle":
        fields.append(f"length={record['length_bin']}")
    return f"{_PROFILE_PREAMBLE} {'; '.join(fields)}."


def record_prompt(record: dict, profile: str = "none") -> dict[str, Any]:
    """The prompt side of a record in alpaca form: ``instruction``, ``input``, ``history`` (and ``system``
    when a profile prompt is asked for)."""
    pairs, pending_user = history_to_pairs(record.get("dialogue_history") or [])
    question = record["question"]
    if pending_user:
        question = f"{pending_user}\n{question}"
    example: dict[str, Any] = {"instruction": question, "input": record.get("context") or ""}
    if pairs:
        example["history"] = pairs
    system = profile_system_prompt(record, profile)
    if system is not None:
        example["system"] = system
    return example


def record_to_alpaca(record: dict, *, with_answer: bool = True, profile: str = "none") -> dict[str, Any]:
    """Alpaca example for SFT: prompt fields, ``output`` = human answer, plus ``id`` and ``bucket_id``."""
    example = record_prompt(record, profile)
    if with_answer:
        example["output"] = record["human_answer"]
    example["id"] = record["id"]
    example["bucket_id"] = record["bucket_id"]
    return example
