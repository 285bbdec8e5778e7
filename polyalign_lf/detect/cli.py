"""``polyalign detect``: the paper's AI-text detectors (Binoculars, Fast-DetectGPT, RADAR) per method, H and
the Joint score of Table 4. The options are :class:`~polyalign_lf.detect.workflow.DetectConfig`'s fields."""

from __future__ import annotations

import argparse


def detect_arguments(parser: argparse.ArgumentParser) -> None:
    from polyalign_lf.detect.workflow import DetectConfig
    from polyalign_lf.options import add_dataclass_options

    add_dataclass_options(parser, DetectConfig)


def detect_main(args: argparse.Namespace) -> int:
    from polyalign_lf.detect.workflow import DetectConfig, detect
    from polyalign_lf.options import config_from_args

    print(detect(config_from_args(DetectConfig, args)))
    return 0
