"""Carry ``bucket_id`` / ``weight`` / ``chosen_score`` / ``rejected_score`` through LLaMA-Factory's data
pipeline: dataset_info ``columns`` → converter → (weights, critic scores) → processor → collator.

LLaMA-Factory drops unknown columns at four places (DatasetAttr.join, align_dataset, the processors'
fresh dicts, the collators). During a PolyAlign run only, :mod:`polyalign_lf.integration.plugin` swaps in
the wrappers below; each delegates to LLaMA-Factory's own code and only re-attaches our columns:

* :func:`dataset_attr_class` records which of our columns a dataset maps;
* :class:`PolyAlignConverter` emits ``_pa_bucket_id`` (str, "" if absent) and ``_pa_weight`` /
  ``_pa_score_chosen`` / ``_pa_score_rejected`` (float, NaN if absent) next to LLaMA-Factory's ``_prompt`` …;
* :func:`finalize_split` (wrapping ``split_dataset``, before tokenization) maps bucket ids to ints, numbers
  the rows and scores unscored pairs with the critic (a cached ``datasets.map``);
* :class:`PassthroughProcessor` re-attaches ``pa_weight``, ``pa_bucket``, ``pa_index``, ``pa_score_chosen``,
  ``pa_score_rejected`` to the rows LLaMA-Factory keeps (it may drop invalid rows);
* :func:`resolve_weights` (wrapping ``_get_preprocessed_dataset``, after tokenization) counts buckets over the
  training rows LLaMA-Factory kept — a dropped row counts in no n_b — and resolves every example's weight
  (explicit ``weight`` > bucket weight N/(|B| n_b) > 1; all 1 under ``bucket_weighting: uniform``).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
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
    mapped: dict[str, dict[str, str]] = field(default_factory=dict)
    bucket_index: dict[str, int] = field(default_factory=dict)  # every bucket id seen in any split → int
    bucket_weights: dict[int, float] = field(default_factory=dict)  # bucket index → weight, from the kept rows
    bucket_table_fixed: bool = False
    report: dict[str, Any] = field(default_factory=dict)


CONTEXT: RunContext | None = None


def _context() -> RunContext:
    if CONTEXT is None:
        raise RuntimeError("polyalign-lf: data hooks used outside a PolyAlign run (internal error)")
    return CONTEXT


_ATTR_CLASS = None


def dataset_attr_class():
    """A subclass of LLaMA-Factory's ``DatasetAttr`` whose ``join`` also records our ``columns``."""
    global _ATTR_CLASS
    if _ATTR_CLASS is not None:
        return _ATTR_CLASS
    from dataclasses import dataclass as _dataclass

    from llamafactory.data.parser import DatasetAttr

    @_dataclass(repr=False)
    class PolyAlignDatasetAttr(DatasetAttr):
        pa_columns: dict = field(default_factory=dict)

        def join(self, attr: dict[str, Any]) -> None:
            super().join(attr)
            columns = attr.get("columns") or {}
            self.pa_columns = {key: columns[key] for key in PA_COLUMNS if columns.get(key)}
            if CONTEXT is not None:
                CONTEXT.mapped[self.dataset_name] = dict(self.pa_columns)

    _ATTR_CLASS = PolyAlignDatasetAttr
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
    number = None
    if isinstance(value, (int, float)) and not isinstance(value, bool):  # never coerce strings or booleans
        number = float(value)
    if number is None or not math.isfinite(number) or (nonnegative and number < 0):
        problem = "not a number" if number is None else ("not finite" if not math.isfinite(number) else "negative")
        raise InputError(
            f"{what} {value!r} is {problem} (row starting {_row_snippet(example)})",
            where=f"dataset {dataset!r}",
            hint=f"{what} values must be finite" + (" and >= 0" if nonnegative else "") + "; fix or drop the row",
        )
    return number


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


def wrap_get_dataset_converter(original):
    def get_dataset_converter(name, dataset_attr, data_args):
        inner = original(name, dataset_attr, data_args)
        ctx = _context()
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
        return getattr(self.inner, name)


def wrap_get_dataset_processor(original):
    def _get_dataset_processor(*args, **kwargs):
        return PassthroughProcessor(original(*args, **kwargs))

    _get_dataset_processor.__wrapped__ = original
    return _get_dataset_processor


@dataclass
class WeightResolver:
    """Batched ``datasets.map`` over tokenized rows: the final example weight (fingerprinted, cached)."""

    table: dict[int, float]  # bucket index → bucket weight
    bucket_names: list[str]  # bucket index → id, for messages
    mode: str  # "true" (bucket weights fill rows without a weight), "uniform" (all 1), "false" (explicit or 1)
    table_required: bool
    clip_min: float | None
    clip_max: float | None
    split_name: str

    def __call__(self, batch: dict[str, list[Any]]) -> dict[str, list[Any]]:
        weights = []
        for bucket, weight in zip(batch["pa_bucket"], batch["pa_weight"]):
            known = bucket in self.table
            if bucket >= 0 and not known and (self.table_required or (self.mode == "true" and math.isnan(weight))):
                names = sorted(self.bucket_names[b] for b in self.table)
                raise InputError(
                    f"unknown bucket id {self.bucket_names[bucket]!r} in the {self.split_name} data: no training "
                    f"row of it was kept and it is not in the bucket table ({len(names)} buckets: "
                    f"{', '.join(names[:6])}{' …' if len(names) > 6 else ''})",
                    hint="evaluation buckets must occur in the training data (or in `bucket_table`); fix the "
                    "bucket_id or give the row an explicit weight",
                )
            if self.mode == "uniform":
                value = 1.0
            elif not math.isnan(weight):
                value = weight
            elif self.mode == "true":
                value = self.table[bucket]
            else:
                value = 1.0
            if self.clip_min is not None:
                value = max(value, self.clip_min)
            if self.clip_max is not None:
                value = min(value, self.clip_max)
            weights.append(float(value))
        return {"pa_weight": weights}


@dataclass
class CriticScorer:
    """Batched ``datasets.map`` function that fills missing chosen/rejected scores with the critic.

    Its fingerprint (hence LLaMA-Factory's/datasets' cache) covers the bundle path and its config; the
    critic itself is loaded on first use only."""

    bundle_dir: str
    bundle_config: str
    _critic: Any = field(default=None, repr=False, compare=False)

    def __getstate__(self):  # never pickle a loaded model into the cache fingerprint or workers
        state = dict(self.__dict__)
        state["_critic"] = None
        return state

    def __call__(self, batch: dict[str, list[Any]]) -> dict[str, list[Any]]:
        from polyalign_lf.integration.scoring import score_missing

        if self._critic is None:
            from polyalign_lf.critic import interface

            self._critic = interface.load_critic(self.bundle_dir)
        chosen, rejected = score_missing(
            self._critic,
            batch["_response"],
            batch["_pa_bucket_id"],
            batch["_pa_score_chosen"],
            batch["_pa_score_rejected"],
        )
        return {"_pa_score_chosen": chosen, "_pa_score_rejected": rejected}


def _map_kwargs(ctx: RunContext, desc: str) -> dict[str, Any]:
    return dict(
        load_from_cache_file=(not ctx.data_args.overwrite_cache) or (ctx.training_args.local_process_index != 0),
        desc=desc,
    )


def check_columns_mapped(ctx: RunContext) -> None:
    """Refuse a weighted recipe whose datasets map none of the columns it needs (it would train unweighted)."""
    mapped: set[str] = set()
    for columns in ctx.mapped.values():
        mapped.update(columns)
    pa = ctx.pa_args
    names = ", ".join(sorted(ctx.mapped)) or "(none)"
    if ctx.stage == "sft" and pa.weights_from_buckets and not ({"bucket_id", "weight"} & mapped):
        raise ConfigError(
            f"bucket_weighting is on but no dataset ({names}) maps a `bucket_id` or `weight` column in "
            "dataset_info.json, so every example would weigh the same; add e.g. "
            '"columns": {..., "bucket_id": "bucket_id"} to the entry'
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


def _bucket_table(ctx: RunContext, train) -> dict[int, float]:
    """Bucket index → weight: from ``bucket_table``, else N/(|B| n_b) over the kept training rows."""
    from polyalign_lf.objectives.weighting import bucket_weights, check_weight

    pa = ctx.pa_args
    if pa.bucket_table:
        from polyalign_lf.io import read_json

        raw = read_json(pa.bucket_table)
        if not isinstance(raw, dict) or not raw:
            raise InputError("bucket_table must be a non-empty JSON object {bucket_id: weight}", where=pa.bucket_table)
        table = {}
        for bucket, weight in raw.items():
            problem = check_weight(weight)
            if problem:
                raise InputError(
                    f"bucket {bucket!r}: {problem}",
                    where=pa.bucket_table,
                    hint="every bucket weight must be a finite number >= 0",
                )
            if str(bucket) in ctx.bucket_index:
                table[ctx.bucket_index[str(bucket)]] = float(weight)
        return table
    if train is None:
        return {}
    return bucket_weights([bucket for bucket in train["pa_bucket"] if bucket >= 0])


def wrap_split_dataset(original):
    def split_dataset(dataset, eval_dataset, data_args, seed):
        train_dict, eval_dict = original(dataset, eval_dataset, data_args, seed)
        ctx = _context()
        check_columns_mapped(ctx)
        # Training buckets first (sorted), then any only evaluation rows name: an index for every id.
        parts = ([train_dict["train"]] if "train" in train_dict else []) + list(eval_dict.values())
        for part in parts:
            for bucket in sorted({b for b in part.unique("_pa_bucket_id") if b}):
                ctx.bucket_index.setdefault(bucket, len(ctx.bucket_index))
        if "train" in train_dict:
            train_dict["train"] = finalize_split(ctx, train_dict["train"], "training")
        for key in list(eval_dict):
            eval_dict[key] = finalize_split(ctx, eval_dict[key], "evaluation")
        return train_dict, eval_dict

    split_dataset.__wrapped__ = original
    return split_dataset


def _index_rows(bucket_index: dict[str, int]):
    def index_rows(batch: dict[str, list[Any]], indices: list[int]) -> dict[str, list[Any]]:
        return {"_pa_bucket_index": [bucket_index.get(b, -1) for b in batch["_pa_bucket_id"]], "_pa_index": indices}

    return index_rows


def finalize_split(ctx: RunContext, dataset, split_name: str):
    """Bucket indices, row numbers and (HDPO) critic scores of one split, before tokenization."""
    pa = ctx.pa_args
    if split_name == "training":
        _warn_unmasked_history(ctx, dataset)
    dataset = dataset.map(
        _index_rows(dict(ctx.bucket_index)),
        batched=True,
        with_indices=True,
        **_map_kwargs(ctx, f"PolyAlign buckets ({split_name})"),
    )
    if ctx.stage == "hdpo":
        chosen, rejected = dataset["_pa_score_chosen"], dataset["_pa_score_rejected"]
        missing = sum(1 for c, r in zip(chosen, rejected) if math.isnan(c) or math.isnan(r))
        ctx.report[f"{split_name}_unscored_pairs"] = missing
        if missing and pa.hdpo_critic:
            from pathlib import Path

            config = (Path(pa.hdpo_critic) / "critic_config.json").read_text(encoding="utf-8")
            scorer = CriticScorer(str(Path(pa.hdpo_critic).resolve()), config)
            dataset = dataset.map(
                scorer,
                batched=True,
                batch_size=pa.hdpo_critic_batch_size,
                **_map_kwargs(ctx, f"Scoring {missing} {split_name} pairs with the critic"),
            )
        elif missing and pa.hdpo_lambda > 0:
            raise InputError(
                f"{missing} {split_name} preference pair(s) have no chosen_score/rejected_score and `hdpo_critic` "
                "is not set",
                hint="score them (`polyalign weights`), or set `hdpo_critic: <critic bundle dir>` to score them at "
                "load time",
            )
        elif missing:  # λ = 0: the regularizer is unused, scores only feed metrics
            dataset = dataset.map(
                _zero_missing_scores, batched=True, **_map_kwargs(ctx, f"PolyAlign scores ({split_name})")
            )
    else:
        dataset = dataset.map(
            _zero_missing_scores, batched=True, **_map_kwargs(ctx, f"PolyAlign columns ({split_name})")
        )
    return dataset


def _warn_unmasked_history(ctx: RunContext, dataset) -> None:
    """Bucket-SFT with multi-turn rows and ``mask_history: false``: ℓ_i then includes every earlier assistant
    turn, which the row's bucket (that of its last answer) does not describe, and which repeats across rows."""
    if ctx.stage != "sft" or getattr(ctx.data_args, "mask_history", False):
        return
    import pyarrow.compute as pc

    lengths = pc.list_value_length(dataset.data.column("_prompt"))
    multi_turn = int(pc.sum(pc.greater(lengths, 1)).as_py() or 0)
    if multi_turn and getattr(ctx.training_args, "should_log", True):
        import sys

        sys.stderr.write(
            f"polyalign-lf: warning: {multi_turn} of {len(dataset)} training rows are multi-turn and `mask_history` "
            "is false, so each row's loss also covers its earlier assistant turns; set `mask_history: true` to train "
            "on the answer whose bucket the row carries\n"
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


def wrap_get_preprocessed_dataset(original):
    def _get_preprocessed_dataset(
        dataset, data_args, training_args, stage, template, tokenizer, processor=None, is_eval=False
    ):
        processed = original(dataset, data_args, training_args, stage, template, tokenizer, processor, is_eval)
        return None if processed is None else resolve_weights(_context(), processed, is_eval)

    _get_preprocessed_dataset.__wrapped__ = original
    return _get_preprocessed_dataset


def resolve_weights(ctx: RunContext, dataset, is_eval: bool):
    """Final example weights of a tokenized split; the training split (LLaMA-Factory comes to it first)
    also fixes the bucket table from the rows it kept."""
    pa = ctx.pa_args
    split_name = "evaluation" if is_eval else "training"
    # The training split fixes the table; an evaluation-only run (no training split) counts its own rows.
    if not is_eval or not ctx.bucket_table_fixed:
        ctx.bucket_weights = _bucket_table(ctx, dataset) if pa.weights_from_buckets or pa.bucket_table else {}
        ctx.bucket_table_fixed = True
    names = [""] * len(ctx.bucket_index)
    for bucket, index in ctx.bucket_index.items():
        names[index] = bucket
    resolver = WeightResolver(
        table=dict(ctx.bucket_weights),
        bucket_names=names,
        mode=pa.bucket_weighting,
        table_required=bool(pa.bucket_table),
        clip_min=pa.weight_clip_min,
        clip_max=pa.weight_clip_max,
        split_name=split_name,
    )
    dataset = dataset.map(resolver, batched=True, **_map_kwargs(ctx, f"PolyAlign weights ({split_name})"))
    if not is_eval:
        check_training_weights(ctx, dataset["pa_weight"], dataset["pa_bucket"], names)
    return dataset


def check_training_weights(ctx: RunContext, weights: list[float], buckets: list[int], names: list[str]) -> None:
    """Refuse training sets the objective cannot be estimated on (all weights zero; for balanced sampling, a
    bucket that could never be drawn)."""
    if not weights:
        return
    if sum(weights) <= 0:
        raise InputError(
            "every training example has weight 0, so the weighted objective is undefined",
            hint="check the `weight` column, `bucket_table` and `weight_clip_max`",
        )
    if ctx.pa_args.bucket_sampling:
        totals: dict[int, float] = {}
        for bucket, weight in zip(buckets, weights):
            totals[bucket] = totals.get(bucket, 0.0) + weight
        zero = sorted(names[b] if b >= 0 else "(no bucket)" for b, total in totals.items() if total <= 0)
        if zero:
            raise InputError(
                f"bucket_sampling draws examples in proportion to their weight, but bucket(s) {', '.join(zero[:6])} "
                "have weight 0 on every row and would never be drawn",
                hint="give those buckets a positive weight, or drop their rows from the training data",
            )


def _zero_missing_scores(batch: dict[str, list[Any]]) -> dict[str, list[Any]]:
    return {
        "_pa_score_chosen": [0.0 if math.isnan(v) else v for v in batch["_pa_score_chosen"]],
        "_pa_score_rejected": [0.0 if math.isnan(v) else v for v in batch["_pa_score_rejected"]],
    }
