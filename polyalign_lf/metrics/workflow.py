"""``polyalign evaluate`` as a library call: :func:`evaluate_files`."""

from __future__ import annotations

import sys
from typing import Any

from polyalign_lf.core.predictions import prediction_rows
from polyalign_lf.errors import ConfigError, InputError
from polyalign_lf.io import write_json
from polyalign_lf.metrics.inputs import fill_human_cache, load_npy, load_reference_scales


def evaluate_files(args: Any) -> dict[str, Any]:
    """`polyalign evaluate`: read the test records and one method's predictions (plus precomputed features,
    embeddings and reference statistics where given), compute the metric suite and write it to ``args.out``;
    returns the metrics. ``args`` carries the command's options."""
    from polyalign_lf.core.embeddings import DEFAULT_MULTILINGUAL_ENCODER
    from polyalign_lf.data.schema import read_records
    from polyalign_lf.metrics.evaluate import (
        EvaluationConfig,
        Precomputed,
        align_predictions,
        check_mauve_featurizer,
        evaluate,
    )
    from polyalign_lf.metrics.mauve_score import REFERENCE_FEATURIZER

    records = read_records(args.records)
    if not records:
        raise InputError("no records", where=args.records)
    if not args.allow_any_split:
        other = sorted({r["split"] for r in records} - {"test"})
        if other:
            raise InputError(
                f"records of split(s) {', '.join(other)} found; the metrics are defined on the held-out test split",
                where=args.records,
                hint="pass the test records, or --allow-any-split to evaluate another split on purpose",
            )
    predictions = align_predictions(records, prediction_rows(args.predictions))

    pre = Precomputed(
        human_features=load_npy(args.human_features, "human features"),
        prediction_features=load_npy(args.prediction_features, "prediction features"),
        human_embeddings=load_npy(args.human_embeddings, "human embeddings"),
        prediction_embeddings=load_npy(args.prediction_embeddings, "prediction embeddings"),
    )
    if pre.human_features is not None or pre.prediction_features is not None or args.references:
        from polyalign_lf.features import FEATURE_SCHEMA_VERSION, feature_names

        pre.feature_names, pre.feature_schema_version = list(feature_names()), FEATURE_SCHEMA_VERSION
        if (
            pre.feature_names is not None
            and pre.human_features is not None
            and pre.human_features.shape[1] != len(pre.feature_names)
        ):
            pre.feature_names = pre.feature_schema_version = (
                None  # precomputed with another extractor: unnamed columns
            )
    if args.references:
        pre.reference_scales, used = load_reference_scales(
            args.references, pre.feature_names, pre.feature_schema_version, [r["bucket_id"] for r in records]
        )
        pre.extra["reference_keys"] = used
    caps = {"--mauve-max-texts": args.mauve_max_texts, "--mauve-global-max-texts": args.mauve_global_max_texts}
    given = [flag for flag, value in caps.items() if value is not None]
    if args.mauve_protocol != "polyalign" and given:
        raise ConfigError(
            f"{', '.join(given)} cannot be combined with --mauve-protocol {args.mauve_protocol}: that protocol fixes "
            "its subsample sizes (1,000 texts, as the reference); drop the option or use --mauve-protocol polyalign"
        )
    defaults = EvaluationConfig()
    config = EvaluationConfig(
        min_bucket_size=args.min_bucket_size,
        bng_scale=args.bng_scale,
        mauve_protocol=args.mauve_protocol,
        mauve_featurizer=args.mauve_featurizer
        or (REFERENCE_FEATURIZER if args.mauve_protocol == "reference" else DEFAULT_MULTILINGUAL_ENCODER),
        mauve_max_texts=args.mauve_max_texts or defaults.mauve_max_texts,
        mauve_global_max_texts=args.mauve_global_max_texts or defaults.mauve_global_max_texts,
        skip_mauve=args.skip_mauve,
        seed=args.seed,
        num_threads=args.threads or None,
        device=args.device,
        show_progress=True,
    )
    log = lambda msg: print(f"polyalign evaluate: {msg}", file=sys.stderr)  # noqa: E731
    if not config.skip_mauve and (pre.human_embeddings is None or pre.prediction_embeddings is None):
        check_mauve_featurizer(config)  # fail before the feature extraction, not after
    if args.cache_dir:
        fill_human_cache(args.cache_dir, records, pre, config, log)
    metrics = evaluate(records, predictions, config, pre, log=log)
    metrics = {
        "method": args.method,
        "model": args.model,
        "records": str(args.records),
        "predictions": str(args.predictions),
        "references": args.references,
        **metrics,
    }
    write_json(args.out, metrics)
    return metrics
