"""Optional LM features: bounded statistics of a causal LM's token log-probabilities for each response.

Any Hugging Face causal LM works (a base model is the usual choice). Texts are scored in batches on the
given device (CUDA in fp16/bf16 when available). Every value is bounded so no feature dominates a
support distance (the reference's perplexity reached e^50):

* ``lm_logprob_mean`` — mean token log-prob, clipped to [-LOGPROB_FLOOR, 0] and divided by LOGPROB_FLOOR
  (so in [-1, 0]);
* ``lm_logprob_std`` — std of token log-probs / LOGPROB_FLOOR, clipped to [0, 1];
* ``lm_logprob_p10`` — 10th percentile of token log-probs, scaled like the mean;
* ``lm_top1_rate`` — share of tokens that are the model's argmax prediction, in [0, 1];
* ``lm_entropy_mean`` — mean predictive entropy / log(vocab size), in [0, 1].

Unscored rows (empty text) get 0 in every column, which is documented and never confused with a
constant setting: there are no settings (max length, model name) inside the vector.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from polyalign_lf.core.batching import length_sorted_batches
from polyalign_lf.io import progress

LM_FEATURE_SCHEMA_VERSION = "pa-lm-1.0"
LM_FEATURE_NAMES: tuple[str, ...] = (
    "lm_logprob_mean",
    "lm_logprob_std",
    "lm_logprob_p10",
    "lm_top1_rate",
    "lm_entropy_mean",
)
LOGPROB_FLOOR = 20.0


def token_statistics(logprobs: np.ndarray, top1: np.ndarray, entropy: np.ndarray, vocab_size: int) -> list[float]:
    """The LM feature vector from one text's per-token log-probs, argmax hits and entropies (1-D arrays)."""
    if logprobs.size == 0:
        return [0.0] * len(LM_FEATURE_NAMES)
    lp = np.clip(logprobs.astype(np.float64), -LOGPROB_FLOOR, 0.0)
    return [
        float(lp.mean() / LOGPROB_FLOOR),
        float(min(lp.std() / LOGPROB_FLOOR, 1.0)),
        float(np.quantile(lp, 0.1) / LOGPROB_FLOOR),
        float(np.mean(top1)),
        float(min(np.mean(entropy) / math.log(max(vocab_size, 2)), 1.0)),
    ]


def extract_lm_features(
    texts: Sequence[str],
    model_name_or_path: str,
    *,
    batch_size: int = 16,
    max_length: int = 1024,
    device: str | None = None,
    show_progress: bool = False,
) -> np.ndarray:
    """``float32 [n, len(LM_FEATURE_NAMES)]`` LM statistics of ``texts`` under a causal LM (offline load)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from polyalign_lf.core.devices import resolve_device

    device = resolve_device(device)
    dtype = torch.bfloat16 if device.startswith("cuda") and torch.cuda.is_bf16_supported() else torch.float32
    tokenizer = AutoTokenizer.from_pretrained(model_name_or_path)
    model = AutoModelForCausalLM.from_pretrained(model_name_or_path, dtype=dtype).to(device).eval()
    vocab_size = int(model.config.vocab_size)
    bos = tokenizer.bos_token_id if tokenizer.bos_token_id is not None else tokenizer.eos_token_id
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else (bos or 0)

    texts = list(texts)
    out = np.zeros((len(texts), len(LM_FEATURE_NAMES)), dtype=np.float32)
    # Sort by length so a batch holds similar lengths (less padding); results go back to input order.
    encoded = [tokenizer(t or "", add_special_tokens=False)["input_ids"][: max_length - 1] for t in texts]
    batches = length_sorted_batches([len(e) for e in encoded], batch_size)
    if show_progress:
        batches = progress(batches, desc="lm features", unit="batch")
    with torch.no_grad():
        for batch in batches:
            seqs = [([bos] if bos is not None else []) + encoded[k] for k in batch]
            seqs = [s if s else [pad] for s in seqs]  # an empty text without BOS still gets one (unscored) token
            width = max(len(s) for s in seqs)
            ids = torch.full((len(seqs), width), pad, dtype=torch.long)
            mask = torch.zeros((len(seqs), width), dtype=torch.long)
            for r, s in enumerate(seqs):
                ids[r, : len(s)] = torch.tensor(s, dtype=torch.long)
                mask[r, : len(s)] = 1
            logits = model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits[:, :-1].float()
            logp = torch.log_softmax(logits, dim=-1)
            target = ids[:, 1:].to(device)
            tok_lp = logp.gather(-1, target.unsqueeze(-1)).squeeze(-1)
            top1 = (logits.argmax(-1) == target).float()
            ent = -(logp.exp() * logp).sum(-1)
            valid = mask[:, 1:].bool()
            for r, k in enumerate(batch):
                m = valid[r].cpu()
                out[k] = token_statistics(
                    tok_lp[r].cpu()[m].numpy(), top1[r].cpu()[m].numpy(), ent[r].cpu()[m].numpy(), vocab_size
                )
    return out
