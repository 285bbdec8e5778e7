"""BNG on explicit matrices, checked against hand computation and scipy."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import wasserstein_distance

from polyalign_lf.metrics.bng import IQR_TO_SIGMA, bucket_bng, feature_scales, robust_scale, wasserstein_columns


def test_wasserstein_columns_matches_scipy():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(50, 4)), rng.exponential(size=(50, 4))
    c = rng.normal(size=(37, 4))
    for x, y in ((a, b), (a, c)):
        expected = [wasserstein_distance(x[:, k], y[:, k]) for k in range(4)]
        assert wasserstein_columns(x, y) == pytest.approx(expected)


def test_robust_scale_iqr_and_std_fallback():
    x = np.array([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0], [3.0, 0.0], [4.0, 0.0], [5.0, 0.0], [6.0, 0.0], [7.0, 8.0]])
    scale = robust_scale(x)
    # column 0: numpy's linear percentiles q25 = 1.75, q75 = 5.25 → IQR 3.5
    assert scale[0] == pytest.approx(3.5 / IQR_TO_SIGMA)
    # column 1: IQR 0 → population std of seven 0s and one 8 = sqrt(mean((x-1)^2)) = sqrt((7*1 + 49)/8)
    assert scale[1] == pytest.approx(np.sqrt((7 * 1 + 49) / 8))


def test_bucket_bng_hand_value_and_constant_feature_excluded():
    human = np.array([[0.0, 1.0], [1.0, 1.0], [2.0, 1.0], [3.0, 1.0]])
    generated = np.array([[1.0, 5.0], [2.0, 5.0], [3.0, 5.0], [4.0, 5.0]])
    gap = bucket_bng(generated, human, feature_names=["length", "config_value"])
    # feature 0: W1 = 1 (a shift by one); IQR of 0..3 = 2.25 − 0.75 = 1.5
    assert gap.bng == pytest.approx(1.0 / (1.5 / IQR_TO_SIGMA))
    assert gap.n_features == 1 and gap.excluded_features == ["config_value"]


def test_pooled_scale_backs_off_a_bucket_constant_feature():
    human_bucket = np.array([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0], [3.0, 0.0]])
    pooled = np.array([[0.0, 0.0], [1.0, 0.0], [2.0, 1.0], [3.0, 1.0]])  # feature 1 varies across buckets
    scale = feature_scales(human_bucket, pooled)
    assert scale[0] == pytest.approx(1.5 / IQR_TO_SIGMA)
    assert scale[1] == pytest.approx(robust_scale(pooled)[1]) and scale[1] > 0
    generated = np.array([[0.0, 1.0], [1.0, 1.0], [2.0, 1.0], [3.0, 1.0]])  # feature 0 identical, feature 1 shifted
    gap = bucket_bng(generated, human_bucket, scale=scale)
    assert gap.n_features == 2
    assert gap.bng == pytest.approx((0.0 + 1.0 / scale[1]) / 2)


def test_identical_distributions_have_zero_gap_and_bad_values_are_rejected():
    rng = np.random.default_rng(1)
    h = rng.normal(size=(30, 5))
    assert bucket_bng(h[::-1].copy(), h).bng == pytest.approx(0.0)
    bad = h.copy()
    bad[3, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        bucket_bng(bad, h)


def _reference_bng_by_hand(generated, human):
    """Table 2's BNG as the reference computed it, with loops: mean_k W1(G_k, H_k) / σ_k, σ the population std,
    replaced by 1 where σ ≤ 1e-12."""
    gaps = []
    for k in range(human.shape[1]):
        column = human[:, k]
        mean = sum(column) / len(column)
        sigma = (sum((x - mean) ** 2 for x in column) / len(column)) ** 0.5
        gaps.append(wasserstein_distance(generated[:, k], column) / (sigma if sigma > 1e-12 else 1.0))
    return sum(gaps) / len(gaps)


def test_paper_scale_is_the_reference_rule_on_a_bucket_with_constant_features():
    from polyalign_lf.metrics.bng import paper_bucket_bng

    human = np.array([[1.0, 5.0, 2.0, 0.0], [2.0, 5.0, 4.0, 0.0], [3.0, 5.0, 9.0, 0.0], [6.0, 5.0, 1.0, 0.0]])
    generated = np.array([[2.0, 5.5, 2.0, 1.0], [2.0, 5.0, 3.0, 0.0], [4.0, 6.0, 8.0, 0.0], [9.0, 5.0, 0.0, 2.0]])
    gap = paper_bucket_bng(generated, human, feature_names=["a", "paragraphs", "c", "has_list"])
    assert gap.n_features == 4 and gap.excluded_features == []  # no feature dropped, the constant ones included
    assert gap.unit_scale_features == ["paragraphs", "has_list"]
    assert gap.bng == pytest.approx(_reference_bng_by_hand(generated, human), rel=1e-12)
    # features 1 and 3 are constant among the humans: divided by 1, their gap is the W1 in the feature's units
    assert gap.gaps[1] == pytest.approx(wasserstein_distance(generated[:, 1], human[:, 1]))
    assert gap.gaps[3] == pytest.approx(0.75)
    assert gap.bng < 10  # max(σ, 1e-6) would give (0.125 + 0.75) / 1e-6 / 4 ≈ 2.2e5 here
    robust = bucket_bng(generated, human)
    assert robust.n_features == 2 and robust.bng != pytest.approx(gap.bng)  # the default differs on purpose
