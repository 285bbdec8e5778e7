"""MAUVE between human and generated answers, global and per bucket (paper Appendix D), via ``mauve-text``.

Two protocols (``polyalign evaluate --mauve-protocol``), recorded in the metrics file:

* ``polyalign`` (default): a configurable sentence encoder (:mod:`polyalign_lf.core.embeddings`; multilingual
  by default), texts truncated at 256 encoder tokens (1,024 for a GPT-2-style featurizer, mauve-text's
  default), at most 1,000 texts per bucket and 5,000 globally (both adjustable).
  Human and generated answers of a bucket answer the same prompts, so both sides are subsampled with the
  *same* row indices: the comparison is paired and its sampling noise smaller.
* ``reference``: MAUVE as the reference implementation computed Table 2 — a GPT-2-style featurizer (mauve-text's
  last-token features; the reference used GPT-2 small, for Chinese too), texts truncated at 256 tokens, at
  most 1,000 texts globally and per bucket, human and generated texts drawn *independently* (seed 42), and
  mauve-text's own k-means settings (seed 25, 500 iterations). On the same embeddings the sampling design alone
  moves MAUVE by more than Table 2's Full-SFT vs Bucket-SFT gaps, so only numbers of one protocol compare.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DEFAULT_MAX_TEXTS = 1000
MIN_TEXTS = 20
REFERENCE_FEATURIZER = "gpt2"


@dataclass(frozen=True)
class MauveProtocol:
    """How MAUVE texts are featurized and sampled (module doc)."""

    name: str
    max_text_tokens: int | None  # truncation in featurizer tokens (None: the featurizer's default, 256 / GPT-2 1,024)
    max_texts: int  # per bucket (C-MAUVE)
    global_max_texts: int  # G-MAUVE
    paired: bool  # the same row indices on both sides, or independent draws
    sample_seed: int | None  # None: the evaluation's --seed
    kmeans_seed: int | None  # None: the evaluation's --seed
    kmeans_num_redo: int
    kmeans_max_iter: int
    gpt2_featurizer: bool  # the featurizer must be GPT-2-style (last-token features)


MAUVE_PROTOCOLS = {
    # k-means converges well before mauve-text's 500 iterations: 100 only saves time
    "polyalign": MauveProtocol("polyalign", None, 1000, 5000, True, None, None, 5, 100, False),
    "reference": MauveProtocol("reference", 256, 1000, 1000, False, 42, 25, 5, 500, True),
}


def paired_sample(n: int, max_texts: int, seed: int) -> np.ndarray:
    """Row indices of a seeded subsample of size min(n, max_texts), in ascending order."""
    if n <= max_texts:
        return np.arange(n)
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n, size=max_texts, replace=False))


def independent_samples(n_human: int, n_generated: int, max_texts: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Two independent seeded subsamples of one size, min(n_human, n_generated, max_texts)."""
    size = min(n_human, n_generated, max_texts)
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n_human, size=size, replace=False)), np.sort(
        rng.choice(n_generated, size=size, replace=False)
    )


def mauve_between(
    human_features: np.ndarray,
    generated_features: np.ndarray,
    *,
    max_texts: int = DEFAULT_MAX_TEXTS,
    seed: int = 42,
    num_buckets: int | str = "auto",
    kmeans_num_redo: int = 5,
    kmeans_max_iter: int = 500,
    paired: bool = True,
    kmeans_seed: int | None = None,
) -> float:
    """MAUVE(H, G) on embedding matrices (P = human, Q = generated, as in mauve-text).

    ``paired``: the rows are aligned (row i of both answers prompt i) and one subsample of row indices is
    taken; otherwise human and generated rows are drawn independently. ``seed`` seeds the subsample,
    ``kmeans_seed`` (default ``seed``) mauve-text's k-means.
    """
    import mauve

    human_features = np.asarray(human_features, dtype=np.float32)
    generated_features = np.asarray(generated_features, dtype=np.float32)
    if (
        human_features.ndim != 2
        or generated_features.ndim != 2
        or human_features.shape[1] != generated_features.shape[1]
    ):
        raise ValueError(
            f"human and generated embeddings must be [n, d] with one d; got {human_features.shape} and "
            f"{generated_features.shape}"
        )
    if paired:
        if human_features.shape != generated_features.shape:
            raise ValueError(
                f"paired MAUVE needs row-aligned embeddings; got {human_features.shape} and {generated_features.shape}"
            )
        human_index = generated_index = paired_sample(len(human_features), max_texts, seed)
    else:
        human_index, generated_index = independent_samples(
            len(human_features), len(generated_features), max_texts, seed
        )
    result = mauve.compute_mauve(
        p_features=human_features[human_index],
        q_features=generated_features[generated_index],
        num_buckets=num_buckets,
        kmeans_num_redo=kmeans_num_redo,
        kmeans_max_iter=kmeans_max_iter,
        device_id=-1,
        verbose=False,
        seed=seed if kmeans_seed is None else kmeans_seed,
    )
    return float(result.mauve)
