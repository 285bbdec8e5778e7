"""``polyalign critic train | score | report``: the options are the fields of
:mod:`polyalign_lf.critic.workflow`'s jobs and :class:`~polyalign_lf.critic.mlp.MLPCriticConfig`'s training
settings (``critic train --config recipes/en/gemma2_2b_critic.yaml`` reads them from a file)."""

from __future__ import annotations

import argparse


def critic_arguments(parser: argparse.ArgumentParser) -> None:
    from polyalign_lf.critic.mlp import MLPCriticConfig
    from polyalign_lf.critic.workflow import CriticReportJob, CriticScoreJob, CriticTrainJob
    from polyalign_lf.options import add_config_option, add_dataclass_options

    sub = parser.add_subparsers(dest="action", required=True)
    train = sub.add_parser(
        "train", help="train a critic bundle (mlp, encoder) or package the exact support_distance critic"
    )
    add_dataclass_options(train, CriticTrainJob)
    add_dataclass_options(train, MLPCriticConfig)
    score = sub.add_parser("score", help="score records' human answers or predictions with a critic bundle")
    add_dataclass_options(score, CriticScoreJob)
    report = sub.add_parser(
        "report", help="held-out report: Spearman with D_b and chosen-vs-rejected ranking accuracy"
    )
    add_dataclass_options(report, CriticReportJob)
    add_config_option(parser)


def critic_main(args: argparse.Namespace) -> int:
    from polyalign_lf.critic import workflow
    from polyalign_lf.critic.mlp import MLPCriticConfig
    from polyalign_lf.options import config_from_args

    if args.action == "train":
        cfg = config_from_args(MLPCriticConfig, args)
        print(workflow.train_critic(config_from_args(workflow.CriticTrainJob, args), cfg))
    elif args.action == "score":
        print(workflow.score_with_critic(config_from_args(workflow.CriticScoreJob, args)))
    else:
        print(workflow.report_critic(config_from_args(workflow.CriticReportJob, args)))
    return 0
