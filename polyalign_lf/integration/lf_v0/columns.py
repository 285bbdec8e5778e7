"""Carry ``bucket_id`` / ``weight`` / ``chosen_score`` / ``rejected_score`` through LLaMA-Factory's data
pipeline: dataset_info ``columns`` → converter → (weights, critic scores) → processor → collator.

LLaMA-Factory drops unknown columns at four places (DatasetAttr.join, align_dataset, the processors'
fresh dicts, the collators). During a PolyAlign run only, :mod:`polyalign_lf.integration.lf_v0.plugin` swaps in
wrappers that delegate to LLaMA-Factory's own code and only re-attach our columns. Each wrapper is built
for one run and gets that run's :class:`RunContext` as a parameter:

* :func:`dataset_attr_class` records which of our columns a dataset maps;
* :class:`PolyAlignConverter` emits ``_pa_bucket_id`` (str, "" if absent) and ``_pa_weight`` /
  ``_pa_score_chosen`` / ``_pa_score_rejected`` (float, NaN if absent) next to LLaMA-Factory's ``_prompt`` …;
* :mod:`.splits` (wrapping ``split_dataset``, before tokenization) maps bucket ids to ints, numbers the rows
  and scores unscored pairs with the critic (:mod:`.scoring`);
* :class:`PassthroughProcessor` re-attaches ``pa_weight``, ``pa_bucket``, ``pa_index``, ``pa_score_chosen``,
  ``pa_score_rejected`` to the rows LLaMA-Factory keeps (it may drop invalid rows);
* :mod:`.weights` (wrapping ``_get_preprocessed_dataset``, after tokenization) counts buckets over the
  training rows LLaMA-Factory kept and resolves every example's weight.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from dataclasses import dataclass as _dataclass
from typing import Any

from polyalign_lf.errors import ConfigError, InputError

# dataset_info.json `columns` keys (a cross-team contract) → internal column names after conversion.
PA_COLUMNS = {
    "bucket_id": "_pa_bucket_id",
    "weight": "_pa_weight",
    "chosen_score": "_pa_score_chosen",
    "rejected_score": "_pa_score_rejected",
}

# Internal columns after finalize_split (input of the processor) → batch keys emitted by the processor.
PROCESSOR_COLUMNS = {
    "_pa_weight": "pa_weight",
    "_pa_bucket_index": "pa_bucket",
    "_pa_index": "pa_index",
    "_pa_score_chosen": "pa_score_chosen",
    "_pa_score_rejected": "pa_score_rejected",
}

BATCH_KEYS = tuple(PROCESSOR_COLUMNS.values())

NAN = float("nan")

STALE_CACHE_HINT = (
    "the tokenized dataset has no PolyAlign columns (or not all of pa_weight, pa_bucket, pa_index, "
    "pa_score_chosen, pa_score_rejected): "
    "it was built without polyalign-lf or by another recipe. Delete the `tokenized_path` directory (or point "
    "`tokenized_path` at a new one) so it is rebuilt with the columns"
)


@dataclass
class RunContext:
    """State of the current PolyAlign run, shared by the scoped wrappers (set by the plugin)."""

    pa_args: Any
    stage: str  # "sft" or "hdpo"
    data_args: Any
    training_args: Any
    # (dataset file, PolyAlign columns) per dataset_info.json entry the recipe uses: a list, because two entries
    # may name one file with different `columns` and both must be checked
    mapped: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    bucket_index: dict[str, int] = field(default_factory=dict)  # every bucket id seen in any split → int
    bucket_weights: dict[int, float] = field(default_factory=dict)  # bucket index → weight, from the kept rows
    bucket_table_fixed: bool = False
    report: dict[str, Any] = field(default_factory=dict)


def dataset_attr_class(ctx: RunContext):
    """A subclass of LLaMA-Factory's ``DatasetAttr`` whose ``join`` also records our ``columns`` into ``ctx``."""

    from llamafactory.data.parser import DatasetAttr

    @_dataclass(repr=False)
    class PolyAlignDatasetAttr(DatasetAttr):
        pa_columns: dict = field(default_factory=dict)

        def join(self, attr: dict[str, Any]) -> None:
            super().join(attr)
            pairwise = ctx.stage == "hdpo"
            if bool(getattr(self, "ranking", False)) != pairwise:
                kind = "preference pairs" if pairwise else "SFT rows"
                raise ConfigError(
                    f"stage: {ctx.stage} trains on {kind}, but dataset {str(self)!r} "
                    + (
                        'is not a preference dataset (its dataset_info.json entry has no "ranking": true)'
                        if pairwise
                        else 'is a preference dataset ("ranking": true)'
                    )
                    + "; point the recipe's `dataset` at "
                    + ("the pairs `polyalign pairs hdpo` writes" if pairwise else "SFT rows (polyalign export)")
                )
            columns = attr.get("columns") or {}
            self.pa_columns = {key: columns[key] for key in PA_COLUMNS if columns.get(key)}
            ctx.mapped.append((self.dataset_name, dict(self.pa_columns)))

    return PolyAlignDatasetAttr


def _float_or_nan(
    value: Any, *, what: str, dataset: str, example: dict, nonnegative: bool, required: bool = False
) -> float:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise InputError(
                f"{what} is missing (null or empty) in a row starting {_row_snippet(example)}",
                where=f"dataset {dataset!r}",
                hint=f"every row of a dataset that maps a `{what}` column needs a finite {what} >= 0 (a NaN in a "
                ".json file is read as null); fix the row, or remove the column mapping to use bucket weights",
            )
        return NAN
    from polyalign_lf.objectives.weighting import MAX_ABS_SCORE, MAX_WEIGHT

    number = None
    if isinstance(value, (int, float)) and not isinstance(value, bool):  # never coerce strings or booleans
        number = float(value)
    limit = MAX_WEIGHT if nonnegative else MAX_ABS_SCORE
    if number is None or not math.isfinite(number) or (nonnegative and number < 0) or abs(number) > limit:
        problem = (
            "not a number"
            if number is None
            else "not finite"
            if not math.isfinite(number)
            else "negative"
            if nonnegative and number < 0
            else f"beyond the plausible range (|{what}| <= {limit:g})"
        )
        raise InputError(
            f"{what} {value!r} is {problem} (row starting {_row_snippet(example)})",
            where=f"dataset {dataset!r}",
            hint=f"{what} values must be finite"
            + (" and in [0, 1e6]" if nonnegative else ", |value| <= 1e6")
            + "; fix or drop the row",
        )
    return number


_BUCKET_PART = re.compile(r"[a-z0-9][a-z0-9_\-]*")


def bucket_id_problem(bucket: Any) -> str | None:
    """Why ``bucket`` is not a bucket id (None when it is): a string of four lower-case words joined by '|'
    (language|track|family|length_bin; any words, so users can add their own families or bins)."""
    if not isinstance(bucket, str):
        return f"is a {type(bucket).__name__}, not a string"
    parts = bucket.split("|")
    if len(parts) != 4:
        return f"has {len(parts)} part(s), not 4"
    bad = [part for part in parts if not _BUCKET_PART.fullmatch(part)]
    if bad:
        return f"has part(s) {', '.join(repr(p) for p in bad)} that are not lower-case words without spaces"
    return None


def _row_snippet(example: dict) -> str:
    text = json.dumps({k: v for k, v in list(example.items())[:3]}, ensure_ascii=False, default=str)
    return text[:120]


@dataclass
class PolyAlignConverter:
    """Wraps LLaMA-Factory's converter and adds the ``_pa_*`` columns (all of them, for every dataset, so
    that merged datasets share one schema)."""

    inner: Any
    dataset_name: str
    pa_columns: dict
    require_bucket_or_weight: bool

    def __call__(self, example: dict[str, Any]) -> dict[str, Any]:
        output = self.inner(example)
        values: dict[str, Any] = {}
        for key, column in self.pa_columns.items():
            if column not in example:
                raise InputError(
                    f"column {column!r} (mapped as {key!r} in dataset_info.json) is not in the data",
                    where=f"dataset {self.dataset_name!r}",
                    hint=f"fix the `columns` entry of {self.dataset_name!r} or add the column to its file",
                )
            values[key] = example[column]
        bucket = values.get("bucket_id")
        if bucket is not None and bucket != "":
            problem = bucket_id_problem(bucket)
            if problem:
                raise InputError(
                    f"bucket_id {bucket!r} {problem} (row starting {_row_snippet(example)})",
                    where=f"dataset {self.dataset_name!r}",
                    hint="a bucket id is language|track|family|length_bin: four lower-case words (letters, digits, "
                    "'_' or '-') joined by '|', e.g. en|single|qa|short",
                )
        output["_pa_bucket_id"] = "" if bucket is None else str(bucket)
        output["_pa_weight"] = _float_or_nan(
            values.get("weight"),
            what="weight",
            dataset=self.dataset_name,
            example=example,
            nonnegative=True,
            required="weight" in values,
        )
        output["_pa_score_chosen"] = _float_or_nan(
            values.get("chosen_score"),
            what="chosen_score",
            dataset=self.dataset_name,
            example=example,
            nonnegative=False,
        )
        output["_pa_score_rejected"] = _float_or_nan(
            values.get("rejected_score"),
            what="rejected_score",
            dataset=self.dataset_name,
            example=example,
            nonnegative=False,
        )
        if self.require_bucket_or_weight and not output["_pa_bucket_id"] and math.isnan(output["_pa_weight"]):
            raise InputError(
                f"bucket_weighting is on but a row has neither a bucket_id nor a weight (row starting "
                f"{_row_snippet(example)})",
                where=f"dataset {self.dataset_name!r}",
                hint="give every row a bucket_id (or an explicit weight), or map the columns in dataset_info.json",
            )
        return output


def wrap_get_dataset_converter(original, ctx: RunContext):
    def get_dataset_converter(name, dataset_attr, data_args):
        inner = original(name, dataset_attr, data_args)
        check_columns_mapped(ctx)  # fail before touching rows when no dataset maps the needed columns
        pa_columns = dict(getattr(dataset_attr, "pa_columns", {}) or {})
        return PolyAlignConverter(inner, str(dataset_attr), pa_columns, ctx.pa_args.weights_from_buckets)

    get_dataset_converter.__wrapped__ = original
    return get_dataset_converter


class PassthroughProcessor:
    """Runs LLaMA-Factory's processor and re-attaches our columns to the rows it keeps."""

    def __init__(self, inner: Any):
        self.inner = inner

    def preprocess_dataset(self, examples: dict[str, list[Any]]) -> dict[str, list[Any]]:
        keys = list(examples.keys())
        extras = {key: list(examples[key]) for key in PROCESSOR_COLUMNS if key in keys}
        base = {key: examples[key] for key in keys if not key.startswith("_pa_")}
        if len(extras) != len(PROCESSOR_COLUMNS):
            raise RuntimeError(f"polyalign-lf: missing internal columns {set(PROCESSOR_COLUMNS) - set(extras)}")
        total = len(base["_prompt"])
        output = self.inner.preprocess_dataset(base)
        kept = len(next(iter(output.values()))) if output else 0
        if kept == total:
            for key, batch_key in PROCESSOR_COLUMNS.items():
                output[batch_key] = extras[key]
            return output
        # LLaMA-Factory dropped invalid rows: process one by one to know which rows survived.
        merged: dict[str, list[Any]] = {}
        for i in range(total):
            single = {key: [value[i]] for key, value in base.items()}
            result = self.inner.preprocess_dataset(single)
            if not result or not len(next(iter(result.values()))):
                continue
            for key, value in result.items():
                merged.setdefault(key, []).extend(value)
            for key, batch_key in PROCESSOR_COLUMNS.items():
                merged.setdefault(batch_key, []).append(extras[key][i])
        return merged

    def print_data_example(self, example: dict[str, Any]) -> None:
        self.inner.print_data_example(example)

    def __getattr__(self, name: str) -> Any:
        # Only for attributes the instance lacks. While ``datasets`` unpickles the processor in a
        # ``preprocessing_num_workers > 1`` worker, ``inner`` does not exist yet: delegating then would recurse
        # forever and kill the worker, so anything private or dunder is not delegated.
        if name.startswith("_") or name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)


def wrap_get_dataset_processor(original):
    def _get_dataset_processor(*args, **kwargs):
        return PassthroughProcessor(original(*args, **kwargs))

    _get_dataset_processor.__wrapped__ = original
    return _get_dataset_processor


def _map_kwargs(ctx: RunContext, desc: str) -> dict[str, Any]:
    return dict(
        load_from_cache_file=(not ctx.data_args.overwrite_cache) or (ctx.training_args.local_process_index != 0),
        desc=desc,
    )


def check_columns_mapped(ctx: RunContext) -> None:
    """Refuse a weighted recipe whose datasets map none of the columns it needs (it would train unweighted)."""
    mapped: set[str] = set()
    for _, columns in ctx.mapped:
        mapped.update(columns)
    pa = ctx.pa_args
    names = ", ".join(sorted({name for name, _ in ctx.mapped})) or "(none)"
    if ctx.stage == "sft" and pa.weights_from_buckets and not ({"bucket_id", "weight"} & mapped):
        raise ConfigError(
            f"bucket_weighting is on but no dataset ({names}) maps a `bucket_id` or `weight` column in "
            "dataset_info.json, so every example would weigh the same; add e.g. "
            '"columns": {..., "bucket_id": "bucket_id"} to the entry'
        )
    unmapped = sorted({name for name, columns in ctx.mapped if not ({"bucket_id", "weight"} & set(columns))})
    if ctx.stage == "sft" and pa.weights_from_buckets and unmapped:
        raise ConfigError(
            f"bucket_weighting is on but the dataset_info.json entry for {', '.join(unmapped)} maps neither a "
            "`bucket_id` nor a `weight` column while another dataset of the recipe does: its rows would have no "
            'bucket; add "bucket_id": "bucket_id" to that entry\'s `columns` (entries that share one file each '
            "need their own mapping)"
        )
    if ctx.stage == "hdpo":
        has_scores = {"chosen_score", "rejected_score"} <= mapped
        if pa.hdpo_lambda > 0 and not has_scores and not pa.hdpo_critic:
            raise ConfigError(
                f"stage: hdpo with hdpo_lambda={pa.hdpo_lambda} needs critic scores, but no dataset ({names}) maps "
                "`chosen_score` and `rejected_score` and `hdpo_critic` is not set; map the columns in "
                "dataset_info.json or set `hdpo_critic: <critic bundle dir>`"
            )
        if pa.hdpo_lambda == 0 and not ({"weight"} & mapped) and not pa.weights_from_buckets:
            raise ConfigError(
                f"stage: hdpo with hdpo_lambda=0 and no `weight` column in any dataset ({names}) is plain DPO; "
                "use `stage: dpo`, or map a `weight` column"
            )


def wrap_load_single_dataset(original):
    """``datasets`` cannot read a file whose column changes type between rows (a ``weight`` of numbers and
    strings, say) and fails deep in Arrow; say which dataset and column instead, and how to fix it."""

    def _load_single_dataset(dataset_attr, model_args, data_args, training_args):
        try:
            return original(dataset_attr, model_args, data_args, training_args)
        except Exception as exc:
            cause = _arrow_read_error(exc)
            if cause is None:
                raise
            name = getattr(dataset_attr, "dataset_name", "?")
            raise ConfigError(
                f"dataset {name!r} cannot be read by `datasets`: {cause}\n  hint: every value of a column must have "
                "one type: write weights and scores as numbers (or null), never as strings, and keep one shape per "
                "column (e.g. history always a list)"
            ) from None

    _load_single_dataset.__wrapped__ = original
    return _load_single_dataset


def _arrow_read_error(exc: BaseException) -> str | None:
    """The first line of the Arrow/JSON read error behind ``exc`` (a DatasetGenerationError chain), or None."""
    import pyarrow as pa

    seen = 0
    current: BaseException | None = exc
    while current is not None and seen < 8:
        if isinstance(current, (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError)):
            return (str(current).splitlines() or [type(current).__name__])[0]
        current = current.__cause__ or current.__context__
        seen += 1
    return None
