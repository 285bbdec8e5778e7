"""Decoding settings (paper Appendix B/C defaults) and their translation to each engine."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import polyalign_lf.options as opt
from polyalign_lf.options import check_number, check_options, option

GROUP = "decoding (defaults: paper Appendix C)"


@dataclass
class DecodingConfig:
    """Appendix C: temperature 0.1, top-p 0.9, repetition penalty 1.1, frequency 0.1, presence 0.0."""

    temperature: float = option(0.1, type=opt.non_negative, group=GROUP, help="sampling temperature (0 = greedy)")
    top_p: float = option(
        0.9, type=opt.number(0.0, 1.0, above=True), group=GROUP, help="nucleus sampling mass, in (0, 1]"
    )
    repetition_penalty: float = option(
        1.1, type=opt.positive, group=GROUP, help="HF-style repetition penalty (> 0; 1 = off)"
    )
    frequency_penalty: float = option(
        0.1, type=opt.number(-2.0, 2.0), group=GROUP, help="OpenAI-style frequency penalty, in [-2, 2]"
    )
    presence_penalty: float = option(
        0.0, type=opt.number(-2.0, 2.0), group=GROUP, help="OpenAI-style presence penalty, in [-2, 2]"
    )
    # not a command option: `generate --max-new-tokens` defaults by mode (GenerateJob.max_new_tokens)
    max_new_tokens: int = 256
    seed: int = option(42, type=opt.integer(), group=GROUP, help="sampling seed")
    stop: list[str] = field(default_factory=list)

    def validate(self) -> DecodingConfig:
        check_options(self)
        check_number("max_new_tokens", self.max_new_tokens, 1, integer=True)
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
