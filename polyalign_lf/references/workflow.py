"""``polyalign references`` as a library call: :func:`write_references` with a :class:`ReferencesJob`."""

from __future__ import annotations

from dataclasses import dataclass

import polyalign_lf.options as opt
from polyalign_lf.errors import ConfigError
from polyalign_lf.options import option
from polyalign_lf.references.build import BANDS, DEFAULT_MIN_BUCKET_SIZE
from polyalign_lf.references.support import DEFAULT_EPSILON


@dataclass(kw_only=True)
class ReferencesJob:
    """Everything one ``polyalign references`` run needs: the command's options are generated from these fields."""

    features: str = option(help="feature file of human answers (`polyalign features`)")
    out: str = option(help="output references JSON")
    min_bucket_size: int = option(
        DEFAULT_MIN_BUCKET_SIZE,
        type=opt.count,
        help="buckets with fewer train answers back off to language|track|family, then language",
    )
    band: str = option("q10_q90", choices=tuple(sorted(BANDS)), help="support interval [l, u] of Eq. 4")
    epsilon: float = option(DEFAULT_EPSILON, type=opt.positive, help="ε of s = max(u − l, std, ε)")


def write_references(args: ReferencesJob) -> str:
    """Per-bucket human reference statistics from the train split's feature rows into ``args.out``; returns a
    summary."""
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
    return (
        f"references: {s['buckets']} buckets from {s['train_rows']} train answers "
        f"({len(s['backed_off_buckets'])} backed off; excluded non-train rows: {s['excluded_rows_by_split'] or 'none'}) -> {args.out}"
    )
