"""``polyalign critic train | score | report`` as library calls: :func:`train_critic`, :func:`score_with_critic`
and :func:`report_critic`, with their option dataclasses."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import polyalign_lf.options as opt
from polyalign_lf.core.predictions import prediction_path, read_predictions
from polyalign_lf.critic.mlp import MLPCriticConfig
from polyalign_lf.errors import ConfigError
from polyalign_lf.io import check_output_folder, progress, replace_folder, write_json, write_jsonl
from polyalign_lf.options import option

SPLITS = ("train", "val", "test")


@dataclass(kw_only=True)
class CriticTrainJob:
    """`polyalign critic train`'s options (besides :class:`MLPCriticConfig`'s training settings)."""

    # required, on the command line or in --config (checked by train_critic, which names both when missing)
    references: Path | None = option(None, type=Path, help="bucket references JSON (`polyalign references`); required")
    features: list[Path] = option(
        default_factory=list,
        type=Path,
        help="feature file(s): human answers AND model outputs (repeat the flag); rows of --split are used",
    )
    type: str = option(
        "mlp",
        choices=("mlp", "support_distance", "encoder"),
        help="mlp: Theorem 4's trained critic (default); support_distance: the exact D_b, no training; encoder: "
        "a text-encoder head",
    )
    out: Path | None = option(None, type=Path, help="output bundle directory; required")
    overwrite: bool = option(False, help="replace an existing --out bundle whole")
    split: str = option("train", choices=SPLITS, help="which split's rows to train on (default train)")
    heldout_fraction: float = option(
        0.1,
        type=opt.number(0.0, 0.9),
        help="share of training groups held out to report the critic's fit (default 0.1)",
    )
    device: str | None = opt.device_option("torch device of the critic")
    lm_model: str | None = option(
        None, help="the causal LM used for the LM features (needed when the references include them)"
    )
    records: Path | None = option(None, type=Path, help="encoder critic: records JSONL (texts of human answers)")
    predictions: list[str] = option(
        default_factory=list,
        type=prediction_path,
        metavar="[NAME=]PRED.jsonl",
        help="encoder critic: predictions JSONL (repeatable)",
    )
    encoder: str | None = option(None, help="encoder critic: a local Hugging Face encoder directory")


@dataclass(kw_only=True)
class CriticScoreJob:
    """`polyalign critic score`'s options."""

    critic: Path = option(type=Path, help="critic bundle directory")
    records: Path = option(type=Path, help="records JSONL whose human answers (or --predictions) are scored")
    predictions: str | None = option(
        None,
        type=prediction_path,
        metavar="[NAME=]PRED.jsonl",
        help='predictions JSONL {"id", "prediction"}; default: the human answers',
    )
    split: str | None = option(None, choices=SPLITS, help="score only the records of this split (default: all)")
    out: Path = option(type=Path, help='output JSONL {"id", "bucket_id", "score"}')
    batch_size: int = option(2048, type=opt.count, help="texts per scoring batch (default 2048)")
    device: str | None = opt.device_option("torch device of the critic")


@dataclass(kw_only=True)
class CriticReportJob:
    """`polyalign critic report`'s options."""

    critic: Path = option(type=Path, help="critic bundle directory (`polyalign critic train`)")
    features: list[Path] = option(type=Path, help="feature files of human answers and model outputs")
    split: str = option("val", choices=SPLITS, help="rows of this split are evaluated (default val)")
    out: Path | None = option(None, type=Path, help="write the report JSON here")


def train_critic(args: CriticTrainJob, cfg: MLPCriticConfig | None = None) -> str:
    """`polyalign critic train`: a critic bundle in ``args.out``; returns the summary the command prints."""
    cfg = cfg or MLPCriticConfig()
    missing = [f"--{name}" for name in ("references", "out") if getattr(args, name) is None]
    if missing:
        raise ConfigError(f"critic train needs {' and '.join(missing)} (on the command line or in --config)")
    from polyalign_lf.critic.train import critic_data_from_tables
    from polyalign_lf.features.store import load_feature_table
    from polyalign_lf.references.build import BucketReferences

    check_output_folder(args.out, overwrite=args.overwrite)
    refs = BucketReferences.load(args.references)
    if args.type == "support_distance":
        from polyalign_lf.critic.support_distance import SupportDistanceCritic

        with replace_folder(args.out, overwrite=args.overwrite) as building:
            SupportDistanceCritic(refs, _lm_config(args, refs)).save(building)
        return f"support_distance critic bundle -> {args.out}"
    if args.type == "encoder":
        return _train_encoder_critic(args, refs, cfg)
    if not args.features:
        raise ConfigError("--features is required for --type mlp (human answers and model outputs)")
    from polyalign_lf.critic.mlp import MLPCritic

    tables = [load_feature_table(p, expected_schema=refs.schema_version) for p in args.features]
    data = critic_data_from_tables(
        tables, refs, split=args.split, heldout_fraction=args.heldout_fraction, seed=cfg.seed
    )
    critic = MLPCritic.train(
        refs, data, cfg, device=args.device, show_progress=True, extra_config=_lm_config(args, refs)
    )
    with replace_folder(args.out, overwrite=args.overwrite) as building:
        critic.save(building)
    summary = {
        "bundle": str(args.out),
        "heldout": critic.report["heldout"],
        "train_seconds": critic.report["train_seconds"],
    }
    return json.dumps(summary, indent=2, ensure_ascii=False)


def _lm_config(args, refs) -> dict:

    if "+" in refs.schema_version and not args.lm_model:
        raise ConfigError(
            f"the references use LM features ({refs.schema_version}); pass --lm-model so the critic can featurize texts"
        )
    return {"lm_model": args.lm_model} if args.lm_model else {}


def score_with_critic(args: CriticScoreJob) -> str:
    """`polyalign critic score`: one score per record (human answer or prediction) into ``args.out``."""
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
    return f"scored {n} responses -> {args.out}"


def report_critic(args: CriticReportJob) -> str:
    """`polyalign critic report`: held-out Spearman with D_b and ranking accuracy (JSON text)."""
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
    return json.dumps(result, indent=2, ensure_ascii=False)


def _train_encoder_critic(args: CriticTrainJob, refs, cfg: MLPCriticConfig) -> str:
    """``polyalign critic train --type encoder``: texts = the split's human answers + every --predictions file."""

    from polyalign_lf.critic.encoder import EncoderCritic
    from polyalign_lf.critic.train import encoder_training_texts, heldout_mask

    if not args.records or not args.predictions or not args.encoder:
        raise ConfigError(
            "--type encoder needs --records, at least one --predictions file and --encoder (e.g. bundled-minilm)"
        )
    texts, buckets, groups = encoder_training_texts(args.records, args.split, args.predictions)
    critic = EncoderCritic.train(
        refs,
        texts,
        buckets,
        groups,
        heldout_mask(groups, args.heldout_fraction, cfg.seed),
        args.encoder,
        cfg,
        device=args.device,
        show_progress=True,
    )

    with replace_folder(args.out, overwrite=args.overwrite) as building:
        critic.save(building)
    return json.dumps({"bundle": str(args.out), "heldout": critic.report["heldout"]}, indent=2, ensure_ascii=False)
