"""Resumable prediction output keyed by record id.

While generating, finished rows are appended (and flushed) to ``PRED.jsonl.partial`` and a small progress
file ``PRED.jsonl.progress.json`` is replaced atomically; an interrupted run resumes from the partial file
(a torn last line is ignored and regenerated). When every record is done, ``PRED.jsonl`` is written
atomically in test-record order and the partial file removed, so ``PRED.jsonl`` only ever exists complete.
A run's settings are stored in the progress file; resuming with different settings is refused rather than
mixing two runs in one predictions file.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from pathlib import Path
from typing import Any

from polyalign_lf.errors import ConfigError
from polyalign_lf.io import output_lock, recover_jsonl, write_json, write_jsonl


class PredictionWriter:
    def __init__(
        self, out_path: str | os.PathLike, settings: dict[str, Any], record_ids: list[str], *, overwrite: bool = False
    ):
        self.out = Path(out_path)
        self.partial = self.out.with_name(self.out.name + ".partial")
        self.progress_path = self.out.with_name(self.out.name + ".progress.json")
        self.failed_path = self.out.with_name(self.out.name + ".failed.jsonl")
        self.settings = settings
        self.record_ids = record_ids
        self.done: dict[str, dict] = {}
        self.failed: dict[str, dict] = {}
        self.torn_lines = 0
        self.stray_rows = 0
        self._last_progress = 0.0
        # one writer per predictions file: a second run on the same --out is refused, never interleaved
        self._lock = contextlib.ExitStack()
        self._lock.enter_context(output_lock(self.out))
        try:
            if overwrite:
                for path in (self.partial, self.progress_path, self.failed_path, self.out):
                    path.unlink(missing_ok=True)
            self._resume()
            self.out.parent.mkdir(parents=True, exist_ok=True)
            self._handle = open(self.partial, "a", encoding="utf-8")
        except BaseException:
            self._lock.close()
            raise

    def _resume(self) -> None:
        if self.out.exists() and not self.partial.exists():
            raise ConfigError(f"{self.out} already exists (a finished run); pass --overwrite to regenerate it")
        if self.progress_path.exists():
            try:
                previous = json.loads(self.progress_path.read_text(encoding="utf-8")).get("settings")
            except (json.JSONDecodeError, UnicodeDecodeError):
                previous = None
            if previous is not None and previous != self.settings:
                changed = sorted(
                    k for k in set(previous) | set(self.settings) if previous.get(k) != self.settings.get(k)
                )
                raise ConfigError(
                    f"{self.partial} was started with other settings ({', '.join(changed)} differ); "
                    "pass --overwrite to start again, or the same settings to resume"
                )
        if not self.partial.exists():
            return
        wanted = set(self.record_ids)
        rows, self.torn_lines = recover_jsonl(self.partial)  # a torn line is dropped: that record is regenerated
        self.done = {row["id"]: row for row in rows if row.get("id") in wanted}
        self.stray_rows = len(rows) - len(self.done)  # rows of records no longer asked for: reported, not written

    @property
    def pending_ids(self) -> list[str]:
        return [rid for rid in self.record_ids if rid not in self.done]

    def add(self, row: dict) -> None:
        self.done[row["id"]] = row
        self.failed.pop(row["id"], None)
        self._handle.write(json.dumps(row, ensure_ascii=False) + "\n")
        self._handle.flush()
        self._maybe_progress()

    def fail(self, record_id: str, error: str) -> None:
        self.failed[record_id] = {"id": record_id, "error": error}
        self._maybe_progress()

    def _maybe_progress(self, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self._last_progress > 2.0:
            self._last_progress = now
            os.fsync(self._handle.fileno())
            write_json(self.progress_path, self.progress())

    def progress(self) -> dict[str, Any]:
        return {
            "total": len(self.record_ids),
            "done": len(self.done),
            "failed": len(self.failed),
            "complete": len(self.done) == len(self.record_ids),
            "settings": self.settings,
        }

    def finish(self) -> bool:
        """Write the final file if every record is done; return whether it was written."""
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self._handle.close()
        if self.failed:
            write_jsonl(self.failed_path, self.failed.values())
        if len(self.done) != len(self.record_ids):
            write_json(self.progress_path, self.progress())
            self._lock.close()
            return False
        write_jsonl(self.out, (self.done[rid] for rid in self.record_ids))
        self.partial.unlink(missing_ok=True)
        self.failed_path.unlink(missing_ok=True)
        write_json(self.progress_path, self.progress())
        self._lock.close()
        return True

    def close(self) -> None:
        if not self._handle.closed:
            self._handle.flush()
            self._handle.close()
            write_json(self.progress_path, self.progress())
        self._lock.close()
