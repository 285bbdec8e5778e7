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
from collections import Counter
from pathlib import Path
from typing import Any, Iterator, Mapping

from polyalign_lf.data.formatters import Draft, FormatterSpec, Skip, hashed_split
from polyalign_lf.data.normalize import DEFAULT_BINS, LENGTH_UNITS, NORMALIZATION_VERSION, LengthBins, length_units, normalize_text
from polyalign_lf.data.schema import RECORD_FIELDS, SPLITS, make_bucket_id, validate_record
from polyalign_lf.data.sources import SourceRows, open_source
from polyalign_lf.errors import ConfigError, InputError
from polyalign_lf.io import atomic_write, progress, write_json

SPLIT_SYNONYMS: dict[str, tuple[str, ...]] = {
    "validation": ("dev", "val", "valid", "validation1"),
    "dev": ("validation", "val", "valid"),
    "validation1": ("validation", "dev", "val"),
    "test": ("testing",),
}


def resolve_source_split(spec: FormatterSpec, split: str) -> str:
    """The formatter's own name for a user-given split name (``dev`` → ``validation`` where needed)."""
    if split in spec.source_splits:
        return split
    for own in spec.source_splits:
        if split in SPLIT_SYNONYMS.get(own, ()):
            return own
    raise ConfigError(f"{spec.name} has no source split {split!r}; its splits on the Hub are: {', '.join(spec.source_splits)}")


class _Cursor:
    """Feeds rows to a formatter while remembering where the current row came from."""

    def __init__(self, source: SourceRows, required: tuple[str, ...], dataset: str, bar: Any):
        self.source, self.required, self.dataset, self.bar = source, required, dataset, bar
        self.where = source.description
        self.rows_read = 0
        if source.columns is not None:
            missing = [c for c in required if c not in source.columns]
            if missing:
                raise InputError(
                    f"missing column(s) {', '.join(missing)} for {dataset} (found: {', '.join(source.columns)})",
                    where=source.description, hint=f"{dataset} expects the Hugging Face Hub column layout; `polyalign datasets` lists it",
                )

    def __iter__(self) -> Iterator[Mapping[str, Any]]:
        for where, row in self.source.rows:
            self.where = where
            missing = [c for c in self.required if c not in row]
            if missing:
                raise InputError(
                    f"missing column(s) {', '.join(missing)} for {self.dataset} (row has: {', '.join(list(row)[:12])})",
                    where=where, hint=f"{self.dataset} expects the Hugging Face Hub column layout; `polyalign datasets` lists it",
                )
            self.rows_read += 1
            self.bar.update(1)
            yield row


def build_record(draft: Draft, spec: FormatterSpec, dataset: str, source_split: str, seed: int,
                 bins: LengthBins) -> dict | Skip:
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


def prepare_dataset(
    spec: FormatterSpec,
    sources: Mapping[str, str],
    out_dir: str | Path,
    *,
    seed: int = 42,
    bins: LengthBins = DEFAULT_BINS,
    name: str | None = None,
    hub_config: str | None = None,
) -> dict:
    """Run one formatter over its source splits and write records + manifest. Returns the manifest."""
    if not sources:
        raise ConfigError(f"no --source given for {spec.name}; its splits are: {', '.join(spec.source_splits)}")
    resolved: dict[str, str] = {}
    for split, path in sources.items():
        own = resolve_source_split(spec, split)
        if own in resolved:
            raise ConfigError(f"source split {own!r} given twice")
        resolved[own] = str(path)
    order = [s for s in spec.source_splits if s in resolved]  # deterministic, whatever the argument order
    dataset = name or spec.name
    target = Path(out_dir) / dataset
    split_counts: Counter[str] = Counter()
    bucket_counts: Counter[tuple[str, str]] = Counter()
    skipped: Counter[str] = Counter()
    rows_read: dict[str, int] = {}
    seen_ids: set[str] = set()

    with contextlib.ExitStack() as stack:
        handles = {s: stack.enter_context(atomic_write(target / f"{s}.jsonl")) for s in SPLITS}
        bar = stack.enter_context(progress(desc=f"prepare {dataset}", unit="row"))
        for source_split in order:
            source = open_source(resolved[source_split], split=source_split,
                                 split_aliases=SPLIT_SYNONYMS.get(source_split, ()), hub_config=hub_config or spec.hub_config)
            if source.total is not None:
                bar.total = (bar.total or 0) + source.total
                bar.refresh()
            cursor = _Cursor(source, spec.required_columns, spec.name, bar)
            try:
                for item in spec.convert(iter(cursor), source_split, seed):
                    if isinstance(item, Draft):
                        item = build_record(item, spec, dataset, source_split, seed, bins)
                    if isinstance(item, Skip):
                        skipped[item.reason] += 1
                        continue
                    if item["id"] in seen_ids:
                        raise InputError(f"duplicate id {item['id']!r}", hint="ids must be unique within a dataset")
                    seen_ids.add(item["id"])
                    validate_record(item, where=cursor.where)
                    handles[item["split"]].write(json.dumps(item, ensure_ascii=False))
                    handles[item["split"]].write("\n")
                    split_counts[item["split"]] += 1
                    bucket_counts[(item["split"], item["bucket_id"])] += 1
            except InputError as exc:
                if exc.where is None:
                    raise InputError(str(exc).split("\n  hint:")[0], where=cursor.where, hint=exc.hint) from None
                raise
            except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
                raise InputError(f"cannot convert this {spec.name} row ({type(exc).__name__}: {exc})", where=cursor.where,
                                 hint=f"{spec.name} expects the Hugging Face Hub column layout; `polyalign datasets` lists it") from None
            rows_read[source_split] = cursor.rows_read
        if not sum(split_counts.values()):
            reasons = ", ".join(f"{k}={v}" for k, v in skipped.most_common()) or "the sources are empty"
            raise InputError(f"{dataset}: no records were produced ({reasons})", where=", ".join(resolved.values()))

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
        "skipped": dict(sorted(skipped.items())),
        "bucket_counts": {s: {b: n for (sp, b), n in sorted(bucket_counts.items()) if sp == s} for s in SPLITS},
        "length_bins": {"thresholds": bins.as_dict(), "units": dict(LENGTH_UNITS)},
        "normalization": NORMALIZATION_VERSION,
    }
    write_json(target / "manifest.json", manifest)
    return manifest


def bucket_table(bucket_counts: Mapping[str, Mapping[str, int]]) -> str:
    """A plain-text table: one row per bucket, one column per split, plus totals."""
    buckets = sorted({b for per_split in bucket_counts.values() for b in per_split})
    width = max([len("bucket"), *map(len, buckets)])
    lines = [f"{'bucket':<{width}}  " + "  ".join(f"{s:>8}" for s in SPLITS)]
    for bucket in buckets:
        lines.append(f"{bucket:<{width}}  " + "  ".join(f"{bucket_counts.get(s, {}).get(bucket, 0):>8}" for s in SPLITS))
    lines.append(f"{'total':<{width}}  " + "  ".join(f"{sum(bucket_counts.get(s, {}).values()):>8}" for s in SPLITS))
    return "\n".join(lines)


def prepare_all(out_dir: str | Path, *, seed: int = 42, bins: LengthBins = DEFAULT_BINS) -> list[dict]:
    """Download and prepare every public source (needs the Hugging Face Hub)."""
    from polyalign_lf.data.formatters import all_formatters
    from polyalign_lf.data.sources import hub_offline

    if hub_offline():
        raise ConfigError("`prepare --all` downloads the 14 sources from the Hugging Face Hub, which is disabled here "
                          "(HF_HUB_OFFLINE / HF_DATASETS_OFFLINE). Download the files elsewhere and run "
                          "`polyalign prepare DATASET --source SPLIT=PATH` for each one.")
    manifests = []
    for spec in all_formatters().values():
        if not spec.hub_id:
            continue
        configs = spec.hub_configs or (spec.hub_config,)
        for config in configs:
            name = spec.name if len(configs) == 1 else f"{spec.name}__{config}"
            manifests.append(prepare_dataset(spec, {s: spec.hub_id for s in spec.source_splits}, out_dir,
                                             seed=seed, bins=bins, name=name, hub_config=config))
    return manifests
