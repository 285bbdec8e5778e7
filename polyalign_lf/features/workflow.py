"""``polyalign features`` as a library call: :func:`write_features` with a :class:`FeaturesJob`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import polyalign_lf.options as opt
from polyalign_lf.core.predictions import prediction_path, read_predictions
from polyalign_lf.errors import ConfigError
from polyalign_lf.options import option


@dataclass(kw_only=True)
class FeaturesJob:
    """Everything one ``polyalign features`` run needs: the command's options are generated from these fields."""

    records: str = option(help="records JSONL (the PolyAlign record schema)")
    predictions: str | None = option(
        None,
        type=prediction_path,
        metavar="[NAME=]PRED.jsonl",
        help='predictions JSONL {"id", "prediction"}; featurize these instead of the human answers',
    )
    split: str | None = option(None, choices=("train", "val", "test"), help="only records of this split")
    out: str = option(help="output feature file (.npz)")
    lm_model: str | None = option(
        None, help="also append LM log-prob features from this causal LM (path or name, offline)"
    )
    lm_batch_size: int = option(16, type=opt.count, help="texts per LM-feature batch (default 16)")
    device: str | None = opt.device_option("device of --lm-model")


def write_features(args: FeaturesJob) -> str:
    """Featurize the records' human answers (or a method's predictions) into ``args.out``; returns a summary."""
    from polyalign_lf.data.schema import read_records
    from polyalign_lf.features import FEATURE_SCHEMA_VERSION, extract_features, feature_names
    from polyalign_lf.features.store import FeatureTable, save_feature_table

    records = read_records(args.records)
    if args.split:
        records = [r for r in records if r["split"] == args.split]
    if not records:
        raise ConfigError(f"no records{' of split ' + args.split if args.split else ''} in {args.records}")
    if args.predictions:
        preds = read_predictions(args.predictions, [r["id"] for r in records])
        texts = [preds[r["id"]] for r in records]
        source = f"prediction:{args.predictions}"
    else:
        texts = [r["human_answer"] for r in records]
        source = "human_answer"
    languages = [r["language"] for r in records]
    matrix = extract_features(texts, languages, show_progress=True)
    names = feature_names()
    schema = FEATURE_SCHEMA_VERSION
    if args.lm_model:
        from polyalign_lf.features.lm import LM_FEATURE_NAMES, LM_FEATURE_SCHEMA_VERSION, extract_lm_features

        lm = extract_lm_features(
            texts, args.lm_model, batch_size=args.lm_batch_size, device=args.device, show_progress=True
        )
        matrix = np.concatenate([matrix, lm], axis=1)
        names = names + list(LM_FEATURE_NAMES)
        schema = f"{schema}+{LM_FEATURE_SCHEMA_VERSION}"
    table = FeatureTable(
        matrix,
        [r["id"] for r in records],
        [r["bucket_id"] for r in records],
        languages,
        [r["split"] for r in records],
        names,
        schema,
        source,
    )
    save_feature_table(args.out, table)
    return f"wrote {len(table)} x {matrix.shape[1]} features ({schema}) to {args.out}"
