"""``polyalign prepare | dedup | export | datasets`` (the corpus commands)."""

from __future__ import annotations

import argparse
import json
import sys


def prepare_arguments(parser: argparse.ArgumentParser) -> None:
    from polyalign_lf.data.workflow import PrepareJob
    from polyalign_lf.options import add_dataclass_options

    add_dataclass_options(parser, PrepareJob)


def prepare_main(args: argparse.Namespace) -> int:
    from polyalign_lf.data.workflow import PrepareJob, prepare_records
    from polyalign_lf.options import config_from_args

    print("\n".join(prepare_records(config_from_args(PrepareJob, args))))
    return 0


def dedup_arguments(parser: argparse.ArgumentParser) -> None:
    from polyalign_lf.data.workflow import DedupJob
    from polyalign_lf.options import add_dataclass_options

    add_dataclass_options(parser, DedupJob)


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


def export_arguments(parser: argparse.ArgumentParser) -> None:
    from polyalign_lf.data.workflow import ExportJob
    from polyalign_lf.options import add_dataclass_options

    add_dataclass_options(parser, ExportJob)


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
    from polyalign_lf.data.workflow import DatasetsJob
    from polyalign_lf.options import add_dataclass_options

    add_dataclass_options(parser, DatasetsJob)


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
