"""``polyalign human-eval build | summarize``: blind human evaluation (paper §5.1, Table 8)."""

from __future__ import annotations

import argparse
from pathlib import Path

import polyalign_lf.options as opt
from polyalign_lf.core.predictions import parse_named_paths, read_predictions
from polyalign_lf.errors import ConfigError, InputError
from polyalign_lf.io import atomic_write, backup_file, check_output_folder, read_json, replace_folder, write_json


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


def _build(args) -> int:
    from polyalign_lf.data.schema import read_records
    from polyalign_lf.humaneval.build import build_items, stratified_sample, write_key, write_page

    out = Path(args.out)
    key_path = Path(args.key) if args.key else out.parent / f"{out.name}.key.json"
    if out.resolve() in key_path.resolve().parents:
        raise ConfigError(f"--key {key_path} is inside the page directory {out}: raters could read it")
    if key_path.exists() and not args.overwrite:
        raise InputError(
            "a key file already exists: replacing it would orphan every rating collected against it",
            where=str(key_path),
            hint="choose another --key/--out for a new sample, or pass --overwrite (the old key is kept as a backup)",
        )
    check_output_folder(out, overwrite=args.overwrite)
    records = read_records(args.records)
    by_id = {r["id"]: r for r in records}
    methods = parse_named_paths(args.predictions, "--predictions")
    if args.include_human and "human" in methods:
        raise ConfigError("'human' is reserved for --include-human; rename that method")
    predictions = {
        m: read_predictions(p, by_id.values(), require_all=False, check_question=True) for m, p in methods.items()
    }
    eligible = set.intersection(*(set(p) for p in predictions.values()))
    if len(eligible) < len(records):
        print(
            f"note: {len(records) - len(eligible)} of {len(records)} records lack a prediction from some method "
            "and cannot be sampled"
        )
    languages = [x.strip() for x in args.languages.split(",")] if args.languages else None
    chosen, strata = stratified_sample(records, eligible, args.per_stratum, args.seed, languages)
    items, key = build_items(chosen, predictions, args.seed, include_human=args.include_human)
    with replace_folder(out, overwrite=args.overwrite) as building:
        sample_id = write_page(building, items)
        if args.format == "label-studio":
            from polyalign_lf.humaneval.label_studio import write_project

            write_project(building / "label_studio", items, sample_id)
    if key_path.exists():
        backup = backup_file(key_path)
        print(f"the previous key was kept as {backup}")
    write_key(key_path, sample_id, key, strata, list(methods) + (["human"] if args.include_human else []), args.seed)
    short = [s for s, info in strata.items() if info["short"]]
    print(
        f"sample {sample_id}: {len(items)} items ({len(chosen)} records × {len(items) // max(1, len(chosen))} methods)"
    )
    for stratum, info in strata.items():
        print(f"  {stratum:<14} {info['sampled']}/{args.per_stratum} sampled ({info['available']} available)")
    if short:
        print(f"  short strata (fewer records than --per-stratum): {', '.join(short)}")
    print(f"page: {out}/index.html (serve it, e.g. `python -m http.server -d {out}`)\nkey (keep private): {key_path}")
    if args.format == "label-studio":
        print(
            f"Label Studio: paste {out}/label_studio/label_config.xml as the labeling interface, import "
            f"{out}/label_studio/tasks.json; summarize its JSON export with the page's files"
        )
    return 0


def _summarize(args) -> int:
    from polyalign_lf.humaneval.summarize import agreement, check_key, load_ratings, table8, table8_markdown

    key = read_json(args.key)
    check_key(key, args.key)
    ratings, skipped = load_ratings(args.ratings, key)
    overall = table8(ratings, key["methods"])
    result = {
        "sample_id": key["sample_id"],
        "n_ratings": len(ratings),
        "skipped": skipped,
        "raters": sorted({r["rater"] for r in ratings}),
        "n_items": len({r["item_id"] for r in ratings}),
        "agreement": agreement(ratings),
        "table": overall,
    }
    markdown = table8_markdown(overall)
    alpha = result["agreement"]
    if "skipped" not in alpha:
        markdown += (
            f"\nInter-annotator agreement (Krippendorff's α, ordinal; {alpha['n_raters']} raters, "
            f"{alpha['n_items_rated_by_two_or_more']} items rated by two or more): "
            + ", ".join(
                f"{d} {alpha[d]['alpha']:.3f}" if alpha[d].get("alpha") is not None else f"{d} –"
                for d in ("usefulness", "answerability", "naturalness")
            )
            + "\n"
        )
    if args.by:
        result["by_" + args.by] = table8(ratings, key["methods"], group_by=args.by)
        markdown += "\n" + table8_markdown(result["by_" + args.by])
    if skipped["incomplete"]:
        markdown += f"\n{skipped['incomplete']} incomplete rating(s) (not every dimension scored) were left out.\n"
    out = Path(args.out)
    write_json(out / "table8.json", result)
    with atomic_write(out / "table8.md") as handle:
        handle.write(markdown)
    print(markdown)
    return 0


def human_eval_main(args) -> int:
    return _build(args) if args.human_eval_command == "build" else _summarize(args)
