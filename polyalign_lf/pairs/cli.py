"""``polyalign pairs dpo | hdpo`` and ``polyalign weights``: the options are the fields of
:mod:`polyalign_lf.pairs.workflow`'s jobs and :class:`~polyalign_lf.pairs.hdpo_weights.WeightConfig`."""

from __future__ import annotations

import argparse
import json


def pairs_arguments(parser: argparse.ArgumentParser) -> None:
    from polyalign_lf.options import add_dataclass_options
    from polyalign_lf.pairs.hdpo_weights import WeightConfig
    from polyalign_lf.pairs.workflow import HdpoPairsJob, PairsJob

    sub = parser.add_subparsers(dest="kind", required=True)
    dpo = sub.add_parser("dpo", help="DPO pairs: human answer over the SFT prediction")
    add_dataclass_options(dpo, PairsJob)
    hdpo = sub.add_parser("hdpo", help="HDPO pairs (global, distribution, local), critic scores and weights")
    add_dataclass_options(hdpo, HdpoPairsJob)
    add_dataclass_options(hdpo, WeightConfig)


def pairs_main(args: argparse.Namespace) -> int:
    from polyalign_lf.options import config_from_args
    from polyalign_lf.pairs.hdpo_weights import WeightConfig
    from polyalign_lf.pairs.workflow import HdpoPairsJob, PairsJob, build_pairs

    if args.kind == "dpo":
        summary = build_pairs(config_from_args(PairsJob, args))
    else:
        summary = build_pairs(config_from_args(HdpoPairsJob, args), config_from_args(WeightConfig, args))
    print(json.dumps(summary, indent=2, ensure_ascii=False))
    return 0


def weights_arguments(parser: argparse.ArgumentParser) -> None:
    from polyalign_lf.options import add_dataclass_options
    from polyalign_lf.pairs.hdpo_weights import WeightConfig
    from polyalign_lf.pairs.workflow import WeightsJob

    add_dataclass_options(parser, WeightsJob)
    add_dataclass_options(parser, WeightConfig)


def weights_main(args: argparse.Namespace) -> int:
    from polyalign_lf.options import config_from_args
    from polyalign_lf.pairs.hdpo_weights import WeightConfig
    from polyalign_lf.pairs.workflow import WeightsJob, reweight_pairs

    summary = reweight_pairs(config_from_args(WeightsJob, args), config_from_args(WeightConfig, args))
    print(json.dumps(summary, indent=2, ensure_ascii=False))
    return 0
