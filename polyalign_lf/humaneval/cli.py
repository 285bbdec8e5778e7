"""``polyalign human-eval build | summarize``: blind human evaluation (paper §5.1, Table 8); the options are
:class:`~polyalign_lf.humaneval.build.BuildJob`'s and :class:`~polyalign_lf.humaneval.summarize.SummarizeJob`'s
fields."""

from __future__ import annotations

import argparse


def human_eval_arguments(parser: argparse.ArgumentParser) -> None:
    from polyalign_lf.humaneval.build import BuildJob
    from polyalign_lf.humaneval.summarize import SummarizeJob
    from polyalign_lf.options import add_dataclass_options

    sub = parser.add_subparsers(dest="human_eval_command", required=True)
    build = sub.add_parser("build", help="write the static rating page and a blinded, stratified sample")
    add_dataclass_options(build, BuildJob)
    summ = sub.add_parser("summarize", help="turn exported ratings into Table 8 (mean ± 95%% CI)")
    add_dataclass_options(summ, SummarizeJob)


def human_eval_main(args: argparse.Namespace) -> int:
    from polyalign_lf.options import config_from_args

    if args.human_eval_command == "build":
        from polyalign_lf.humaneval.build import BuildJob, build_evaluation

        print("\n".join(build_evaluation(config_from_args(BuildJob, args))))
    else:
        from polyalign_lf.humaneval.summarize import SummarizeJob, summarize_evaluation

        print(summarize_evaluation(config_from_args(SummarizeJob, args)))
    return 0
