"""Each split of a PolyAlign run, before tokenization (wrapping ``split_dataset``): bucket ids become ints
(training buckets first), rows are numbered, and unscored HDPO pairs are scored with the critic."""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any

from polyalign_lf.errors import InputError
from polyalign_lf.integration.lf_v0.columns import RunContext, _map_kwargs, check_columns_mapped
from polyalign_lf.integration.lf_v0.example_weights import _warn_unmasked_history
from polyalign_lf.integration.lf_v0.scoring import CriticScorer, zero_missing_scores


def wrap_split_dataset(original, ctx: RunContext):
    def split_dataset(dataset, eval_dataset, data_args, seed):
        train_dict, eval_dict = original(dataset, eval_dataset, data_args, seed)
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
    if ctx.stage == "hdpo":
        dataset = drop_identical_pairs(ctx, dataset, split_name)
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
                zero_missing_scores, batched=True, **_map_kwargs(ctx, f"PolyAlign scores ({split_name})")
            )
    else:
        dataset = dataset.map(
            zero_missing_scores, batched=True, **_map_kwargs(ctx, f"PolyAlign columns ({split_name})")
        )
    return dataset


def _distinct_pair(example: dict[str, Any]) -> bool:
    from polyalign_lf.data.normalize import canonical_text

    response = example.get("_response") or []
    if len(response) != 2:
        return True  # not a pair LLaMA-Factory built: its own checks handle it
    return canonical_text(response[0].get("content")) != canonical_text(response[1].get("content"))


def drop_identical_pairs(ctx: RunContext, dataset, split_name: str):
    """Drop (and count) preference pairs whose chosen and rejected answers are the same text once normalized
    (case, whitespace, invisible characters): their DPO margin is 0 whatever the model does, so they only add
    a constant to the loss and dilute the step."""
    kept = dataset.filter(_distinct_pair, **_map_kwargs(ctx, f"PolyAlign identical pairs ({split_name})"))
    dropped = len(dataset) - len(kept)
    ctx.report[f"{split_name}_identical_pairs_dropped"] = dropped
    if dropped and getattr(ctx.training_args, "should_log", True):
        sys.stderr.write(
            f"polyalign-lf: dropped {dropped} of {len(dataset)} {split_name} preference pair(s) whose chosen and "
            "rejected answers are the same text\n"
        )
    if not len(kept):
        raise InputError(
            f"every {split_name} preference pair has chosen == rejected",
            hint="rebuild the pairs (`polyalign pairs hdpo`): a pair needs two different answers",
        )
    return kept
