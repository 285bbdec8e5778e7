"""A ``tokenized_path`` cache remembers the PolyAlign settings it was built with.

LLaMA-Factory loads a saved ``tokenized_path`` as it is and skips every data step, ours included: the example
weights, bucket ids and critic scores in it are those of the run that built it. A ``bucket_weighting: true``
run on a cache built by a ``uniform`` run would train with every weight 1 while its ``polyalign_config.json``
says ``true``. So the run that builds a cache writes :data:`CACHE_FILE` next to it (the settings that decide
the cached columns, with content hashes of the bucket table and the critic bundle), and a run that loads one
refuses it, naming what differs, unless its own settings are the same.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from polyalign_lf.errors import ConfigError
from polyalign_lf.integration.lf_v0.columns import RunContext
from polyalign_lf.io import write_json

CACHE_FILE = "polyalign_cache.json"
CACHE_SCHEMA = "polyalign-tokenized/1"


def content_hash(path: str | os.PathLike) -> str:
    """sha256 over a file, or over every file of a folder (relative names and contents, in sorted order)."""
    root = Path(path)
    digest = hashlib.sha256()
    files = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else [root]
    for file in files:
        digest.update(str(file.relative_to(root) if root.is_dir() else file.name).encode("utf-8") + b"\0")
        with open(file, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        digest.update(b"\0")
    return digest.hexdigest()


def cache_settings(ctx: RunContext) -> dict[str, Any]:
    """What decides the PolyAlign columns of a tokenized dataset (not what only the trainer uses, such as
    ``hdpo_lambda``, ``weight_normalization`` or ``bucket_sampling``)."""
    pa = ctx.pa_args
    settings: dict[str, Any] = {
        "stage": ctx.stage,
        "bucket_weighting": pa.bucket_weighting,
        "weight_clip_min": pa.weight_clip_min,
        "weight_clip_max": pa.weight_clip_max,
        "bucket_table_sha256": content_hash(pa.bucket_table) if pa.bucket_table else None,
        "hdpo_critic_sha256": None,
    }
    if ctx.stage == "hdpo" and pa.hdpo_critic:
        settings["hdpo_critic_sha256"] = content_hash(pa.hdpo_critic)
    return settings


def check_cache(ctx: RunContext, path: str) -> None:
    """Refuse a saved tokenized dataset that another PolyAlign configuration (or no PolyAlign run) built."""
    from polyalign_lf.io import read_json

    record_path = Path(path) / CACHE_FILE
    fix = f"delete {path} (or point `tokenized_path` at a new folder) so this run rebuilds it"
    if not record_path.is_file():
        raise ConfigError(
            f"the tokenized dataset has no PolyAlign columns record ({CACHE_FILE} in {path}): it was built "
            f"without polyalign-lf, by another recipe or by an older version, so its weights cannot be trusted; "
            f"{fix}"
        )
    try:
        record = read_json(record_path)
    except (OSError, ValueError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{record_path} cannot be read ({exc}); {fix}") from None
    built = record.get("settings") if isinstance(record, dict) else None
    if not isinstance(built, dict) or record.get("schema") != CACHE_SCHEMA:
        raise ConfigError(f"{record_path} is not a {CACHE_SCHEMA} record; {fix}")
    wanted = cache_settings(ctx)
    differs = [
        f"{key}: cache {built.get(key)!r}, this run {value!r}"
        for key, value in wanted.items()
        if built.get(key) != value
    ]
    if differs:
        raise ConfigError(
            f"the tokenized dataset at {path} was built with other PolyAlign settings, so its example weights / "
            f"critic scores are not this run's ({'; '.join(differs)}); {fix}"
        )


def wrap_has_tokenized_data(original, ctx: RunContext):
    """LLaMA-Factory asks whether ``tokenized_path`` holds a saved dataset before loading it: check it then."""

    def has_tokenized_data(path: os.PathLike) -> bool:
        found = original(path)
        if found:
            check_cache(ctx, str(path))
        else:
            ctx.report["tokenized_path_built"] = str(path)
        return found

    has_tokenized_data.__wrapped__ = original
    return has_tokenized_data


def wrap_get_dataset_module(original, ctx: RunContext):
    """Called right after LLaMA-Factory saved a new ``tokenized_path``: record the settings beside it."""

    def get_dataset_module(dataset):
        path = ctx.report.get("tokenized_path_built")
        if path and getattr(ctx.training_args, "should_save", True) and Path(path).is_dir():
            write_json(Path(path) / CACHE_FILE, {"schema": CACHE_SCHEMA, "settings": cache_settings(ctx)})
        return original(dataset)

    get_dataset_module.__wrapped__ = original
    return get_dataset_module
