"""Report figures (matplotlib, Agg backend, no display needed): per-bucket BNG, the NUF frontier per method,
and answer-embedding shifts against the human answers (paper Figure 4 style)."""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from polyalign_lf.report.tables import Run

HUMAN_COLOR = "#8a8f98"


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    plt.rcParams.update(
        {
            "figure.dpi": 110,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.grid": True,
            "grid.alpha": 0.3,
            "font.size": 9,
        }
    )
    return plt


def _save(plt, fig, path: Path) -> Path:
    """Lay out, write and close a figure; returns ``path``."""
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def _legend_outside(ax) -> None:
    """The legend to the right of the axes, outside the plotted area."""
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)


def method_colors(names: Sequence[str]) -> dict[str, Any]:
    plt = _pyplot()
    cmap = plt.get_cmap("tab10")
    return {name: cmap(k % 10) for k, name in enumerate(names)}


def plot_bng_by_bucket(runs: Sequence[Run], path: Path) -> Path | None:
    """Heat map of BNG per bucket (rows) and method (columns), values written in the cells.

    Lower is closer to the human answers. The colour scale is logarithmic when values span more than two
    orders of magnitude (BNG of a drifting model can be 10³× that of a good one), so both ends stay readable.
    """
    from matplotlib.colors import LogNorm, Normalize

    buckets = sorted({b for r in runs for b in ((r.metrics.get("bng") or {}).get("by_bucket") or {})})
    if not buckets:
        return None
    plt = _pyplot()
    grid = np.full((len(buckets), len(runs)), np.nan)
    for j, run in enumerate(runs):
        by_bucket = (run.metrics.get("bng") or {}).get("by_bucket") or {}
        for i, bucket in enumerate(buckets):
            entry = by_bucket.get(bucket)
            value = entry.get("bng") if isinstance(entry, Mapping) else entry
            if isinstance(value, (int, float)):
                grid[i, j] = value
    finite = grid[np.isfinite(grid)]
    positive = finite[finite > 0]
    if positive.size and positive.max() / positive.min() > 100:
        norm = LogNorm(vmin=positive.min(), vmax=positive.max())
    else:
        norm = Normalize(vmin=0.0, vmax=float(finite.max()) if finite.size else 1.0)
    fig, ax = plt.subplots(figsize=(1.2 * len(runs) + 3.2, 0.42 * len(buckets) + 1.6))
    masked = np.ma.masked_invalid(np.where(grid > 0, grid, np.nan) if isinstance(norm, LogNorm) else grid)
    image = ax.imshow(masked, cmap="RdYlGn_r", norm=norm, aspect="auto")
    ax.grid(False)
    for i in range(len(buckets)):
        for j in range(len(runs)):
            value = grid[i, j]
            text = "–" if not np.isfinite(value) else (f"{value:.3g}" if value < 1000 else f"{value:.0f}")
            ax.text(j, i, text, ha="center", va="center", fontsize=8, color="black")
    ax.set_xticks(range(len(runs)), [r.name for r in runs], rotation=30, ha="right")
    ax.set_yticks(range(len(buckets)), buckets)
    fig.colorbar(image, ax=ax, fraction=0.04, pad=0.02, label="BNG (lower = closer to human)")
    ax.set_title("Bucketed Naturalness Gap per bucket (– = bucket skipped)")
    return _save(plt, fig, path)


def frontier_steps(points: Sequence[tuple[float, float]]) -> tuple[list[float], list[float]]:
    """The staircase outline of the region dominated by ``points`` (the area NUF-HV measures)."""
    from polyalign_lf.metrics.nuf import pareto_frontier

    frontier = [points[i] for i in pareto_frontier(points)]  # utility ascending, naturalness descending
    if not frontier:
        return [], []
    # Walk from (0, n_first) right to u_first, then down to the next point's n, and so on down to 0.
    stair_x, stair_y = [0.0], [frontier[0][1]]
    for k, (u, n) in enumerate(frontier):
        stair_x.append(u)
        stair_y.append(n)
        next_n = frontier[k + 1][1] if k + 1 < len(frontier) else 0.0
        stair_x.append(u)
        stair_y.append(next_n)
    return stair_x, stair_y


def plot_nuf_frontier(runs: Sequence[Run], path: Path) -> Path | None:
    """Per-bucket (utility, naturalness) points and each method's Pareto frontier (NUF, Eqs. 15–16)."""
    plt = _pyplot()
    colors = method_colors([r.name for r in runs])
    fig, ax = plt.subplots(figsize=(8.2, 5.2))
    drawn = False
    for run in runs:
        nuf = run.metrics.get("nuf") or {}
        points = [
            (p["utility"], p["naturalness"])
            for p in nuf.get("points") or []
            if isinstance(p.get("utility"), (int, float)) and isinstance(p.get("naturalness"), (int, float))
        ]
        if not points:
            continue
        drawn = True
        hv = nuf.get("hypervolume")
        label = f"{run.name} (HV {hv:.3f})" if isinstance(hv, (int, float)) else run.name
        ax.scatter(*zip(*points), s=22, color=colors[run.name], alpha=0.55, edgecolors="none")
        sx, sy = frontier_steps(points)
        ax.plot(sx, sy, color=colors[run.name], lw=1.8, label=label)
    if not drawn:
        plt.close(fig)
        return None
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("utility  u_b = clip(F1_b)")
    ax.set_ylabel("naturalness  n_b")
    ax.set_title("Naturalness–Utility Frontier (dots = buckets)")
    _legend_outside(ax)
    return _save(plt, fig, path)


def project_2d(matrix: np.ndarray, method: str = "auto", seed: int = 0) -> tuple[np.ndarray, str]:
    """2-D projection: UMAP when requested/installed (``auto``), else PCA."""
    if method in ("auto", "umap"):
        try:
            import umap  # noqa: F401  (optional dependency)
        except ImportError:
            if method == "umap":
                from polyalign_lf.errors import ConfigError

                raise ConfigError("--projection umap needs the umap-learn package (pip install umap-learn)") from None
        else:
            reducer = umap.UMAP(n_neighbors=min(30, len(matrix) - 1), min_dist=0.08, random_state=seed)
            return reducer.fit_transform(matrix), "UMAP"
    from sklearn.decomposition import PCA

    return PCA(n_components=2, random_state=seed).fit_transform(matrix), "PCA"


def embedding_shift_data(
    records: Sequence[dict],
    predictions: Mapping[str, Mapping[str, str]],
    embed: Callable[[list[str]], np.ndarray],
    sample: int = 400,
    seed: int = 0,
    projection: str = "auto",
) -> dict[str, Any]:
    """Embed a common sample of human answers and each method's answers; one shared 2-D projection.

    Returns per method the projected points, the paired human points (same record) and the cosine distance
    between the method's and the human answers' centroids in the full embedding space.
    """
    ids = [r["id"] for r in records if all(r["id"] in p for p in predictions.values())]
    rng = random.Random(seed)
    ids = sorted(rng.sample(ids, min(sample, len(ids))), key=ids.index)
    by_id = {r["id"]: r for r in records}
    texts = [by_id[i]["human_answer"] for i in ids]
    for method in predictions:
        texts += [predictions[method][i] for i in ids]
    vectors = np.asarray(embed(texts), dtype=np.float64)
    coords, used = project_2d(vectors, projection, seed)
    n = len(ids)
    human_vec, human_xy = vectors[:n], coords[:n]
    result: dict[str, Any] = {"projection": used, "n": n, "human": human_xy, "methods": {}}
    human_centroid = human_vec.mean(0)
    for k, method in enumerate(predictions):
        block = slice(n * (k + 1), n * (k + 2))
        centroid = vectors[block].mean(0)
        cosine = float(centroid @ human_centroid / (np.linalg.norm(centroid) * np.linalg.norm(human_centroid) + 1e-12))
        result["methods"][method] = {
            "xy": coords[block],
            "centroid_cosine_distance": 1.0 - cosine,
            "mean_pair_cosine_distance": float(
                np.mean(
                    1.0
                    - np.sum(vectors[block] * human_vec, 1)
                    / (np.linalg.norm(vectors[block], axis=1) * np.linalg.norm(human_vec, axis=1) + 1e-12)
                )
            ),
        }
    return result


def plot_embedding_shifts(data: Mapping[str, Any], path: Path, max_lines: int = 150) -> Path:
    """One panel per method: human vs method answers, centroids as stars, grey lines joining paired answers."""
    plt = _pyplot()
    methods = list(data["methods"])
    colors = method_colors(methods)
    cols = min(3, len(methods))
    rows = -(-len(methods) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.3 * cols, 4.0 * rows), squeeze=False, sharex=True, sharey=True)
    human = data["human"]
    for ax in axes.flat[len(methods) :]:
        ax.set_visible(False)
    for ax, method in zip(axes.flat, methods):
        xy = data["methods"][method]["xy"]
        for i in range(min(max_lines, len(xy))):
            ax.plot([human[i, 0], xy[i, 0]], [human[i, 1], xy[i, 1]], color="#c9ccd2", lw=0.5, zorder=1)
        ax.scatter(human[:, 0], human[:, 1], s=9, color=HUMAN_COLOR, alpha=0.6, label="human", zorder=2)
        ax.scatter(xy[:, 0], xy[:, 1], s=9, color=colors[method], alpha=0.6, label=method, zorder=3)
        hc, mc = human.mean(0), xy.mean(0)
        ax.scatter(*hc, marker="*", s=260, color=HUMAN_COLOR, edgecolors="black", linewidths=0.8, zorder=5)
        ax.scatter(*mc, marker="*", s=260, color=colors[method], edgecolors="black", linewidths=0.8, zorder=5)
        distance = data["methods"][method]["centroid_cosine_distance"]
        ax.set_title(f"{method} vs human — centroid cos. dist. {distance:.3f}", fontsize=9)
        ax.legend(loc="best", fontsize=7, frameon=False, markerscale=1.5)
    fig.suptitle(f"Answer-embedding shifts ({data['projection']}, n = {data['n']} paired answers; stars = centroids)")
    return _save(plt, fig, path)


def plot_quality_humanlikeness(methods: Mapping[str, Mapping[str, Any]], path: Path) -> Path | None:
    """Paper Figure 3 style: per method, benchmark quality (Agg), detector human-likeness H and Joint/100."""
    rows = [(m, e.get("agg"), e.get("h", e.get("H")), e.get("joint")) for m, e in methods.items() if m != "human"]
    rows = [r for r in rows if r[2] is not None]
    if not rows:
        return None
    # H over fewer than the paper's three detectors carries its label, e.g. "H(2: binoculars, fast_detectgpt)"
    h_name = next((e.get("h_label") for e in methods.values() if e.get("h_label")), "H")
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(max(5.0, 1.3 * len(rows) + 2.5), 3.8))
    x = np.arange(len(rows))
    width = 0.26
    series = (
        ("Agg (quality)", 1, "#4c72b0"),
        (f"{h_name} (1 − mean AI rate)", 2, "#55a868"),
        ("Joint / 100" if h_name == "H" else f"Joint[{h_name}] / 100", 3, "#c44e52"),
    )
    for k, (label, index, color) in enumerate(series):
        values = [np.nan if r[index] is None else (r[index] / 100 if index == 3 else r[index]) for r in rows]
        ax.bar(x + (k - 1) * width, values, width * 0.95, label=label, color=color)
    ax.set_xticks(x, [r[0] for r in rows], rotation=20, ha="right")
    ax.set_ylim(0, 1)
    ax.set_title("Benchmark quality and detector human-likeness")
    _legend_outside(ax)
    return _save(plt, fig, path)
