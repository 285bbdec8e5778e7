"""Generation engines behind one interface (as LLaMA-Factory's ``chat/base_engine.py``): ``hf`` (batched
transformers ``generate``) and ``vllm`` (client of a running ``vllm serve``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol


@dataclass
class Completion:
    """One generated continuation."""

    text: str
    finish_reason: str  # "stop" | "length"
    completion_tokens: int


@dataclass
class GenerationRequest:
    """One prompt to complete: its key (the record id), its token ids, and the strings that end it."""

    key: str
    prompt_ids: Sequence[int]
    stop: list[str] = field(default_factory=list)


class Engine(Protocol):
    """What the generation driver needs from an engine."""

    name: str

    def generate(
        self,
        requests: Sequence[GenerationRequest],
        on_done: Callable[[str, Completion], None],
        on_fail: Callable[[str, str], None],
    ) -> None:
        """Complete every request, reporting each result as it arrives (in any order) to ``on_done(key, completion)``
        or, for a request that could not be completed, ``on_fail(key, error)``; the driver writes them to the
        resumable predictions file as they come."""
