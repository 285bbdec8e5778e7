"""``polyalign report``: compare runs (METRICS.json from ``polyalign evaluate``) in Markdown/HTML with plots."""

from __future__ import annotations

import argparse
from pathlib import Path

import polyalign_lf.options as opt


def report_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "runs",
        nargs="+",
        metavar="[NAME=]RUN.json",
        help="metrics files from `polyalign evaluate`; the method name is NAME, --name, or the file stem",
    )
    parser.add_argument(
        "--name", action="append", default=None, help="method names, one per run in order (instead of NAME=)"
    )
    parser.add_argument(
        "--out", required=True, help="output directory (report.md, report.html, figures/, report.json)"
    )
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --out folder whole")
    parser.add_argument("--title", default="PolyAlign evaluation report", help="title of the report")
    parser.add_argument("--records", help="test records JSONL: with --predictions, draws the answer-embedding shifts")
    parser.add_argument(
        "--predictions",
        nargs="*",
        default=[],
        metavar="NAME=PRED.jsonl",
        help="predictions per method for the embedding plot (names as for the runs)",
    )
    parser.add_argument(
        "--embedding-model",
        default=None,
        help="encoder for the embedding plot (default: the metrics' default, the bundled MiniLM)",
    )
    parser.add_argument(
        "--embedding-sample", type=opt.count, default=400, help="paired answers drawn in the embedding plot"
    )
    parser.add_argument(
        "--projection",
        choices=["auto", "pca", "umap"],
        default="auto",
        help="auto = UMAP when umap-learn is installed, else PCA",
    )
    parser.add_argument("--judge", help="summary.json of `polyalign judge` to include (Table 3)")
    parser.add_argument("--detect", help="summary.json of `polyalign detect` to include (Table 4)")
    parser.add_argument(
        "--seed", type=opt.integer(), default=42, help="seed of the embedding plot's sample (default 42)"
    )


def report_main(args: argparse.Namespace) -> int:
    from polyalign_lf.report.workflow import ReportConfig, write_report

    summary = write_report(ReportConfig(**{name: getattr(args, name) for name in ReportConfig.__dataclass_fields__}))
    out = Path(args.out)
    print(f"report: {out / 'report.html'} and {out / 'report.md'} ({len(summary['figures'])} figure(s))")
    return 0
