"""``polyalign pairs dpo | hdpo`` and ``polyalign weights`` as library calls: :func:`build_pairs` and
:func:`reweight_pairs`, with their option dataclasses."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polyalign_lf.options as opt
from polyalign_lf.core.predictions import prediction_path, read_candidates, read_predictions
from polyalign_lf.errors import ConfigError, InputError
from polyalign_lf.io import read_json, write_json
from polyalign_lf.options import option
from polyalign_lf.pairs.hdpo_weights import WeightConfig


@dataclass(kw_only=True)
class PairsJob:
    """`polyalign pairs dpo`'s options (and the common ones of `pairs hdpo`)."""

    kind: str = "dpo"  # the sub-command: dpo | hdpo
    records: Path = option(type=Path, help="records JSONL")
    predictions: str = option(
        type=prediction_path,
        metavar="[NAME=]PRED.jsonl",
        help='SFT predictions JSONL {"id", "prediction"} for every record of --split/--lang',
    )
    split: str = option(
        "train", choices=("train", "val", "test"), help="which split's records to pair (default train)"
    )
    lang: str = option(help="en, zh, or all (a bilingual file)")
    model: str = option(
        flag="--model-name",
        deprecated=("--model",),
        type=opt.path_component,
        help="the SFT model's name (used in the dataset name)",
    )
    out_dir: Path = option(
        Path("data_registry"),
        flag="--out",
        deprecated=("--out-dir",),
        type=Path,
        help="folder the pair file is written to (a LLaMA-Factory dataset_dir; default data_registry)",
    )
    dataset_info: Path | None = option(
        None, type=Path, help="dataset_info.json to merge the entry into (default OUT_DIR/dataset_info.json)"
    )
    keep_exact_match: bool = option(False, help="keep global pairs whose prediction equals the human answer")


@dataclass(kw_only=True)
class HdpoPairsJob(PairsJob):
    """`polyalign pairs hdpo`'s options."""

    kind: str = "hdpo"
    candidates: Path | None = option(
        None, type=Path, help='sampled candidates JSONL {"id", "candidates": [...]} (distribution/local pairs)'
    )
    critic: Path = option(type=Path, help="critic bundle directory")
    types: str = option("global,distribution,local", help="comma-separated pair types")
    utility_tolerance: float = option(
        0.1, type=opt.probability, help="distribution pairs: max |ΔF1| between candidates"
    )
    min_critic_gap: float = option(0.05, type=opt.non_negative, help="distribution pairs: min critic score gap")
    local_min_utility: float = option(0.3, type=opt.probability, help="local pairs: min F1 of the nearest miss")
    device: str | None = opt.device_option("torch device of the critic")


@dataclass(kw_only=True)
class WeightsJob:
    """`polyalign weights`' options (besides :class:`WeightConfig`'s)."""

    pairs: Path = option(type=Path, help="an HDPO pair file (JSON list of alpaca ranking rows)")
    critic: Path | None = option(
        None, type=Path, help="re-score chosen/rejected with this critic bundle (default: keep the file's scores)"
    )
    out: Path | None = option(None, type=Path, help="output file (default: overwrite --pairs atomically)")
    dataset_info: Path | None = option(
        None, type=Path, help="also merge an hdpo entry for the output into this dataset_info.json"
    )
    name: str | None = option(
        None, type=opt.path_component, help="dataset name for --dataset-info (default: the output file's stem)"
    )
    device: str | None = opt.device_option("torch device of the critic")


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


def _write(rows: list[dict], args, kind: str, summary: dict) -> dict:
    from polyalign_lf.pairs.dataset_info import dataset_name, register_ranking_dataset

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
    return {"dataset": name, "file": str(data_file), "dataset_info": str(info), **summary}


def build_pairs(args: PairsJob, weights: WeightConfig | None = None) -> dict:
    """`polyalign pairs dpo | hdpo`: build the pairs of ``args.kind`` and register them as a LLaMA-Factory
    ranking dataset; returns the summary printed by the command."""
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
        return _write(result.rows, args, "dpo", result.summary())

    from polyalign_lf.critic.interface import load_critic

    types = check_types([t.strip() for t in args.types.split(",") if t.strip()])
    cfg = (weights or WeightConfig()).validate()
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
    scores = score_and_weight(result.rows, critic, cfg, rescore=True)
    return _write(result.rows, args, "hdpo", {**result.summary(), **scores})


def reweight_pairs(args: WeightsJob, weights: WeightConfig | None = None) -> dict:
    """`polyalign weights`: (re-)score an HDPO pair file with a critic and recompute its weights; returns the
    summary printed by the command."""
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
    summary = score_and_weight(rows, critic, (weights or WeightConfig()).validate(), rescore=critic is not None)
    out = args.out or args.pairs
    write_json(out, rows, indent=None)
    if args.dataset_info:
        from polyalign_lf.pairs.dataset_info import register_ranking_dataset

        register_ranking_dataset(args.dataset_info, args.name or out.stem, out, "hdpo")
    return {"file": str(out), "pairs": len(rows), "identical_pairs_dropped": identical, **summary}
