"""``polyalign critic train | score | report``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import polyalign_lf.options as opt
from polyalign_lf.core.predictions import prediction_path, read_predictions
from polyalign_lf.errors import ConfigError
from polyalign_lf.io import check_output_folder, progress, replace_folder, write_json, write_jsonl


def critic_arguments(parser: argparse.ArgumentParser) -> None:
    from polyalign_lf.critic.mlp import MLPCriticConfig

    d = MLPCriticConfig()  # the training options' defaults are the config's: one place to change them
    sub = parser.add_subparsers(dest="action", required=True)
    train = sub.add_parser(
        "train", help="train a critic bundle (mlp, encoder) or package the exact support_distance critic"
    )
    train.add_argument(
        "--config",
        type=Path,
        help="YAML file whose keys are this command's options (e.g. recipes/en/gemma2_2b_critic.yaml); "
        "options given on the command line override it",
    )
    train.add_argument("--references", type=Path, help="bucket references JSON (`polyalign references`); required")
    train.add_argument(
        "--features",
        type=Path,
        action="append",
        default=[],
        help="feature file(s): human answers AND model outputs (repeat the flag); rows of --split are used",
    )
    train.add_argument(
        "--type",
        choices=("mlp", "support_distance", "encoder"),
        default="mlp",
        help="mlp: Theorem 4's trained critic (default); support_distance: the exact D_b, no training; encoder: a text-encoder head",
    )
    train.add_argument("--out", type=Path, help="output bundle directory; required")
    train.add_argument("--overwrite", action="store_true", help="replace an existing --out bundle whole")
    train.add_argument(
        "--split",
        default="train",
        choices=("train", "val", "test"),
        help="which split's rows to train on (default train)",
    )
    train.add_argument(
        "--heldout-fraction",
        type=opt.number(0.0, 0.9),
        default=0.1,
        help="share of training groups held out to report the critic's fit (default 0.1)",
    )
    train.add_argument("--epochs", type=opt.count, default=d.epochs, help=f"passes over the rows (default {d.epochs})")
    train.add_argument(
        "--batch-size", type=opt.count, default=d.batch_size, help=f"rows per optimizer step (default {d.batch_size})"
    )
    train.add_argument(
        "--learning-rate",
        type=opt.number(0.0, 1.0, above=True),
        default=d.learning_rate,
        help=f"AdamW learning rate (default {d.learning_rate})",
    )
    coefficient = opt.number(0.0, 1e3)  # Theorem 4's are ~0.1 … 1: beyond 1,000 the loss is one term alone
    train.add_argument("--kappa", type=coefficient, default=d.kappa, help="ranking margin κ (Theorem 4)")
    train.add_argument("--lambda-reg", type=coefficient, default=d.lambda_reg, help="λ_reg (Theorem 4)")
    train.add_argument("--lambda-rank", type=coefficient, default=d.lambda_rank, help="λ_rank (Theorem 4)")
    train.add_argument(
        "--seed", type=opt.integer(), default=d.seed, help=f"seed of the split and the init (default {d.seed})"
    )
    train.add_argument(
        "--threads",
        type=opt.non_negative_int,
        default=d.num_threads,
        help="torch threads while training the MLP (0 = torch default)",
    )
    train.add_argument("--device", type=opt.torch_device, help="torch device (default cpu)")
    train.add_argument(
        "--lm-model", help="the causal LM used for the LM features (needed when the references include them)"
    )
    train.add_argument("--records", type=Path, help="encoder critic: records JSONL (texts of human answers)")
    train.add_argument(
        "--predictions",
        type=prediction_path,
        metavar="[NAME=]PRED.jsonl",
        action="append",
        default=[],
        help="encoder critic: predictions JSONL (repeatable)",
    )
    train.add_argument("--encoder", help="encoder critic: a local Hugging Face encoder directory")
    train.set_defaults(_parser=train)

    score = sub.add_parser("score", help="score records' human answers or predictions with a critic bundle")
    score.add_argument("--critic", required=True, type=Path, help="critic bundle directory")
    score.add_argument(
        "--records", required=True, type=Path, help="records JSONL whose human answers (or --predictions) are scored"
    )
    score.add_argument(
        "--predictions",
        type=prediction_path,
        metavar="[NAME=]PRED.jsonl",
        help='predictions JSONL {"id", "prediction"}; default: the human answers',
    )
    score.add_argument(
        "--split", choices=("train", "val", "test"), help="score only the records of this split (default: all)"
    )
    score.add_argument("--out", required=True, type=Path, help='output JSONL {"id", "bucket_id", "score"}')
    score.add_argument("--batch-size", type=opt.count, default=2048, help="texts per scoring batch (default 2048)")
    score.add_argument("--device", type=opt.torch_device, help="torch device (default cpu)")

    report = sub.add_parser(
        "report", help="held-out report: Spearman with D_b and chosen-vs-rejected ranking accuracy"
    )
    report.add_argument(
        "--critic", required=True, type=Path, help="critic bundle directory (`polyalign critic train`)"
    )
    report.add_argument(
        "--features",
        type=Path,
        action="append",
        required=True,
        help="feature files of human answers and model outputs",
    )
    report.add_argument(
        "--split",
        default="val",
        choices=("train", "val", "test"),
        help="rows of this split are evaluated (default val)",
    )
    report.add_argument("--out", type=Path, help="write the report JSON here")


def critic_main(args: argparse.Namespace) -> int:
    return {"train": _train, "score": _score, "report": _report}[args.action](args)


def _train(args: argparse.Namespace) -> int:
    from polyalign_lf.critic.train import critic_data_from_tables
    from polyalign_lf.features.store import load_feature_table
    from polyalign_lf.references.build import BucketReferences

    missing = [f"--{name}" for name in ("references", "out") if getattr(args, name) is None]
    if missing:
        raise ConfigError(f"critic train needs {' and '.join(missing)} (on the command line or in --config)")

    check_output_folder(args.out, overwrite=args.overwrite)
    refs = BucketReferences.load(args.references)
    if args.type == "support_distance":
        from polyalign_lf.critic.support import SupportDistanceCritic

        with replace_folder(args.out, overwrite=args.overwrite) as building:
            SupportDistanceCritic(refs, _lm_config(args, refs)).save(building)
        print(f"support_distance critic bundle -> {args.out}")
        return 0
    if args.type == "encoder":
        return _train_encoder_critic(args, refs)
    if not args.features:
        raise ConfigError("--features is required for --type mlp (human answers and model outputs)")
    from polyalign_lf.critic.mlp import MLPCritic

    tables = [load_feature_table(p, expected_schema=refs.schema_version) for p in args.features]
    data = critic_data_from_tables(
        tables, refs, split=args.split, heldout_fraction=args.heldout_fraction, seed=args.seed
    )
    cfg = _training_config(args)
    critic = MLPCritic.train(
        refs, data, cfg, device=args.device, show_progress=True, extra_config=_lm_config(args, refs)
    )
    with replace_folder(args.out, overwrite=args.overwrite) as building:
        critic.save(building)
    print(
        json.dumps(
            {
                "bundle": str(args.out),
                "heldout": critic.report["heldout"],
                "train_seconds": critic.report["train_seconds"],
            },
            indent=2,
            ensure_ascii=False,
        )
    )
    return 0


def _lm_config(args, refs) -> dict:

    if "+" in refs.schema_version and not args.lm_model:
        raise ConfigError(
            f"the references use LM features ({refs.schema_version}); pass --lm-model so the critic can featurize texts"
        )
    return {"lm_model": args.lm_model} if args.lm_model else {}


def _score(args: argparse.Namespace) -> int:
    from polyalign_lf.critic.interface import load_critic
    from polyalign_lf.data.schema import read_records

    critic = load_critic(args.critic, device=args.device)
    records = read_records(args.records)
    if args.split:
        records = [r for r in records if r["split"] == args.split]
    if args.predictions:
        preds = read_predictions(args.predictions, [r["id"] for r in records])
        texts = [preds[r["id"]] for r in records]
    else:
        texts = [r["human_answer"] for r in records]
    buckets = [r["bucket_id"] for r in records]
    scores: list[float] = []
    for start in progress(range(0, len(texts), args.batch_size), desc="critic score", unit="batch"):
        scores += critic.score(texts[start : start + args.batch_size], buckets[start : start + args.batch_size])
    n = write_jsonl(
        args.out, ({"id": r["id"], "bucket_id": r["bucket_id"], "score": round(s, 8)} for r, s in zip(records, scores))
    )
    print(f"scored {n} responses -> {args.out}")
    return 0


def _report(args: argparse.Namespace) -> int:
    from polyalign_lf.critic.interface import load_critic
    from polyalign_lf.critic.train import critic_data_from_tables, evaluate_scores
    from polyalign_lf.features.store import load_feature_table

    critic = load_critic(args.critic)
    if not hasattr(critic, "score_features"):
        raise ConfigError(
            "`critic report` works on feature files and needs a feature-based critic (mlp or support_distance)"
        )
    refs = critic.references
    tables = [load_feature_table(p, expected_schema=refs.schema_version) for p in args.features]
    data = critic_data_from_tables(tables, refs, split=args.split, heldout_fraction=0.0)
    data.heldout[:] = True
    scores = critic.score_features(data.matrix, data.bucket_ids)
    result = {"critic": str(args.critic), "split": args.split, **evaluate_scores(scores, data, heldout=True)}
    if args.out:
        write_json(args.out, result)
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return 0


def _training_config(args: argparse.Namespace):
    """The Theorem-4 training options of `critic train` (the MLP and the encoder head train alike)."""
    from polyalign_lf.critic.mlp import MLPCriticConfig

    return MLPCriticConfig(
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        kappa=args.kappa,
        lambda_reg=args.lambda_reg,
        lambda_rank=args.lambda_rank,
        seed=args.seed,
        num_threads=args.threads,
    )


def _train_encoder_critic(args, refs) -> int:
    """``polyalign critic train --type encoder``: texts = the split's human answers + every --predictions file."""

    from polyalign_lf.critic.encoder import EncoderCritic
    from polyalign_lf.critic.train import encoder_training_texts, heldout_mask

    if not args.records or not args.predictions or not args.encoder:
        raise ConfigError(
            "--type encoder needs --records, at least one --predictions file and --encoder (e.g. bundled-minilm)"
        )
    texts, buckets, groups = encoder_training_texts(args.records, args.split, args.predictions)
    cfg = _training_config(args)
    critic = EncoderCritic.train(
        refs,
        texts,
        buckets,
        groups,
        heldout_mask(groups, args.heldout_fraction, args.seed),
        args.encoder,
        cfg,
        device=args.device,
        show_progress=True,
    )

    with replace_folder(args.out, overwrite=args.overwrite) as building:
        critic.save(building)
    print(json.dumps({"bundle": str(args.out), "heldout": critic.report["heldout"]}, indent=2, ensure_ascii=False))
    return 0
