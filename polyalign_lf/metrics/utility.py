"""Task-utility metrics: exact match, normalised exact match, token F1 and ROUGE-L (paper §4.2).

Each metric is one function of (prediction, reference, language); :func:`utility_scores` applies all four
to aligned lists and returns per-example arrays, which the evaluator averages overall and per bucket.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from polyalign_lf.core.text import answer_tokens, f1_from_tokens, overlap_f1, token_f1  # noqa: F401  token_f1 is part of this module's API

UTILITY_METRICS: tuple[str, ...] = ("em", "nem", "f1", "rouge_l")


def exact_match(prediction: str, reference: str) -> float:
    """Raw EM: the strings are identical up to surrounding whitespace."""
    return float(prediction.strip() == reference.strip())


def normalized_exact_match(prediction: str, reference: str, language: str) -> float:
    """nEM: identical after SQuAD-style (en) or character-level (zh) normalisation."""
    return float(answer_tokens(prediction, language) == answer_tokens(reference, language))


def lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    """Length of the longest common subsequence (rapidfuzz's bit-parallel C++ implementation)."""
    from rapidfuzz.distance import LCSseq

    return int(LCSseq.similarity(a, b))


def _rouge_l_from_tokens(pred: Sequence[str], ref: Sequence[str]) -> float:
    return overlap_f1(lcs_length(pred, ref), len(pred), len(ref))


def rouge_l(prediction: str, reference: str, language: str) -> float:
    """ROUGE-L F1 (β = 1): LCS-based precision/recall over :func:`answer_tokens`."""
    return _rouge_l_from_tokens(answer_tokens(prediction, language), answer_tokens(reference, language))


def utility_scores(
    predictions: Sequence[str], references: Sequence[str], languages: Sequence[str]
) -> dict[str, np.ndarray]:
    """Per-example EM, nEM, F1 and ROUGE-L for aligned lists (tokenising each text once)."""
    if not (len(predictions) == len(references) == len(languages)):
        raise ValueError("predictions, references and languages must have the same length")
    n = len(predictions)
    out = {name: np.zeros(n, dtype=np.float64) for name in UTILITY_METRICS}
    for i, (pred, ref, lang) in enumerate(zip(predictions, references, languages)):
        pred_tokens, ref_tokens = answer_tokens(pred, lang), answer_tokens(ref, lang)
        out["em"][i] = exact_match(pred, ref)
        out["nem"][i] = float(pred_tokens == ref_tokens)
        out["f1"][i] = f1_from_tokens(pred_tokens, ref_tokens)
        out["rouge_l"][i] = _rouge_l_from_tokens(pred_tokens, ref_tokens)
    return out


def distinct_n(texts: Sequence[str], languages: Sequence[str] | str, n: int) -> float | None:
    """distinct-n: unique n-grams / all n-grams, pooled over the texts (None when there is no n-gram)."""
    if isinstance(languages, str):
        languages = [languages] * len(texts)
    seen: set = set()
    total = 0
    for text, lang in zip(texts, languages):
        tokens = answer_tokens(text, lang)
        if len(tokens) < n:
            continue
        seen.update(zip(*(tokens[k:] for k in range(n))))
        total += len(tokens) - n + 1
    return len(seen) / total if total else None
