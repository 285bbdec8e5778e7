"""Decoding settings (paper Appendix B/C defaults) and their translation to each engine."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from polyalign_lf.options import check_number


@dataclass
class DecodingConfig:
    """Appendix C: temperature 0.1, top-p 0.9, repetition penalty 1.1, frequency 0.1, presence 0.0."""

    temperature: float = 0.1
    top_p: float = 0.9
    repetition_penalty: float = 1.1
    frequency_penalty: float = 0.1
    presence_penalty: float = 0.0
    max_new_tokens: int = 256
    seed: int = 42
    stop: list[str] = field(default_factory=list)

    def validate(self) -> DecodingConfig:

        check_number("temperature", self.temperature, 0.0)
        check_number("top_p", self.top_p, 0.0, 1.0, above=True)
        check_number("repetition_penalty", self.repetition_penalty, 0.0, above=True)
        check_number("frequency_penalty", self.frequency_penalty, -2.0, 2.0)
        check_number("presence_penalty", self.presence_penalty, -2.0, 2.0)
        check_number("max_new_tokens", self.max_new_tokens, 1, integer=True)
        check_number("seed", self.seed, integer=True)
        return self

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def openai_params(self) -> dict[str, Any]:
        """Body fields of an OpenAI-compatible ``/v1/completions`` request to ``vllm serve``.

        ``repetition_penalty``, ``top_k`` and ``min_p`` are vLLM extensions of the OpenAI schema. ``top_k`` and
        ``min_p`` are sent explicitly (disabled: ``top_k`` 0, vLLM's spelling of "off" since -1 was deprecated)
        because ``vllm serve`` otherwise takes them from the model's ``generation_config.json`` (Qwen2.5 ships
        top_k 20), which would silently change the decoding.
        """
        params: dict[str, Any] = {
            "max_tokens": self.max_new_tokens,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "frequency_penalty": self.frequency_penalty,
            "presence_penalty": self.presence_penalty,
            "repetition_penalty": self.repetition_penalty,
            "top_k": 0,
            "min_p": 0.0,
            "seed": self.seed,
            "n": 1,
        }
        if self.stop:
            params["stop"] = list(self.stop)
        return params
