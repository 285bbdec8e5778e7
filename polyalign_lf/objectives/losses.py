"""Per-example losses of Bucket-SFT and HDPO (paper Eqs. 1, 6–10), as vectors.

No reduction happens here: the trainers combine these vectors with example weights in ONE place,
:func:`polyalign_lf.objectives.weighting.step_global_share`, so weights, regularizer and ftx stay
orthogonal and the normalization is defined once.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

IGNORE_INDEX = -100


def token_log_probs(logits: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-token log-probabilities of the next-token labels and their mask (causal shift, -100 ignored).

    Returns ``(logp [B, T], mask [B, T])``: position t scores label t+1; masked positions (and the last
    one) have logp 0. The labels are shifted, not the logits (as transformers' own loss does), so the
    [B, T, V] logits are never copied.
    """
    if logits.dtype != torch.float64:
        logits = logits.float()  # log-softmax in at least float32, whatever the compute dtype
    targets = F.pad(labels, (0, 1), value=IGNORE_INDEX)[:, 1:]
    mask = targets.ne(IGNORE_INDEX)
    safe = torch.where(mask, targets, torch.zeros_like(targets))
    # fused log-softmax + gather: no [B, T, V] log-prob tensor is kept
    logp = -F.cross_entropy(logits.reshape(-1, logits.size(-1)), safe.reshape(-1), reduction="none")
    logp = logp.view(safe.shape)
    return logp * mask, mask


def token_mean_losses(logits: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """ℓ_i = mean over the response tokens of example i of −log p(token) (the per-example token-normalized
    loss of Eq. 1) and the token counts n_i. Examples without a label token get ℓ_i = 0."""
    logp, mask = token_log_probs(logits, labels)
    counts = mask.sum(-1)
    losses = -logp.sum(-1) / counts.clamp_min(1).to(logp.dtype)
    return losses, counts


def sequence_log_probs(logits: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Summed log-probability log π(y|x) of each row's response tokens and the response lengths."""
    logp, mask = token_log_probs(logits, labels)
    return logp.sum(-1), mask.sum(-1)


def preference_margins(
    policy_chosen: torch.Tensor,
    policy_rejected: torch.Tensor,
    reference_chosen: torch.Tensor,
    reference_rejected: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(Δπ, Δref) of Eqs. 6 and 7 from summed sequence log-probabilities."""
    return policy_chosen - policy_rejected, reference_chosen - reference_rejected


def sigmoid_dpo_losses(
    policy_margin: torch.Tensor, reference_margin: torch.Tensor, beta: float, label_smoothing: float = 0.0
) -> torch.Tensor:
    """Sigmoid DPO (Eq. 8): ℓ_i = −log σ(β(Δπ − Δref)); with label smoothing ε (conservative DPO)
    ℓ_i = −(1−ε) log σ(βz) − ε log σ(−βz)."""
    z = beta * (policy_margin - reference_margin)
    losses = -F.logsigmoid(z)
    if label_smoothing:
        losses = (1.0 - label_smoothing) * losses - label_smoothing * F.logsigmoid(-z)
    return losses


def hdpo_preference_probability(policy_margin: torch.Tensor, beta: float) -> torch.Tensor:
    """p_θ = σ(β Δπ) (the policy's probability of preferring the chosen response, Eq. 9)."""
    return torch.sigmoid(beta * policy_margin)


def hdpo_regularizer(
    probability: torch.Tensor, chosen_scores: torch.Tensor, rejected_scores: torch.Tensor
) -> torch.Tensor:
    """R_i = p_θ s(y⁺) + (1 − p_θ) s(y⁻) (Eq. 9); scores are critic distances, lower = more human-like."""
    chosen_scores = chosen_scores.to(probability.dtype)
    rejected_scores = rejected_scores.to(probability.dtype)
    return probability * chosen_scores + (1.0 - probability) * rejected_scores


def hdpo_losses(
    policy_chosen: torch.Tensor,
    policy_rejected: torch.Tensor,
    reference_chosen: torch.Tensor,
    reference_rejected: torch.Tensor,
    chosen_scores: torch.Tensor,
    rejected_scores: torch.Tensor,
    *,
    beta: float,
    hdpo_lambda: float,
    label_smoothing: float = 0.0,
    probability_margin: torch.Tensor | None = None,
) -> dict[str, torch.Tensor]:
    """Per-pair HDPO terms (Eq. 10 before weighting): ``loss`` = ℓ_i + λ R_i, plus ``dpo``, ``regularizer``,
    ``probability``, ``policy_margin`` and ``reference_margin`` vectors.

    ``probability_margin`` replaces Δπ inside p_θ (options such as a length-normalized or
    reference-adjusted margin); the default is the paper's p_θ = σ(β Δπ).
    """
    policy_margin, reference_margin = preference_margins(
        policy_chosen, policy_rejected, reference_chosen, reference_rejected
    )
    dpo = sigmoid_dpo_losses(policy_margin, reference_margin, beta, label_smoothing)
    probability = hdpo_preference_probability(
        policy_margin if probability_margin is None else probability_margin, beta
    )
    regularizer = hdpo_regularizer(probability, chosen_scores, rejected_scores)
    return {
        "loss": dpo + hdpo_lambda * regularizer,
        "dpo": dpo,
        "regularizer": regularizer,
        "probability": probability,
        "policy_margin": policy_margin,
        "reference_margin": reference_margin,
    }


def hdpo_loss(
    policy_chosen: torch.Tensor,
    policy_rejected: torch.Tensor,
    reference_chosen: torch.Tensor,
    reference_rejected: torch.Tensor,
    chosen_scores: torch.Tensor,
    rejected_scores: torch.Tensor,
    weights: torch.Tensor | None = None,
    *,
    beta: float,
    hdpo_lambda: float,
) -> torch.Tensor:
    """The HDPO objective Σ w_i (ℓ_i + λ R_i) / Σ w_i over the given pairs (all pairs of one optimizer step),
    for tests and offline use; the trainer computes the same quantity across micro-batches and ranks."""
    from polyalign_lf.objectives.weighting import weighted_mean

    terms = hdpo_losses(
        policy_chosen,
        policy_rejected,
        reference_chosen,
        reference_rejected,
        chosen_scores,
        rejected_scores,
        beta=beta,
        hdpo_lambda=hdpo_lambda,
    )
    if weights is None:
        weights = torch.ones_like(terms["loss"])
    return weighted_mean(terms["loss"], weights)


# dR/d(βΔπ) = p(1−p)·(s⁺ − s⁻): below this factor the regularizer's gradient is negligible (p saturated).
REGULARIZER_ACTIVE_THRESHOLD = 1e-3


def regularizer_active(probability: torch.Tensor, threshold: float = REGULARIZER_ACTIVE_THRESHOLD) -> torch.Tensor:
    """Which pairs' regularizer still has a gradient: p(1−p) ≥ ``threshold``. On summed log-probs of long
    answers Δπ is large (≈ −130 at β = 0.1 gives p(1−p) ≈ 2·10⁻⁶) and R stops moving the policy."""
    return (probability * (1.0 - probability)) >= threshold
