"""``polyalign export``: deduplicated records → LLaMA-Factory alpaca files + ``dataset_info.json`` entries.

For each language and split one file ``polyalign_{lang}_{split}.jsonl`` is written; each row is
:func:`polyalign_lf.data.lf_format.record_to_alpaca` (instruction = question, input = context, output =
human answer, history pairs; the same mapping preference pairs and inference prompts use) plus the
bucket metadata columns ``bucket_id, dataset, language, track, family, style_bucket, length_bin``.
The entry ``polyalign_{lang}_{split}`` is merged into ``DIR/dataset_info.json`` (other entries are
kept), with ``columns`` mapping prompt/query/response/history and ``bucket_id``, so a recipe with
``bucket_weighting: true`` reads the buckets without any other change.
"""

from __future__ import annotations

import contextlib
import json
from collections import Counter
from collections.abc import Mapping
from pathlib import Path

from polyalign_lf.data.dedup import find_datasets
from polyalign_lf.data.lf_format import record_to_alpaca
from polyalign_lf.data.schema import LANGUAGES, SPLITS, validate_record
from polyalign_lf.errors import InputError
from polyalign_lf.io import (
    UniqueKeys,
    atomic_write,
    cleaned_up_on_error,
    iter_jsonl,
    output_lock,
    progress,
    read_json,
    write_json,
)

# One encoder for every row (``json.dumps(..., ensure_ascii=False)`` builds a new one per call; same bytes).
_encode = json.JSONEncoder(ensure_ascii=False).encode

METADATA_COLUMNS: tuple[str, ...] = ("dataset", "language", "track", "family", "style_bucket", "length_bin")
ALPACA_COLUMNS: dict[str, str] = {
    "prompt": "instruction",
    "query": "input",
    "response": "output",
    "history": "history",
    "bucket_id": "bucket_id",
}


def entry_name(language: str, split: str) -> str:
    return f"polyalign_{language}_{split}"


def dataset_info_entry(file_name: str, *, with_system: bool = False) -> dict:
    """A LLaMA-Factory ``dataset_info.json`` entry for an exported alpaca file (``with_system``: the rows carry
    a per-row ``system`` prompt, the profile prompt)."""
    columns = dict(ALPACA_COLUMNS)
    if with_system:
        columns["system"] = "system"
    return {"file_name": file_name, "formatting": "alpaca", "columns": columns}


def read_dataset_info(path: str | Path) -> dict:
    """An existing ``dataset_info.json`` (``{}`` when absent), checked: a JSON object of entry objects."""
    path = Path(path)
    info = read_json(path) if path.exists() else {}
    if not isinstance(info, dict):
        raise InputError("dataset_info.json must hold a JSON object", where=str(path))
    bad = [name for name, entry in info.items() if not isinstance(entry, dict)]
    if bad:
        raise InputError(
            f"entries {', '.join(map(repr, bad[:5]))} are not JSON objects",
            where=str(path),
            hint="fix or remove them: LLaMA-Factory would fail on them too",
        )
    return info


def merge_dataset_info(path: str | Path, entries: Mapping[str, dict], remove: tuple[str, ...] = ()) -> dict:
    """Read ``dataset_info.json`` (if any), set ``entries`` (drop ``remove``), write it back atomically."""
    path = Path(path)
    with output_lock(path, wait_s=60):  # concurrent merges (several `pairs` runs) would lose each other's entries
        info = read_dataset_info(path)
        for name in remove:
            info.pop(name, None)
        info.update(entries)
        write_json(path, info)
    return info


def alpaca_row(record: dict, profile: str = "none") -> dict:
    row = record_to_alpaca(record, profile=profile)
    row.setdefault("history", [])  # every row carries the column, so LF's loader sees one schema
    for column in METADATA_COLUMNS:
        row[column] = record[column]
    return row


def export_records(in_dir: str | Path, out_dir: str | Path, *, profile: str = "none") -> dict:
    """Write the LLaMA-Factory files and merge their entries; returns a summary (also ``export_manifest.json``).

    ``profile`` puts a per-row profile system prompt into every row
    (:func:`polyalign_lf.data.lf_format.profile_system_prompt`); the manifest records it, and a model trained on
    it must be prompted the same way (``polyalign generate --profile-prompt``)."""
    from polyalign_lf.data.lf_format import PROFILE_PROMPTS

    if profile not in PROFILE_PROMPTS:
        raise InputError(f"unknown profile prompt {profile!r}", hint=f"choose from {', '.join(PROFILE_PROMPTS)}")
    in_dir, out_dir = Path(in_dir), Path(out_dir)
    datasets = find_datasets(in_dir)
    read_dataset_info(out_dir / "dataset_info.json")  # a broken registry is refused before any file is written
    with cleaned_up_on_error(out_dir):
        return _export_into(in_dir, out_dir, datasets, profile)


def _export_into(in_dir: Path, out_dir: Path, datasets: list[str], profile: str) -> dict:
    ids = UniqueKeys("id")
    counts: Counter[tuple[str, str]] = Counter()
    buckets: Counter[tuple[str, str, str]] = Counter()
    files = [
        (d, s, in_dir / d / f"{s}.jsonl") for s in SPLITS for d in datasets if (in_dir / d / f"{s}.jsonl").exists()
    ]
    total_bytes = sum(p.stat().st_size for _, _, p in files)
    with contextlib.ExitStack() as stack:
        bar = stack.enter_context(progress(desc="export", total=total_bytes, unit="B", unit_scale=True))
        outputs = {
            (lang, s): stack.enter_context(atomic_write(out_dir / f"{entry_name(lang, s)}.jsonl"))
            for lang in LANGUAGES
            for s in SPLITS
        }
        for _dataset, _split, path in files:
            for lineno, record in iter_jsonl(path):
                validate_record(record, where=f"{path}:{lineno}")
                ids.add(record["id"], lineno, path)
                handle = outputs[(record["language"], record["split"])]
                handle.write(_encode(alpaca_row(record, profile)))
                handle.write("\n")
                counts[(record["language"], record["split"])] += 1
                buckets[(record["language"], record["split"], record["bucket_id"])] += 1
            bar.update(path.stat().st_size)
        # (language, split) files that stay empty are deleted after the clean close below.
    written: dict[str, dict] = {}
    stale: list[str] = []
    for language in LANGUAGES:
        for split in SPLITS:
            file_path = out_dir / f"{entry_name(language, split)}.jsonl"
            if counts[(language, split)] == 0:
                file_path.unlink(missing_ok=True)
                stale.append(entry_name(language, split))  # an older export's entry would point at nothing
                continue
            written[entry_name(language, split)] = dataset_info_entry(file_path.name, with_system=profile != "none")
    merge_dataset_info(out_dir / "dataset_info.json", written, remove=tuple(stale))
    summary = {
        "source": str(in_dir),
        "datasets": datasets,
        "profile_prompt": profile,
        "entries": {
            name: {"file_name": entry["file_name"], "rows": counts[tuple(name.split("_")[1:3])]}
            for name, entry in written.items()
        },
        "bucket_counts": {
            entry_name(l, s): {b: n for (l2, s2, b), n in sorted(buckets.items()) if (l2, s2) == (l, s)}
            for (l, s) in sorted(counts)
        },
    }
    write_json(out_dir / "export_manifest.json", summary)
    return summary
