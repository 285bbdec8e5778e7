"""The fast paths of the feature extractor give today's values: the English whole-text scan equals per-sentence
tokenization, the compiled Chinese segmenter equals jieba, and both benchmark corpora reproduce the features
stored from the per-sentence, jieba-based implementation of schema pa-ling-1.0."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polyalign_testing.realistic_corpus import corpus_stats, realistic_corpus, synthetic_corpus

from polyalign_lf.features import FEATURE_SCHEMA_VERSION, extract_features, linguistic
from polyalign_lf.features.linguistic import chinese_segmenter, split_sentences, tokenize_words

HERE = Path(__file__).resolve().parent
GOLDEN = HERE / "golden_features_pa-ling-1.0.npz"
RELEASES = HERE.parent / "fixtures" / "releases"


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("corpus", ["realistic", "synthetic"])
def test_features_equal_the_stored_values_of_the_schema(lang, corpus):
    """Stored from the previous implementation (per-sentence English tokenization, jieba) on the first 400 texts
    of each benchmark corpus: any difference means the definition changed and FEATURE_SCHEMA_VERSION must too."""
    assert FEATURE_SCHEMA_VERSION == "pa-ling-1.0"
    make = realistic_corpus if corpus == "realistic" else synthetic_corpus
    expected = np.load(GOLDEN)[f"{lang}_{corpus}"]
    np.testing.assert_array_equal(extract_features(make(lang, 400), lang), expected)


def _per_sentence(text: str):
    sentences = split_sentences(text, "en")
    per_sentence = [tokenize_words(s, "en") for s in sentences]
    return [w for sw in per_sentence for w in sw], sentences, [len(sw) for sw in per_sentence]


TRICKY = [
    "He said \"stop.\" Then he left. U.S. Army, 3.5 km... ok?! 'Yes.' No",
    "İstanbul ist groß. DON’T PANIC. Ünïcödé words’ here.\n\nNew para — with dash - and – en dash.",
    "Line one\nline two.\n\n\n- bullet\n1) item\n   \n",
    "mark \x01 inside. Two sentences!",
    "...   !!! ??? .",
    "",
    "   ",
    "No boundary at all",
    "1887. 2019, 1,000.50 and 12:30. Done",
]


@pytest.mark.parametrize("text", TRICKY)
def test_english_scan_equals_per_sentence_tokenization(text):
    assert linguistic._en_words_and_sentences(text) == _per_sentence(text)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("abcXYZ’'\".!?。！？)”’ \n\t-–—…:,0123\x01İéß")), max_size=80))
def test_english_scan_equals_per_sentence_tokenization_on_any_text(text):
    assert linguistic._en_words_and_sentences(text) == _per_sentence(text)


def _release_texts() -> list[str]:
    texts: list[str] = []
    for path in sorted(RELEASES.glob("drcd/**/*")) + sorted(RELEASES.glob("cmrc2018/**/*")):
        if path.is_file() and path.suffix == ".json":
            texts += [v for v in _strings(json.loads(path.read_text(encoding="utf-8"))) if len(v) > 1]
    return texts


def _strings(obj):
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for value in obj.values():
            yield from _strings(value)
    elif isinstance(obj, list):
        for value in obj:
            yield from _strings(value)


def test_compiled_segmenter_agrees_with_jieba():
    name, fast = chinese_segmenter()
    if name != "rjieba":
        pytest.skip("rjieba not installed: jieba itself is in use")
    _, jieba_cut = chinese_segmenter("jieba")
    texts = realistic_corpus("zh", 1000) + synthetic_corpus("zh", 500) + _release_texts()
    assert len(texts) > 1600
    differing = [t for t in texts if fast(t) != jieba_cut(t)]
    assert differing == []


def test_jieba_fallback_gives_the_same_features(monkeypatch):
    texts = realistic_corpus("zh", 200)
    fast = extract_features(texts, "zh")
    monkeypatch.setenv("POLYALIGN_SEGMENTER", "jieba")
    assert chinese_segmenter()[0] == "jieba"
    np.testing.assert_array_equal(extract_features(texts, "zh"), fast)
    monkeypatch.setenv("POLYALIGN_SEGMENTER", "thulac")
    with pytest.raises(ValueError, match="unknown Chinese segmenter 'thulac'"):
        chinese_segmenter()


def test_realistic_corpus_is_deterministic_and_shaped_as_described():
    en, zh = realistic_corpus("en", 5000), realistic_corpus("zh", 5000)
    assert en == realistic_corpus("en", 5000) and en != realistic_corpus("en", 5000, seed=1)
    en_stats, zh_stats = corpus_stats(en), corpus_stats(zh)
    assert 550 <= en_stats["mean_chars"] <= 700 and 120 <= en_stats["median_chars"] <= 180
    assert 110 <= zh_stats["mean_chars"] <= 160
    assert sum("\n\n" in t for t in en) > 500 and sum("- " in t or "1. " in t for t in en) > 300
    assert sum("，" in t for t in zh) > 1000 and sum(any(c.isascii() and c.isalpha() for c in t) for t in zh) > 500
