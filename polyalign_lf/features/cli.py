"""``polyalign features``: bilingual linguistic features of answers (the options are
:class:`~polyalign_lf.features.workflow.FeaturesJob`'s fields)."""

from __future__ import annotations

import argparse


def features_arguments(parser: argparse.ArgumentParser) -> None:
    from polyalign_lf.features.workflow import FeaturesJob
    from polyalign_lf.options import add_dataclass_options

    add_dataclass_options(parser, FeaturesJob)


def features_main(args: argparse.Namespace) -> int:
    from polyalign_lf.features.workflow import FeaturesJob, write_features
    from polyalign_lf.options import config_from_args

    print(write_features(config_from_args(FeaturesJob, args)))
    return 0
