"""``polyalign dedup``: exact-duplicate removal with evaluation-safe precedence and group pinning.

Policy (one streaming pass, records read in precedence order: every dataset's test file, then val, then
train; datasets in name order):

1. **Group pinning.** Records of one multi-turn conversation share ``meta.group_id``. A group belongs to
   the first (= highest-precedence) split it is seen in; its records found in any other split are
   removed (``group_split_conflict``). A conversation never straddles train and test.
2. **Exact duplicates.** The key is :func:`polyalign_lf.data.normalize.canonical_key`: NFKC, case-folded,
   whitespace-collapsed question, context, history and answer, plus language/track/family. The first
   copy wins, so a test example removes its copies from val and train, and never the other way round
   (``duplicate_same_split``, ``duplicate_cross_split``, ``duplicate_cross_dataset``).

So after dedup, train ∩ test = ∅ on the canonical key and on conversations. Outputs:
``DIR2/DATASET/{train,val,test}.jsonl`` (+ manifest), ``DIR2/dedup_report.json`` (counts and policy) and
``DIR2/dedup_removed.jsonl`` (one row per removed record: id, dataset, split, reason, duplicate_of).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections import Counter
from pathlib import Path

from polyalign_lf.data.normalize import canonical_key
from polyalign_lf.data.schema import SPLITS, validate_record
from polyalign_lf.errors import InputError
from polyalign_lf.io import UniqueKeys, atomic_write, iter_jsonl_lines, progress, read_json, replace_folder, write_json

_encode = json.JSONEncoder(ensure_ascii=False).encode  # = json.dumps(..., ensure_ascii=False), one encoder

PRECEDENCE: tuple[str, ...] = ("test", "val", "train")
POLICY = (
    "group pinning (a conversation stays in its highest-precedence split) + exact dedup on the canonical "
    "key (NFKC, casefold, collapsed whitespace; language/track/family/question/context/history/answer); "
    "precedence test > val > train, then dataset name"
)


def find_datasets(root: Path) -> list[str]:
    """Dataset folders under ``root`` (those holding at least one ``{train,val,test}.jsonl``)."""
    if not root.is_dir():
        raise InputError(
            "not a folder of prepared datasets", where=str(root), hint="run `polyalign prepare … --out DIR` first"
        )
    names = sorted(p.name for p in root.iterdir() if p.is_dir() and any((p / f"{s}.jsonl").exists() for s in SPLITS))
    if not names:
        raise InputError(
            "no DATASET/{train,val,test}.jsonl files found",
            where=str(root),
            hint="run `polyalign prepare … --out DIR` first",
        )
    return names


def _digest(record: dict) -> bytes:
    return hashlib.blake2b(canonical_key(record).encode("utf-8"), digest_size=16).digest()


def dedup_records(in_dir: str | Path, out_dir: str | Path, *, overwrite: bool = False) -> dict:
    """Deduplicate every prepared dataset of ``in_dir`` into ``out_dir`` (built aside and swapped in whole:
    an existing ``out_dir`` needs ``overwrite``); returns the report."""
    in_dir, out_dir = Path(in_dir), Path(out_dir)
    if in_dir.resolve() == out_dir.resolve() or out_dir.resolve() in in_dir.resolve().parents:
        raise InputError("--out must differ from the input folder and must not contain it", where=str(out_dir))
    datasets = find_datasets(in_dir)
    with replace_folder(out_dir, overwrite=overwrite) as building:
        return _dedup_into(in_dir, building, datasets)


def _dedup_into(in_dir: Path, out_dir: Path, datasets: list[str]) -> dict:
    # key digest -> (record id, split, dataset) of the copy that was kept
    kept: dict[bytes, tuple[str, str, str]] = {}
    group_split: dict[str, str] = {}
    original: Counter[str] = Counter()
    final: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    ids = UniqueKeys("id")  # across every file: records are keyed by id downstream
    total_bytes = sum(
        (in_dir / d / f"{s}.jsonl").stat().st_size
        for d in datasets
        for s in SPLITS
        if (in_dir / d / f"{s}.jsonl").exists()
    )

    with contextlib.ExitStack() as stack:
        removed_log = stack.enter_context(atomic_write(out_dir / "dedup_removed.jsonl"))
        bar = stack.enter_context(progress(desc="dedup", total=total_bytes, unit="B", unit_scale=True))
        outputs = {
            (d, s): stack.enter_context(atomic_write(out_dir / d / f"{s}.jsonl")) for d in datasets for s in SPLITS
        }
        for split in PRECEDENCE:
            for dataset in datasets:
                path = in_dir / dataset / f"{split}.jsonl"
                if not path.exists():
                    continue
                out = outputs[(dataset, split)]
                # Kept records are copied verbatim (re-encoding 800k records would cost a fifth of dedup's time).
                for lineno, line, record in iter_jsonl_lines(path):
                    where = f"{path}:{lineno}"
                    validate_record(record, where=where)
                    ids.add(record["id"], lineno, path)
                    if record["split"] != split:
                        raise InputError(
                            f"record says split {record['split']!r} but sits in {split}.jsonl", where=where
                        )
                    original[f"{dataset}:{split}"] += 1
                    reason, duplicate_of = None, None
                    group = record["meta"].get("group_id")
                    if group is not None:
                        pinned = group_split.setdefault(group, split)
                        if pinned != split:
                            reason = "group_split_conflict"
                            duplicate_of = f"group {group} is in {pinned}"
                    if reason is None:
                        digest = _digest(record)
                        first = kept.get(digest)
                        if first is None:
                            kept[digest] = (record["id"], split, dataset)
                        else:
                            duplicate_of = first[0]
                            reason = (
                                "duplicate_cross_dataset"
                                if first[2] != dataset
                                else "duplicate_same_split"
                                if first[1] == split
                                else "duplicate_cross_split"
                            )
                    if reason is None:
                        out.write(line)
                        final[f"{dataset}:{split}"] += 1
                    else:
                        reasons[reason] += 1
                        removed_log.write(
                            _encode(
                                {
                                    "id": record["id"],
                                    "dataset": dataset,
                                    "split": split,
                                    "reason": reason,
                                    "duplicate_of": duplicate_of,
                                }
                            )
                        )
                        removed_log.write("\n")
                bar.update(path.stat().st_size)
        total_in, total_out = sum(original.values()), sum(final.values())
        report = {
            "policy": POLICY,
            "precedence": list(PRECEDENCE),
            "counts": {
                "original_total": total_in,
                "final_total": total_out,
                "removed_total": total_in - total_out,
                "duplicate_rate": round((total_in - total_out) / total_in, 6) if total_in else 0.0,
                "removed_by_reason": dict(sorted(reasons.items())),
            },
            "original_dataset_split_counts": dict(sorted(original.items())),
            "final_dataset_split_counts": dict(sorted(final.items())),
            "removed_list": "dedup_removed.jsonl",
        }
        # Per-dataset manifests: the prepare manifest plus what dedup did (written inside the stack, so
        # an error leaves neither records nor manifests behind).
        for dataset in datasets:
            manifest_path = in_dir / dataset / "manifest.json"
            manifest = read_json(manifest_path) if manifest_path.exists() else {"dataset": dataset}
            manifest.update(
                {
                    "dedup_applied": True,
                    "dedup_policy": POLICY,
                    "original_split_counts": {s: original.get(f"{dataset}:{s}", 0) for s in SPLITS},
                    "split_counts": {s: final.get(f"{dataset}:{s}", 0) for s in SPLITS},
                    "removed_count": sum(
                        original.get(f"{dataset}:{s}", 0) - final.get(f"{dataset}:{s}", 0) for s in SPLITS
                    ),
                }
            )
            manifest.pop("bucket_counts", None)  # stale after dedup; export recounts
            write_json(out_dir / dataset / "manifest.json", manifest)
        write_json(out_dir / "dedup_report.json", report)
    return report
