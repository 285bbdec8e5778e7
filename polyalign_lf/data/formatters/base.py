"""What a source-dataset formatter is.

A formatter knows one public dataset: its Hub id and column layout, its interaction context (track,
family, style) from Table 1 of the paper, how to turn its rows into answers-in-context, and its split
policy. It does *not* normalize text, count length, assign buckets or write files: the ``prepare``
driver does that identically for every source (see :mod:`polyalign_lf.data.prepare`).

Each module in this package defines ``FORMATTER = FormatterSpec(...)``; the registry in
:mod:`polyalign_lf.data.formatters` collects them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Draft:
    """One answer-in-context extracted from a source row, before normalization and bucketing."""

    source_id: str
    question: str
    human_answer: str
    context: str = ""
    # Turns *before* the current question (the question itself is not repeated here).
    dialogue_history: list[dict] = field(default_factory=list)  # [{"role": "user"|"assistant", "text": str}]
    split: str | None = None  # "train" | "val" | "test", decided by the formatter's split policy
    group_key: str | None = None  # conversation id: all turns of one conversation stay in one split
    meta: dict[str, Any] = field(default_factory=dict)
    # Per-row overrides of the spec's context, for sources that mix contexts (e.g. the generic
    # ``custom`` formatter for users' own data). None = use the FormatterSpec's value.
    language: str | None = None
    track: str | None = None
    family: str | None = None
    style_bucket: str | None = None
    # A released length bin to keep (sources that come bucketed, e.g. the reference's release); None = measure.
    length_bin: str | None = None


@dataclass
class Skip:
    """A source row deliberately not turned into a record; counted and reported, never silent."""

    reason: str  # short machine-friendly reason, e.g. "empty_answer", "unanswerable", "no_answer_present"
    source_id: str | None = None


ConvertFn = Callable[[Iterable[Mapping[str, Any]], str, int], Iterator["Draft | Skip"]]


@dataclass(frozen=True)
class FormatterSpec:
    name: str  # registry name, also the record's ``dataset`` field
    language: str  # "en" | "zh"
    track: str  # "single" | "multi"
    family: str  # "assistant" | "qa" | "dialogue"
    style_bucket: str  # e.g. "assistant_like", "longform_qa", "qa_search", "open_chat", "task_dialogue"
    hub_id: str  # Hugging Face Hub dataset id the column layout comes from
    source_splits: tuple[str, ...]  # the source's own split names on the Hub (``--source SPLIT=PATH``)
    split_policy: str  # one sentence, written to the manifest
    convert: ConvertFn  # (rows of one source split, that split's name, seed) -> Drafts and Skips
    required_columns: tuple[str, ...] = ()  # checked before conversion: a clear error names what is missing
    hub_config: str | None = None
    # Sources split into several Hub configs (COIG-CQIA subsets, DuReader robust/checklist): ``prepare
    # --all`` reads every one of them; empty = just ``hub_config``.
    hub_configs: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    description: str = ""
    # Plain-text release files this source is published as (a regex on the file name, e.g. DailyDialog's
    # ``dialogues_train.txt``): read one row ``{"text": line}`` per line. None = no text release.
    text_release: str | None = None
    # Column sets of the authors' release files, accepted besides ``required_columns`` (the Hub layout).
    release_layouts: tuple[tuple[str, ...], ...] = ()

    def layouts(self) -> tuple[tuple[str, ...], ...]:
        """Every accepted column layout, the Hub's first."""
        return (self.required_columns, *self.release_layouts)

    def layout_problem(self, columns) -> str | None:
        """None when ``columns`` hold one accepted layout; else what is missing (from the Hub layout) and
        the layouts accepted."""
        columns = set(columns)
        if any(all(c in columns for c in layout) for layout in self.layouts()):
            return None
        missing = [c for c in self.required_columns if c not in columns]
        text = f"missing column(s) {', '.join(missing)} for {self.name}"
        if self.release_layouts:
            text += (
                " (release layouts accepted too: "
                + "; ".join(", ".join(layout) for layout in self.release_layouts)
                + ")"
            )
        return text


def stable_fraction(key: str, seed: int) -> float:
    """A deterministic number in [0, 1) from ``key`` and ``seed`` (same on every machine and run)."""
    digest = hashlib.blake2b(f"{seed}:{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def hashed_split(
    key: str, seed: int, fractions: Sequence[tuple[str, float]] = (("train", 0.9), ("val", 0.05), ("test", 0.05))
) -> str:
    """Assign a split by hashing ``key``; use a conversation/group key so groups never straddle splits."""
    value = stable_fraction(key, seed)
    cumulative = 0.0
    for name, share in fractions:
        cumulative += share
        if value < cumulative:
            return name
    return fractions[-1][0]
