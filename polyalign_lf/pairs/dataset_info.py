"""Writing LLaMA-Factory ranking files and merging their entries into a ``dataset_info.json``."""

from __future__ import annotations

import os
import re
from pathlib import Path

from polyalign_lf.data.export import merge_dataset_info
from polyalign_lf.errors import ConfigError

BASE_COLUMNS = {
    "prompt": "instruction",
    "query": "input",
    "chosen": "chosen",
    "rejected": "rejected",
    "history": "history",
}
DPO_COLUMNS = {**BASE_COLUMNS, "bucket_id": "bucket_id"}
HDPO_COLUMNS = {**DPO_COLUMNS, "weight": "weight", "chosen_score": "chosen_score", "rejected_score": "rejected_score"}


def slug(name: str) -> str:
    """A dataset-name-safe form of a model name: lower case, [a-z0-9_] only."""
    s = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    if not s:
        raise ConfigError(f"model name {name!r} has no usable characters")
    return s


def dataset_name(kind: str, language: str, model: str) -> str:
    """``polyalign_{lang}_{dpo|hdpo}_{model}`` (the cross-team contract)."""
    if kind not in ("dpo", "hdpo"):
        raise ValueError(f"preference dataset kind must be dpo or hdpo, not {kind!r}")
    return f"polyalign_{language}_{kind}_{slug(model)}"


def register_ranking_dataset(
    dataset_info: str | os.PathLike, name: str, data_file: str | os.PathLike, kind: str
) -> dict:
    """Merge (add or replace) entry ``name`` into ``dataset_info`` (created if missing), atomically.

    ``file_name`` is stored relative to the dataset_info directory (LLaMA-Factory's ``dataset_dir``).
    """
    info_path = Path(dataset_info)
    rel = os.path.relpath(Path(data_file).resolve(), info_path.resolve().parent)
    entry = {
        "file_name": rel.replace(os.sep, "/"),
        "formatting": "alpaca",
        "ranking": True,
        "columns": dict(HDPO_COLUMNS if kind == "hdpo" else DPO_COLUMNS),
    }
    merge_dataset_info(info_path, {name: entry})
    return entry
