"""MAUVE between human and generated answers, global and per bucket (paper Appendix D), via ``mauve-text``.

Texts are featurised by a configurable encoder (:mod:`polyalign_lf.core.embeddings`; the reference
used English-only GPT-2 for Chinese too). Human and generated answers of a bucket answer the
same prompts, so they are subsampled with the *same* row indices: the comparison is paired and its
sampling noise smaller.
"""

from __future__ import annotations

import numpy as np

DEFAULT_MAX_TEXTS = 1000
MIN_TEXTS = 20


def paired_sample(n: int, max_texts: int, seed: int) -> np.ndarray:
    """Row indices of a seeded subsample of size min(n, max_texts), in ascending order."""
    if n <= max_texts:
        return np.arange(n)
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n, size=max_texts, replace=False))


def mauve_between(
    human_features: np.ndarray,
    generated_features: np.ndarray,
    *,
    max_texts: int = DEFAULT_MAX_TEXTS,
    seed: int = 42,
    num_buckets: int | str = "auto",
    kmeans_num_redo: int = 5,
    kmeans_max_iter: int = 500,
) -> float:
    """MAUVE(H, G) on row-aligned embedding matrices (P = human, Q = generated, as in mauve-text)."""
    import mauve

    human_features = np.asarray(human_features, dtype=np.float32)
    generated_features = np.asarray(generated_features, dtype=np.float32)
    if human_features.shape != generated_features.shape:
        raise ValueError(
            f"human and generated embeddings must be row-aligned; got {human_features.shape} and {generated_features.shape}"
        )
    index = paired_sample(len(human_features), max_texts, seed)
    result = mauve.compute_mauve(
        p_features=human_features[index],
        q_features=generated_features[index],
        num_buckets=num_buckets,
        kmeans_num_redo=kmeans_num_redo,
        kmeans_max_iter=kmeans_max_iter,
        device_id=-1,
        verbose=False,
        seed=seed,
    )
    return float(result.mauve)
