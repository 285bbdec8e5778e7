"""``polyalign report``: compare runs (METRICS.json from ``polyalign evaluate``) in Markdown/HTML with plots;
the options are :class:`~polyalign_lf.report.workflow.ReportConfig`'s fields."""

from __future__ import annotations

import argparse
from pathlib import Path


def report_arguments(parser: argparse.ArgumentParser) -> None:
    from polyalign_lf.options import add_dataclass_options
    from polyalign_lf.report.workflow import ReportConfig

    add_dataclass_options(parser, ReportConfig)


def report_main(args: argparse.Namespace) -> int:
    from polyalign_lf.options import config_from_args
    from polyalign_lf.report.workflow import ReportConfig, write_report

    summary = write_report(config_from_args(ReportConfig, args))
    out = Path(args.out)
    print(f"report: {out / 'report.html'} and {out / 'report.md'} ({len(summary['figures'])} figure(s))")
    return 0
