"""``polyalign references``: per-bucket human reference statistics from a feature file (train rows only)."""

from __future__ import annotations

import argparse
from pathlib import Path

import polyalign_lf.options as opt
from polyalign_lf.errors import ConfigError


def references_arguments(parser: argparse.ArgumentParser) -> None:
    from polyalign_lf.references.build import BANDS, DEFAULT_MIN_BUCKET_SIZE
    from polyalign_lf.references.support import DEFAULT_EPSILON

    parser.add_argument(
        "--features", required=True, type=Path, help="feature file of human answers (`polyalign features`)"
    )
    parser.add_argument("--out", required=True, type=Path, help="output references JSON")
    parser.add_argument(
        "--min-bucket-size",
        type=opt.count,
        default=DEFAULT_MIN_BUCKET_SIZE,
        help="buckets with fewer train answers back off to language|track|family, then language",
    )
    parser.add_argument("--band", choices=sorted(BANDS), default="q10_q90", help="support interval [l, u] of Eq. 4")
    parser.add_argument("--epsilon", type=opt.positive, default=DEFAULT_EPSILON, help="ε of s = max(u − l, std, ε)")


def references_main(args: argparse.Namespace) -> int:
    from polyalign_lf.features.store import load_feature_table
    from polyalign_lf.references.build import build_references

    if args.epsilon <= 0 or args.min_bucket_size < 1:
        raise ConfigError("--epsilon must be > 0 and --min-bucket-size >= 1")
    table = load_feature_table(args.features)
    if not table.source.startswith("human_answer"):
        raise ConfigError(f"{args.features} holds features of {table.source!r}; references need human answers")
    refs = build_references(
        table.matrix,
        table.bucket_ids,
        table.splits,
        table.feature_names,
        table.schema_version,
        min_bucket_size=args.min_bucket_size,
        band=args.band,
        epsilon=args.epsilon,
    )
    refs.save(args.out)
    s = refs.summary
    print(
        f"references: {s['buckets']} buckets from {s['train_rows']} train answers "
        f"({len(s['backed_off_buckets'])} backed off; excluded non-train rows: {s['excluded_rows_by_split'] or 'none'}) -> {args.out}"
    )
    return 0
