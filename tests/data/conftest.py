"""Helpers for the data tests: write Hub-layout fixture rows to files and run ``prepare`` on them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from polyalign_lf.data.formatters import get_formatter
from polyalign_lf.data.prepare import prepare_dataset
from polyalign_lf.data.schema import read_records


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def run_prepare(tmp_path):
    """``run_prepare(name, {split: rows})`` → (manifest, {split: [records]}), records validated on read."""

    def run(formatter: str, splits: dict[str, list[dict]], seed: int = 42, out: Path | None = None, **kwargs):
        name = formatter
        sources = {
            split: str(write_jsonl(tmp_path / "src" / name / f"{split}.jsonl", rows)) for split, rows in splits.items()
        }
        out = out or tmp_path / "records"
        manifest = prepare_dataset(get_formatter(name), sources, out, seed=seed, **kwargs)
        dataset = kwargs.get("name") or get_formatter(name).name
        records = {s: read_records(out / dataset / f"{s}.jsonl") for s in ("train", "val", "test")}
        return manifest, records

    return run


@pytest.fixture
def write_rows():
    """``write_rows(path, rows)`` writes JSONL and returns the path."""
    return write_jsonl
