"""Text normalization, canonical dedup keys and language-aware length bins.

Three different jobs, kept apart on purpose:

* :func:`normalize_text` is applied to every stored text field (question, context, history, answer).
  NFKC folds compatibility characters (ligatures, full-width Latin letters and digits, non-breaking
  spaces, circled numbers …) so that the same text has one spelling; line breaks become ``\\n``;
  spaces inside a line collapse to one; runs of blank lines collapse to one blank line. For Chinese
  the full-width *punctuation* (``，。？！：；（）``) is kept: NFKC would turn ``，`` into ``,`` and so
  change the very surface statistics of human Chinese answers that PolyAlign tries to match.
* :func:`canonical_text` builds the exact-duplicate key used by dedup: full NFKC (punctuation
  included), case-folded, all whitespace collapsed. Two texts that differ only in width, case or
  spacing are the same example.
* :func:`length_units` / :func:`length_bin` measure the *human answer*: English in words, Chinese in
  characters (Han characters, plus one unit per embedded Latin word or number). The two scales
  differ, so each language has its own thresholds (:data:`DEFAULT_LENGTH_THRESHOLDS`).
"""

from __future__ import annotations

import functools
import re
import sys
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from polyalign_lf.errors import ConfigError

NORMALIZATION_VERSION = "nfkc-ws-1"

# --- stored text -----------------------------------------------------------------------------------

# Full-width punctuation that Chinese text uses natively: FF01–FF5E minus letters and digits, plus the
# white parentheses and full-width currency signs. (The ideographic space U+3000 is not kept: it is
# whitespace and collapses like any other space.)
_FULLWIDTH_PUNCT = (
    "".join(chr(c) for c in range(0xFF01, 0xFF5F) if not chr(c).isalnum()) + "\uff5f\uff60\uffe0\uffe1\uffe5"
)
_KEEP_SPLIT = re.compile("([" + re.escape(_FULLWIDTH_PUNCT) + "])")


def _nfkc_keep_cjk_punct(text: str) -> str:
    """NFKC everywhere except on full-width punctuation (kept as written)."""
    if unicodedata.is_normalized("NFKC", text):
        return text
    parts = _KEEP_SPLIT.split(text)  # odd positions are the kept punctuation marks
    parts[::2] = [unicodedata.normalize("NFKC", part) for part in parts[::2]]
    return "".join(parts)


def _collapse_whitespace(text: str) -> str:
    """Strip each line, collapse spaces inside it to one, and runs of blank lines to one blank line."""
    if "\n" not in text:
        return " ".join(text.split())
    out: list[str] = []
    for line in text.split("\n"):
        line = " ".join(line.split())
        if line or (out and out[-1]):
            out.append(line)
    while out and not out[-1]:
        out.pop()
    return "\n".join(out)


def normalize_text(text: str | None, language: str = "en") -> str:
    """NFKC + line-break and whitespace normalization (see module docstring). ``None`` → ``""``."""
    if not text:
        return ""
    text = _nfkc_keep_cjk_punct(text) if language == "zh" else unicodedata.normalize("NFKC", text)
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    # NFKC maps U+2028/2029 to themselves; treat them as line breaks too.
    if "\u2028" in text or "\u2029" in text:
        text = text.replace("\u2028", "\n").replace("\u2029", "\n")
    return _collapse_whitespace(text)


@functools.lru_cache(maxsize=1)
def _invisible_table() -> dict[int, None]:
    """Code points a reader does not see: every format character (Unicode category Cf: zero-width space and
    (non-)joiners, word joiner, BOM, soft hyphen, bidi marks, …), variation selectors and the combining
    grapheme joiner. Dedup keys drop them, so a copy with invisible characters inserted is still a copy."""
    invisible = {cp for cp in range(sys.maxunicode + 1) if unicodedata.category(chr(cp)) == "Cf"}
    invisible |= set(range(0xFE00, 0xFE10)) | set(range(0xE0100, 0xE01F0)) | {0x034F}
    return dict.fromkeys(invisible)


def drop_invisible(text: str) -> str:
    """``text`` without the characters of :func:`_invisible_table` (ASCII text is returned as is, fast)."""
    return text if text.isascii() else text.translate(_invisible_table())


def canonical_text(text: str | None) -> str:
    """The dedup form of a text: invisible characters dropped, NFKC, case-folded, every whitespace run
    collapsed to one space."""
    if not text:
        return ""
    return " ".join(unicodedata.normalize("NFKC", drop_invisible(text)).casefold().split())


def canonical_key(record: Mapping) -> str:
    """Exact-duplicate key of a record: its bucket context plus its canonical input and response texts.

    Equal to joining :func:`canonical_text` of language, track, family, question, context, each
    non-empty history turn (``role`` + text) and the answer with NUL separators; computed with one NFKC
    pass over the joined string because dedup runs it on every record.

    The key leaves out ``dataset`` and ``split`` on purpose: the same example coming from two sources or
    two splits *is* a duplicate, and dedup's precedence decides which copy survives.
    """
    parts = [
        record.get("language") or "",
        record.get("track") or "",
        record.get("family") or "",
        record.get("question") or "",
        record.get("context") or "",
    ]
    for turn in record.get("dialogue_history") or ():
        parts.append(f"{turn.get('role', '')}:\x01{turn.get('text') or ''}")
    parts.append(record.get("human_answer") or "")
    folded = unicodedata.normalize("NFKC", drop_invisible("\x00".join(parts))).casefold().split("\x00")
    canonical = [" ".join(part.split()) for part in folded]
    # Drop history turns whose text is empty once canonical (``role:`` + separator only).
    canonical[5:-1] = [turn for turn in canonical[5:-1] if not turn.endswith("\x01")]
    return "\x00".join(canonical)


# --- length ----------------------------------------------------------------------------------------

# Han ideographs (CJK unified + extension A + compatibility) count one unit each.
_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# A "word": a run of letters/digits (any script except Han and kana), with inner apostrophes or
# hyphens (don't, state-of-the-art → 1). Non-ASCII letters (é, ü, ß) are letters like any other.
_WORD_CHARS = rf"[^\W_{_HAN}\u3040-\u30ff]"
_UNIT = re.compile(rf"[{_HAN}\u3040-\u30ff]|{_WORD_CHARS}+(?:['’\-]{_WORD_CHARS}+)*")
_ASCII_UNIT = re.compile(r"[A-Za-z0-9]+(?:['\-][A-Za-z0-9]+)*")  # same rule, ASCII-only text (faster)

LENGTH_UNITS: dict[str, str] = {"en": "word", "zh": "char"}


def length_units(text: str, language: str) -> int:
    """Length of ``text`` in its language's unit: words for English, characters for Chinese.

    Mixed scripts count sensibly in both: an English answer quoting 北京 gets one unit per Han
    character, a Chinese answer containing ``GPU 4090`` gets one unit per Latin word/number.
    Punctuation and whitespace never count.
    """
    if language not in LENGTH_UNITS:
        raise ConfigError(f"no length unit for language {language!r}; known: {', '.join(LENGTH_UNITS)}")
    return len((_ASCII_UNIT if text.isascii() else _UNIT).findall(text))


# Upper bounds (inclusive) of short, medium, long; above the last is xlong.
# English keeps the reference's word thresholds (40 / 120 / 240 words). Chinese thresholds are the same
# lengths expressed in characters: translated Chinese runs at about 1.6–1.8 Han characters per English
# word (parallel corpora such as UN / news commentary), so ×1.7 rounded to 70 / 200 / 400 characters.
# The reference used the English numbers for characters, which put most Chinese answers one bin
# shorter than English answers of the same content.
DEFAULT_LENGTH_THRESHOLDS: dict[str, tuple[int, int, int]] = {"en": (40, 120, 240), "zh": (70, 200, 400)}
LENGTH_BIN_NAMES: tuple[str, ...] = ("short", "medium", "long", "xlong")


@dataclass(frozen=True)
class LengthBins:
    """Language-aware length-bin thresholds (inclusive upper bounds of short, medium, long)."""

    thresholds: Mapping[str, Sequence[int]] = field(default_factory=lambda: dict(DEFAULT_LENGTH_THRESHOLDS))

    def __post_init__(self) -> None:
        for language, bounds in self.thresholds.items():
            bounds = tuple(bounds)
            if (
                len(bounds) != 3
                or not all(isinstance(b, int) and b > 0 for b in bounds)
                or list(bounds) != sorted(set(bounds))
            ):
                raise ConfigError(
                    f"length-bin thresholds for {language!r} must be three increasing positive integers "
                    f"(upper bounds of short, medium, long), got {list(bounds)}"
                )

    def bin(self, units: int, language: str) -> str:
        if language not in self.thresholds:
            raise ConfigError(
                f"no length-bin thresholds for language {language!r}; configured: {', '.join(self.thresholds)}"
            )
        for name, bound in zip(LENGTH_BIN_NAMES, self.thresholds[language]):
            if units <= bound:
                return name
        return LENGTH_BIN_NAMES[-1]

    def as_dict(self) -> dict[str, list[int]]:
        return {language: list(bounds) for language, bounds in sorted(self.thresholds.items())}

    @classmethod
    def parse(cls, specs: Sequence[str] | None) -> LengthBins:
        """From CLI strings ``LANG=A,B,C`` (e.g. ``zh=60,180,360``); unspecified languages keep defaults."""
        thresholds = dict(DEFAULT_LENGTH_THRESHOLDS)
        for spec in specs or ():
            language, sep, values = spec.partition("=")
            try:
                if not sep:
                    raise ValueError
                thresholds[language.strip()] = tuple(int(v) for v in values.split(","))
            except ValueError:
                raise ConfigError(
                    f"--length-bins {spec!r}: expected LANG=SHORT_MAX,MEDIUM_MAX,LONG_MAX, e.g. zh=70,200,400"
                ) from None
        return cls(thresholds)


def length_bin(text: str, language: str, bins: LengthBins | None = None) -> tuple[str, int]:
    """(length_bin, length_units) of ``text``."""
    units = length_units(text, language)
    return (bins or DEFAULT_BINS).bin(units, language), units


DEFAULT_BINS = LengthBins()
