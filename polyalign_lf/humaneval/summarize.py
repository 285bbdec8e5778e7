"""Turn exported ratings into Table 8: per method Usefulness, Answerability, Naturalness and their average,
mean ± 95% confidence interval (Student t over ratings)."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from polyalign_lf.errors import InputError
from polyalign_lf.humaneval.build import KEY_FORMAT
from polyalign_lf.io import read_json
from polyalign_lf.options import option

DIMENSIONS = ("usefulness", "answerability", "naturalness")
RATINGS_FORMAT = "polyalign-human-eval-ratings/v1"


def mean_ci(values: Sequence[float], confidence: float = 0.95) -> dict[str, Any]:
    """Mean and the half-width of its Student-t confidence interval (None for fewer than two values)."""
    from scipy import stats

    n = len(values)
    if n == 0:
        return {"n": 0, "mean": None, "ci": None}
    mean = sum(values) / n
    if n < 2:
        return {"n": n, "mean": mean, "ci": None}
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    return {"n": n, "mean": mean, "ci": stats.t.ppf(0.5 + confidence / 2, n - 1) * sd / math.sqrt(n)}


def load_ratings(paths: Sequence[str | Path], key: Mapping[str, Any]) -> tuple[list[dict], dict[str, int]]:
    """Validated complete ratings joined to the key, from the page's exports and/or Label Studio's JSON export;
    incomplete ones are counted, wrong ones are errors."""
    from polyalign_lf.humaneval import label_studio

    items = {row["item_id"]: row for row in key["items"]}
    ratings: list[dict] = []
    skipped = {"incomplete": 0}
    seen: set[tuple[str, str]] = set()
    for path in paths:
        data = read_json(path)
        where = str(path)
        if label_studio.is_export(data):
            per_rater = label_studio.export_ratings(data, where, key["sample_id"])
        else:
            if not isinstance(data, dict) or data.get("format") != RATINGS_FORMAT:
                raise InputError(
                    f"not a ratings export (format must be {RATINGS_FORMAT!r}, or a Label Studio JSON export)",
                    where=where,
                )
            if data.get("sample_id") != key["sample_id"]:
                raise InputError(
                    f"ratings are for sample {data.get('sample_id')!r} but the key is for {key['sample_id']!r}",
                    where=where,
                    hint="use the key file written by the same `human-eval build`",
                )
            per_rater = {str(data.get("rater") or Path(path).stem): data.get("ratings", [])}
        for rater, rows in per_rater.items():
            for k, row in enumerate(rows):
                if not isinstance(row, dict):
                    raise InputError(f"rating #{k + 1} is {type(row).__name__}, expected an object", where=where)
                item_id = row.get("item_id")
                if not isinstance(item_id, str):
                    raise InputError(f"rating #{k + 1}: item_id must be a string, got {item_id!r}", where=where)
                if item_id not in items:
                    raise InputError(f"rating #{k + 1}: unknown item {item_id!r}", where=where)
                if (rater, item_id) in seen:
                    raise InputError(
                        f"rating #{k + 1}: rater {rater!r} rated {item_id!r} twice (same file given twice?)",
                        where=where,
                    )
                seen.add((rater, item_id))
                values = [row.get(d) for d in DIMENSIONS]
                if any(v is None for v in values):
                    skipped["incomplete"] += 1
                    continue
                for d, v in zip(DIMENSIONS, values):
                    if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 5:
                        raise InputError(f"rating #{k + 1}: {d} = {v!r} is not an integer 1-5", where=where)
                ratings.append({"rater": rater, **items[item_id], **{d: row[d] for d in DIMENSIONS}})
    return ratings, skipped


def item_means(rows: Sequence[dict], value) -> list[float]:
    """One number per item: the mean over its raters of ``value(row)`` (an item's ratings are not independent,
    so confidence intervals are taken over items, not over ratings)."""
    by_item: dict[str, list[float]] = defaultdict(list)
    for row in rows:
        by_item[row["item_id"]].append(float(value(row)))
    return [sum(v) / len(v) for v in by_item.values()]


def agreement(ratings: Sequence[dict]) -> dict[str, Any]:
    """Krippendorff's α (ordinal, 1–5) per dimension over the items rated by at least two raters."""
    import krippendorff
    import numpy as np

    raters = sorted({r["rater"] for r in ratings})
    items = sorted({r["item_id"] for r in ratings})
    per_item = defaultdict(set)
    for r in ratings:
        per_item[r["item_id"]].add(r["rater"])
    shared = [i for i in items if len(per_item[i]) >= 2]
    result: dict[str, Any] = {"n_raters": len(raters), "n_items_rated_by_two_or_more": len(shared)}
    if len(raters) < 2 or not shared:
        result["skipped"] = "needs two raters with at least one item in common"
        return result
    index_r, index_i = {r: k for k, r in enumerate(raters)}, {i: k for k, i in enumerate(shared)}
    for d in DIMENSIONS:
        matrix = np.full((len(raters), len(shared)), np.nan)
        for r in ratings:
            if r["item_id"] in index_i:
                matrix[index_r[r["rater"]], index_i[r["item_id"]]] = r[d]
        values = matrix[~np.isnan(matrix)]
        if len(set(values.tolist())) < 2:
            result[d] = {"alpha": None, "note": "every rating is the same value: α is undefined"}
            continue
        alpha = krippendorff.alpha(
            reliability_data=matrix, level_of_measurement="ordinal", value_domain=[1, 2, 3, 4, 5]
        )
        result[d] = {"alpha": float(alpha)}
    return result


def table8(ratings: Sequence[dict], methods: Sequence[str], group_by: str | None = None) -> dict[str, Any]:
    """Per method (and optionally per ``group_by`` value, e.g. language): n and mean ± CI per dimension and Avg."""
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for row in ratings:
        groups[(row["method"], row[group_by] if group_by else "all")].append(row)
    table: dict[str, Any] = {}
    for (method, group), rows in sorted(
        groups.items(), key=lambda kv: (list(methods).index(kv[0][0]) if kv[0][0] in methods else 99, kv[0][1])
    ):
        entry = {d: mean_ci(item_means(rows, lambda r, d=d: r[d])) for d in DIMENSIONS}
        entry["avg"] = mean_ci(item_means(rows, lambda r: sum(r[d] for d in DIMENSIONS) / len(DIMENSIONS)))
        entry["n"] = len(rows)
        entry["n_items"] = len({r["item_id"] for r in rows})
        entry["n_raters"] = len({r["rater"] for r in rows})
        table.setdefault(method, {})[group] = entry
    return table


def table8_markdown(table: Mapping[str, Any]) -> str:
    def cell(stat):
        if stat["mean"] is None:
            return "–"
        return f"{stat['mean']:.2f}" + ("" if stat["ci"] is None else f" ± {stat['ci']:.2f}")

    lines = ["| Method | Group | n | Use | Ans | Nat | Avg. |", "|---|---|---|---|---|---|---|"]
    for method, groups in table.items():
        for group, entry in groups.items():
            lines.append(
                f"| {method} | {group} | {entry['n']} | "
                + " | ".join(cell(entry[d]) for d in (*DIMENSIONS, "avg"))
                + " |"
            )
    return "\n".join(lines) + (
        "\n\nScores on a 1–5 scale: each item's mean over its raters, then the mean over items ± the half-width "
        "of the 95% t confidence interval over items (n = ratings). Use = Usefulness, Ans = Answerability, "
        "Nat = Naturalness.\n"
    )


def check_key(key: Any, where: str) -> None:
    if not isinstance(key, dict) or key.get("format") != KEY_FORMAT:
        raise InputError(f"not a human-eval key file (format must be {KEY_FORMAT!r})", where=where)


@dataclass(kw_only=True)
class SummarizeJob:
    """`polyalign human-eval summarize`'s options."""

    ratings: list[str] = option(
        flag="positional",
        help="ratings JSON files: the page's exports (one per rater) and/or Label Studio JSON exports of the project "
        "`human-eval build --format label-studio` wrote (raters named by annotator)",
    )
    key: str = option(help="the key file written by `human-eval build`")
    by: str | None = option(None, choices=("language", "length_bin"), help="also split by this field")
    out: str = option(help="output directory (table8.json, table8.md)")
    overwrite: bool = option(False, help="replace an existing --out folder whole")


def summarize_evaluation(args: SummarizeJob) -> str:
    """`human-eval summarize`: Table 8 (and agreement) from the ratings and the key, written to
    ``args.out/table8.{json,md}``; returns the Markdown."""
    from polyalign_lf.io import atomic_write, check_output_folder, replace_folder, write_json

    check_output_folder(args.out, overwrite=args.overwrite)  # before the ratings are read

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
    with replace_folder(args.out, overwrite=args.overwrite) as out:  # no file of an earlier summary survives
        write_json(out / "table8.json", result)
        with atomic_write(out / "table8.md") as handle:
            handle.write(markdown)
    return markdown
