"""PolyAlign objectives in pure torch (no LLaMA-Factory): Bucket-SFT weights (Eq. 1), the HDPO loss
(Eqs. 6–10) and the one step-global weighted reduction used by the trainers."""

from polyalign_lf.objectives.losses import (
    hdpo_loss,
    hdpo_losses,
    hdpo_preference_probability,
    hdpo_regularizer,
    preference_margins,
    sequence_log_probs,
    sigmoid_dpo_losses,
    token_log_probs,
    token_mean_losses,
)
from polyalign_lf.objectives.weighting import (
    bucket_counts,
    bucket_weights,
    check_weight,
    clip_weights,
    step_global_share,
    weighted_mean,
)

__all__ = [
    "bucket_counts", "bucket_weights", "check_weight", "clip_weights", "hdpo_loss", "hdpo_losses",
    "hdpo_preference_probability", "hdpo_regularizer", "preference_margins", "sequence_log_probs",
    "sigmoid_dpo_losses", "step_global_share", "token_log_probs", "token_mean_losses", "weighted_mean",
]
