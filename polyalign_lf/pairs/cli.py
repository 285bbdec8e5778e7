"""``polyalign pairs dpo | hdpo`` and ``polyalign weights``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import polyalign_lf.options as opt
from polyalign_lf.core.predictions import prediction_path, read_candidates, read_predictions
from polyalign_lf.errors import ConfigError, InputError
from polyalign_lf.io import read_json, write_json


def _weight_arguments(parser: argparse.ArgumentParser) -> None:
    from polyalign_lf.pairs.weights import WeightConfig

    d = WeightConfig()
    group = parser.add_argument_group("HDPO weights (Theorem 5)")
    # Named after what they weigh, so that --beta stays DPO's β everywhere (old names kept as aliases).
    coefficients = (
        ("--scarcity", "--alpha", "alpha", "bucket-scarcity coefficient α"),
        ("--gap", "--beta", "beta", "critic-gap coefficient β"),
        ("--rarity", "--gamma", "gamma", "language-rarity coefficient γ"),
        ("--type-bias", "--eta", "eta", "pair-type coefficient η"),
    )
    for flag, old, dest, text in coefficients:
        group.add_argument(
            flag,
            dest=dest,
            type=opt.non_negative,
            default=getattr(d, dest),
            help=f"{text} (default {getattr(d, dest)})",
        )
        opt.add_deprecated_alias(group, old, flag, dest=dest, type=opt.non_negative)
    group.add_argument("--w-min", type=opt.positive, default=d.w_min, help="lower clip of the HDPO weight (Theorem 5)")
    group.add_argument("--w-max", type=opt.positive, default=d.w_max, help="upper clip of the HDPO weight (Theorem 5)")


def _weight_config(args):
    from polyalign_lf.pairs.weights import WeightConfig

    return WeightConfig(args.alpha, args.beta, args.gamma, args.eta, args.w_min, args.w_max).validate()


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--records", required=True, type=Path, help="records JSONL")
    parser.add_argument(
        "--predictions",
        required=True,
        type=prediction_path,
        metavar="[NAME=]PRED.jsonl",
        help='SFT predictions JSONL {"id", "prediction"} for every record of --split/--lang',
    )
    parser.add_argument(
        "--split",
        default="train",
        choices=("train", "val", "test"),
        help="which split's records to pair (default train)",
    )
    parser.add_argument("--lang", required=True, help="en, zh, or all (a bilingual file)")
    parser.add_argument(
        "--model", required=True, type=opt.path_component, help="the SFT model's name (used in the dataset name)"
    )
    parser.add_argument(
        "--out",
        dest="out_dir",
        type=Path,
        default=Path("data_registry"),
        help="folder the pair file is written to (a LLaMA-Factory dataset_dir; default data_registry)",
    )
    opt.add_deprecated_alias(parser, "--out-dir", "--out", dest="out_dir", type=Path)
    parser.add_argument(
        "--dataset-info",
        type=Path,
        help="dataset_info.json to merge the entry into (default OUT_DIR/dataset_info.json)",
    )
    parser.add_argument(
        "--keep-exact-match", action="store_true", help="keep global pairs whose prediction equals the human answer"
    )


def pairs_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="kind", required=True)
    dpo = sub.add_parser("dpo", help="DPO pairs: human answer over the SFT prediction")
    _common(dpo)
    hdpo = sub.add_parser("hdpo", help="HDPO pairs (global, distribution, local), critic scores and weights")
    _common(hdpo)
    hdpo.add_argument(
        "--candidates",
        type=Path,
        help='sampled candidates JSONL {"id", "candidates": [...]} (distribution/local pairs)',
    )
    hdpo.add_argument("--critic", required=True, type=Path, help="critic bundle directory")
    hdpo.add_argument("--types", default="global,distribution,local", help="comma-separated pair types")
    hdpo.add_argument(
        "--utility-tolerance",
        type=opt.probability,
        default=0.1,
        help="distribution pairs: max |ΔF1| between candidates",
    )
    hdpo.add_argument(
        "--min-critic-gap", type=opt.non_negative, default=0.05, help="distribution pairs: min critic score gap"
    )
    hdpo.add_argument(
        "--local-min-utility", type=opt.probability, default=0.3, help="local pairs: min F1 of the nearest miss"
    )
    hdpo.add_argument("--device", type=opt.torch_device, help="torch device of the critic (default cpu)")
    _weight_arguments(hdpo)


def _load_inputs(args):
    from polyalign_lf.data.schema import read_records

    records = [
        r
        for r in read_records(args.records)
        if r["split"] == args.split and (args.lang == "all" or r["language"] == args.lang)
    ]
    if not records:
        raise ConfigError(f"no records of split {args.split!r} and language {args.lang!r} in {args.records}")
    return records, read_predictions(args.predictions, [r["id"] for r in records])


def _write(rows: list[dict], args, kind: str, summary: dict) -> Path:
    from polyalign_lf.pairs.registry import dataset_name, register_ranking_dataset

    if not rows:
        raise ConfigError(f"no {kind} pairs were built; skips: {summary.get('skipped')}")
    name = dataset_name(kind, args.lang, args.model)
    if args.split != "train":
        # pairs of held-out records must never take the training pairs' name (a recipe would train on them)
        name = f"{name}_{args.split}"
    data_file = args.out_dir / f"{name}.json"
    write_json(data_file, rows, indent=None)
    info = args.dataset_info or args.out_dir / "dataset_info.json"
    register_ranking_dataset(info, name, data_file, kind)
    write_json(args.out_dir / f"{name}.summary.json", summary)
    print(
        json.dumps(
            {"dataset": name, "file": str(data_file), "dataset_info": str(info), **summary},
            indent=2,
            ensure_ascii=False,
        )
    )
    return data_file


def pairs_main(args: argparse.Namespace) -> int:
    from polyalign_lf.pairs.build import (
        PairBuildResult,
        check_types,
        distribution_pairs,
        global_pairs,
        local_pairs,
        score_and_weight,
    )

    records, predictions = _load_inputs(args)
    if args.kind == "dpo":
        result = global_pairs(records, predictions, keep_exact_match=args.keep_exact_match)
        for row in result.rows:
            row.pop("language", None)
        _write(result.rows, args, "dpo", result.summary())
        return 0

    from polyalign_lf.critic.interface import load_critic

    types = check_types([t.strip() for t in args.types.split(",") if t.strip()])
    cfg = _weight_config(args)
    critic = load_critic(args.critic, device=args.device)
    result = PairBuildResult()
    if "global" in types:
        global_pairs(records, predictions, keep_exact_match=args.keep_exact_match, result=result)
    if {"distribution", "local"} & set(types):
        if not args.candidates:
            raise ConfigError(
                "distribution and local pairs need --candidates (several sampled outputs per record); "
                "or pass --types global"
            )

        candidates = read_candidates(args.candidates, [r["id"] for r in records])
        if "distribution" in types:
            distribution_pairs(
                records,
                candidates,
                critic,
                utility_tolerance=args.utility_tolerance,
                min_critic_gap=args.min_critic_gap,
                result=result,
            )
        if "local" in types:
            local_pairs(records, candidates, local_min_utility=args.local_min_utility, result=result)
    if not result.rows:
        raise ConfigError(f"no HDPO pairs were built; skips: {dict(result.skipped)}")
    weights = score_and_weight(result.rows, critic, cfg, rescore=True)
    _write(result.rows, args, "hdpo", {**result.summary(), **weights})
    return 0


def weights_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--pairs", required=True, type=Path, help="an HDPO pair file (JSON list of alpaca ranking rows)"
    )
    parser.add_argument(
        "--critic",
        type=Path,
        help="re-score chosen/rejected with this critic bundle (default: keep the file's scores)",
    )
    parser.add_argument("--out", type=Path, help="output file (default: overwrite --pairs atomically)")
    parser.add_argument(
        "--dataset-info", type=Path, help="also merge an hdpo entry for the output into this dataset_info.json"
    )
    parser.add_argument(
        "--name", type=opt.path_component, help="dataset name for --dataset-info (default: the output file's stem)"
    )
    parser.add_argument("--device", type=opt.torch_device, help="torch device of the critic (default cpu)")
    _weight_arguments(parser)


def weights_main(args: argparse.Namespace) -> int:
    from polyalign_lf.pairs.build import check_pair_rows, score_and_weight, without_identical_pairs

    rows, identical = without_identical_pairs(check_pair_rows(read_json(args.pairs), str(args.pairs)))
    if not rows:
        raise InputError(
            f"every pair of {args.pairs} has chosen == rejected", hint="rebuild the pairs with `polyalign pairs hdpo`"
        )
    critic = None
    if args.critic:
        from polyalign_lf.critic.interface import load_critic

        critic = load_critic(args.critic, device=args.device)
    summary = score_and_weight(rows, critic, _weight_config(args), rescore=critic is not None)
    out = args.out or args.pairs
    write_json(out, rows, indent=None)
    if args.dataset_info:
        from polyalign_lf.pairs.registry import register_ranking_dataset

        register_ranking_dataset(args.dataset_info, args.name or out.stem, out, "hdpo")
    print(
        json.dumps(
            {"file": str(out), "pairs": len(rows), "identical_pairs_dropped": identical, **summary},
            indent=2,
            ensure_ascii=False,
        )
    )
    return 0
