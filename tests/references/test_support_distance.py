"""Eq. 4 against hand-computed numbers and a naive loop; Theorem 2 (i)–(iii) as property tests."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from polyalign_lf.references.support import support_distance, support_scale


def naive_distance(z, l, u, std, eps):
    """Independent scalar implementation of Eq. 4 over the finite features."""
    total, used = 0.0, 0
    for zj, lj, uj, sj in zip(z, l, u, std):
        if any(math.isnan(v) for v in (zj, lj, uj, sj)):
            continue
        s = max(uj - lj, sj, eps)
        total += (max(lj - zj, 0.0) + max(zj - uj, 0.0)) / s
        used += 1
    return total / used


def test_hand_computed():
    l, u, std = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 4.0]), np.array([0.5, 0.0, 3.0])
    s = support_scale(l, u, std, epsilon=0.1)
    assert s.tolist() == [1.0, 0.1, 3.0]
    # z: inside, 0.5 above a zero-width interval, 1 below
    z = np.array([0.5, 1.5, 1.0])
    assert support_distance(z, l, u, s) == pytest.approx((0 + 0.5 / 0.1 + 1.0 / 3.0) / 3)
    # NaN features leave J_b(z)
    z2 = np.array([np.nan, 1.5, 1.0])
    assert support_distance(z2, l, u, s) == pytest.approx((0.5 / 0.1 + 1.0 / 3.0) / 2)
    with pytest.raises(ValueError, match="empty"):
        support_distance(np.full(3, np.nan), l, u, s)
    with pytest.raises(ValueError):
        support_scale(l, u, std, epsilon=0.0)


finite = st.floats(-50, 50, allow_nan=False, width=32)


@st.composite
def problems(draw, d_max=6):
    d = draw(st.integers(1, d_max))
    a = np.array(draw(st.lists(finite, min_size=d, max_size=d)))
    b = np.array(draw(st.lists(finite, min_size=d, max_size=d)))
    std = np.array(draw(st.lists(st.floats(0, 10, width=32), min_size=d, max_size=d)))
    z = np.array(draw(st.lists(finite, min_size=d, max_size=d)))
    eps = draw(st.floats(1e-4, 1.0))
    return z, np.minimum(a, b), np.maximum(a, b), std, eps


@settings(max_examples=150, deadline=None)
@given(problems())
def test_matches_naive_and_theorem2_i_ii(problem):
    z, l, u, std, eps = problem
    s = support_scale(l, u, std, eps)
    D = float(support_distance(z, l, u, s))
    assert D == pytest.approx(naive_distance(z, l, u, std, eps), rel=1e-9, abs=1e-12)
    assert D >= 0  # (i)
    inside = bool(np.all((z >= l) & (z <= u)))
    assert (D == 0) == inside  # (ii)
    # (ii) the projection of z onto the box has distance exactly 0
    assert support_distance(np.clip(z, l, u), l, u, s) == 0


@settings(max_examples=150, deadline=None)
@given(problems(), st.lists(st.floats(-5, 5, width=32), min_size=6, max_size=6), st.floats(1e-3, 1.0))
def test_theorem2_iii_continuous_piecewise_linear(problem, direction, t):
    z, l, u, std, eps = problem
    s = support_scale(l, u, std, eps)
    h = np.array(direction[: len(z)])
    D = lambda x: float(support_distance(x, l, u, s))  # noqa: E731
    # Lipschitz (hence continuous): |D(z + t h) − D(z)| ≤ t · mean_j |h_j| / s_j
    assert abs(D(z + t * h) - D(z)) <= t * float(np.mean(np.abs(h) / s)) + 1e-9
    # Piecewise linear: along z + τh, D is affine between consecutive breakpoints τ where z_j + τ h_j ∈ {l_j, u_j}.
    with np.errstate(divide="ignore", invalid="ignore"):
        cuts = np.concatenate([(l - z) / h, (u - z) / h])
    cuts = np.sort(cuts[np.isfinite(cuts) & (cuts > 0)])
    hi = min(cuts[0], 1.0) if cuts.size else 1.0
    if hi > 1e-6:
        a, m, b = 0.0, hi / 2, hi
        assert D(z + m * h) == pytest.approx((D(z + a * h) + D(z + b * h)) / 2, rel=1e-7, abs=1e-7)


def test_batched_rows_equal_single_rows():
    rng = np.random.default_rng(0)
    Z, L = rng.normal(size=(20, 5)), rng.normal(size=(20, 5)) - 1
    U, S = L + rng.uniform(0, 2, size=(20, 5)), rng.uniform(0.1, 1, size=(20, 5))
    batched = support_distance(Z, L, U, S)
    for i in range(20):
        assert batched[i] == pytest.approx(float(support_distance(Z[i], L[i], U[i], S[i])))
