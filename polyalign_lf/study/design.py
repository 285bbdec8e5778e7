"""The real-data study's pre-registered design: which human rows train and test every method.

The rule is fixed before any model is trained (docs/study.md states it with its constants):

* **Test rows, balanced.** A bucket enters the design when it has at least ``test_per_bucket`` test rows and
  at least ``smallest`` training-pool rows; every other bucket is excluded and reported. Each design bucket
  contributes exactly ``test_per_bucket`` test rows.
* **Training rows, imbalanced like the paper's Table 1.** The training pool is the folder's train split, or
  its validation split when it has no train split (the reference implementation's public sample has no
  training rows). Design buckets are ranked by pool size, largest first (ties by bucket id), and the bucket of
  rank k (0-based, K buckets) gets ``round(largest · (smallest / largest) ** (k / (K − 1)))`` rows: a geometric
  decay from ``largest`` to ``smallest`` that keeps the pool's own order of frequency.
* **Which rows.** Within a bucket, rows are taken in the order of a shuffle seeded by the bucket id and
  ``seed``, so the choice does not depend on file order or on the other buckets.
"""

from __future__ import annotations

import hashlib
import random
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from polyalign_lf.errors import InputError

DESIGN_SEED = 20261206


@dataclass(frozen=True)
class DesignRule:
    test_per_bucket: int = 8
    largest: int = 24  # training rows of the most frequent design bucket
    smallest: int = 4  # training rows of the rarest design bucket (largest / smallest = the imbalance)
    seed: int = DESIGN_SEED

    def training_sizes(self, n_buckets: int) -> list[int]:
        """Training rows per rank (0 = the most frequent bucket)."""
        if n_buckets == 1:
            return [self.largest]
        ratio = self.smallest / self.largest
        return [round(self.largest * ratio ** (k / (n_buckets - 1))) for k in range(n_buckets)]


def _seeded_order(rows: list[dict], bucket: str, seed: int) -> list[dict]:
    ordered = sorted(rows, key=lambda r: r["id"])
    digest = hashlib.sha256(f"{seed}|{bucket}".encode()).hexdigest()
    random.Random(int(digest[:16], 16)).shuffle(ordered)
    return ordered


def design_rows(records: Iterable[dict], rule: DesignRule, *, where: str = "--data") -> dict[str, Any]:
    """Apply ``rule`` to prepared records → ``{"train": [...], "test": [...], "summary": {...}}``.

    Training rows keep their content; their ``split`` becomes ``train`` (they may come from the validation
    split, see the module docstring)."""
    by_split: dict[str, dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for record in records:
        by_split[record["split"]][record["bucket_id"]].append(record)
    if not by_split.get("test"):
        raise InputError(
            "has no test rows: the study evaluates every method on the folder's test split",
            where=where,
            hint="prepare the source with a test split, e.g. `polyalign prepare polyalign_reference --source "
            "validation=dist_sft_val.json --source test=dist_sft_test.json --out DIR`",
        )
    pool_split = "train" if by_split.get("train") else "val"
    pool = by_split.get(pool_split) or {}
    if not pool:
        raise InputError(
            "has neither train nor validation rows to train on", where=where, hint="prepare a train or val split"
        )
    test = by_split["test"]
    excluded = {}
    for bucket in sorted(set(pool) | set(test)):
        n_pool, n_test = len(pool.get(bucket, [])), len(test.get(bucket, []))
        if n_test < rule.test_per_bucket or n_pool < rule.smallest:
            excluded[bucket] = {"pool": n_pool, "test": n_test}
    ranked = sorted((b for b in pool if b not in excluded), key=lambda b: (-len(pool[b]), b))
    if len(ranked) < 2:
        raise InputError(
            f"only {len(ranked)} bucket(s) have >= {rule.test_per_bucket} test rows and >= {rule.smallest} "
            f"training rows ({len(excluded)} excluded: {', '.join(sorted(excluded)[:6])}): the study compares "
            "buckets",
            where=where,
            hint="use a folder with more rows per bucket, or lower --test-per-bucket",
        )
    train, test_rows, sizes = [], [], {}
    for bucket, size in zip(ranked, rule.training_sizes(len(ranked))):
        size = min(size, len(pool[bucket]))
        sizes[bucket] = {"train": size, "test": rule.test_per_bucket, "pool": len(pool[bucket])}
        train += [dict(r, split="train") for r in _seeded_order(pool[bucket], bucket, rule.seed)[:size]]
        test_rows += _seeded_order(test[bucket], bucket, rule.seed)[: rule.test_per_bucket]
    rare = sorted(ranked[-2:])
    summary = {
        "rule": asdict(rule),
        "pool_split": pool_split,
        "buckets": sizes,
        "excluded": excluded,
        "rare_buckets": rare,
        "train_rows": len(train),
        "test_rows": len(test_rows),
        "imbalance": round(max(s["train"] for s in sizes.values()) / min(s["train"] for s in sizes.values()), 2),
    }
    return {"train": train, "test": test_rows, "summary": summary}


def _records_of(records_dir: Path) -> list[dict]:
    from polyalign_lf.data.dedup import find_datasets
    from polyalign_lf.data.schema import SPLITS, iter_records

    records = []
    for dataset in find_datasets(records_dir):
        for split in SPLITS:
            path = records_dir / dataset / f"{split}.jsonl"
            if path.exists():
                records += list(iter_records(path))
    return records


def data_buckets(records_dir: Path) -> list[str]:
    """The bucket ids of a prepared folder (every split)."""
    return sorted({record["bucket_id"] for record in _records_of(records_dir)})


def write_design(records_dir: Path, rule: DesignRule, out: Path) -> dict[str, Any]:
    """Read a prepared folder (``DATASET/{train,val,test}.jsonl``), apply the rule and write the chosen rows as
    a prepared folder (``out/DATASET/{train,test}.jsonl``) plus ``out/design.json``; returns the summary."""
    from polyalign_lf.io import replace_folder, write_json, write_jsonl

    design = design_rows(_records_of(records_dir), rule, where=str(records_dir))
    with replace_folder(out, overwrite=True) as staging:
        for split in ("train", "test"):
            by_dataset: dict[str, list[dict]] = defaultdict(list)
            for record in design[split]:
                by_dataset[record["dataset"]].append(record)
            for dataset, rows in by_dataset.items():
                (staging / dataset).mkdir(parents=True, exist_ok=True)
                write_jsonl(staging / dataset / f"{split}.jsonl", rows)
        write_json(staging / "design.json", design["summary"])
    return design["summary"]
