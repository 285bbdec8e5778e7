"""Example weights of Bucket-SFT (Eq. 1) and how one optimizer step estimates the weighted objective.

The paper's objectives are dataset-level weighted means, Σ_i w_i x_i / Σ_i w_i over all N training examples.
A step sees m_step of them. :func:`step_coefficients` gives, for every example of a micro-batch, the
coefficient c_i with which its per-example loss x_i enters the step's loss Σ_{i∈step} c_i x_i:

* ``dataset`` (default): c_i = w_i / (m_step · w̄), w̄ the mean weight of the training set. Its expectation
  under uniform sampling is exactly the dataset objective, and over one epoch without replacement every
  example carries mass w_i / w̄ whatever the batch composition, so every bucket receives N/|B| (Theorem 1).
* ``step``: c_i = w_i / Σ_step w (self-normalized). A step holding one example of a rare bucket divides by
  that example's own large weight, so rare buckets receive less than their equal share.
* ``micro_batch``: the same per micro-batch (weights cancel at batch size 1).

Everything here is plain Python / torch with no LLaMA-Factory import, so the tests can check the math
against hand-computed numbers and against an independent naive implementation.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

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


# Plausible ranges: a finite value beyond these is a mistake (a unit error, a corrupted file), not a setting —
# a weight of 1e300 or a score of 1e300 overflows the loss long before it means anything.
MAX_WEIGHT = 1e6
MAX_ABS_SCORE = 1e6


def check_weight(value: float) -> str | None:
    """Why ``value`` is not a usable example weight (None when it is): weights are finite, in [0, 1e6]."""
    if isinstance(value, (bool, str)) or value is None:  # never coerced: "1.5" in a JSON file is a mistake
        return f"weight {value!r} is not a number"
    try:
        value = float(value)
    except (TypeError, ValueError):
        return f"weight {value!r} is not a number"
    if not math.isfinite(value):
        return f"weight {value!r} is not finite"
    if value < 0:
        return f"weight {value!r} is negative"
    if value > MAX_WEIGHT:
        return f"weight {value!r} is above {MAX_WEIGHT:g} (weights are relative: rescale them)"
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
    """This micro-batch's share of the self-normalized step loss Σ_step w_i x_i / Σ_step w_i (``step``),
    pre-scaled for the Trainer (see :func:`trainer_share`)."""
    coefficients = step_coefficients(weights, "step", step_weight_sum=step_weight_sum)
    return trainer_share(values, coefficients, num_micro_batches, world_size)


WEIGHT_NORMALIZATIONS = ("dataset", "step", "micro_batch")


def step_coefficients(
    weights: torch.Tensor,
    normalization: str,
    *,
    step_count: float | torch.Tensor | None = None,
    mean_weight: float | None = None,
    step_weight_sum: float | torch.Tensor | None = None,
    num_micro_batches: int = 1,
    world_size: int = 1,
) -> torch.Tensor:
    """c_i of this micro-batch's examples in the optimizer step's loss Σ_{i∈step} c_i x_i (see module doc).

    ``dataset`` needs ``step_count`` (m_step: examples in the step, all micro-batches and ranks) and
    ``mean_weight`` (w̄ over the training set); ``step`` needs ``step_weight_sum`` (Σ_step w, all
    micro-batches and ranks); ``micro_batch`` needs the step's micro-batch count and world size (the
    micro-batch means are averaged over both). A zero denominator gives zero coefficients.
    """
    weights = weights.to(torch.float64)
    if normalization == "dataset":
        if step_count is None or mean_weight is None:
            raise ValueError("dataset normalization needs step_count and mean_weight")
        denominator = torch.as_tensor(step_count, dtype=torch.float64, device=weights.device) * float(mean_weight)
    elif normalization == "step":
        if step_weight_sum is None:
            raise ValueError("step normalization needs step_weight_sum")
        denominator = torch.as_tensor(step_weight_sum, dtype=torch.float64, device=weights.device)
    elif normalization == "micro_batch":
        denominator = weights.sum() * (num_micro_batches * world_size)
    else:
        raise ValueError(f"unknown weight normalization {normalization!r}; expected one of {WEIGHT_NORMALIZATIONS}")
    return torch.where(
        denominator > 0, weights / denominator.clamp_min(torch.finfo(torch.float64).tiny), torch.zeros_like(weights)
    )


def trainer_share(values: torch.Tensor, coefficients: torch.Tensor, num_micro_batches: int, world_size: int):
    """This micro-batch's share Σ_mb c_i x_i of the step loss, pre-scaled for the HF Trainer.

    With ``model_accepts_loss_kwargs`` False the Trainer divides each micro-batch loss by the step's number
    of micro-batches, and DDP averages gradients over ranks. Multiplying by ``num_micro_batches *
    world_size`` undoes both, so the summed gradient and the logged loss are exactly Σ_{i∈step} c_i x_i —
    for any per-device batch size, gradient accumulation and world size.
    """
    return (coefficients.to(values.dtype) * values).sum() * (num_micro_batches * world_size)


def clipping_summary(before: Mapping[str, float], after: Mapping[str, float]) -> dict:
    """What gradient clipping did to the bucket mass of a run.

    ``before`` / ``after``: each bucket's summed example mass m_step · c_i over the run, without and with every
    step scaled by its clipping factor min(1, max_grad_norm / ‖g‖). A bucket's *share* is its fraction of the
    run's mass relative to that before clipping, (after_b / Σ after) / (before_b / Σ before): 1 when clipping
    scaled every bucket alike (which only changes the effective learning rate), < 1 when clipping took more
    from this bucket than from the others.
    """
    before = {bucket: mass for bucket, mass in before.items() if mass > 0}  # buckets this run never trained
    total_before = math.fsum(before.values())
    total_after = math.fsum(after.get(b, 0.0) for b in before)
    shares = {}
    for bucket, mass in before.items():
        if total_after > 0:
            shares[bucket] = (after.get(bucket, 0.0) / total_after) / (mass / total_before)
    removed = 1 - total_after / total_before if total_before > 0 else 0.0
    summary: dict = {"mass_before": dict(before), "mass_after": {b: after.get(b, 0.0) for b in before}}
    summary["share_after_clipping"] = shares
    summary["mass_removed"] = removed
    if shares:
        worst = min(shares, key=shares.get)
        summary["min_share"] = shares[worst]
        summary["min_share_bucket"] = worst
        summary["message"] = (
            f"gradient clipping removed {removed:.1%} of the bucket mass; the bucket it hit hardest, {worst}, kept "
            f"{shares[worst]:.3f} of its share (1 = clipping scaled every bucket alike)"
        )
    else:
        summary["message"] = "no bucket mass was recorded"
    return summary
