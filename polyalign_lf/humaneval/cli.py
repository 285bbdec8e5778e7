"""``polyalign human-eval build | summarize``: blind human evaluation (paper §5.1, Table 8)."""

from __future__ import annotations

import argparse

import polyalign_lf.options as opt


def human_eval_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="human_eval_command", required=True)
    build = sub.add_parser("build", help="write the static rating page and a blinded, stratified sample")
    build.add_argument("--records", required=True, help="test records JSONL")
    build.add_argument(
        "--predictions",
        nargs="+",
        required=True,
        metavar="NAME=PRED.jsonl",
        help="predictions per method (rows {id, prediction}); NAME defaults to the file stem",
    )
    build.add_argument("--out", required=True, help="page directory to serve to raters (holds no method names)")
    build.add_argument(
        "--key",
        default=None,
        help="key file (item → method); default: <out>.key.json next to the page directory, never inside it",
    )
    build.add_argument(
        "--per-stratum",
        type=opt.count,
        default=5,
        help="records per (language, length bin); every method's answer to each is rated",
    )
    build.add_argument(
        "--lang", dest="languages", default=None, help="comma list, e.g. zh (default: all in the records)"
    )
    opt.add_deprecated_alias(build, "--languages", "--lang", dest="languages")
    build.add_argument("--include-human", action="store_true", help="add the human answers as a hidden control method")
    build.add_argument(
        "--seed", type=opt.integer(), default=42, help="seed of the stratified sample and the item order (default 42)"
    )
    build.add_argument(
        "--format",
        choices=("page", "label-studio"),
        default="page",
        help="page: the static rating page; label-studio: also a Label Studio project (label_studio/"
        "label_config.xml + tasks.json) of the same blinded items",
    )
    build.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an existing page and key (the old key is kept as KEY.bak-TIME: ratings already "
        "collected can still be summarized with it)",
    )
    summ = sub.add_parser("summarize", help="turn exported ratings into Table 8 (mean ± 95%% CI)")
    summ.add_argument(
        "ratings",
        nargs="+",
        help="ratings JSON files: the page's exports (one per rater) and/or Label Studio JSON exports of the "
        "project `human-eval build --format label-studio` wrote (raters named by annotator)",
    )
    summ.add_argument("--key", required=True, help="the key file written by `human-eval build`")
    summ.add_argument("--by", choices=["language", "length_bin"], default=None, help="also split by this field")
    summ.add_argument("--out", required=True, help="output directory (table8.json, table8.md)")


def human_eval_main(args: argparse.Namespace) -> int:
    if args.human_eval_command == "build":
        from polyalign_lf.humaneval.build import build_evaluation

        print("\n".join(build_evaluation(args)))
    else:
        from polyalign_lf.humaneval.summarize import summarize_evaluation

        print(summarize_evaluation(args))
    return 0
