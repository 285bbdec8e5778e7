"""Normalization, canonical keys and language-aware length bins against hand-computed values."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from polyalign_lf.data.normalize import (
    DEFAULT_LENGTH_THRESHOLDS,
    LengthBins,
    canonical_key,
    canonical_text,
    length_bin,
    length_units,
    normalize_text,
)
from polyalign_lf.errors import ConfigError


def test_normalize_text_whitespace_and_line_breaks():
    assert normalize_text("  a\u00a0\u00a0b\t c \r\n\r\n\r\n\r\n d\re  ") == "a b c\n\nd\ne"
    assert normalize_text(None) == "" and normalize_text("   \n ") == ""
    assert normalize_text("line one \n  line two") == "line one\nline two"


def test_nfkc_folds_compatibility_characters():
    assert normalize_text("ﬁne Ｈｅｌｌｏ ①", "en") == "fine Hello 1"
    # Chinese keeps its full-width punctuation, but full-width letters/digits and the ideographic space fold.
    assert normalize_text("你好，ＡＢＣ１２３！　再见？", "zh") == "你好，ABC123！ 再见？"
    assert normalize_text("你好，世界", "en") == "你好,世界"  # English text: full NFKC


def test_canonical_text_is_width_case_and_space_insensitive():
    assert canonical_text("  Hello   WORLD\n") == canonical_text("ｈｅｌｌｏ world") == "hello world"
    assert canonical_text("你好，世界") == canonical_text("你好, 世界".replace(" ", "")) == "你好,世界"
    assert canonical_text("Straße") == canonical_text("STRASSE")  # casefold, not lower


def test_canonical_key_ignores_empty_history_turns_and_dataset():
    a = {
        "language": "en",
        "track": "multi",
        "family": "qa",
        "question": "Q",
        "context": "",
        "human_answer": "A",
        "dialogue_history": [{"role": "user", "text": "x"}, {"role": "assistant", "text": " "}],
        "dataset": "one",
    }
    b = dict(a, dialogue_history=[{"role": "user", "text": "X"}], dataset="two", question="q ")
    assert canonical_key(a) == canonical_key(b)
    assert canonical_key(a) != canonical_key(dict(a, human_answer="B"))
    assert canonical_key(a) != canonical_key(dict(a, language="zh"))


@pytest.mark.parametrize(
    "text,language,units",
    [
        ("The cat sat.", "en", 3),
        ("Don't over-think state-of-the-art café menus, 2024!", "en", 6),
        ("Use 北京 as an example", "en", 6),  # Use, 北, 京, as, an, example
        ("今天天气很好。", "zh", 6),
        ("我买了RTX 4090显卡，很快！", "zh", 9),  # 我, 买, 了, RTX, 4090, 显, 卡, 很, 快
        ("", "zh", 0),
        ("，。！", "zh", 0),
    ],
)
def test_length_units(text, language, units):
    assert length_units(text, language) == units


def test_length_bins_boundaries_per_language():
    bins = LengthBins()
    en, zh = DEFAULT_LENGTH_THRESHOLDS["en"], DEFAULT_LENGTH_THRESHOLDS["zh"]
    assert [bins.bin(n, "en") for n in (1, en[0], en[0] + 1, en[1], en[1] + 1, en[2], en[2] + 1)] == [
        "short",
        "short",
        "medium",
        "medium",
        "long",
        "long",
        "xlong",
    ]
    assert [bins.bin(n, "zh") for n in (zh[0], zh[0] + 1, zh[1], zh[1] + 1, zh[2], zh[2] + 1)] == [
        "short",
        "medium",
        "medium",
        "long",
        "long",
        "xlong",
    ]
    # The same 50-unit length is medium in English words but short in Chinese characters.
    assert bins.bin(50, "en") == "medium" and bins.bin(50, "zh") == "short"
    assert length_bin("word " * 41, "en") == ("medium", 41)
    assert length_bin("字" * 71, "zh") == ("medium", 71)


def test_length_bins_configurable_and_validated():
    bins = LengthBins.parse(["zh=10,20,30"])
    assert bins.bin(11, "zh") == "medium" and bins.bin(41, "en") == "medium"
    for bad in (["zh=10,5,30"], ["zh=1,2"], ["zh"], ["zh=a,b,c"]):
        with pytest.raises(ConfigError):
            LengthBins.parse(bad)
    with pytest.raises(ConfigError):
        bins.bin(3, "fr")
    with pytest.raises(ConfigError):
        length_units("bonjour", "fr")


@settings(max_examples=200, deadline=None)
@given(
    st.text(alphabet=st.sampled_from(list("ab Ａ，,。\n\r\t\u00a0你好ﬁ!")), max_size=40), st.sampled_from(["en", "zh"])
)
def test_normalize_is_idempotent_and_canonical_absorbs_it(text, language):
    once = normalize_text(text, language)
    assert normalize_text(once, language) == once
    assert canonical_text(once) == canonical_text(text)
    assert "\r" not in once and "\n\n\n" not in once and once == once.strip()
