"""``polyalign study``: the PolyAlign study on CPU, every method through ``llamafactory-cli train`` with metrics
over seeds and CIs — the miniature study (corpus with known ground truth, a 1M-parameter BaseLM) or, with
``--model`` and ``--data``, the study on real human text with a real instruct model and the profile-prompt
ablation."""

from __future__ import annotations

import argparse


def study_arguments(parser: argparse.ArgumentParser) -> None:
    from polyalign_lf.options import add_dataclass_options
    from polyalign_lf.study.workflow import StudyJob

    add_dataclass_options(parser, StudyJob)


def study_main(args: argparse.Namespace) -> int:
    from polyalign_lf.options import config_from_args
    from polyalign_lf.study.workflow import StudyJob, run_study_command

    for line in run_study_command(config_from_args(StudyJob, args)):
        print(line)
    return 0


# --- polyalign demo: the one-seed study; `--data` runs the pipeline on other rows with a random tiny model ---


def demo_arguments(parser: argparse.ArgumentParser) -> None:
    from polyalign_lf.options import add_dataclass_options
    from polyalign_lf.study.workflow import DemoJob

    add_dataclass_options(parser, DemoJob)


def demo_main(args: argparse.Namespace) -> int:
    from polyalign_lf.options import config_from_args
    from polyalign_lf.study.workflow import DemoJob, run_demo

    for line in run_demo(config_from_args(DemoJob, args)):
        print(line)
    return 0
