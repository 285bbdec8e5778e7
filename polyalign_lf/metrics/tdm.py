"""Turn Dynamics Match for multi-turn buckets (paper Appendix D, Eqs. 13–14).

Per prompt–response pair (x, y): response-length ratio r = |y| / max(|x|, 1), lexical accommodation
a = cos(tfidf(x), tfidf(y)) and semantic coupling c = cos(z_x, z_y), with z a truncated-SVD projection of
the TF-IDF vectors. Per bucket, each quantity's standardised W1 gap Δ^u = W1(u(G), u(H)) / max(Std u(H), ε),
the transition-operator gap Δ^tr (Eq. 13), and TDM(b) = mean of s(Δ) = 1/(1+Δ) over the four (Eq. 14).

Tokens are language-aware (:func:`~polyalign_lf.core.text.answer_tokens`; characters for Chinese — the
reference's ``\\b\\w+\\b`` pattern makes an unspaced Chinese sentence one token). The TF-IDF and
SVD spaces are fitted on prompts and *human* answers only, so every method is measured in the same space
and a method's outputs cannot move the yardstick.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import wasserstein_distance

from polyalign_lf.core.text import answer_tokens

DEFAULT_EPS = 1e-6
MAX_SVD_RANK = 64


def similarity(gap: float) -> float:
    """s(Δ) = 1 / (1 + Δ): a gap in [0, ∞) → a similarity in (0, 1]."""
    return 1.0 / (1.0 + gap)


def standardized_gap(generated: np.ndarray, human: np.ndarray, eps: float = DEFAULT_EPS) -> float:
    """Δ^u = W1(u(G), u(H)) / max(Std[u(H)], ε) (population std)."""
    return float(wasserstein_distance(generated, human) / max(float(np.std(human)), eps))


def transition_gap(prompts: np.ndarray, human: np.ndarray, generated: np.ndarray, eps: float = DEFAULT_EPS) -> float:
    """Eq. 13: ‖QᵀR^G/n − QᵀR^H/n‖_F / max(‖QᵀR^H/n‖_F, ε) on per-bucket centred latent matrices."""
    n = len(prompts)
    q = prompts - prompts.mean(axis=0)
    r_h = human - human.mean(axis=0)
    r_g = generated - generated.mean(axis=0)
    c_h = q.T @ r_h / n
    c_g = q.T @ r_g / n
    return float(np.linalg.norm(c_g - c_h) / max(float(np.linalg.norm(c_h)), eps))


def _row_cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    num = np.einsum("ij,ij->i", a, b)
    den = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    return np.divide(num, den, out=np.zeros_like(num), where=den > 0)


@dataclass
class TurnQuantities:
    """Per-example r, a, c for prompts with human and generated responses, plus the latent vectors."""

    ratio_human: np.ndarray
    ratio_generated: np.ndarray
    accommodation_human: np.ndarray
    accommodation_generated: np.ndarray
    coupling_human: np.ndarray
    coupling_generated: np.ndarray
    z_prompt: np.ndarray
    z_human: np.ndarray
    z_generated: np.ndarray


def turn_quantities(
    prompts: Sequence[str], human: Sequence[str], generated: Sequence[str], language: str, *, seed: int = 0
) -> TurnQuantities:
    """Compute r, a, c for every row (one language); fit TF-IDF + SVD on prompts and human answers."""
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer

    def analyzer(text: str) -> tuple[str, ...]:
        return answer_tokens(text, language)

    vectorizer = TfidfVectorizer(analyzer=analyzer, norm="l2")
    fit_matrix = vectorizer.fit_transform(list(prompts) + list(human))
    x = fit_matrix[: len(prompts)]
    y_h = fit_matrix[len(prompts) :]
    y_g = vectorizer.transform(list(generated))
    vocab = len(vectorizer.vocabulary_)
    rank = min(MAX_SVD_RANK, fit_matrix.shape[0] - 1, vocab - 1)
    if rank >= 2:
        svd = TruncatedSVD(n_components=rank, random_state=seed).fit(fit_matrix)
        z_x, z_h, z_g = svd.transform(x), svd.transform(y_h), svd.transform(y_g)
    else:  # too little text for a latent space: use the TF-IDF space itself
        z_x, z_h, z_g = (m.toarray() for m in (x, y_h, y_g))

    def lengths(texts: Sequence[str]) -> np.ndarray:
        return np.array([len(answer_tokens(t, language)) for t in texts], dtype=np.float64)

    len_x = np.maximum(lengths(prompts), 1.0)
    return TurnQuantities(
        ratio_human=lengths(human) / len_x,
        ratio_generated=lengths(generated) / len_x,
        # TF-IDF rows are L2-normalised, so the cosine is the dot product (0 for an empty text).
        accommodation_human=np.asarray(x.multiply(y_h).sum(axis=1)).ravel(),
        accommodation_generated=np.asarray(x.multiply(y_g).sum(axis=1)).ravel(),
        coupling_human=_row_cosine(z_x, z_h),
        coupling_generated=_row_cosine(z_x, z_g),
        z_prompt=z_x,
        z_human=z_h,
        z_generated=z_g,
    )


def bucket_tdm(q: TurnQuantities, rows: np.ndarray, eps: float = DEFAULT_EPS) -> dict[str, float]:
    """TDM(b) (Eq. 14) and its four gaps for the rows of one bucket."""
    gaps = {
        "ratio": standardized_gap(q.ratio_generated[rows], q.ratio_human[rows], eps),
        "accommodation": standardized_gap(q.accommodation_generated[rows], q.accommodation_human[rows], eps),
        "coupling": standardized_gap(q.coupling_generated[rows], q.coupling_human[rows], eps),
        "transition": transition_gap(q.z_prompt[rows], q.z_human[rows], q.z_generated[rows], eps),
    }
    tdm = float(np.mean([similarity(g) for g in gaps.values()]))
    return {"tdm": tdm, **{f"gap_{k}": v for k, v in gaps.items()}}
