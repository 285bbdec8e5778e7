"""OpenAI/vLLM frequency and presence penalties for transformers ``generate``.

transformers implements the (multiplicative, CTRL-style) repetition penalty but not the additive OpenAI
penalties of the paper's decoding defaults. vLLM applies them to the tokens *generated so far* (not the
prompt): ``logit[t] -= frequency_penalty · count(t) + presence_penalty · [count(t) > 0]``, before temperature
and top-p. transformers merges custom processors after its own penalties and before the temperature and
top-p warpers, so passing this one as ``logits_processor`` gives vLLM's order.
"""

from __future__ import annotations

import torch
from transformers import LogitsProcessor


class FrequencyPresencePenaltyLogitsProcessor(LogitsProcessor):
    """Subtract OpenAI-style frequency/presence penalties computed over the generated tokens."""

    def __init__(self, frequency_penalty: float, presence_penalty: float, prompt_length: int):
        self.frequency_penalty = float(frequency_penalty)
        self.presence_penalty = float(presence_penalty)
        self.prompt_length = int(prompt_length)  # batches are left-padded: generated tokens start here

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        generated = input_ids[:, self.prompt_length :]
        if generated.shape[1] == 0 or (self.frequency_penalty == 0 and self.presence_penalty == 0):
            return scores
        counts = torch.zeros_like(scores)
        counts.scatter_add_(1, generated, torch.ones_like(generated, dtype=scores.dtype))
        return scores - self.frequency_penalty * counts - self.presence_penalty * (counts > 0).to(scores.dtype)
