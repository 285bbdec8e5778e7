"""Features: contract shape, boundedness, determinism, and meaning in both languages (esp. Chinese)."""

from __future__ import annotations

import numpy as np
import pytest

from polyalign_lf.features import FEATURE_SCHEMA_VERSION, extract_features, feature_descriptions, feature_names
from polyalign_lf.features.linguistic import split_sentences, tokenize_words

DIVERSE = [
    ("Hello! I think the answer is 42, because the book says so. However, you might check page 3.", "en"),
    ("See https://example.org or write to a@b.com.\n\n# Title\n- one\n- two\n1. first\n2) second", "en"),
    ('Well... I don\'t know; maybe? Perhaps: "quoted" (aside) — THE END!!', "en"),
    ("Yes.", "en"),
    ("the the the the cat cat", "en"),
    (
        "Photosynthesis converts electromagnetic radiation into chemical energy. Moreover, organisms utilize it. Thank you, please!",
        "en",
    ),
    ("你好！我认为答案是四十二，因为书上是这么说的。不过，你可能需要查看第三页。", "zh"),
    ("中华人民共和国成立于1949年。首先，我们要了解历史；其次，要理解“文化”。", "zh"),
    ("是吗？好吧，谢谢你呢！\n\n一、第一点\n二、第二点\n（1）细节", "zh"),
    ("这个问题很简单……但是，也许你应该问老师【注意】。", "zh"),
    ("", "en"),
]


def test_contract_shape_dtype_and_names():
    texts, langs = zip(*DIVERSE)
    X = extract_features(texts, langs)
    names = feature_names()
    assert X.dtype == np.float32 and X.shape == (len(texts), len(names))
    assert len(set(names)) == len(names) and set(feature_descriptions()) == set(names)
    assert isinstance(FEATURE_SCHEMA_VERSION, str) and FEATURE_SCHEMA_VERSION
    # one language string applies to all texts
    assert np.array_equal(extract_features(["a b", "c"], "en"), extract_features(["a b", "c"], ["en", "en"]))


def test_bounded_finite_deterministic_and_no_constant_column():
    texts, langs = zip(*DIVERSE)
    X = extract_features(texts, langs)
    assert np.isfinite(X).all()
    names = feature_names()
    for j, name in enumerate(names):
        col = X[:, j]
        if name.startswith("log_"):
            assert col.min() >= 0 and col.max() < 12, name
        else:
            assert col.min() >= 0 and col.max() <= 1.0 + 1e-6, (name, col)
        assert col.max() > col.min(), f"feature {name} is constant over a diverse bilingual corpus"
    assert np.array_equal(X, extract_features(texts, langs))
    assert not X[-1].any(), "an empty text has all-zero features"


def test_bad_input_is_reported():
    with pytest.raises(ValueError, match="languages"):
        extract_features(["a", "b"], ["en"])
    with pytest.raises(ValueError, match="unsupported language"):
        extract_features(["a"], "fr")
    # a row of another language is the user's data: a clear InputError (every command prints it, the plugin's
    # critic scoring of an HDPO dataset included), never an internal error
    from polyalign_lf.errors import InputError

    with pytest.raises(InputError, match=r"unsupported language\(s\) \['fr'\].*cover 'en' and 'zh'"):
        extract_features(["a", "b"], ["en", "fr"])


def _f(text: str, lang: str = "zh") -> dict[str, float]:
    return dict(zip(feature_names(), extract_features([text], lang)[0].tolist()))


def test_chinese_segmentation_and_sentences():
    assert tokenize_words("我们喜欢自然语言处理。", "zh") == ["我们", "喜欢", "自然语言", "处理"]
    assert split_sentences("今天很好。你呢？我很好！", "zh") == ["今天很好。", "你呢？", "我很好！"]


def test_chinese_features_follow_chinese_text_properties():
    base = "今天天气很好。我们去公园散步。"
    # more sentences and characters
    longer = _f(base * 3)
    assert longer["log_sentences"] > _f(base)["log_sentences"] and longer["log_chars"] > _f(base)["log_chars"]
    # full-width vs ASCII punctuation
    assert _f("今天天气很好，我们去公园。")["fullwidth_punctuation_share"] == 1.0
    assert _f("今天天气很好,我们去公园.")["fullwidth_punctuation_share"] == 0.0
    # questions with the Chinese question mark
    assert _f("你去哪里？他去哪里？")["question_sentence_ratio"] == 1.0
    assert _f(base)["question_sentence_ratio"] == 0.0
    # Chinese discourse markers, hedges, particles, pronouns (Chinese lexicons, not English ones)
    assert _f("但是我不同意。")["contrast_marker_rate"] > 0 and _f(base)["contrast_marker_rate"] == 0
    assert _f("因为下雨，所以我们没去。")["causal_marker_rate"] > 0
    assert _f("他可能会来。")["hedge_marker_rate"] > 0
    assert _f("好吗？你来吧。")["colloquial_marker_rate"] > _f(base)["colloquial_marker_rate"]
    assert _f("你好，您请坐。")["second_person_rate"] > 0
    # longer Chinese words raise syllables (characters) per word and the complex-word ratio
    assert (
        _f("中华人民共和国国务院发布新闻公报。")["complex_word_ratio"] > _f("我去了。他来了。")["complex_word_ratio"]
    )
    assert (
        _f("中华人民共和国国务院发布新闻公报。")["syllables_per_word"] > _f("我去了。他来了。")["syllables_per_word"]
    )
    # enumerations in Chinese style
    assert _f("一、准备\n二、执行")["enumerated_line_ratio"] == 1.0
    # Han share responds to code-switching
    assert _f("我喜欢Python和NumPy。")["han_ratio"] < _f("我喜欢蟒蛇。")["han_ratio"]


def test_english_features_follow_english_text_properties():
    e = lambda t: _f(t, "en")  # noqa: E731
    assert e("However, it rained.")["contrast_marker_rate"] > 0
    assert e("I don't know, it's fine.")["colloquial_marker_rate"] > 0
    assert e("Internationalization considerations.")["syllables_per_word"] > e("The cat sat.")["syllables_per_word"]
    assert e("- a\n- b")["bullet_line_ratio"] == 1.0
    assert e("the the the")["type_token_ratio"] == pytest.approx(1 / 3)
    assert e("Café naïve résumé")["latin_ratio"] == 1.0  # non-ASCII Latin letters are letters


def test_lm_features_with_tiny_model(tiny_model):
    from polyalign_lf.features.lm import LM_FEATURE_NAMES, extract_lm_features

    texts = ["Hello world, this is a test.", "你好，世界。", "", "a"]
    X = extract_lm_features(texts, str(tiny_model), batch_size=2, device="cpu")
    assert X.shape == (4, len(LM_FEATURE_NAMES)) and X.dtype == np.float32
    assert np.isfinite(X).all() and (X[:, 0] <= 0).all() and (X[:, 0] >= -1).all()
    assert (X[:, 3:] >= 0).all() and (X[:, 3:] <= 1).all()
    assert not X[2].any()  # empty text: unscored
    # batching does not change the values
    np.testing.assert_allclose(X, extract_lm_features(texts, str(tiny_model), batch_size=4, device="cpu"), atol=1e-5)


def test_lm_token_statistics_hand_computed():
    from polyalign_lf.features.lm import LOGPROB_FLOOR, token_statistics

    lp = np.array([-1.0, -3.0, -50.0])  # the last is clipped to -20
    stats = token_statistics(lp, np.array([1.0, 0.0, 0.0]), np.array([1.0, 1.0, 1.0]), vocab_size=int(np.e**2) + 1)
    assert stats[0] == pytest.approx((-1 - 3 - 20) / 3 / LOGPROB_FLOOR)
    assert stats[3] == pytest.approx(1 / 3)
