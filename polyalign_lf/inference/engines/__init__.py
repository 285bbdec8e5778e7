"""Generation engines: ``hf`` (batched transformers ``generate``) and ``vllm`` (client of ``vllm serve``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Completion:
    """One generated continuation."""

    text: str
    finish_reason: str  # "stop" | "length"
    completion_tokens: int
