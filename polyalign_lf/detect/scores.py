"""Zero-shot AI-text detector statistics from two causal LMs' logits (pure torch, batched, padding-aware).

Conventions: ``input_ids``/``attention_mask`` are ``[B, T]`` (right or left padded); logits are ``[B, T, V]``.
Position ``t`` of the logits predicts token ``t+1``; only positions whose target token is a real token count.

* **Binoculars** (Hans et al., 2024): ``B = log PPL_performer(x) / X-PPL(observer → performer)``, where
  ``log PPL`` is the performer's mean token negative log-likelihood and ``X-PPL`` is the mean cross-entropy
  ``−Σ_v p_obs(v) log p_perf(v)`` of the performer's next-token distribution under the observer's. Low ``B``
  means machine-like text. Positions as in the official implementation: ``log PPL`` averages the T−1
  next-token predictions of a T-token text, ``X-PPL`` all T positions (the last one's distribution included),
  each over real (non-padding) tokens only.
* **Fast-DetectGPT** (Bao et al., 2024), analytic sampling discrepancy: with the scoring model's log-probs
  ``ℓ_t(v)`` and the sampling model's probabilities ``q_t(v)``,
  ``d = (Σ_t ℓ_t(x_t) − Σ_t μ_t) / sqrt(Σ_t σ_t²)``, ``μ_t = Σ_v q_t(v) ℓ_t(v)``,
  ``σ_t² = Σ_v q_t(v) ℓ_t(v)² − μ_t²``. High ``d`` means machine-like text.
"""

from __future__ import annotations

import math

import torch


def _shifted(logits: torch.Tensor, input_ids: torch.Tensor, attention_mask: torch.Tensor):
    """Logits at positions 0..T-2, their target tokens 1..T-1, and a float mask of positions that count."""
    mask = (attention_mask[:, :-1] * attention_mask[:, 1:]).to(torch.float32)
    return logits[:, :-1, :].float(), input_ids[:, 1:], mask


def _truncate_vocab(*logits: torch.Tensor) -> list[torch.Tensor]:
    # Models of one family sometimes pad their output layer to different sizes; the extra rows are unused ids.
    vocab = min(x.shape[-1] for x in logits)
    return [x[..., :vocab] for x in logits]


def token_log_perplexity(logits: torch.Tensor, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Mean next-token negative log-likelihood per sequence (log-perplexity), shape ``[B]``."""
    shifted, targets, mask = _shifted(logits, input_ids, attention_mask)
    nll = -torch.log_softmax(shifted, dim=-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    return (nll * mask).sum(1) / mask.sum(1).clamp_min(1.0)


def cross_perplexity(
    observer_logits: torch.Tensor,
    performer_logits: torch.Tensor,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
) -> torch.Tensor:
    """Mean over all real-token positions of ``−Σ_v p_observer(v) log p_performer(v)``, shape ``[B]``.

    All T positions count, not only the T−1 that have a next token: that is how the official Binoculars
    computes X-PPL (its ``entropy`` averages over every non-padding position), and its published thresholds
    assume it. ``input_ids`` only fixes the shape here; the mask decides which positions count.
    """
    observer_logits, performer_logits = _truncate_vocab(observer_logits, performer_logits)
    mask = attention_mask.to(torch.float32)
    cross = -(
        torch.softmax(observer_logits.float(), dim=-1) * torch.log_softmax(performer_logits.float(), dim=-1)
    ).sum(-1)
    return (cross * mask).sum(1) / mask.sum(1).clamp_min(1.0)


def binoculars_score(
    observer_logits: torch.Tensor,
    performer_logits: torch.Tensor,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
) -> torch.Tensor:
    """Binoculars score per sequence: performer log-perplexity / observer→performer cross-perplexity."""
    observer_logits, performer_logits = _truncate_vocab(observer_logits, performer_logits)
    log_ppl = token_log_perplexity(performer_logits, input_ids, attention_mask)
    x_ppl = cross_perplexity(observer_logits, performer_logits, input_ids, attention_mask)
    return log_ppl / x_ppl


def fast_detectgpt_criterion(
    sampling_logits: torch.Tensor, scoring_logits: torch.Tensor, input_ids: torch.Tensor, attention_mask: torch.Tensor
) -> torch.Tensor:
    """Fast-DetectGPT analytic sampling discrepancy per sequence, shape ``[B]``."""
    sampling_logits, scoring_logits = _truncate_vocab(sampling_logits, scoring_logits)
    ref, targets, mask = _shifted(sampling_logits, input_ids, attention_mask)
    score, _, _ = _shifted(scoring_logits, input_ids, attention_mask)
    log_probs = torch.log_softmax(score, dim=-1)
    ref_probs = torch.softmax(ref, dim=-1)
    log_likelihood = log_probs.gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    mean_ref = (ref_probs * log_probs).sum(-1)
    var_ref = (ref_probs * log_probs.square()).sum(-1) - mean_ref.square()
    numerator = ((log_likelihood - mean_ref) * mask).sum(1)
    denominator = (var_ref.clamp_min(0.0) * mask).sum(1).sqrt().clamp_min(1e-12)
    return numerator / denominator


# Two-Gaussian classifier constants of the reference implementation (human: μ0, σ0; machine: μ1, σ1).
# They were fitted for another model pair: prefer --calibrate-fpr on human texts for yours.
FAST_DETECTGPT_GAUSSIANS = {"mu0": 0.1603, "sigma0": 1.0791, "mu1": 2.4686, "sigma1": 2.1582}
# Binoculars thresholds published for Falcon-7B / Falcon-7B-instruct (bfloat16): machine when score < threshold.
BINOCULARS_THRESHOLDS = {"low-fpr": 0.8536432310785527, "accuracy": 0.9015310749276843}


def fast_detectgpt_probability(criterion: float, mu0: float, sigma0: float, mu1: float, sigma1: float) -> float:
    """Posterior probability of 'machine' under equal priors and two Gaussian class-conditional densities."""

    def log_pdf(x: float, mu: float, sigma: float) -> float:
        return -0.5 * ((x - mu) / sigma) ** 2 - math.log(sigma)

    human, machine = log_pdf(criterion, mu0, sigma0), log_pdf(criterion, mu1, sigma1)
    return 1.0 / (1.0 + math.exp(human - machine)) if human - machine < 700 else 0.0
