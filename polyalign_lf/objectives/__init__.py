"""PolyAlign objectives in pure torch (no LLaMA-Factory): Bucket-SFT weights (Eq. 1), the HDPO loss
(Eqs. 6–10), how an optimizer step estimates them (one coefficient function used by the trainers) and
balanced bucket sampling."""

from polyalign_lf.objectives.losses import (
    hdpo_loss,
    hdpo_losses,
    hdpo_preference_probability,
    hdpo_regularizer,
    preference_margins,
    regularizer_active,
    sequence_log_probs,
    sigmoid_dpo_losses,
    token_log_probs,
    token_mean_losses,
)
from polyalign_lf.objectives.sampling import BucketBalancedSampler
from polyalign_lf.objectives.weighting import (
    bucket_counts,
    bucket_weights,
    check_weight,
    clip_weights,
    step_coefficients,
    step_global_share,
    trainer_share,
    weighted_mean,
)

__all__ = [
    "BucketBalancedSampler",
    "bucket_counts",
    "bucket_weights",
    "check_weight",
    "clip_weights",
    "hdpo_loss",
    "hdpo_losses",
    "hdpo_preference_probability",
    "hdpo_regularizer",
    "preference_margins",
    "regularizer_active",
    "sequence_log_probs",
    "sigmoid_dpo_losses",
    "step_coefficients",
    "step_global_share",
    "token_log_probs",
    "token_mean_losses",
    "trainer_share",
    "weighted_mean",
]
