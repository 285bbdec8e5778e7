"""Example weights of Bucket-SFT (Eq. 1) and their single, step-global normalization.

Everything here is plain Python / torch with no LLaMA-Factory import, so the tests can check the math
against hand-computed numbers and against an independent naive implementation.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Iterable, Mapping, Sequence

import torch


def bucket_counts(bucket_ids: Iterable[str]) -> dict[str, int]:
    """n_b: how many examples each bucket has (in first-seen order)."""
    return dict(Counter(bucket_ids))


def bucket_weights(bucket_ids: Sequence[str] | Mapping[str, int]) -> dict[str, float]:
    """Bucket-SFT weights w_b = N / (|B| n_b) (paper Eq. 1).

    ``bucket_ids`` is either the bucket id of every training example (the merged training set) or
    already-counted ``{bucket: n_b}``. Every bucket then carries the same total mass N/|B| (Eq. 3), so the
    weighted mean of per-example losses is the macro bucket risk (Theorem 1).
    """
    counts = dict(bucket_ids) if isinstance(bucket_ids, Mapping) else bucket_counts(bucket_ids)
    if not counts:
        return {}
    if any(int(n) <= 0 for n in counts.values()):
        raise ValueError(f"bucket counts must be positive, got {counts}")
    total = sum(int(n) for n in counts.values())
    num_buckets = len(counts)
    return {bucket: total / (num_buckets * int(n)) for bucket, n in counts.items()}


def clip_weights(weights: torch.Tensor | list[float], minimum: float | None = None, maximum: float | None = None):
    """Optional clipping of example weights to [minimum, maximum] (either bound may be None)."""
    if isinstance(weights, torch.Tensor):
        return weights.clamp(min=minimum, max=maximum)
    out = []
    for w in weights:
        if minimum is not None:
            w = max(w, minimum)
        if maximum is not None:
            w = min(w, maximum)
        out.append(w)
    return out


def check_weight(value: float) -> str | None:
    """Why ``value`` is not a usable example weight (None when it is): weights must be finite and >= 0."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        return f"weight {value!r} is not a number"
    if not math.isfinite(value):
        return f"weight {value!r} is not finite"
    if value < 0:
        return f"weight {value!r} is negative"
    return None


def weighted_mean(values: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Σ w_i x_i / Σ w_i over the given examples (0 when Σw = 0). Theorem 5: its gradient is
    Σ w_i ∇x_i / Σ w_i. Use it where all examples of the optimizer step are at hand."""
    weights = weights.to(values.dtype)
    total = weights.sum()
    numerator = (weights * values).sum()
    return torch.where(total > 0, numerator / total.clamp_min(torch.finfo(values.dtype).tiny), numerator * 0)


def step_global_share(
    values: torch.Tensor,
    weights: torch.Tensor,
    step_weight_sum: float | torch.Tensor,
    num_micro_batches: int,
    world_size: int,
) -> torch.Tensor:
    """This micro-batch's share of the step loss Σ_step w_i x_i / Σ_step w_i, pre-scaled for the Trainer.

    The HF Trainer divides each micro-batch loss by the number of micro-batches of the step (when
    ``model_accepts_loss_kwargs`` is False) and DDP averages gradients over ranks. Multiplying by
    ``num_micro_batches * world_size`` undoes both, so after the Trainer's own reductions the summed
    gradient and the logged loss are exactly those of the step-global weighted mean — for any per-device
    batch size, gradient accumulation and world size (the defect of per-micro-batch renormalization,
    where the weights cancel at batch size 1, cannot occur).
    """
    weights = weights.to(values.dtype)
    step_weight_sum = torch.as_tensor(step_weight_sum, dtype=values.dtype, device=values.device)
    numerator = (weights * values).sum() * (num_micro_batches * world_size)
    return torch.where(
        step_weight_sum > 0, numerator / step_weight_sum.clamp_min(torch.finfo(values.dtype).tiny), numerator * 0
    )
