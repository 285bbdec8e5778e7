"""NUF (Eqs. 15–16, hypervolume), Agg and TDM (Eqs. 13–14) against hand computation."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from polyalign_lf.metrics.nuf import aggregate_score, bucket_naturalness, hypervolume_2d, pareto_frontier
from polyalign_lf.metrics.tdm import bucket_tdm, similarity, standardized_gap, transition_gap, turn_quantities


def test_naturalness_eq15_eq16():
    assert bucket_naturalness(1.0, 0.8) == pytest.approx(np.sqrt(0.5 * 0.8))
    assert bucket_naturalness(1.0, 0.8, 0.5) == pytest.approx((0.5 * 0.8 * 0.5) ** (1 / 3))
    assert bucket_naturalness(0.0, 1.7) == pytest.approx(1.0)  # C-MAUVE clipped to 1


def test_pareto_frontier_and_hypervolume_hand_value():
    points = [(0.2, 0.9), (0.5, 0.6), (0.8, 0.3), (0.4, 0.4)]  # (0.4, 0.4) is dominated by (0.5, 0.6)
    assert pareto_frontier(points) == [0, 1, 2]
    assert hypervolume_2d(points) == pytest.approx(0.2 * 0.9 + 0.3 * 0.6 + 0.3 * 0.3)


def _union_area(points):
    """Independent check: area of the union of [0,u]×[0,n] on the grid of all coordinates."""
    us = sorted({0.0, *[p[0] for p in points]})
    ns = sorted({0.0, *[p[1] for p in points]})
    area = 0.0
    for (u0, u1), (n0, n1) in itertools.product(zip(us, us[1:]), zip(ns, ns[1:])):
        if any(u >= u1 and n >= n1 for u, n in points):
            area += (u1 - u0) * (n1 - n0)
    return area


def test_hypervolume_matches_union_of_rectangles():
    rng = np.random.default_rng(0)
    for _ in range(50):
        pts = [tuple(p) for p in rng.random((rng.integers(1, 12), 2)).round(2)]
        assert hypervolume_2d(pts) == pytest.approx(_union_area(pts))


def test_aggregate_geometric_mean():
    expected = (0.5 * (1 / (1 + 1.0)) * 0.8 * 0.45) ** 0.25
    assert aggregate_score(0.5, 1.0, 0.8, 0.45) == pytest.approx(expected)
    assert aggregate_score(0.0, 1.0, 0.8, 0.45) == 0.0


def test_tdm_gaps_hand_values():
    assert similarity(1.0) == 0.5
    # W1([1,2,3],[0,1,2]) = 1; population std of [0,1,2] = sqrt(2/3)
    assert standardized_gap(np.array([1.0, 2, 3]), np.array([0.0, 1, 2])) == pytest.approx(1 / np.sqrt(2 / 3))
    # Eq. 13 with one latent dimension: C_H = (1·1 + (−1)(−1))/2 = 1, C_G = 2 → Δ = |2 − 1| / 1
    q = np.array([[1.0], [-1.0]])
    assert transition_gap(q, np.array([[1.0], [-1.0]]), np.array([[2.0], [-2.0]])) == pytest.approx(1.0)


def test_tdm_is_one_when_generated_equals_human_and_lower_otherwise():
    prompts = [f"how was your day number {k} today" for k in range(25)]
    human = [f"it was fine thanks, day {k} went well" for k in range(25)]
    q = turn_quantities(prompts, human, human, "en")
    rows = np.arange(25)
    same = bucket_tdm(q, rows)
    assert same["tdm"] == pytest.approx(1.0)
    q2 = turn_quantities(prompts, human, ["ok"] * 25, "en")
    assert bucket_tdm(q2, rows)["tdm"] < 0.9


def test_tdm_chinese_lengths_are_characters():
    q = turn_quantities(["你好吗？"], ["我很好，谢谢"], ["好"], "zh")
    assert q.ratio_human[0] == pytest.approx(5 / 3)  # 我很好谢谢 (5) / 你好吗 (3)
    assert q.ratio_generated[0] == pytest.approx(1 / 3)
    assert q.accommodation_human[0] > 0  # 好 is shared at the character level
