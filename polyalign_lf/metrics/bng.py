"""Bucketed Naturalness Gap (paper §4.2 / Appendix D).

    BNG(b) = 1/|F_b| · Σ_{k ∈ F_b} W1(φ_k(G_b), φ_k(H_b)) / scale_{b,k}

The paper divides by max(σ_{b,k}, ε). The reference implementation shows why that is fragile:
a feature that is constant among a bucket's human answers gets σ ≈ 0 and one such feature dominates the
bucket (BNG 10²–10⁵), and heavy-tailed features inflate σ-free gaps. We therefore use a *robust human
scale*: the IQR/1.349 of the human values in the bucket (equal to σ for a normal distribution), falling
back to the bucket's std, then to the same two statistics over all human answers of the language, so a
feature that is constant inside one bucket is still measured in a meaningful unit. A feature that is
constant among all human answers (a configuration value, an unused indicator) carries no information
about naturalness and is left out of F_b; the exclusions are reported per bucket.

:func:`paper_bucket_bng` is the paper's formula as the reference implementation computed Table 2 — W1 / σ_{b,k},
σ the population std of the bucket's human values, on every feature, none dropped — for placing a result
beside Table 2 (``polyalign evaluate --bng-scale paper``). Where σ_{b,k} ≤ 1e-12 (a feature constant among the
bucket's human answers: a short-answer bucket's paragraph count, a list or code indicator that is always 0)
the reference divides by 1 instead, so that feature's gap is its W1 in the feature's own units. Dividing by
max(σ, ε) with a tiny ε, as the paper's text reads, turns any deviation on such a feature into gap / ε and one
feature then decides the bucket (BNG in the thousands on the reference's own test rows). The features given
unit scale are reported per bucket.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.stats import wasserstein_distance

# IQR of a standard normal distribution: dividing by it makes the robust scale comparable to σ.
IQR_TO_SIGMA = 1.3489795003921634
DEFAULT_EPS = 1e-6
# The reference implementation's rule for the paper scale: a human std at or below this is replaced by 1.
REFERENCE_STD_FLOOR = 1e-12
BNG_SCALES = ("robust", "paper")


def robust_scale(values: np.ndarray) -> np.ndarray:
    """Per-column robust scale of a [n, d] matrix: IQR/1.349, or the population std where the IQR is 0."""
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 2:
        raise ValueError("robust_scale expects a [n, d] matrix")
    if len(values) == 0:
        return np.zeros(values.shape[1])
    q75, q25 = np.percentile(values, [75, 25], axis=0)
    iqr_scale = (q75 - q25) / IQR_TO_SIGMA
    std = values.std(axis=0)
    return np.where(iqr_scale > 0, iqr_scale, std)


def wasserstein_columns(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-column 1-Wasserstein distance between the empirical distributions of ``a`` and ``b``.

    With equal sample sizes (the evaluation case: one prediction per held-out human answer) W1 is the mean
    absolute difference of the sorted samples, computed for all columns at once; otherwise scipy's
    ``wasserstein_distance`` is used column by column.
    """
    if a.shape[1] == 0:
        return np.zeros(0)
    if len(a) == len(b):
        return np.abs(np.sort(a, axis=0) - np.sort(b, axis=0)).mean(axis=0)
    return np.array([wasserstein_distance(a[:, k], b[:, k]) for k in range(a.shape[1])])


def feature_scales(human_bucket: np.ndarray, human_pool: np.ndarray | None = None) -> np.ndarray:
    """scale_{b,k}: the bucket's robust scale, backed off to the pooled human scale where it is 0."""
    scale = robust_scale(human_bucket)
    if human_pool is not None:
        pooled = robust_scale(human_pool)
        scale = np.where(scale > 0, scale, pooled)
    return scale


@dataclass
class BucketGap:
    """BNG of one bucket with the per-feature gaps it averages."""

    bng: float
    n_generated: int
    n_human: int
    n_features: int
    gaps: np.ndarray
    excluded_features: list[str] = field(default_factory=list)
    unit_scale_features: list[str] = field(default_factory=list)  # paper scale: σ ≤ floor, divided by 1


def bucket_bng(
    generated: np.ndarray,
    human: np.ndarray,
    *,
    scale: np.ndarray | None = None,
    feature_names: Sequence[str] | None = None,
    eps: float = DEFAULT_EPS,
) -> BucketGap:
    """BNG(b) for one bucket from its generated and human feature matrices (rows = responses).

    ``scale`` defaults to :func:`robust_scale` of ``human``; features whose scale is ≤ ``eps`` are left
    out of F_b (see the module docstring).
    """
    generated = np.asarray(generated, dtype=np.float64)
    human = np.asarray(human, dtype=np.float64)
    if generated.ndim != 2 or human.ndim != 2 or generated.shape[1] != human.shape[1]:
        raise ValueError(f"feature matrices must be [n, d] with the same d; got {generated.shape} and {human.shape}")
    if len(generated) == 0 or len(human) == 0:
        raise ValueError("BNG needs at least one generated and one human response")
    for name, matrix in (("generated", generated), ("human", human)):
        bad = ~np.isfinite(matrix).all(axis=0)
        if bad.any():
            names = feature_names or [f"feature {k}" for k in range(matrix.shape[1])]
            raise ValueError(
                f"{name} features contain NaN/inf in: {', '.join(names[k] for k in np.flatnonzero(bad)[:5])}"
            )
    scale = robust_scale(human) if scale is None else np.asarray(scale, dtype=np.float64)
    keep = scale > eps
    names = list(feature_names) if feature_names is not None else [str(k) for k in range(human.shape[1])]
    excluded = [names[k] for k in np.flatnonzero(~keep)]
    gaps = np.full(human.shape[1], np.nan)
    cols = np.flatnonzero(keep)
    gaps[cols] = wasserstein_columns(generated[:, cols], human[:, cols]) / scale[cols]
    n_features = int(keep.sum())
    value = float(np.nanmean(gaps)) if n_features else float("nan")
    return BucketGap(value, len(generated), len(human), n_features, gaps, excluded)


def paper_bucket_bng(
    generated: np.ndarray,
    human: np.ndarray,
    *,
    feature_names: Sequence[str] | None = None,
    std_floor: float = REFERENCE_STD_FLOOR,
) -> BucketGap:
    """BNG(b) as the reference computed Table 2: 1/|F| Σ_k W1(φ_k(G_b), φ_k(H_b)) / σ_{b,k} over every feature,
    σ_{b,k} the (population) std of feature k among the bucket's human answers, replaced by 1 where it is
    ≤ ``std_floor`` (those features are listed in ``unit_scale_features``)."""
    human = np.asarray(human, dtype=np.float64)
    scale = None
    unit = []
    if human.ndim == 2 and len(human):
        std = human.std(axis=0)
        constant = std <= std_floor
        scale = np.where(constant, 1.0, std)
        names = list(feature_names) if feature_names is not None else [str(k) for k in range(human.shape[1])]
        unit = [names[k] for k in np.flatnonzero(constant)]
    # every scale is > 0 (σ > floor or 1), so bucket_bng keeps every feature
    gap = bucket_bng(generated, human, scale=scale, feature_names=feature_names, eps=0.0)
    gap.unit_scale_features = unit
    return gap
