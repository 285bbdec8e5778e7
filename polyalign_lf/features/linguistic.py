"""Bilingual (English / Chinese) linguistic features of one response, bounded and versioned.

Design rules (they fix the reference implementation's defects):

* **Per-language tokenization.** English: a Unicode-aware regex (non-ASCII Latin letters are kept), run once
  over the whole text. Chinese: jieba's segmentation (precise mode, HMM off: deterministic), computed by the
  compiled rjieba when installed and by jieba itself otherwise (same output), plus Chinese punctuation.
  No English lexicon (stopwords, POS tagger, sentiment) is ever applied to Chinese: discourse markers,
  function words and pronouns come from one small hand-written list *per language*.
* **Bounded values.** Every feature is a ratio in [0, 1], a log1p-scaled count, or a clipped index, so no
  single feature dominates a distance (the reference's unbounded perplexity reached e^50).
* **No constants or run settings in the vector** (the reference's ``lm_max_seq_length`` made every bucket
  differ by a constant between runs).
* **Readability that makes sense per language.** Syllables per word: vowel groups in English, characters
  per word in Chinese (a Han character is one syllable). The Gunning-fog-like index uses "complex words"
  = ≥3 syllables in both languages, i.e. ≥3-character words in Chinese.

Changing a feature's definition or the column order requires bumping ``FEATURE_SCHEMA_VERSION``:
references and critics built with another version refuse to load.
"""

from __future__ import annotations

import logging
import math
import operator
import os
import re
import threading
from collections import Counter
from collections.abc import Callable, Sequence

import numpy as np

from polyalign_lf.io import progress

FEATURE_SCHEMA_VERSION = "pa-ling-1.0"

# (name, description). The order is the column order of the feature matrix.
FEATURE_SPECS: tuple[tuple[str, str], ...] = (
    # -- length and layout
    ("log_chars", "log(1 + number of non-whitespace characters)"),
    ("log_words", "log(1 + number of word tokens)"),
    ("log_sentences", "log(1 + number of sentences)"),
    ("log_lines", "log(1 + number of non-empty lines)"),
    ("log_paragraphs", "log(1 + number of blank-line separated paragraphs)"),
    ("whitespace_ratio", "whitespace characters / characters"),
    ("digit_ratio", "digit characters / non-whitespace characters"),
    ("latin_ratio", "Latin letters / non-whitespace characters"),
    ("han_ratio", "Han (CJK ideograph) characters / non-whitespace characters"),
    ("uppercase_ratio", "upper-case letters / cased letters"),
    ("bullet_line_ratio", "lines starting with a bullet (- * • ·) / non-empty lines"),
    ("enumerated_line_ratio", "lines starting with an enumeration (1. 1) a) 一、 （1）) / non-empty lines"),
    ("markup_ratio", "Markdown markup characters (# * ` | >) / non-whitespace characters"),
    ("log_urls", "log(1 + number of URLs and e-mail addresses)"),
    # -- lexical diversity
    ("type_token_ratio", "distinct words / words"),
    ("hapax_ratio", "words seen exactly once / words"),
    ("distinct_2", "distinct word bigrams / bigrams"),
    ("repeated_bigram_ratio", "sum over repeated bigrams of (count - 1) / bigrams"),
    ("max_word_share", "count of the most frequent word / words"),
    ("normalized_entropy", "entropy of the word distribution / log(words), in [0, 1]"),
    ("adjacent_repeat_ratio", "adjacent identical words / words"),
    ("function_word_ratio", "language-specific function words / words"),
    # -- punctuation (ASCII and CJK forms count alike)
    ("punctuation_ratio", "punctuation characters / non-whitespace characters"),
    ("fullwidth_punctuation_share", "CJK/full-width punctuation / all punctuation"),
    ("comma_rate", "commas (, ， 、) / words"),
    ("period_rate", "full stops (. 。) / words"),
    ("question_rate", "question marks (? ？) / words"),
    ("exclamation_rate", "exclamation marks (! ！) / words"),
    ("colon_semicolon_rate", "colons and semicolons (: ： ; ；) / words"),
    ("quote_rate", "quotation marks (\" ' “ ” ‘ ’ 「 」 『 』 《 》) / words"),
    ("bracket_rate", "brackets (( ) （ ） [ ] 【 】 { }) / words"),
    ("dash_ellipsis_rate", "dashes and ellipses (- – — ... … ——) / words"),
    # -- sentence structure
    ("log_mean_sentence_words", "log(1 + mean words per sentence)"),
    ("log_std_sentence_words", "log(1 + population std of words per sentence)"),
    ("log_max_sentence_words", "log(1 + longest sentence in words)"),
    ("question_sentence_ratio", "sentences ending with ? or ？ / sentences"),
    ("exclamation_sentence_ratio", "sentences ending with ! or ！ / sentences"),
    ("terminal_punctuation_ratio", "sentences ending with terminal punctuation / sentences"),
    # -- discourse markers (per-language lists, rates per sentence, clipped to [0, 1])
    ("contrast_marker_rate", "contrast markers (however, but / 但是, 然而 …) per sentence"),
    ("causal_marker_rate", "causal markers (because, therefore / 因为, 所以 …) per sentence"),
    ("additive_marker_rate", "additive markers (also, moreover / 而且, 此外 …) per sentence"),
    ("sequence_marker_rate", "sequencing markers (first, finally / 首先, 最后 …) per sentence"),
    ("hedge_marker_rate", "hedges (maybe, probably / 可能, 也许 …) per sentence"),
    ("first_person_rate", "first-person pronouns (I, we / 我, 我们 …) / words"),
    ("second_person_rate", "second-person pronouns (you / 你, 您 …) / words"),
    ("politeness_marker_rate", "politeness / assistant formulae (please, thank / 请, 谢谢 …) per sentence"),
    ("colloquial_marker_rate", "colloquial markers: English contractions / Chinese sentence-final particles, / words"),
    # -- readability (per-language definitions, see module docstring)
    ("mean_word_length", "characters per word, divided by 10 and clipped to [0, 1]"),
    ("syllables_per_word", "syllables per word (en vowel groups, zh characters), /5 clipped to [0, 1]"),
    ("complex_word_ratio", "words with >= 3 syllables (zh: >= 3 characters) / words"),
    ("fog_index", "0.4 * (words per sentence + 100 * complex word ratio), /40 clipped to [0, 1]"),
)

FEATURE_NAMES: tuple[str, ...] = tuple(name for name, _ in FEATURE_SPECS)
N_FEATURES = len(FEATURE_NAMES)

# ---------------------------------------------------------------- regular expressions and lexicons
_EN_WORD_RE = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*|\d+(?:[.,:]\d+)*")
_HAN_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_RE = re.compile(r"[A-Za-z\u00c0-\u024f]")
_DIGIT_RE = re.compile(r"\d")
_WS_RE = re.compile(r"\s")
_UPPER_RE = re.compile(r"[A-Z\u00c0-\u00de]")
_LOWER_RE = re.compile(r"[a-z\u00df-\u00ff]")
_URL_RE = re.compile(r"https?://\S+|www\.\S+|[\w.+-]+@[\w-]+\.[\w.]+")
_MARKUP_RE = re.compile(r"[#*`|>]")
_BULLET_RE = re.compile(r"^\s*[-*•·]\s+", re.M)
_ENUM_RE = re.compile(r"^\s*(?:\d+[.)、]|[A-Za-z][.)]|[一二三四五六七八九十]+、|[（(]\d+[)）])\s*", re.M)
_PUNCT_ASCII = set("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
_PUNCT_CJK = set("，。、；：？！“”‘’「」『』《》〈〉（）【】…—～·﹏")
_PUNCT_ALL = _PUNCT_ASCII | _PUNCT_CJK
_COMMA_RE = re.compile(r"[,，、]")
_PERIOD_RE = re.compile(r"(?<!\.)\.(?!\.)|。")
_QUESTION_RE = re.compile(r"[?？]")
_EXCLAIM_RE = re.compile(r"[!！]")
_COLON_RE = re.compile(r"[:：;；]")
_QUOTE_RE = re.compile(r"[\"'“”‘’「」『』《》]")
_BRACKET_RE = re.compile(r"[()（）\[\]【】{}]")
_DASH_RE = re.compile(r"\.\.\.|…|——|[–—]|(?<=\s)-(?=\s)")
_SENT_EN_RE = re.compile(r"(?<=[.!?。！？])[\"'”’)]*\s+|\n+")
_SENT_ZH_RE = re.compile(r"(?<=[。！？!?；;])[”’」』)）]*|\n+")
_TERMINAL = set(".!?。！？;；…")
_EN_VOWELS_RE = re.compile(r"[aeiouy]+")

_MARKERS = {
    "en": {
        "contrast": {"however", "but", "although", "though", "yet", "nevertheless", "whereas", "instead", "despite"},
        "causal": {"because", "therefore", "thus", "hence", "so", "since", "consequently", "due"},
        "additive": {"also", "moreover", "furthermore", "additionally", "besides", "and", "plus"},
        "sequence": {"first", "firstly", "second", "secondly", "then", "next", "finally", "lastly", "afterwards"},
        "hedge": {"maybe", "perhaps", "probably", "possibly", "might", "likely", "seems", "apparently", "guess"},
        "politeness": {"please", "thank", "thanks", "sorry", "welcome", "glad", "happy", "hope", "certainly"},
        "first_person": {"i", "me", "my", "mine", "myself", "we", "us", "our", "ours", "i'm", "i've", "i'd", "i'll"},
        "second_person": {"you", "your", "yours", "yourself", "yourselves", "you're", "you've", "you'll", "you'd"},
        "function": {
            "the",
            "a",
            "an",
            "of",
            "to",
            "in",
            "on",
            "at",
            "for",
            "with",
            "by",
            "from",
            "and",
            "or",
            "but",
            "is",
            "are",
            "was",
            "were",
            "be",
            "been",
            "it",
            "that",
            "this",
            "as",
            "not",
            "do",
            "does",
            "did",
            "have",
            "has",
            "had",
            "will",
            "would",
            "can",
            "could",
            "should",
            "there",
            "which",
            "who",
            "what",
            "if",
        },
    },
    "zh": {
        "contrast": {"但是", "但", "然而", "不过", "可是", "虽然", "尽管", "却", "而是"},
        "causal": {"因为", "所以", "因此", "由于", "因而", "于是", "从而", "既然"},
        "additive": {"而且", "此外", "另外", "并且", "同时", "还有", "以及", "也"},
        "sequence": {"首先", "其次", "然后", "接着", "最后", "第一", "第二", "最终", "之后"},
        "hedge": {"可能", "也许", "大概", "或许", "似乎", "好像", "应该", "估计"},
        "politeness": {"请", "谢谢", "感谢", "抱歉", "对不起", "您好", "希望", "欢迎", "当然"},
        "first_person": {"我", "我们", "俺", "咱们", "本人", "我的"},
        "second_person": {"你", "您", "你们", "你的", "您的"},
        "function": {
            "的",
            "了",
            "是",
            "在",
            "和",
            "与",
            "就",
            "都",
            "而",
            "及",
            "着",
            "过",
            "把",
            "被",
            "对",
            "从",
            "为",
            "以",
            "之",
            "其",
            "这",
            "那",
            "个",
        },
    },
}
_ZH_PARTICLES = {"吗", "呢", "吧", "啊", "呀", "嘛", "啦", "哦", "哈", "呗", "噢"}
_ZH_PARTICLES_SET = frozenset(_ZH_PARTICLES)

# ---------------------------------------------------------------- Chinese segmentation (initialized once, quietly)
# rjieba (the jieba-rs binding, compiled) gives jieba's precise-mode segmentation without HMM, with the same
# dictionary, ~30x faster; jieba itself is the fallback where rjieba is not installed (or
# POLYALIGN_SEGMENTER=jieba). Token agreement between the two is measured by tests and benchmarks/bench_features.py
# (100% on both benchmark corpora and the real DRCD/CMRC2018 excerpts), so the feature schema is the same.
_SEGMENTER_LOCK = threading.Lock()
_SEGMENTER: tuple[str, Callable[[str], list[str]]] | None = None


def _jieba_cut() -> Callable[[str], list[str]]:
    import jieba

    jieba.setLogLevel(logging.WARNING)
    logging.getLogger("jieba").setLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    return lambda text: tokenizer.lcut(text, HMM=False)


def _rjieba_cut() -> Callable[[str], list[str]] | None:
    try:
        import rjieba
    except ImportError:
        return None
    return lambda text: rjieba.cut(text, False)


def chinese_segmenter(name: str | None = None) -> tuple[str, Callable[[str], list[str]]]:
    """``(name, cut)``: the compiled segmenter when available, else jieba. ``name`` forces one ("rjieba" or
    "jieba"); the default follows ``POLYALIGN_SEGMENTER`` and then availability."""
    global _SEGMENTER
    wanted = name or os.environ.get("POLYALIGN_SEGMENTER", "").strip().lower() or None
    if wanted not in (None, "rjieba", "jieba"):
        from polyalign_lf.errors import SegmenterError

        source = "" if name else " (from POLYALIGN_SEGMENTER)"
        raise SegmenterError(f"unknown Chinese segmenter {wanted!r}{source}; expected rjieba or jieba (or unset it)")
    if wanted is None and _SEGMENTER is not None:
        return _SEGMENTER
    with _SEGMENTER_LOCK:
        cut = _rjieba_cut() if wanted in (None, "rjieba") else None
        if wanted == "rjieba" and cut is None:
            from polyalign_lf.errors import SegmenterError

            raise SegmenterError("POLYALIGN_SEGMENTER=rjieba but rjieba is not installed (pip install rjieba)")
        chosen = ("rjieba", cut) if cut is not None else ("jieba", _jieba_cut())
        if wanted is None:
            _SEGMENTER = chosen
        return chosen


def _cut(text: str) -> list[str]:
    return (_SEGMENTER or chinese_segmenter())[1](text)


_WORDCHAR_RE = re.compile(r"[^\W_]")
_ZH_BOUNDARY = frozenset("。！？!?；;\n")


def _is_word(token: str) -> bool:
    return _WORDCHAR_RE.search(token) is not None


def _zh_sentence_words(text: str) -> list[list[str]]:
    """Chinese words grouped by sentence from ONE jieba pass over the whole text (jieba's per-call overhead
    dominates for short sentences). Sentences end at 。！？!?；; or a newline, as in :func:`split_sentences`."""
    groups: list[list[str]] = [[]]
    for tok in _cut(text):
        if _is_word(tok):
            groups[-1].append(tok.lower())
        elif groups[-1] and any(ch in _ZH_BOUNDARY for ch in tok):
            groups.append([])
    return [g for g in groups if g]


def tokenize_words(text: str, language: str) -> list[str]:
    """Word tokens of ``text``: a Unicode regex for English, jieba for Chinese. Lower-cased, no punctuation."""
    if language == "zh":
        return [tok.lower() for tok in _cut(text) if not tok.isspace() and _is_word(tok)]
    return [tok.lower().replace("’", "'") for tok in _EN_WORD_RE.findall(text)]


def split_sentences(text: str, language: str) -> list[str]:
    pattern = _SENT_ZH_RE if language == "zh" else _SENT_EN_RE
    return [s.strip() for s in pattern.split(text) if s and s.strip()]


def _en_syllables(word: str) -> int:
    """Vowel-group syllable estimate (a silent final 'e' is dropped unless '-le'); at least 1."""
    if not word.isalpha():
        return 1
    w = word.lower()
    if len(w) <= 3:
        return 1
    if w.endswith("e") and not w.endswith("le"):
        w = w[:-1]
    return max(1, len(_EN_VOWELS_RE.findall(w)))


def _ratio(num: float, den: float) -> float:
    return num / den if den > 0 else 0.0


def _clip01(x: float) -> float:
    return 0.0 if x < 0.0 else (1.0 if x > 1.0 else x)


# Character classes counted in one pass over the distinct characters of a text (Counter is C-fast).
_CHAR_CLASSES: tuple[str, ...] = (
    "ws",
    "digit",
    "latin",
    "han",
    "upper",
    "lower",
    "punct_ascii",
    "punct_cjk",
    "markup",
    "comma",
    "question",
    "exclaim",
    "colon",
    "quote",
    "bracket",
)
_CC = {name: k for k, name in enumerate(_CHAR_CLASSES)}
_CHAR_CACHE: dict[str, tuple[int, ...]] = {}


def _char_classes(ch: str) -> tuple[int, ...]:
    """Indices (into ``_CHAR_CLASSES``) of the classes a character belongs to (cached)."""
    hit = _CHAR_CACHE.get(ch)
    if hit is None:
        tests = (
            ("ws", _WS_RE),
            ("digit", _DIGIT_RE),
            ("latin", _LATIN_RE),
            ("han", _HAN_RE),
            ("upper", _UPPER_RE),
            ("lower", _LOWER_RE),
            ("markup", _MARKUP_RE),
            ("comma", _COMMA_RE),
            ("question", _QUESTION_RE),
            ("exclaim", _EXCLAIM_RE),
            ("colon", _COLON_RE),
            ("quote", _QUOTE_RE),
            ("bracket", _BRACKET_RE),
        )
        found = [_CC[name] for name, rx in tests if rx.fullmatch(ch)]
        if ch in _PUNCT_ASCII:
            found.append(_CC["punct_ascii"])
        if ch in _PUNCT_CJK:
            found.append(_CC["punct_cjk"])
        hit = tuple(found)
        if len(_CHAR_CACHE) < 200_000:
            _CHAR_CACHE[ch] = hit
    return hit


def _count_char_classes(text: str) -> list[int]:
    totals = [0] * len(_CHAR_CLASSES)
    cached = _CHAR_CACHE.get
    for ch, n in Counter(text).items():
        classes = cached(ch)
        if classes is None:
            classes = _char_classes(ch)
        for k in classes:
            totals[k] += n
    return totals


_SYLLABLE_CACHE: dict[str, int] = {}


def _syllables_cached(word: str) -> int:
    hit = _SYLLABLE_CACHE.get(word)
    if hit is None:
        hit = _en_syllables(word)
        if len(_SYLLABLE_CACHE) < 500_000:
            _SYLLABLE_CACHE[word] = hit
    return hit


_WORD_MARK = "\x01"  # stands in for each English word when counting words per sentence (never in a word)
_LEX_SETS = {lang: {kind: frozenset(words) for kind, words in lex.items()} for lang, lex in _MARKERS.items()}
_XLOGX = [0.0] + [c * math.log(c) for c in range(1, 4096)]  # c·log c for the entropy, as computed inline


def _en_words_and_sentences(text: str) -> tuple[list[str], list[str], list[int]]:
    """English words (lower-cased, ’ as '), sentences and words per sentence — as tokenizing each sentence of
    :func:`split_sentences` would give them, from whole-text regex passes (no per-sentence or per-token Python).

    A word never spans a sentence boundary (a boundary holds whitespace, a word none), so the words of the whole
    text are the sentences' words in order; the words of each sentence are counted by marking every word and
    splitting the marked text at the same boundaries."""
    raw = _SENT_EN_RE.split(text)
    keep = [bool(piece and piece.strip()) for piece in raw]
    sentences = [piece.strip() for piece, kept in zip(raw, keep) if kept]
    if _WORD_MARK in text:  # the marker would be miscounted: tokenize sentence by sentence
        per_sentence = [tokenize_words(sentence, "en") for sentence in sentences]
        return [w for sw in per_sentence for w in sw], sentences, [len(sw) for sw in per_sentence]
    if text.isascii():  # lower-casing ASCII keeps every character's class: tokenize the lower-cased text
        words = _EN_WORD_RE.findall(text.lower())
    else:
        words = [tok.lower().replace("’", "'") for tok in _EN_WORD_RE.findall(text)]
    if len(raw) == 1:  # one sentence (or none): all the words are its words
        return words, sentences, [len(words)] if sentences else []
    marked = _SENT_EN_RE.split(_EN_WORD_RE.sub(_WORD_MARK, text))
    sent_words = [piece.count(_WORD_MARK) for piece, kept in zip(marked, keep) if kept]
    return words, sentences, sent_words


def _line_start_count(pattern: re.Pattern, text: str) -> int:
    """Matches of a ``^``-anchored multi-line pattern (a one-line text can only match at its start)."""
    if "\n" not in text:
        return 1 if pattern.match(text) else 0
    return len(pattern.findall(text))


def _period_count(text: str) -> int:
    if ".." not in text:  # every '.' stands alone
        return text.count(".") + text.count("。")
    return len(_PERIOD_RE.findall(text))


def text_features(text: str, language: str) -> list[float]:
    """The feature vector of one text (column order = ``FEATURE_NAMES``)."""
    if language not in _MARKERS:
        raise ValueError(f"unsupported language {language!r}; expected 'en' or 'zh'")
    text = text or ""
    lex = _LEX_SETS[language]
    cc = _count_char_classes(text)
    n_chars = len(text)
    n_ws = cc[_CC["ws"]]
    n_visible = n_chars - n_ws
    if language == "zh":
        sentences = split_sentences(text, language)
        sentence_words = _zh_sentence_words(text)
        words = [w for sw in sentence_words for w in sw]
        sent_words = [len(sw) for sw in sentence_words]
    else:
        words, sentences, sent_words = _en_words_and_sentences(text)
    n_sent = len(sentences)
    n_words = len(words)
    if "\n" in text:
        n_lines = sum(1 for ln in text.split("\n") if ln.strip())
        n_paragraphs = sum(1 for p in re.split(r"\n\s*\n", text) if p.strip())
    else:
        n_lines = n_paragraphs = 1 if text.strip() else 0
    n_punct_cjk = cc[_CC["punct_cjk"]]
    n_punct = cc[_CC["punct_ascii"]] + n_punct_cjk
    n_upper = cc[_CC["upper"]]
    n_lower = cc[_CC["lower"]]

    counts = Counter(words)
    distinct_bigrams = len(set(zip(words, words[1:])))
    n_bigrams = max(n_words - 1, 0)
    if n_words > 1:
        values_ = counts.values()
        xlogx = sum(map(_XLOGX.__getitem__, values_)) if max(values_) < len(_XLOGX) else None
        if xlogx is None:
            xlogx = sum(c * math.log(c) for c in values_)
        entropy = (math.log(n_words) - xlogx / n_words) / math.log(n_words)
    else:
        entropy = 0.0

    mean_sw = sum(sent_words) / len(sent_words) if sent_words else 0.0
    std_sw = math.sqrt(sum((x - mean_sw) ** 2 for x in sent_words) / len(sent_words)) if len(sent_words) > 1 else 0.0
    max_sw = float(max(sent_words)) if sent_words else 0.0

    present = counts.keys()

    def marker_count(kind: str) -> int:
        return sum(counts[w] for w in lex[kind] & present)

    # Per distinct word (weighted by its count): lengths and syllables.
    total_length = sum(map(len, words))
    if language == "zh":
        total_syllables = total_length  # one Han character = one syllable
        n_complex = sum(c for w, c in counts.items() if len(w) >= 3)
        colloquial = sum(counts[w] for w in _ZH_PARTICLES_SET & present)
    else:
        total_syllables = n_complex = colloquial = 0
        cache = _SYLLABLE_CACHE
        for w, c in counts.items():
            syllables = cache.get(w) or _syllables_cached(w)
            total_syllables += syllables * c
            if syllables >= 3:
                n_complex += c
            if "'" in w:
                colloquial += c
    complex_ratio = _ratio(n_complex, n_words)
    wps = _ratio(n_words, max(n_sent, 1))
    urls = len(_URL_RE.findall(text)) if ("http" in text or "www." in text or "@" in text) else 0
    has_dash = "-" in text or "…" in text or "—" in text or "–" in text or "..." in text
    dashes = len(_DASH_RE.findall(text)) if has_dash else 0

    return [
        math.log1p(n_visible),
        math.log1p(n_words),
        math.log1p(n_sent),
        math.log1p(n_lines),
        math.log1p(n_paragraphs),
        _ratio(n_ws, n_chars),
        _ratio(cc[_CC["digit"]], n_visible),
        _ratio(cc[_CC["latin"]], n_visible),
        _ratio(cc[_CC["han"]], n_visible),
        _ratio(n_upper, n_upper + n_lower),
        _ratio(_line_start_count(_BULLET_RE, text), n_lines),
        _ratio(_line_start_count(_ENUM_RE, text), n_lines),
        _ratio(cc[_CC["markup"]], n_visible),
        math.log1p(urls),
        _ratio(len(counts), n_words),
        _ratio(list(counts.values()).count(1), n_words),
        _ratio(distinct_bigrams, n_bigrams),
        _ratio(n_bigrams - distinct_bigrams, n_bigrams),  # Σ over repeated bigrams of (count - 1)
        _ratio(max(counts.values()) if counts else 0, n_words),
        _clip01(entropy),
        _ratio(sum(map(operator.eq, words, words[1:])), n_words),
        _ratio(marker_count("function"), n_words),
        _ratio(n_punct, n_visible),
        _ratio(n_punct_cjk, n_punct),
        _clip01(_ratio(cc[_CC["comma"]], n_words)),
        _clip01(_ratio(_period_count(text), n_words)),
        _clip01(_ratio(cc[_CC["question"]], n_words)),
        _clip01(_ratio(cc[_CC["exclaim"]], n_words)),
        _clip01(_ratio(cc[_CC["colon"]], n_words)),
        _clip01(_ratio(cc[_CC["quote"]], n_words)),
        _clip01(_ratio(cc[_CC["bracket"]], n_words)),
        _clip01(_ratio(dashes, n_words)),
        math.log1p(mean_sw),
        math.log1p(std_sw),
        math.log1p(max_sw),
        _ratio(sum(1 for s in sentences if s[-1] in "?？"), n_sent),
        _ratio(sum(1 for s in sentences if s[-1] in "!！"), n_sent),
        _ratio(sum(1 for s in sentences if s.rstrip("\"'”’」』)）")[-1:] in _TERMINAL), n_sent),
        _clip01(_ratio(marker_count("contrast"), n_sent)),
        _clip01(_ratio(marker_count("causal"), n_sent)),
        _clip01(_ratio(marker_count("additive"), n_sent)),
        _clip01(_ratio(marker_count("sequence"), n_sent)),
        _clip01(_ratio(marker_count("hedge"), n_sent)),
        _ratio(marker_count("first_person"), n_words),
        _ratio(marker_count("second_person"), n_words),
        _clip01(_ratio(marker_count("politeness"), n_sent)),
        _ratio(colloquial, n_words),
        _clip01(_ratio(total_length, n_words) / 10.0),
        _clip01(_ratio(total_syllables, n_words) / 5.0),
        complex_ratio,
        _clip01(0.4 * (wps + 100.0 * complex_ratio) / 40.0) if n_words else 0.0,
    ]


def _normalize_languages(languages: str | Sequence[str], n: int) -> list[str]:
    if isinstance(languages, str):
        langs = [languages] * n
    else:
        langs = list(languages)
        if len(langs) != n:
            raise ValueError(f"got {n} texts but {len(langs)} languages")
    bad = sorted({lang for lang in langs if lang not in _MARKERS})
    if bad:
        from polyalign_lf.errors import UnsupportedLanguage

        # a row of another language is the user's data, not a bug: a clear error wherever features are taken
        raise UnsupportedLanguage(
            f"unsupported language(s) {bad}: the features (and every critic built on them) cover 'en' and 'zh'",
            hint="drop those rows or keep them out of the run (their bucket ids start with the language)",
        )
    return langs


def extract_linguistic_features(
    texts: Sequence[str], languages: str | Sequence[str], *, show_progress: bool = False
) -> np.ndarray:
    """Feature matrix ``float32 [n, N_FEATURES]`` (rows in input order, columns in ``FEATURE_NAMES`` order)."""
    texts = list(texts)
    langs = _normalize_languages(languages, len(texts))
    out = np.zeros((len(texts), N_FEATURES), dtype=np.float32)
    if "zh" in langs:
        chinese_segmenter()  # load the dictionary once, outside the progress bar
    iterator = range(len(texts))
    if show_progress:
        iterator = progress(iterator, desc="features", total=len(texts), unit="resp")
    for k in iterator:
        text = texts[k]
        if not isinstance(text, str):
            raise ValueError(f"text {k} is {type(text).__name__}, expected str")
        out[k] = text_features(text, langs[k])
    return out
