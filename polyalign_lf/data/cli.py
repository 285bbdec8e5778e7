"""``polyalign prepare | dedup | export | datasets`` (the corpus commands)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import polyalign_lf.options as opt
from polyalign_lf.errors import ConfigError


def _source(text: str) -> tuple[str, str]:
    split, sep, path = text.partition("=")
    if not sep or not split or not path:
        raise argparse.ArgumentTypeError(f"expected SPLIT=PATH (e.g. train=data/dolly.jsonl), got {text!r}")
    return split.strip(), path.strip()


# --- prepare ---------------------------------------------------------------------------------------


def prepare_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "dataset", nargs="?", help="formatter name (see `polyalign datasets`), e.g. dolly, squad_v2, custom"
    )
    parser.add_argument(
        "--source",
        action="append",
        type=_source,
        default=[],
        metavar="SPLIT=PATH",
        help="a source split (its Hub split name, e.g. train / validation / test) and a local "
        "jsonl/json/parquet file, folder or save_to_disk folder, or the Hub id when online; repeatable",
    )
    parser.add_argument(
        "--all",
        action="store_true",
        help="prepare all 14 sources: from the Hub (online), or with --from-dir from local files",
    )
    parser.add_argument(
        "--from-dir",
        default=None,
        metavar="DIR",
        help="with one DATASET: read its split files from DIR (e.g. a checkout's sample/ folder for "
        "polyalign_reference); with --all: read each source from DIR/<dataset>/ (its release files as published, or a Hub "
        "snapshot / save_to_disk folder; splits are found from the file names)",
    )
    parser.add_argument("--out", required=True, help="output folder; records go to OUT/DATASET/{train,val,test}.jsonl")
    parser.add_argument("--seed", type=opt.integer(), default=42, help="seed of the hashed splits (default 42)")
    parser.add_argument(
        "--name",
        default=None,
        type=opt.path_component,
        help="dataset name to write (default: the formatter name; useful for several custom datasets)",
    )
    parser.add_argument(
        "--hub-config", default=None, help="Hub config to read when a source is a Hub id (e.g. a COIG-CQIA subset)"
    )
    parser.add_argument(
        "--length-bins",
        action="append",
        default=[],
        metavar="LANG=S,M,L",
        help="length-bin upper bounds (inclusive) of short, medium, long for a language, "
        "in words (en) or characters (zh); default en=40,120,240 zh=70,200,400",
    )


def prepare_main(args: argparse.Namespace) -> int:
    from polyalign_lf.data.formatters import get_formatter
    from polyalign_lf.data.normalize import LengthBins
    from polyalign_lf.data.prepare import (
        bucket_table,
        prepare_all,
        prepare_dataset,
        prepare_from_dir,
        splits_in_folder,
    )

    bins = LengthBins.parse(args.length_bins)
    absent: dict[str, str] = {}
    if args.from_dir and not args.all and (args.source or not args.dataset):
        raise ConfigError(
            "--from-dir goes with --all (DIR/<dataset>/ per source) or with one DATASET (DIR holds its files); "
            "not with --source"
        )
    if args.all:
        if args.dataset or args.source:
            raise ConfigError("use either --all or DATASET --source SPLIT=PATH, not both")
        if args.from_dir:
            manifests, absent = prepare_from_dir(
                args.from_dir, args.out, seed=args.seed, bins=bins, report=lambda line: print(line, file=sys.stderr)
            )
        else:
            manifests = prepare_all(args.out, seed=args.seed, bins=bins)
    else:
        if not args.dataset:
            raise ConfigError("name a DATASET (see `polyalign datasets`) or pass --all")
        spec = get_formatter(args.dataset)
        sources: dict[str, Any] = {}
        if args.from_dir:  # one source: its split files are found by name in the folder
            sources = splits_in_folder(Path(args.from_dir), spec, report=lambda line: print(line, file=sys.stderr))
        for split, path in args.source:
            if split in sources:
                raise ConfigError(f"--source {split}=… given twice")
            sources[split] = path
        manifests = [
            prepare_dataset(
                spec, sources, args.out, seed=args.seed, bins=bins, name=args.name, hub_config=args.hub_config
            )
        ]
    for manifest in manifests:
        print(
            f"\n{manifest['dataset']}: {manifest['examples_seen']} examples seen → {sum(manifest['split_counts'].values())} "
            "records ("
            + ", ".join(f"{s}={n}" for s, n in manifest["split_counts"].items())
            + ")"
            + (
                "; skipped: " + ", ".join(f"{k}={v}" for k, v in manifest["skipped"].items())
                if manifest["skipped"]
                else ""
            )
        )
        print(bucket_table(manifest["bucket_counts"]))
    if absent:
        print(
            f"\nnot prepared ({len(absent)} of {len(absent) + len(manifests)} sources): "
            + "; ".join(f"{name} ({why})" for name, why in absent.items())
        )
    if args.all and not manifests:
        raise ConfigError(
            f"no source was found under {args.from_dir}: expected sub-folders named after the datasets "
            "(see `polyalign datasets`)"
        )
    return 0


# --- dedup -----------------------------------------------------------------------------------------


def dedup_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "input", metavar="DIR", help="folder written by `polyalign prepare` (DATASET/{train,val,test}.jsonl)"
    )
    parser.add_argument(
        "--out", required=True, metavar="DIR2", help="output folder for the deduplicated records and the report"
    )
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --out folder whole")


def dedup_main(args: argparse.Namespace) -> int:
    from polyalign_lf.data.dedup import dedup_records

    report = dedup_records(args.input, args.out, overwrite=args.overwrite)
    counts = report["counts"]
    print(
        f"dedup: kept {counts['final_total']} of {counts['original_total']} records "
        f"(removed {counts['removed_total']}, rate {counts['duplicate_rate']:.4%})"
    )
    for reason, n in counts["removed_by_reason"].items():
        print(f"  {reason:<26} {n}")
    print(f"report: {args.out}/dedup_report.json; removed records: {args.out}/dedup_removed.jsonl")
    return 0


# --- export ----------------------------------------------------------------------------------------


def export_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", metavar="DIR2", help="deduplicated records (output of `polyalign dedup`)")
    parser.add_argument(
        "--out",
        required=True,
        metavar="DIR3",
        help="LLaMA-Factory dataset_dir (e.g. data_registry); its dataset_info.json is merged, not replaced",
    )
    from polyalign_lf.data.lf_format import add_profile_prompt_option

    add_profile_prompt_option(parser, "every row carries this profile system prompt; ")


def export_main(args: argparse.Namespace) -> int:
    from polyalign_lf.data.export import export_records

    summary = export_records(args.input, args.out, profile=args.profile_prompt)
    for name, entry in summary["entries"].items():
        print(f"{name:<24} {entry['rows']:>9} rows  → {args.out}/{entry['file_name']}")
    for name, per_bucket in summary["bucket_counts"].items():
        print(f"\n{name}")
        for bucket, n in per_bucket.items():
            print(f"  {bucket:<32} {n:>8}")
    print(f"\ndataset_info entries merged into {args.out}/dataset_info.json (use dataset_dir: {args.out})")
    return 0


# --- datasets --------------------------------------------------------------------------------------


def datasets_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the list as JSON")


def datasets_main(args: argparse.Namespace) -> int:

    from polyalign_lf.data.formatters import all_formatters

    specs = all_formatters()
    if args.json:
        print(
            json.dumps(
                {
                    name: {
                        "language": s.language,
                        "track": s.track,
                        "family": s.family,
                        "style_bucket": s.style_bucket,
                        "hub_id": s.hub_id,
                        "hub_configs": list(s.hub_configs) or ([s.hub_config] if s.hub_config else []),
                        "source_splits": list(s.source_splits),
                        "required_columns": list(s.required_columns),
                        "release_layouts": [list(layout) for layout in s.release_layouts],
                        "split_policy": s.split_policy,
                        "aliases": list(s.aliases),
                    }
                    for name, s in specs.items()
                },
                ensure_ascii=False,
                indent=2,
            )
        )
        return 0
    for name, s in specs.items():
        config = f" [{s.hub_config}]" if s.hub_config else (f" [{', '.join(s.hub_configs)}]" if s.hub_configs else "")
        print(
            f"{name:<18} {s.language}  {s.track:<6} {s.family:<9} {s.style_bucket:<14} {s.hub_id or '(local files)'}{config}"
        )
        print(
            f"{'':<18} splits: {', '.join(s.source_splits)}; columns: {', '.join(s.required_columns)}"
            + (
                f"; release layouts: {' | '.join(', '.join(layout) for layout in s.release_layouts)}"
                if s.release_layouts
                else ""
            )
        )
        print(f"{'':<18} policy: {s.split_policy}")
    print(f"\n{len(specs)} formatters. Usage: polyalign prepare NAME --source SPLIT=PATH --out DIR", file=sys.stderr)
    return 0
