"""``polyalign judge``: LLM-as-a-judge with the PolyAlign rubric (Table 3); the options are
:class:`~polyalign_lf.judge.workflow.JudgeJob`'s fields."""

from __future__ import annotations

import argparse


def judge_arguments(parser: argparse.ArgumentParser) -> None:
    from polyalign_lf.judge.workflow import JudgeJob
    from polyalign_lf.options import add_dataclass_options

    add_dataclass_options(parser, JudgeJob)


def judge_main(args: argparse.Namespace) -> int:
    from polyalign_lf.judge.workflow import JudgeJob, judge_methods
    from polyalign_lf.options import config_from_args

    print(judge_methods(config_from_args(JudgeJob, args)))
    return 0
