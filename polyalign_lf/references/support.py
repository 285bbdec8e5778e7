"""The bucket-support distance D_b(z) of Eq. 4 (paper §3.3) and its normalization scale.

    s_bj   = max(u_bj − l_bj, std_bj, ε)                                   (ε > 0)
    D_b(z) = 1/|J_b(z)| · Σ_{j ∈ J_b(z)} ([l_bj − z_j]₊ + [z_j − u_bj]₊) / s_bj

J_b(z) = the features present (finite) in the response and in the bucket's support and statistics.
Theorem 2: D_b ≥ 0; D_b = 0 iff every usable z_j ∈ [l_bj, u_bj]; D_b is continuous and piecewise linear.
"""

from __future__ import annotations

import numpy as np

DEFAULT_EPSILON = 0.01
"""ε of Eq. 4. Features are ratios in [0, 1] or log1p counts, so 0.01 is about one "unit of resolution";
it only binds for features that are constant inside a bucket (e.g. ``han_ratio`` = 0 for English answers),
where the reference's 1e-6 let one stray character dominate the whole distance."""


def support_scale(
    lower: np.ndarray, upper: np.ndarray, std: np.ndarray, epsilon: float = DEFAULT_EPSILON
) -> np.ndarray:
    """s_bj = max(u_bj − l_bj, std_bj, ε) (elementwise)."""
    if not epsilon > 0:
        raise ValueError(f"epsilon must be > 0, got {epsilon}")
    return np.maximum(
        np.maximum(np.asarray(upper, np.float64) - np.asarray(lower, np.float64), np.asarray(std, np.float64)), epsilon
    )


def support_distance(z: np.ndarray, lower: np.ndarray, upper: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """D_b(z) of Eq. 4 for each row of ``z`` ([n, d] or [d]); ``lower``/``upper``/``scale`` broadcast to ``z``.

    Entries that are NaN (in z or in the bucket's statistics) are outside J_b(z). A row with an empty
    J_b(z) has no defined distance and raises ``ValueError`` (Eq. 4 requires J_b(z) ≠ ∅).
    """
    z = np.asarray(z, np.float64)
    lower, upper, scale = (np.broadcast_to(np.asarray(a, np.float64), z.shape) for a in (lower, upper, scale))
    usable = np.isfinite(z) & np.isfinite(lower) & np.isfinite(upper) & np.isfinite(scale) & (scale > 0)
    with np.errstate(invalid="ignore"):
        below = np.where(usable, np.maximum(lower - z, 0.0), 0.0)
        above = np.where(usable, np.maximum(z - upper, 0.0), 0.0)
        per_feature = np.where(usable, (below + above) / np.where(usable, scale, 1.0), 0.0)
    n_usable = usable.sum(axis=-1)
    if np.any(n_usable == 0):
        raise ValueError(
            "J_b(z) is empty for some row: no feature is shared by the response and its bucket statistics"
        )
    return per_feature.sum(axis=-1) / n_usable
