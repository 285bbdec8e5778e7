"""Naturalness–Utility Frontier (paper Appendix D, Eqs. 15–16) and its hypervolume.

Each bucket b becomes a point (u_b, n_b): u_b = clip(F1_b, 0, 1) and n_b the bounded geometric mean of
1/(1+BNG(b)), clip(C-MAUVE_b) and, for multi-turn buckets with a TDM value, clip(TDM_b). NUF-HV is the
area dominated by the Pareto frontier of those points relative to the reference point (0, 0).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def clip01(value: float) -> float:
    return float(min(max(value, 0.0), 1.0))


def bng_similarity(bng: float) -> float:
    """B̃NG = 1 / (1 + BNG), BNG ≥ 0."""
    return 1.0 / (1.0 + max(float(bng), 0.0))


def bucket_naturalness(bng: float, c_mauve: float, tdm: float | None = None) -> float:
    """n_b (Eq. 15) or, with a TDM value, n_b^mt (Eq. 16)."""
    parts = [bng_similarity(bng), clip01(c_mauve)]
    if tdm is not None:
        parts.append(clip01(tdm))
    return float(np.prod(parts) ** (1.0 / len(parts)))


def pareto_frontier(points: Sequence[tuple[float, float]]) -> list[int]:
    """Indices of the non-dominated points (maximising both coordinates), sorted by utility ascending.

    A point is dominated when another is ≥ in both coordinates and > in one; of exact duplicates one is kept.
    """
    order = sorted(range(len(points)), key=lambda i: (-points[i][0], -points[i][1]))
    frontier: list[int] = []
    best_n = -np.inf
    for i in order:  # utility descending: a point survives if it beats every higher-utility point on n
        if points[i][1] > best_n:
            frontier.append(i)
            best_n = points[i][1]
    return frontier[::-1]


def hypervolume_2d(points: Sequence[tuple[float, float]], reference: tuple[float, float] = (0.0, 0.0)) -> float:
    """Area of ∪_p [ref_u, u_p] × [ref_n, n_p] — the hypervolume dominated by the points."""
    pts = [(u - reference[0], n - reference[1]) for u, n in points if u > reference[0] and n > reference[1]]
    if not pts:
        return 0.0
    frontier = pareto_frontier(pts)  # utility ascending, naturalness descending
    area, previous_u = 0.0, 0.0
    for i in frontier:
        u, n = pts[i]
        area += (u - previous_u) * n
        previous_u = u
    return float(area)


def geometric_mean(values: Sequence[float]) -> float:
    """Geometric mean of non-negative values (0 when any value is 0)."""
    arr = np.asarray(values, dtype=np.float64)
    if (arr < 0).any():
        raise ValueError("geometric mean of negative values")
    if (arr == 0).any():
        return 0.0
    return float(np.exp(np.log(arr).mean()))


def aggregate_score(f1: float, bng_macro: float, g_mauve: float, nuf_hv: float) -> float:
    """Agg = geometric mean of clip(F1), 1/(1+BNG-macro), clip(G-MAUVE), clip(NUF-HV) (paper Table 2)."""
    return geometric_mean([clip01(f1), bng_similarity(bng_macro), clip01(g_mauve), clip01(nuf_hv)])
