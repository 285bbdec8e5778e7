"""Build a blinded, shuffled, stratified human-evaluation sample and its static rating page.

The page directory holds only what raters may see (``index.html``, ``app.js``, ``style.css``, ``items.js``);
which method wrote each response lives in a separate key file that must not be served.
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polyalign_lf.options as opt
from polyalign_lf.errors import ConfigError
from polyalign_lf.io import atomic_write, write_json
from polyalign_lf.options import option

STATIC_DIR = Path(__file__).with_name("static")
PAGE_FILES = ("index.html", "app.js", "style.css")
KEY_FORMAT = "polyalign-human-eval-key/v1"


def stratified_sample(
    records: Sequence[dict],
    eligible_ids: set[str],
    per_stratum: int,
    seed: int,
    languages: Sequence[str] | None = None,
) -> tuple[list[dict], dict[str, Any]]:
    """Pick up to ``per_stratum`` records in every (language, length_bin) stratum, seeded.

    Returns the chosen records and a report of stratum sizes (a stratum with fewer records than asked is
    reported as short, never silently topped up from another stratum).
    """
    strata: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for record in records:
        if record["id"] in eligible_ids and (not languages or record["language"] in languages):
            strata[(record["language"], record["length_bin"])].append(record)
    if not strata:
        raise ConfigError("no record has a prediction from every method (or none is in the requested languages)")
    rng = random.Random(seed)
    chosen: list[dict] = []
    report: dict[str, Any] = {}
    for key in sorted(strata):
        pool = strata[key]
        take = rng.sample(pool, min(per_stratum, len(pool)))
        chosen += take
        report["|".join(key)] = {"available": len(pool), "sampled": len(take), "short": len(take) < per_stratum}
    return chosen, report


def build_items(
    chosen: Sequence[dict], predictions: Mapping[str, Mapping[str, str]], seed: int, include_human: bool = False
) -> tuple[list[dict], list[dict]]:
    """One item per (record, method), shuffled, with opaque ids; returns (page items, key rows)."""
    pairs = [(record, method) for record in chosen for method in predictions]
    if include_human:
        pairs += [(record, "human") for record in chosen]
    rng = random.Random(seed + 1)
    rng.shuffle(pairs)
    items, key = [], []
    for k, (record, method) in enumerate(pairs):
        item_id = f"item-{k + 1:04d}"
        candidate = record["human_answer"] if method == "human" else predictions[method][record["id"]]
        items.append(
            {
                "item_id": item_id,
                "language": record["language"],
                "track": record["track"],
                "family": record["family"],
                "style_bucket": record["style_bucket"],
                "length_bin": record["length_bin"],
                "question": record["question"],
                "context": record["context"],
                "dialogue_history": record["dialogue_history"],
                "reference": record["human_answer"],
                "candidate": candidate,
            }
        )
        key.append(
            {
                "item_id": item_id,
                "method": method,
                "record_id": record["id"],
                "language": record["language"],
                "length_bin": record["length_bin"],
                "bucket_id": record["bucket_id"],
            }
        )
    return items, key


def sample_id_of(items: Sequence[dict]) -> str:
    """A content hash: ratings exported from one sample cannot be mixed up with another's key."""
    digest = hashlib.sha256(json.dumps(items, ensure_ascii=False, sort_keys=True).encode("utf-8")).hexdigest()
    return f"he-{digest[:12]}"


def write_page(out_dir: Path, items: list[dict], title_note: str = "") -> str:
    """Copy the static page and write ``items.js``; returns the sample id."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in PAGE_FILES:
        shutil.copyfile(STATIC_DIR / name, out_dir / name)
    sample_id = sample_id_of(items)
    payload = {"sample_id": sample_id, "note": title_note, "items": items}
    # A script (not fetched JSON) so the page also works when opened straight from disk (file://).
    body = json.dumps(payload, ensure_ascii=False, indent=1).replace("</", "<\\/")
    with atomic_write(out_dir / "items.js") as handle:
        handle.write("window.POLYALIGN_SAMPLE = " + body + ";\n")
    return sample_id


def write_key(
    path: Path, sample_id: str, key: list[dict], strata: dict[str, Any], methods: list[str], seed: int
) -> None:
    write_json(
        path,
        {
            "format": KEY_FORMAT,
            "sample_id": sample_id,
            "methods": methods,
            "seed": seed,
            "strata": strata,
            "items": key,
        },
    )


@dataclass(kw_only=True)
class BuildJob:
    """`polyalign human-eval build`'s options."""

    records: str = option(help="test records JSONL")
    predictions: list[str] = option(
        metavar="NAME=PRED.jsonl",
        help="predictions per method (rows {id, prediction}); NAME defaults to the file stem",
    )
    out: str = option(help="page directory to serve to raters (holds no method names)")
    key: str | None = option(
        None, help="key file (item → method); default: <out>.key.json next to the page directory, never inside it"
    )
    per_stratum: int = option(
        5, type=opt.count, help="records per (language, length bin); every method's answer to each is rated"
    )
    languages: str | None = option(
        None, flag="--lang", deprecated=("--languages",), help="comma list, e.g. zh (default: all in the records)"
    )
    include_human: bool = option(False, help="add the human answers as a hidden control method")
    seed: int = option(42, type=opt.integer(), help="seed of the stratified sample and the item order (default 42)")
    format: str = option(
        "page",
        choices=("page", "label-studio"),
        help="page: the static rating page; label-studio: also a Label Studio project (label_studio/"
        "label_config.xml + tasks.json) of the same blinded items",
    )
    overwrite: bool = option(
        False,
        help="replace an existing page and key (the old key is kept as KEY.bak-TIME: ratings already collected can "
        "still be summarized with it)",
    )


def build_evaluation(args: BuildJob) -> list[str]:
    """`human-eval build`: the blind page (and Label Studio project) in ``args.out``, the private key beside
    it; returns the lines to show the user."""
    messages: list[str] = []
    from polyalign_lf.core.predictions import parse_named_paths, read_predictions
    from polyalign_lf.data.schema import read_records
    from polyalign_lf.errors import InputError
    from polyalign_lf.io import backup_file, check_output_folder, replace_folder

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
        messages.append(
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
        messages.append(f"the previous key was kept as {backup}")
    write_key(key_path, sample_id, key, strata, list(methods) + (["human"] if args.include_human else []), args.seed)
    short = [s for s, info in strata.items() if info["short"]]
    messages.append(
        f"sample {sample_id}: {len(items)} items ({len(chosen)} records × {len(items) // max(1, len(chosen))} methods)"
    )
    for stratum, info in strata.items():
        messages.append(
            f"  {stratum:<14} {info['sampled']}/{args.per_stratum} sampled ({info['available']} available)"
        )
    if short:
        messages.append(f"  short strata (fewer records than --per-stratum): {', '.join(short)}")
    messages.append(
        f"page: {out}/index.html (serve it, e.g. `python -m http.server -d {out}`)\nkey (keep private): {key_path}"
    )
    if args.format == "label-studio":
        messages.append(
            f"Label Studio: paste {out}/label_studio/label_config.xml as the labeling interface, import "
            f"{out}/label_studio/tasks.json; summarize its JSON export with the page's files"
        )
    return messages
