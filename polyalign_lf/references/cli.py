"""``polyalign references``: per-bucket human reference statistics (train split only); the options are
:class:`~polyalign_lf.references.workflow.ReferencesJob`'s fields."""

from __future__ import annotations

import argparse


def references_arguments(parser: argparse.ArgumentParser) -> None:
    from polyalign_lf.options import add_dataclass_options
    from polyalign_lf.references.workflow import ReferencesJob

    add_dataclass_options(parser, ReferencesJob)


def references_main(args: argparse.Namespace) -> int:
    from polyalign_lf.options import config_from_args
    from polyalign_lf.references.workflow import ReferencesJob, write_references

    print(write_references(config_from_args(ReferencesJob, args)))
    return 0
