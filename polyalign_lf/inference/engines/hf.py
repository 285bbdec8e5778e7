"""Batched transformers generation (CPU, tests, small runs): left padding, device placement, Appendix-C decoding."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from polyalign_lf.core.batching import length_sorted_batches
from polyalign_lf.core.devices import resolve_device, resolve_dtype
from polyalign_lf.inference.decoding import DecodingConfig
from polyalign_lf.inference.engines import Completion


class HFEngine:
    """Wraps ``AutoModelForCausalLM.generate`` for lists of prompt token ids."""

    def __init__(
        self,
        model_path: str,
        tokenizer: Any,
        decoding: DecodingConfig,
        *,
        stop_token_ids: Sequence[int] = (),
        device: str | None = None,
        dtype: str = "auto",
        batch_size: int = 8,
    ):
        import torch
        from transformers import AutoModelForCausalLM

        self.device = resolve_device(device)
        torch_dtype = resolve_dtype(dtype, self.device)
        self.model = AutoModelForCausalLM.from_pretrained(model_path, dtype=torch_dtype).to(self.device).eval()
        self.tokenizer = tokenizer
        self.decoding = decoding
        self.batch_size = batch_size
        eos = set(stop_token_ids)
        if tokenizer.eos_token_id is not None:
            eos.add(tokenizer.eos_token_id)
        self.stop_token_ids = sorted(eos)
        self.pad_token_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else self.stop_token_ids[0]
        torch.manual_seed(decoding.seed)

    name = "hf"

    def generate(self, requests, on_done, on_fail) -> None:
        """:class:`~polyalign_lf.inference.engines.Engine`: length-sorted batches (less padding); stop strings are
        applied by the driver's post-processing, the stop tokens here."""
        requests = list(requests)
        for indices in length_sorted_batches([len(r.prompt_ids) for r in requests], self.batch_size):
            batch = [requests[k] for k in indices]
            for request, completion in zip(batch, self.generate_batch([r.prompt_ids for r in batch])):
                on_done(request.key, completion)

    def generate_batch(self, prompts: Sequence[Sequence[int]]) -> list[Completion]:
        """Generate for one batch; prompts are left-padded so every continuation starts at the same column."""
        import torch
        from transformers import LogitsProcessorList

        from polyalign_lf.inference.penalties import FrequencyPresencePenaltyLogitsProcessor

        width = max(len(p) for p in prompts)
        input_ids = torch.full((len(prompts), width), self.pad_token_id, dtype=torch.long)
        attention_mask = torch.zeros((len(prompts), width), dtype=torch.long)
        for row, ids in enumerate(prompts):
            input_ids[row, width - len(ids) :] = torch.tensor(list(ids), dtype=torch.long)
            attention_mask[row, width - len(ids) :] = 1
        d = self.decoding
        sampling = d.temperature > 0
        kwargs: dict[str, Any] = {
            "do_sample": sampling,
            "max_new_tokens": d.max_new_tokens,
            "repetition_penalty": d.repetition_penalty,
            "eos_token_id": self.stop_token_ids,
            "pad_token_id": self.pad_token_id,
        }
        if sampling:
            # top_k=0 / min_p=None disable the model's own generation_config defaults, as for the vLLM client
            kwargs.update(temperature=d.temperature, top_p=d.top_p, top_k=0, min_p=None)
        processors = LogitsProcessorList()
        if d.frequency_penalty or d.presence_penalty:
            processors.append(FrequencyPresencePenaltyLogitsProcessor(d.frequency_penalty, d.presence_penalty, width))
        with torch.inference_mode():
            output = self.model.generate(
                input_ids=input_ids.to(self.device),
                attention_mask=attention_mask.to(self.device),
                logits_processor=processors,
                **kwargs,
            )
        completions = []
        for row in range(len(prompts)):
            new = output[row, width:].tolist()
            stopped = next((k for k, tok in enumerate(new) if tok in self.stop_token_ids), None)
            tokens = new if stopped is None else new[:stopped]
            tokens = [t for t in tokens if t != self.pad_token_id]
            text = self.tokenizer.decode(tokens, skip_special_tokens=True)
            completions.append(
                Completion(
                    text=text, finish_reason="stop" if stopped is not None else "length", completion_tokens=len(tokens)
                )
            )
        return completions
