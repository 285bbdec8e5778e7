"""Finding a source's splits in a local folder: release files as their authors publish them, or a Hub
snapshot (``huggingface-cli download`` / ``save_to_disk``), for ``polyalign prepare --all --from-dir DIR``.

A file belongs to a split when a token of its path (split on non-alphanumerics) names the split:
``DRCD_training.json`` → train, ``dev-v2.0.json`` → validation, ``data/test-00000-of-00001.parquet`` → test,
``MultiWOZ_2.2/dev/dialogues_001.json`` → validation. A source with one split takes every data file when
none names a split. Files that name no split of the source are reported as ignored, never guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from polyalign_lf.data.formatters.base import FormatterSpec
from polyalign_lf.data.sources import data_suffix

# The words release files use for each source split, most specific first.
SPLIT_WORDS: dict[str, tuple[str, ...]] = {
    "train": ("train", "training"),
    "validation": ("validation", "dev", "val", "valid"),
    "validation1": ("validation1",),
    "validation2": ("validation2",),
    "test": ("test", "testing"),
}


@dataclass
class FoundSplits:
    """What a dataset folder holds: files per source split, and the files no split claimed."""

    folder: Path
    splits: dict[str, list[str]] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


def dataset_folder(root: Path, spec: FormatterSpec) -> Path | None:
    """``ROOT/<name>`` or ``ROOT/<alias>`` (the first that exists)."""
    for name in (spec.name, *spec.aliases):
        if (root / name).is_dir():
            return root / name
    return None


def find_splits(folder: Path, spec: FormatterSpec) -> FoundSplits:
    found = FoundSplits(folder)
    if (folder / "dataset_dict.json").is_file():  # a DatasetDict saved with save_to_disk: one sub-folder per split
        for split in spec.source_splits:
            for word in (split, *SPLIT_WORDS.get(split, ())):
                if (folder / word / "state.json").is_file():
                    found.splits[split] = [str(folder / word)]
                    break
        found.missing = [s for s in spec.source_splits if s not in found.splits]
        return found
    if (folder / "state.json").is_file():  # a single saved Dataset
        found.splits[spec.source_splits[0]] = [str(folder)]
        return found
    text_release = re.compile(spec.text_release) if spec.text_release else None
    files = sorted(
        p
        for p in folder.rglob("*")
        if p.is_file()
        and (data_suffix(p) or (text_release is not None and text_release.search(p.name)))
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )
    for path in files:
        tokens = set(re.split(r"[^a-z0-9]+", str(path.relative_to(folder)).lower()))
        split = _split_of(tokens, spec.source_splits)
        if split is None:
            found.ignored.append(str(path))
        else:
            found.splits.setdefault(split, []).append(str(path))
    if not found.splits and len(spec.source_splits) == 1 and found.ignored:
        found.splits[spec.source_splits[0]], found.ignored = found.ignored, []  # one split: every file is it
    found.missing = [s for s in spec.source_splits if s not in found.splits]
    return found


def _split_of(tokens: set[str], source_splits: tuple[str, ...]) -> str | None:
    """The source split a file's path names: an exact split name first, then the release words."""
    for split in source_splits:
        if split in tokens:
            return split
    for split in source_splits:
        if tokens & set(SPLIT_WORDS.get(split, ())):
            return split
    return None
