"""Prompts for the three inference modes and the post-processing of their outputs.

* ``chat`` — post-trained checkpoints (Full-SFT, Bucket-SFT, DPO, HDPO): the LLaMA-Factory template and
  system prompt the model was trained with (:mod:`polyalign_lf.integration.prompting`).
* ``base`` — the BaseLM baseline (paper App. B): a plain completion prompt with history, context and question.
* ``cot`` — the CoT baseline: step-by-step reasoning then a JSON final answer; the extracted final answer is
  scored and the reasoning kept separately (the reference scored the whole reasoning, EM = 0).

Every prompt is built from :func:`polyalign_lf.data.lf_format.record_prompt` (question, context, history)
and the record's language only. Nothing derived from the gold answer — its text, length bin, style bucket,
bucket id or length — can enter a prompt (the reference put the gold length bin in CoT, Dist-SFT and HDPO
prompts); ``tests/inference/test_prompts.py`` checks this for every mode.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from polyalign_lf.data.lf_format import record_prompt
from polyalign_lf.errors import ConfigError

MODES: tuple[str, ...] = ("chat", "base", "cot")

_LABELS = {
    "en": {
        "history": "Conversation History:",
        "user": "User:",
        "assistant": "Assistant:",
        "context": "Context:",
        "question": "Question:",
        "answer": "Answer:",
    },
    "zh": {
        "history": "对话历史：",
        "user": "用户：",
        "assistant": "助手：",
        "context": "上下文：",
        "question": "问题：",
        "answer": "回答：",
    },
}

COT_INSTRUCTION = {
    "en": (
        "Think step by step about the request below, then give your final answer. Reply in this format:\n"
        "Reasoning: <your step-by-step reasoning>\n"
        'Final answer (JSON): {"final_answer": "<the answer you would give the user>"}'
    ),
    "zh": (
        "请逐步思考下面的请求，然后给出最终答案。请按以下格式回答：\n"
        "推理：<你的逐步推理>\n"
        '最终答案（JSON）：{"final_answer": "<你给用户的回答>"}'
    ),
}
_COT_REASONING_CUE = {"en": "Reasoning:", "zh": "推理："}


def _labels(language: str) -> dict[str, str]:
    return _LABELS["zh" if language == "zh" else "en"]


def plain_prompt(example: dict[str, Any], language: str) -> str:
    """BaseLM completion prompt: history, context and question sections, ending with the answer cue."""
    labels = _labels(language)
    sections = []
    if example.get("history"):
        lines = [labels["history"]]
        for user, assistant in example["history"]:
            lines += [f"{labels['user']} {user}".rstrip(), f"{labels['assistant']} {assistant}".rstrip()]
        sections.append("\n".join(lines))
    if example.get("input"):
        sections.append(f"{labels['context']}\n{example['input']}")
    sections.append(f"{labels['question']}\n{example['instruction']}")
    sections.append(labels["answer"])
    return "\n\n".join(sections)


def cot_plain_prompt(example: dict[str, Any], language: str) -> str:
    """CoT completion prompt: the CoT instruction, the same sections as BaseLM, then the reasoning cue."""
    body = plain_prompt(example, language).rsplit("\n\n", 1)[0]
    return f"{COT_INSTRUCTION['zh' if language == 'zh' else 'en']}\n\n{body}\n\n{_COT_REASONING_CUE['zh' if language == 'zh' else 'en']}"


def cot_chat_example(example: dict[str, Any], language: str) -> dict[str, Any]:
    """CoT for a chat model: the instruction is appended to the user turn, history unchanged."""
    out = dict(example)
    out["instruction"] = f"{example['instruction']}\n\n{COT_INSTRUCTION['zh' if language == 'zh' else 'en']}"
    return out


def base_stop_strings(language: str) -> list[str]:
    """Stops for plain prompts: the model starting a new section or speaker turn."""
    labels = _labels(language)
    return [f"\n{labels[k]}" for k in ("question", "user", "assistant", "context", "history")]


def cut_at_stops(text: str, stops: list[str]) -> str:
    """Text up to the first stop string (engines that lack server-side stops apply them here)."""
    cut = len(text)
    for stop in stops:
        k = text.find(stop)
        if k != -1:
            cut = min(cut, k)
    return text[:cut]


_JSON_OBJECT_RE = re.compile(r"\{[^{}]*\}", re.DOTALL)
_FINAL_MARKERS = ("final answer (json):", "final answer:", "最终答案（json）：", "最终答案：", "最终答案:", "答案：")


def extract_final_answer(text: str) -> tuple[str, str, bool]:
    """Split a CoT output into ``(final_answer, reasoning, found)``.

    The last JSON object with a ``final_answer`` (or ``answer``) string wins; otherwise the text after the last
    "Final answer:" marker; otherwise the whole output is the answer and ``found`` is False (counted in the
    generation summary, so a baseline that ignores the format is visible rather than silently scored).
    """
    for match in reversed(list(_JSON_OBJECT_RE.finditer(text))):
        try:
            obj = json.loads(match.group(0))
        except json.JSONDecodeError:
            continue
        if isinstance(obj, dict):
            answer = obj.get("final_answer", obj.get("answer"))
            if isinstance(answer, str):
                reasoning = obj.get("reasoning") if isinstance(obj.get("reasoning"), str) else text[: match.start()]
                return answer.strip(), _strip_markers(reasoning), True
    lowered = text.lower()
    # the marker ending last wins; of markers ending at the same place the longest ("最终答案：" over "答案：")
    hits = [(k + len(m), len(m), k) for m in _FINAL_MARKERS if (k := lowered.rfind(m)) != -1]
    if hits:
        end, _, start = max(hits)
        return text[end:].strip(), _strip_markers(text[:start]), True
    return text.strip(), "", False


def _strip_markers(reasoning: str) -> str:
    reasoning = reasoning.strip()
    for cue in ("Reasoning:", "推理：", "最终答案（JSON）：", "Final answer (JSON):"):
        reasoning = reasoning.removeprefix(cue).removesuffix(cue).strip()
    return reasoning


@dataclass
class BuiltPrompt:
    """Token ids of one prompt plus what had to be shortened to fit the context window."""

    ids: list[int]
    dropped_history_turns: int = 0
    context_truncated: bool = False
    question_truncated: bool = False

    @property
    def truncated(self) -> bool:
        return bool(self.dropped_history_turns or self.context_truncated or self.question_truncated)


class PromptBuilder:
    """Record → prompt token ids for one mode, fitted to ``max_prompt_tokens``.

    Over-long prompts lose the oldest history turns first, then the end of the context, and only then the
    start of the question — never the system prompt or the question's end (the reference cut the question or
    the system prompt). Each shortening is recorded on the output row.
    """

    def __init__(
        self,
        mode: str,
        tokenizer: Any,
        renderer: Any | None = None,
        max_prompt_tokens: int | None = None,
        profile: str = "none",
    ):
        if mode not in MODES:
            raise ConfigError(f"unknown mode {mode!r}; choose from {', '.join(MODES)}")
        if mode == "chat" and renderer is None:
            raise ConfigError("mode 'chat' needs a LLaMA-Factory template (--template or --recipe)")
        if profile != "none" and mode != "chat":
            raise ConfigError(f"--profile-prompt {profile} is a chat system prompt: it needs --mode chat")
        self.mode, self.tokenizer, self.renderer, self.max_prompt_tokens = mode, tokenizer, renderer, max_prompt_tokens
        self.profile = profile
        self.cot_chat = renderer is not None and mode == "cot"

    def stop_strings(self, language: str) -> list[str]:
        return base_stop_strings(language) if self.mode == "base" else []

    def _ids(self, example: dict[str, Any], language: str) -> list[int]:
        if self.mode == "chat":
            return self.renderer.prompt_ids(example)
        if self.mode == "cot" and self.cot_chat:
            return self.renderer.prompt_ids(cot_chat_example(example, language))
        text = plain_prompt(example, language) if self.mode == "base" else cot_plain_prompt(example, language)
        return list(self.tokenizer(text, add_special_tokens=True)["input_ids"])

    def build(self, record: dict) -> BuiltPrompt:
        """Prompt for ``record`` (reads only the prompt side: :func:`record_prompt` and the language)."""
        return self.build_from_example(record_prompt(record, self.profile), record["language"])

    def build_from_example(self, example: dict[str, Any], language: str) -> BuiltPrompt:
        example = {k: (list(v) if isinstance(v, list) else v) for k, v in example.items()}
        built = BuiltPrompt(self._ids(example, language))
        limit = self.max_prompt_tokens
        if limit is None or len(built.ids) <= limit:
            return built
        while len(built.ids) > limit and example.get("history"):
            example["history"] = example["history"][1:]
            built.dropped_history_turns += 1
            built.ids = self._ids(example, language)
        for field_name, keep_head in (("input", True), ("instruction", False)):
            if len(built.ids) <= limit or not example.get(field_name):
                continue
            tokens = self.tokenizer(example[field_name], add_special_tokens=False)["input_ids"]
            excess = len(built.ids) - limit
            keep = max(len(tokens) - excess - 2, 0)
            while True:
                kept = tokens[:keep] if keep_head else tokens[len(tokens) - keep :]
                example[field_name] = self.tokenizer.decode(kept) if keep else ""
                built.ids = self._ids(example, language)
                if len(built.ids) <= limit or keep == 0:
                    break
                keep = max(keep - max(len(built.ids) - limit, 1) - 2, 0)
            if field_name == "input":
                built.context_truncated = True
            else:
                built.question_truncated = True
        if len(built.ids) > limit:
            raise ConfigError(
                f"the prompt template alone needs {len(built.ids)} tokens > {limit}; raise --max-model-len"
            )
        return built
