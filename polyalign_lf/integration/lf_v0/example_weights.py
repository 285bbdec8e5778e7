"""Example weights of a PolyAlign run, resolved after LLaMA-Factory's tokenization (wrapping
``_get_preprocessed_dataset``): buckets are counted over the training rows LLaMA-Factory kept — a dropped row
counts in no n_b — and every example gets its weight (explicit ``weight`` > bucket weight N/(|B| n_b) > 1;
all 1 under ``bucket_weighting: uniform``)."""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from typing import Any

from polyalign_lf.errors import InputError
from polyalign_lf.integration.lf_v0.columns import RunContext, _map_kwargs
from polyalign_lf.io import read_json


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


def _bucket_table(ctx: RunContext, train) -> dict[int, float]:
    """Bucket index → weight: from ``bucket_table``, else N/(|B| n_b) over the kept training rows."""
    from polyalign_lf.objectives.weighting import bucket_weights, check_weight

    pa = ctx.pa_args
    if pa.bucket_table:
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
                    hint="every bucket weight must be a finite number in [0, 1e6]",
                )
            if str(bucket) in ctx.bucket_index:
                table[ctx.bucket_index[str(bucket)]] = float(weight)
        return table
    if train is None:
        return {}
    return bucket_weights([bucket for bucket in train["pa_bucket"] if bucket >= 0])


def _warn_unmasked_history(ctx: RunContext, dataset) -> None:
    """Bucket-SFT with multi-turn rows and ``mask_history: false``: ℓ_i then includes every earlier assistant
    turn, which the row's bucket (that of its last answer) does not describe, and which repeats across rows."""
    if ctx.stage != "sft" or getattr(ctx.data_args, "mask_history", False):
        return
    import pyarrow.compute as pc

    lengths = pc.list_value_length(dataset.data.column("_prompt"))
    multi_turn = int(pc.sum(pc.greater(lengths, 1)).as_py() or 0)
    if multi_turn and getattr(ctx.training_args, "should_log", True):
        sys.stderr.write(
            f"polyalign-lf: warning: {multi_turn} of {len(dataset)} training rows are multi-turn and `mask_history` "
            "is false, so each row's loss also covers its earlier assistant turns; set `mask_history: true` to train "
            "on the answer whose bucket the row carries\n"
        )


def wrap_get_preprocessed_dataset(original, ctx: RunContext):
    def _get_preprocessed_dataset(
        dataset, data_args, training_args, stage, template, tokenizer, processor=None, is_eval=False
    ):
        processed = original(dataset, data_args, training_args, stage, template, tokenizer, processor, is_eval)
        return None if processed is None else resolve_weights(ctx, processed, is_eval)

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
