"""Utility metrics against hand-computed values in English and Chinese."""

from __future__ import annotations

import random

import pytest

from polyalign_lf.core.text import answer_tokens, normalize_answer
from polyalign_lf.metrics.utility import (
    distinct_n,
    exact_match,
    lcs_length,
    normalized_exact_match,
    rouge_l,
    token_f1,
    utility_scores,
)


def test_english_squad_normalisation():
    assert answer_tokens("The Eiffel Tower, in Paris!", "en") == ("eiffel", "tower", "in", "paris")
    assert normalize_answer("  A cat sat on a mat. ", "en") == "cat sat on mat"


def test_english_hand_values():
    pred, ref = "Paris is the capital of France", "the capital is Paris"
    # tokens: pred [paris, is, capital, of, france], ref [capital, is, paris]; overlap 3 → P 3/5, R 1
    assert token_f1(pred, ref, "en") == pytest.approx(2 * 0.6 * 1.0 / 1.6)
    # LCS of the two orders is 1 token → P 1/5, R 1/3 → F 0.25
    assert rouge_l(pred, ref, "en") == pytest.approx(0.25)
    assert exact_match(pred, ref) == 0.0
    assert normalized_exact_match("The cat sat on the mat.", "A cat sat on a mat", "en") == 1.0
    assert exact_match(" Paris ", "Paris") == 1.0


def test_chinese_is_character_level_with_punctuation_removed():
    assert answer_tokens("北京是中国的首都。", "zh") == tuple("北京是中国的首都")
    assert normalized_exact_match("“北京”。", "北京", "zh") == 1.0
    # Latin runs stay one token inside Chinese text; full-width forms are folded by NFKC
    assert answer_tokens("ＧＰＴ4模型！", "zh") == ("gpt4", "模", "型")
    assert normalized_exact_match("GPT4 模型", "gpt4模型", "zh") == 1.0


def test_chinese_hand_values():
    # same 5 characters in another order: bag F1 = 1, LCS = 2 ("首都" or "北京") → ROUGE-L 2/5
    assert token_f1("北京是首都。", "首都是北京", "zh") == pytest.approx(1.0)
    assert rouge_l("北京是首都。", "首都是北京", "zh") == pytest.approx(0.4)
    assert normalized_exact_match("北京是首都。", "首都是北京", "zh") == 0.0
    # partial answer: P = 1, R = 2/3 → F1 0.8 (whitespace tokenisation would give 0, spec §15.13)
    assert token_f1("北京", "北京市", "zh") == pytest.approx(0.8)
    assert rouge_l("北京", "北京市", "zh") == pytest.approx(0.8)


def test_empty_answers_follow_squad():
    for lang in ("en", "zh"):
        assert token_f1("", "", lang) == 1.0
        assert token_f1("", "x", lang) == 0.0
        assert rouge_l("...", "", lang) == 1.0  # both normalise to nothing
        assert rouge_l("", "北京", lang) == 0.0


def _naive_lcs(a, b):
    table = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            table[i][j] = table[i - 1][j - 1] + 1 if a[i - 1] == b[j - 1] else max(table[i - 1][j], table[i][j - 1])
    return table[-1][-1]


def test_lcs_matches_dynamic_programming():
    rng = random.Random(0)
    vocab = ["x", "y", "z", "w", "北", "京"]
    for _ in range(200):
        a = [rng.choice(vocab) for _ in range(rng.randint(0, 40))]
        b = [rng.choice(vocab) for _ in range(rng.randint(0, 40))]
        assert lcs_length(a, b) == _naive_lcs(a, b)


def test_utility_scores_vectorised_equals_scalar():
    preds = ["Paris is the capital of France", "北京是首都。", "", "yes"]
    refs = ["the capital is Paris", "首都是北京", "", "no"]
    langs = ["en", "zh", "en", "en"]
    scores = utility_scores(preds, refs, langs)
    for i, (p, r, l) in enumerate(zip(preds, refs, langs)):
        assert scores["f1"][i] == pytest.approx(token_f1(p, r, l))
        assert scores["rouge_l"][i] == pytest.approx(rouge_l(p, r, l))
        assert scores["nem"][i] == normalized_exact_match(p, r, l)
        assert scores["em"][i] == exact_match(p, r)


def test_distinct_n_hand_values():
    # tokens: [red, blue, red, blue] and [red, green]: unigrams 3 unique / 6; bigrams {rb, br, rg} 3 / 4
    texts = ["red blue red blue", "red green"]
    assert distinct_n(texts, "en", 1) == pytest.approx(3 / 6)
    assert distinct_n(texts, "en", 2) == pytest.approx(3 / 4)
    # characters 北 京 北 京: bigrams 北京, 京北, 北京 → 2 unique of 3
    assert distinct_n(["北京北京"], "zh", 2) == pytest.approx(2 / 3)
    assert distinct_n(["a"], "en", 1) is None  # only an article: no n-gram at all
