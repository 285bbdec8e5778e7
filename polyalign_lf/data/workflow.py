"""``polyalign prepare | dedup | export`` as library calls, with their option dataclasses."""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polyalign_lf.options as opt
from polyalign_lf.data.lf_format import PROFILE_PROMPT_HELP, PROFILE_PROMPTS
from polyalign_lf.errors import ConfigError
from polyalign_lf.options import option


def source_split(text: str) -> tuple[str, str]:
    """argparse type of ``--source SPLIT=PATH``."""
    if isinstance(text, (list, tuple)) and len(text) == 2:  # from a --config file: [split, path]
        return str(text[0]), str(text[1])
    split, sep, path = str(text).partition("=")
    if not sep or not split or not path:
        raise argparse.ArgumentTypeError(f"expected SPLIT=PATH (e.g. train=data/dolly.jsonl), got {text!r}")
    return split.strip(), path.strip()


source_split.__name__ = "SPLIT=PATH"


@dataclass(kw_only=True)
class PrepareJob:
    """`polyalign prepare`'s options."""

    dataset: str | None = option(
        None, flag="positional", help="formatter name (see `polyalign datasets`), e.g. dolly, squad_v2, custom"
    )
    source: list[tuple[str, str]] = option(
        default_factory=list,
        type=source_split,
        metavar="SPLIT=PATH",
        help="a source split (its Hub split name, e.g. train / validation / test) and a local jsonl/json/parquet "
        "file, folder or save_to_disk folder, or the Hub id when online; repeatable",
    )
    all: bool = option(
        False, help="prepare all 14 sources: from the Hub (online), or with --from-dir from local files"
    )
    from_dir: str | None = option(
        None,
        metavar="DIR",
        help="with one DATASET: read its split files from DIR (e.g. a checkout's sample/ folder for "
        "polyalign_reference); with --all: read each source from DIR/<dataset>/ (its release files as published, "
        "or a Hub snapshot / save_to_disk folder; splits are found from the file names)",
    )
    out: str = option(help="output folder; records go to OUT/DATASET/{train,val,test}.jsonl")
    seed: int = option(42, type=opt.integer(), help="seed of the hashed splits (default 42)")
    name: str | None = option(
        None,
        type=opt.path_component,
        help="dataset name to write (default: the formatter name; useful for several custom datasets)",
    )
    hub_config: str | None = option(
        None, help="Hub config to read when a source is a Hub id (e.g. a COIG-CQIA subset)"
    )
    length_bins: list[str] = option(
        default_factory=list,
        metavar="LANG=S,M,L",
        help="length-bin upper bounds (inclusive) of short, medium, long for a language, in words (en) or "
        "characters (zh); default en=40,120,240 zh=70,200,400",
    )


@dataclass(kw_only=True)
class DedupJob:
    """`polyalign dedup`'s options."""

    input: str = option(
        flag="positional", metavar="DIR", help="folder written by `polyalign prepare` (DATASET/{train,val,test}.jsonl)"
    )
    out: str = option(metavar="DIR2", help="output folder for the deduplicated records and the report")
    overwrite: bool = option(False, help="replace an existing --out folder whole")


@dataclass(kw_only=True)
class ExportJob:
    """`polyalign export`'s options."""

    input: str = option(flag="positional", metavar="DIR2", help="deduplicated records (output of `polyalign dedup`)")
    out: str = option(
        metavar="DIR3",
        help="LLaMA-Factory dataset_dir (e.g. data_registry); its dataset_info.json is merged, not replaced",
    )
    profile_prompt: str = option(
        "none",
        choices=PROFILE_PROMPTS,
        help="every row carries this profile system prompt; " + PROFILE_PROMPT_HELP,
    )


@dataclass(kw_only=True)
class DatasetsJob:
    """`polyalign datasets`' options."""

    json: bool = option(False, help="print the list as JSON")


def prepare_records(args: PrepareJob) -> list[str]:
    """`polyalign prepare`: one source (or every source) into bucketed records under ``args.out``; returns the
    per-dataset summaries to show (skipped sources are reported on stderr as they are found)."""
    lines: list[str] = []
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
        lines.append(
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
        lines.append(bucket_table(manifest["bucket_counts"]))
    if absent:
        lines.append(
            f"\nnot prepared ({len(absent)} of {len(absent) + len(manifests)} sources): "
            + "; ".join(f"{name} ({why})" for name, why in absent.items())
        )
    if args.all and not manifests:
        raise ConfigError(
            f"no source was found under {args.from_dir}: expected sub-folders named after the datasets "
            "(see `polyalign datasets`)"
        )
    return lines
