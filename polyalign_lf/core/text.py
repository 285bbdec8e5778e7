"""Language-aware answer normalisation and tokenisation shared by every text metric.

English follows the SQuAD evaluation script: lower-case, drop punctuation, drop the articles a/an/the,
split on whitespace. Chinese is scored at the character level (the CMRC/DRCD convention): whitespace-split
scoring would turn an unspaced Chinese answer into a single "token" and make F1 and ROUGE-L collapse to
exact match (a defect of the reference implementation). Chinese and full-width punctuation is removed as well as ASCII
punctuation; runs of Latin letters or digits inside Chinese text stay one token each ("GPT4" is one token,
not four characters), so mixed answers are not over-rewarded for matching single letters.
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache

_ARTICLES_RE = re.compile(r"\b(a|an|the)\b", re.UNICODE)
_ASCII_PUNCT = set(string.punctuation)
# Chinese answers are split into CJK characters and runs of other word characters (letters/digits).
_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff"
_ZH_TOKEN_RE = re.compile(rf"[{_CJK}]|[^\W_{_CJK}]+", re.UNICODE)


# Symbols that Chinese text uses as punctuation but Unicode does not class as P*.
_EXTRA_ZH_PUNCT = set("～￥｀＾｜＜＞＝＋")


def _is_punctuation(char: str) -> bool:
    return char in _ASCII_PUNCT or char in _EXTRA_ZH_PUNCT or unicodedata.category(char).startswith("P")


def remove_punctuation(text: str, *, unicode_punctuation: bool) -> str:
    """Drop ASCII punctuation (English, the SQuAD convention) or every Unicode punctuation mark (Chinese)."""
    if unicode_punctuation:
        return "".join(ch for ch in text if not _is_punctuation(ch))
    return "".join(ch for ch in text if ch not in _ASCII_PUNCT)


def normalize_answer(text: str, language: str) -> str:
    """The normalised string used by normalised exact match."""
    return " ".join(answer_tokens(text, language))


@lru_cache(maxsize=262144)
def _tokens_cached(text: str, language: str) -> tuple[str, ...]:
    if language == "zh":
        text = unicodedata.normalize("NFKC", text).lower()
        text = remove_punctuation(text, unicode_punctuation=True)
        return tuple(_ZH_TOKEN_RE.findall(text))
    # SQuAD: lower → remove punctuation → remove articles → whitespace split.
    text = remove_punctuation(text.lower(), unicode_punctuation=False)
    text = _ARTICLES_RE.sub(" ", text)
    return tuple(text.split())


def answer_tokens(text: str, language: str) -> tuple[str, ...]:
    """Tokens of an answer for F1 / ROUGE-L / distinct-n: SQuAD words (en) or characters (zh)."""
    if language not in ("en", "zh"):
        raise ValueError(f"unsupported language {language!r}; expected 'en' or 'zh'")
    return _tokens_cached(text or "", language)


def overlap_f1(overlap: int, n_pred: int, n_ref: int) -> float:
    """F1 of precision ``overlap / n_pred`` and recall ``overlap / n_ref`` (shared by token F1 and ROUGE-L)."""
    if not n_pred or not n_ref:
        # SQuAD convention: two empty answers agree, one empty answer scores 0.
        return float(n_pred == n_ref)
    if overlap == 0:
        return 0.0
    precision, recall = overlap / n_pred, overlap / n_ref
    return 2 * precision * recall / (precision + recall)


def f1_from_tokens(pred: Sequence[str], ref: Sequence[str]) -> float:
    return overlap_f1(sum((Counter(pred) & Counter(ref)).values()), len(pred), len(ref))


def token_f1(prediction: str, reference: str, language: str) -> float:
    """SQuAD token F1 over :func:`answer_tokens` (bag-of-tokens overlap)."""
    return f1_from_tokens(answer_tokens(prediction, language), answer_tokens(reference, language))


_SURROGATE = re.compile("[\ud800-\udfff]")


def unencodable_problem(text: str) -> str | None:
    """Why ``text`` cannot be written as UTF-8 (None when it can): a lone surrogate, which JSON lets through as
    an unpaired ``\\ud800`` escape but no file, tokenizer or segmenter accepts."""
    if text.isascii():
        return None
    match = _SURROGATE.search(text)
    if match is None:
        return None
    return (
        f"contains the lone surrogate U+{ord(match.group()):04X} at character {match.start()} (an unpaired "
        "\\ud800-\\udfff escape in the JSON); fix or drop the row"
    )
