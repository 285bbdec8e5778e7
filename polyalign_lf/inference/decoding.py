"""Decoding settings (paper Appendix B/C defaults) and their translation to each engine."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


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

    def validate(self) -> "DecodingConfig":
        from polyalign_lf.errors import ConfigError

        if self.temperature < 0:
            raise ConfigError("--temperature must be ≥ 0")
        if not 0 < self.top_p <= 1:
            raise ConfigError("--top-p must be in (0, 1]")
        if self.repetition_penalty <= 0:
            raise ConfigError("--repetition-penalty must be > 0")
        if self.max_new_tokens < 1:
            raise ConfigError("--max-new-tokens must be ≥ 1")
        return self

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def openai_params(self) -> dict[str, Any]:
        """Body fields of an OpenAI-compatible ``/v1/completions`` request to ``vllm serve``.

        ``repetition_penalty``, ``top_k`` and ``min_p`` are vLLM extensions of the OpenAI schema. ``top_k`` and
        ``min_p`` are sent explicitly (disabled) because ``vllm serve`` otherwise takes them from the model's
        ``generation_config.json`` (Qwen2.5 ships top_k 20), which would silently change the decoding.
        """
        params: dict[str, Any] = {
            "max_tokens": self.max_new_tokens,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "frequency_penalty": self.frequency_penalty,
            "presence_penalty": self.presence_penalty,
            "repetition_penalty": self.repetition_penalty,
            "top_k": -1,
            "min_p": 0.0,
            "seed": self.seed,
            "n": 1,
        }
        if self.stop:
            params["stop"] = list(self.stop)
        return params
