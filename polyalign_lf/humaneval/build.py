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
from pathlib import Path
from typing import Any

from polyalign_lf.errors import ConfigError
from polyalign_lf.io import atomic_write, write_json

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
