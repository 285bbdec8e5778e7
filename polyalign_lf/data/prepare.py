"""``polyalign prepare``: one source dataset → normalized, length-binned, bucketed, validated records.

The driver is the same for every source: a formatter (``formatters/<name>.py``) turns source rows into
:class:`Draft` answers-in-context or counted :class:`Skip` s; this module normalizes the texts, measures
the answer's length in its language's unit, assigns the length bin and ``bucket_id``, applies the
split, validates against the record schema and writes ``DIR/DATASET/{train,val,test}.jsonl`` plus
``manifest.json``. The three files are written atomically together: after an error or an interrupt
none of them is half-written (a previous complete output stays in place).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from collections import Counter, deque
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from polyalign_lf.data.formatters import Draft, FormatterSpec, Skip, hashed_split
from polyalign_lf.data.normalize import (
    DEFAULT_BINS,
    LENGTH_UNITS,
    NORMALIZATION_VERSION,
    LengthBins,
    length_units,
    normalize_text,
)
from polyalign_lf.data.schema import RECORD_FIELDS, SPLITS, make_bucket_id, validate_record
from polyalign_lf.data.sources import SourceRows, open_source
from polyalign_lf.errors import ConfigError, InputError
from polyalign_lf.io import atomic_write, cleaned_up_on_error, progress, replace_folder, write_json
from polyalign_lf.options import name_problem

SPLIT_SYNONYMS: dict[str, tuple[str, ...]] = {
    "validation": ("dev", "val", "valid", "validation1"),
    "dev": ("validation", "val", "valid"),
    "validation1": ("validation", "dev", "val"),
    "test": ("testing",),
}


# One encoder for every record (``json.dumps(..., ensure_ascii=False)`` builds a new one per call; same bytes).
_encode = json.JSONEncoder(ensure_ascii=False).encode

# Formatters whose ``convert`` maps each source row to Drafts/Skips on its own (no state across rows):
# only these may have their rows converted in worker processes, chunk by chunk.
ROW_LOCAL_FORMATTERS: frozenset[str] = frozenset({"custom"})
# Below this size a JSONL source is prepared in-process (starting workers would cost more than it saves).
PARALLEL_MIN_BYTES = 8 << 20
_CHUNK_ROWS = 2000  # rows per worker task
_IN_FLIGHT = 8  # tasks submitted ahead of the writer (bounds memory: ~16k rows)
_SHUTDOWN_WAIT_S = 10.0  # after an error or Ctrl-C, how long the submitted chunks may take to finish


def resolve_source_split(spec: FormatterSpec, split: str) -> str:
    """The formatter's own name for a user-given split name (``dev`` → ``validation`` where needed)."""
    if split in spec.source_splits:
        return split
    for own in spec.source_splits:
        if split in SPLIT_SYNONYMS.get(own, ()):
            return own
    raise ConfigError(
        f"{spec.name} has no source split {split!r}; its splits on the Hub are: {', '.join(spec.source_splits)}"
    )


# What the serial loop and the worker processes share, so that both convert a row the same way.
CONVERSION_ERRORS = (KeyError, TypeError, ValueError, AttributeError, IndexError)


def _layout_error(spec: FormatterSpec, row: Mapping[str, Any], where: str) -> InputError | None:
    """The error for a row in none of the formatter's layouts (None when it is in one)."""
    problem = spec.layout_problem(row)
    if problem is None:
        return None
    return InputError(
        f"{problem} (row has: {', '.join(list(row)[:12])})",
        where=where,
        hint=f"{spec.name} expects the Hugging Face Hub column layout; `polyalign datasets` lists it",
    )


def _records_of(items, spec: FormatterSpec, dataset: str, source_split: str, seed: int, bins: LengthBins):
    """A formatter's output with every Draft built into a record (Skips pass through)."""
    for item in items:
        yield build_record(item, spec, dataset, source_split, seed, bins) if isinstance(item, Draft) else item


def _conversion_error(exc: Exception, spec: FormatterSpec, where: str) -> InputError:
    """An exception raised while converting a row, as the error a user sees (naming the row)."""
    if isinstance(exc, InputError):
        return exc if exc.where is not None else InputError(exc.message, where=where, hint=exc.hint)
    return InputError(
        f"cannot convert this {spec.name} row ({type(exc).__name__}: {exc})",
        where=where,
        hint=f"{spec.name} expects the Hugging Face Hub column layout; `polyalign datasets` lists it",
    )


class _Cursor:
    """Feeds rows to a formatter while remembering where the current row came from."""

    def __init__(self, source: SourceRows, spec: FormatterSpec, bar: Any):
        self.source, self.spec, self.bar = source, spec, bar
        self.dataset = spec.name
        self.where = source.description
        self.rows_read = 0
        if source.columns is not None:
            problem = spec.layout_problem(source.columns)
            if problem:
                raise InputError(
                    f"{problem} (found: {', '.join(source.columns)})",
                    where=source.description,
                    hint=f"{spec.name} expects the Hugging Face Hub column layout; `polyalign datasets` lists it",
                )

    def __iter__(self) -> Iterator[Mapping[str, Any]]:
        for where, row in self.source.rows:
            self.where = where
            error = _layout_error(self.spec, row, where)
            if error is not None:
                raise error
            self.rows_read += 1
            self.bar.update(1)
            yield row


def build_record(
    draft: Draft, spec: FormatterSpec, dataset: str, source_split: str, seed: int, bins: LengthBins
) -> dict | Skip:
    """Normalize, measure, bin and bucket one draft (a :class:`Skip` if nothing usable is left)."""
    language = draft.language or spec.language
    if language not in LENGTH_UNITS:
        raise InputError(f"unknown language {language!r}; supported: {', '.join(LENGTH_UNITS)}")
    answer = normalize_text(draft.human_answer, language)
    if not answer:
        return Skip("empty_answer", draft.source_id)
    question = normalize_text(draft.question, language)
    history = []
    for turn in draft.dialogue_history:
        text = normalize_text(turn.get("text"), language)
        if text:
            history.append({"role": turn["role"], "text": text})
    if not question:
        return Skip("empty_question", draft.source_id)
    units = length_units(answer, language)
    length_bin = bins.bin(units, language)
    released_bin = draft.length_bin
    if released_bin is not None and released_bin != length_bin:
        draft.meta.setdefault("computed_length_bin", length_bin)  # the release's bin wins: its bucket ids are kept
        length_bin = released_bin
    track = draft.track or spec.track
    family = draft.family or spec.family
    split = draft.split or hashed_split(draft.group_key or draft.source_id, seed)
    meta: dict[str, Any] = {
        "source_dataset": spec.hub_id or dataset,
        "source_split": source_split,
        "source_id": draft.source_id,
        "length_tokens": units,
        "length_unit": LENGTH_UNITS[language],
    }
    if draft.group_key:
        meta["group_id"] = f"{dataset}:{draft.group_key}"
    meta.update(draft.meta)
    values = {
        "id": f"{dataset}-{draft.source_id}",
        "dataset": dataset,
        "split": split,
        "language": language,
        "track": track,
        "family": family,
        "style_bucket": draft.style_bucket or spec.style_bucket,
        "length_bin": length_bin,
        "question": question,
        "context": normalize_text(draft.context, language),
        "dialogue_history": history,
        "human_answer": answer,
        "bucket_id": make_bucket_id(language, track, family, length_bin),
        "meta": meta,
    }
    return {name: values[name] for name in RECORD_FIELDS}


def _rebuild_input_error(text: str, where: str | None, hint: str | None) -> InputError:
    """An :class:`InputError` carried across processes as (text, where, hint), with the same message."""
    error = InputError.__new__(InputError)
    Exception.__init__(error, text)
    error.where, error.hint = where, hint
    return error


_WORKER_STATE: tuple | None = None


def _init_worker(state: tuple) -> None:
    global _WORKER_STATE
    _WORKER_STATE = state
    # Ctrl-C reaches the whole process group. Only the parent may act on it: a worker killed mid-task
    # never reports its result, and the parent would wait for it forever.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _convert_lines(lines: list[tuple[int, str]]) -> tuple:
    """Worker side of the parallel path: the serial loop's per-row work for one chunk of JSONL lines.

    Returns ``(ids, wheres, blocks, buckets, skipped, rows_read, error)``: record ids and their
    ``file:line`` in row order (for the parent's duplicate-id check), the JSON lines joined per split
    (input order is kept within each split file), per-(split, bucket) and per-skip-reason counts, and the
    first error as ``(text, where, hint)`` or ``None`` (the chunk stops there, as the serial loop would;
    a record failing validation is listed first so its id is still checked for duplicates before).
    Shipping a few joined strings per chunk instead of one object per row keeps the parent's work small.
    """
    spec, dataset, source_split, seed, bins, path = _WORKER_STATE
    ids: list[str] = []
    wheres: list[str] = []
    blocks: dict[str, list[str]] = {}
    buckets: Counter = Counter()
    skipped: Counter = Counter()
    rows_read = 0

    def done(exc: InputError | None) -> tuple:
        error = None if exc is None else (str(exc), exc.where, exc.hint)
        joined = {split: "".join(parts) for split, parts in blocks.items()}
        return ids, wheres, joined, buckets, skipped, rows_read, error

    for lineno, line in lines:
        if not line.strip():
            continue
        where = f"{path}:{lineno}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            truncated = not line.endswith("\n")
            return done(
                InputError(
                    f"invalid JSON ({exc.msg})" + (" — the file looks truncated" if truncated else ""), where=where
                )
            )
        if not isinstance(row, dict):
            return done(InputError(f"expected a JSON object per line, got {type(row).__name__}", where=where))
        error = _layout_error(spec, row, where)
        if error is not None:
            return done(error)
        rows_read += 1
        try:
            for item in _records_of(
                spec.convert(iter((row,)), source_split, seed), spec, dataset, source_split, seed, bins
            ):
                if isinstance(item, Skip):
                    skipped[item.reason] += 1
                    continue
                ids.append(item["id"])
                wheres.append(where)
                validate_record(item, where=where)
                split = item["split"]
                part = blocks.get(split)
                if part is None:
                    part = blocks[split] = []
                part.append(_encode(item))
                part.append("\n")
                buckets[(split, item["bucket_id"])] += 1
        except (InputError, *CONVERSION_ERRORS) as exc:
            return done(_conversion_error(exc, spec, where))
    return done(None)


def _line_chunks(path: Path, size: int) -> Iterator[tuple[list[tuple[int, str]], tuple | None]]:
    """``(chunk of (lineno, line), trailing_error)``: lines numbered as :func:`polyalign_lf.io.iter_jsonl` does."""
    with open(path, encoding="utf-8") as handle:
        lineno = 0
        chunk: list[tuple[int, str]] = []
        while True:
            try:
                line = handle.readline()
            except UnicodeDecodeError as exc:
                yield (
                    chunk,
                    ("error", f"{path}:{lineno + 1}: not UTF-8 text ({exc.reason})", f"{path}:{lineno + 1}", None),
                )
                return
            if not line:
                break
            lineno += 1
            chunk.append((lineno, line))
            if len(chunk) >= size:
                yield chunk, None
                chunk = []
    if chunk:
        yield chunk, None


def _parallel_jsonl(source_path: str | list[str], spec: FormatterSpec, workers: int | None) -> int:
    """Number of worker processes for this source (0 = prepare it in-process)."""
    if isinstance(source_path, list):
        return 0
    path = Path(source_path).expanduser()
    if spec.name not in ROW_LOCAL_FORMATTERS or not path.is_file() or path.suffix.lower() != ".jsonl":
        return 0
    if workers is None:
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        return cpus if cpus > 1 and path.stat().st_size >= PARALLEL_MIN_BYTES else 0
    return workers if workers > 1 else 0


def prepare_dataset(
    spec: FormatterSpec,
    sources: Mapping[str, str],
    out_dir: str | Path,
    *,
    seed: int = 42,
    bins: LengthBins = DEFAULT_BINS,
    name: str | None = None,
    hub_config: str | None = None,
    workers: int | None = None,
) -> dict:
    """Run one formatter over its source splits and write records + manifest. Returns the manifest.

    ``workers``: processes converting rows of a local JSONL source of a row-local formatter (``custom``);
    ``None`` = all CPUs for files of 8 MB or more, else in-process; ``0``/``1`` = in-process. The output is
    byte-identical either way (rows are converted in chunks and written in input order).
    """
    if not sources:
        raise ConfigError(f"no --source given for {spec.name}; its splits are: {', '.join(spec.source_splits)}")
    resolved: dict[str, str] = {}
    for split, path in sources.items():
        own = resolve_source_split(spec, split)
        if own in resolved:
            raise ConfigError(f"source split {own!r} given twice")
        resolved[own] = [str(p) for p in path] if isinstance(path, (list, tuple)) else str(path)
    order = [s for s in spec.source_splits if s in resolved]  # deterministic, whatever the argument order
    dataset = name or spec.name
    problem = name_problem(dataset)
    if problem:  # the name becomes OUT/<name>/, which is replaced whole: it must stay inside OUT
        raise ConfigError(f"dataset name {dataset!r} {problem}; choose a plain name such as my_faq")
    target = Path(out_dir) / dataset
    split_counts: Counter[str] = Counter()
    bucket_counts: Counter[tuple[str, str]] = Counter()
    skipped: Counter[str] = Counter()
    rows_read: dict[str, int] = {}
    seen_ids: set[str] = set()

    with contextlib.ExitStack() as stack:
        # The dataset's folder is built aside and swapped in whole; a failed first run leaves no empty OUT.
        stack.enter_context(cleaned_up_on_error(out_dir))
        building = stack.enter_context(replace_folder(target, overwrite=True))
        handles = {s: stack.enter_context(atomic_write(building / f"{s}.jsonl")) for s in SPLITS}
        bar = stack.enter_context(progress(desc=f"prepare {dataset}", unit="row"))
        for source_split in order:
            n_workers = _parallel_jsonl(resolved[source_split], spec, workers)
            if n_workers:
                rows_read[source_split] = _prepare_parallel(
                    Path(resolved[source_split]).expanduser(),
                    spec,
                    dataset,
                    source_split,
                    seed,
                    bins,
                    n_workers,
                    handles,
                    seen_ids,
                    split_counts,
                    bucket_counts,
                    skipped,
                    bar,
                )
                continue
            source = open_source(
                resolved[source_split],
                split=source_split,
                split_aliases=SPLIT_SYNONYMS.get(source_split, ()),
                hub_config=hub_config or spec.hub_config,
            )
            if source.total is not None:
                bar.total = (bar.total or 0) + source.total
                bar.refresh()
            cursor = _Cursor(source, spec, bar)
            try:
                for item in _records_of(
                    spec.convert(iter(cursor), source_split, seed), spec, dataset, source_split, seed, bins
                ):
                    if isinstance(item, Skip):
                        skipped[item.reason] += 1
                        continue
                    if item["id"] in seen_ids:
                        raise InputError(f"duplicate id {item['id']!r}", hint="ids must be unique within a dataset")
                    seen_ids.add(item["id"])
                    validate_record(item, where=cursor.where)
                    handles[item["split"]].write(_encode(item))
                    handles[item["split"]].write("\n")
                    split_counts[item["split"]] += 1
                    bucket_counts[(item["split"], item["bucket_id"])] += 1
            except (InputError, *CONVERSION_ERRORS) as exc:
                error = _conversion_error(exc, spec, cursor.where)
                if error is exc:
                    raise
                raise error from None
            rows_read[source_split] = cursor.rows_read
        if not sum(split_counts.values()):
            reasons = ", ".join(f"{k}={v}" for k, v in skipped.most_common()) or "the sources are empty"
            raise InputError(
                f"{dataset}: no records were produced ({reasons})",
                where=", ".join(v if isinstance(v, str) else ", ".join(v) for v in resolved.values()),
            )

        manifest = {
            "dataset": dataset,
            "formatter": spec.name,
            "hub_id": spec.hub_id,
            "language": spec.language,
            "track": spec.track,
            "family": spec.family,
            "style_bucket": spec.style_bucket,
            "seed": seed,
            "sources": {s: resolved[s] for s in order},
            "rows_read": rows_read,
            "split_policy": spec.split_policy,
            "split_counts": {s: split_counts.get(s, 0) for s in SPLITS},
            # every answer-in-context the sources offered: written or skipped (compare with the paper's Table 1)
            "examples_seen": sum(split_counts.values()) + sum(skipped.values()),
            "skipped": dict(sorted(skipped.items())),
            "bucket_counts": {s: {b: n for (sp, b), n in sorted(bucket_counts.items()) if sp == s} for s in SPLITS},
            "length_bins": {"thresholds": bins.as_dict(), "units": dict(LENGTH_UNITS)},
            "normalization": NORMALIZATION_VERSION,
        }
        write_json(building / "manifest.json", manifest)
    return manifest


def _prepare_parallel(
    path: Path,
    spec: FormatterSpec,
    dataset: str,
    source_split: str,
    seed: int,
    bins: LengthBins,
    n_workers: int,
    handles: Mapping[str, Any],
    seen_ids: set[str],
    split_counts: Counter,
    bucket_counts: Counter,
    skipped: Counter,
    bar: Any,
) -> int:
    """The serial loop of :func:`prepare_dataset` for one JSONL source, rows converted by ``n_workers``
    processes; results are consumed in input order, so outputs and the first error raised are the same."""
    import multiprocessing

    state = (spec, dataset, source_split, seed, bins, str(path))
    rows_read = 0
    for handle in handles.values():  # nothing buffered is duplicated into the forked workers
        handle.flush()
    pool = multiprocessing.get_context("fork" if os.name == "posix" else None).Pool(
        n_workers, initializer=_init_worker, initargs=(state,)
    )
    pending: deque = deque()
    try:

        def consume() -> None:
            nonlocal rows_read
            task, trailing = pending.popleft()
            ids, wheres, blocks, buckets, chunk_skipped, chunk_read, error = task.get()
            if not seen_ids.isdisjoint(ids) or len(set(ids)) != len(ids):
                for record_id, where in zip(ids, wheres):  # the first repeated id, in input order
                    if record_id in seen_ids:
                        raise InputError(
                            f"duplicate id {record_id!r}", where=where, hint="ids must be unique within a dataset"
                        )
                    seen_ids.add(record_id)
            seen_ids.update(ids)
            if error is not None:  # records before the error are not written: the outputs are discarded
                raise _rebuild_input_error(*error)
            for split, text in blocks.items():
                handles[split].write(text)
            for (split, bucket_id), n in buckets.items():
                split_counts[split] += n
                bucket_counts[(split, bucket_id)] += n
            skipped.update(chunk_skipped)
            rows_read += chunk_read
            bar.update(chunk_read)
            if trailing is not None:
                raise _rebuild_input_error(*trailing[1:])

        for chunk, trailing in _line_chunks(path, _CHUNK_ROWS):
            pending.append((pool.apply_async(_convert_lines, (chunk,)), trailing))
            if len(pending) >= _IN_FLIGHT:
                consume()
        while pending:
            consume()
    finally:
        # On an error, let the few submitted chunks finish and shut the workers down cleanly:
        # Pool.terminate() can deadlock when a worker dies holding the task queue's lock.
        deadline = time.monotonic() + _SHUTDOWN_WAIT_S
        for task, _ in pending:
            task.wait(max(0.0, deadline - time.monotonic()))
        if all(task.ready() for task, _ in pending):
            pool.close()
        else:  # a worker is stuck or gone: stop waiting for it
            pool.terminate()
        pool.join()
    return rows_read


def bucket_table(bucket_counts: Mapping[str, Mapping[str, int]]) -> str:
    """A plain-text table: one row per bucket, one column per split, plus totals."""
    buckets = sorted({b for per_split in bucket_counts.values() for b in per_split})
    width = max([len("bucket"), *map(len, buckets)])
    lines = [f"{'bucket':<{width}}  " + "  ".join(f"{s:>8}" for s in SPLITS)]
    for bucket in buckets:
        lines.append(
            f"{bucket:<{width}}  " + "  ".join(f"{bucket_counts.get(s, {}).get(bucket, 0):>8}" for s in SPLITS)
        )
    lines.append(f"{'total':<{width}}  " + "  ".join(f"{sum(bucket_counts.get(s, {}).values()):>8}" for s in SPLITS))
    return "\n".join(lines)


def prepare_from_dir(
    root: str | Path, out_dir: str | Path, *, seed: int = 42, bins: LengthBins = DEFAULT_BINS, report: Any = print
) -> tuple[list[dict], dict[str, str]]:
    """Prepare every public source found under ``root/<dataset>/`` (release files or a Hub snapshot).

    Returns the manifests and ``{dataset: why it was not prepared}`` for the sources that are absent;
    ``report`` receives one line per source saying which files fed which split and what was ignored.
    A folder that holds no file for any of the source's splits is an error naming the splits expected.
    """
    from polyalign_lf.data.formatters import all_formatters
    from polyalign_lf.data.local_dir import dataset_folder

    root = Path(root)
    if not root.is_dir():
        raise InputError(
            "not a folder", where=str(root), hint="--from-dir takes a folder holding one sub-folder per dataset"
        )
    manifests, absent = [], {}
    for spec in all_formatters().values():
        if not spec.hub_id:
            continue
        folder = dataset_folder(root, spec)
        if folder is None:
            absent[spec.name] = f"no folder {root / spec.name}"
            continue
        splits = splits_in_folder(folder, spec, report)
        manifests.append(prepare_dataset(spec, splits, out_dir, seed=seed, bins=bins))
    return manifests, absent


def splits_in_folder(folder: Path, spec: FormatterSpec, report: Any = print) -> dict[str, list[str]]:
    """The files of each of ``spec``'s splits in ``folder`` (named after their split), reported in one line;
    a folder where no file names a split is an error naming the splits expected."""
    from polyalign_lf.data.local_dir import find_splits

    found = find_splits(folder, spec)
    if not found.splits:
        seen = ", ".join(Path(p).name for p in found.ignored[:5]) or "no data files"
        raise InputError(
            f"{spec.name}: no file names one of its splits ({', '.join(spec.source_splits)}); found: {seen}",
            where=str(folder),
            hint="name the files after their split (e.g. train.jsonl, dev.json) or "
            f"use `polyalign prepare {spec.name} --source SPLIT=PATH`",
        )
    report(
        f"{spec.name}: "
        + "; ".join(f"{s} ← {', '.join(Path(p).name for p in paths)}" for s, paths in found.splits.items())
        + (f"; no file for {', '.join(found.missing)}" if found.missing else "")
        + (
            f"; ignored {len(found.ignored)} file(s): {', '.join(Path(p).name for p in found.ignored[:3])}"
            if found.ignored
            else ""
        )
    )
    return found.splits


def prepare_all(out_dir: str | Path, *, seed: int = 42, bins: LengthBins = DEFAULT_BINS) -> list[dict]:
    """Download and prepare every public source (needs the Hugging Face Hub)."""
    from polyalign_lf.data.formatters import all_formatters
    from polyalign_lf.data.sources import hub_offline

    if hub_offline():
        raise ConfigError(
            "`prepare --all` downloads the 14 sources from the Hugging Face Hub, which is disabled here "
            "(HF_HUB_OFFLINE / HF_DATASETS_OFFLINE). Put the release files or Hub snapshots in "
            "DIR/<dataset>/ and run `polyalign prepare --all --from-dir DIR`."
        )
    manifests = []
    for spec in all_formatters().values():
        if not spec.hub_id:
            continue
        configs = spec.hub_configs or (spec.hub_config,)
        for config in configs:
            name = spec.name if len(configs) == 1 else f"{spec.name}__{config}"
            manifests.append(
                prepare_dataset(
                    spec,
                    {s: spec.hub_id for s in spec.source_splits},
                    out_dir,
                    seed=seed,
                    bins=bins,
                    name=name,
                    hub_config=config,
                )
            )
    return manifests
