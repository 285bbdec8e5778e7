"""``polyalign detect``: the paper's AI-text detectors (Binoculars, Fast-DetectGPT, RADAR) per method, H and
the Joint score of Table 4."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import polyalign_lf.options as opt
from polyalign_lf.core.predictions import parse_named_paths, read_predictions
from polyalign_lf.core.records import select_ids
from polyalign_lf.errors import AllFailed, ConfigError, InputError
from polyalign_lf.io import atomic_write, read_json, write_json, write_jsonl


def detect_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--records", required=True, help="test records JSONL (human answers = the human source)")
    parser.add_argument(
        "--predictions",
        nargs="+",
        required=True,
        metavar="NAME=PRED.jsonl",
        help="predictions per method (rows {id, prediction}); NAME defaults to the file stem",
    )
    parser.add_argument(
        "--metrics",
        nargs="*",
        default=[],
        metavar="NAME=METRICS.json",
        help="`polyalign evaluate` outputs: their agg gives the Joint score (Table 4)",
    )
    parser.add_argument(
        "--detectors",
        default="binoculars,fast_detectgpt,radar",
        help="comma list from: binoculars, fast_detectgpt, radar (default: all three, as the paper's "
        "H; with fewer, H and Joint are labelled with the detectors used)",
    )
    parser.add_argument("--observer", help="Binoculars observer model (e.g. a base LM)")
    parser.add_argument("--performer", help="Binoculars performer model (e.g. its instruct version)")
    parser.add_argument("--sampling", help="Fast-DetectGPT sampling (reference) model; default --observer")
    parser.add_argument("--scoring", help="Fast-DetectGPT scoring model; default --performer")
    parser.add_argument(
        "--radar-model",
        "--classifier",
        dest="radar_model",
        default=None,
        metavar="MODEL",
        help="the radar detector's sequence classifier, a Hub id or local path (default: the "
        "published RADAR checkpoint TrustSafeAI/RADAR-Vicuna-7B; --classifier is an old spelling)",
    )
    parser.add_argument(
        "--radar-ai-label",
        "--classifier-ai-label",
        dest="radar_ai_label",
        type=opt.non_negative_int,
        default=None,
        help="class index of the classifier meaning AI-written (RADAR: 0, its model card's "
        "P(AI) = softmax(logits)[:, 0])",
    )
    parser.add_argument(
        "--binoculars-mode",
        choices=["low-fpr", "accuracy"],
        default="low-fpr",
        help="Binoculars threshold: low-fpr (the authors' low false-positive one) or accuracy",
    )
    parser.add_argument(
        "--calibrate-fpr",
        type=opt.number(0.0, 1.0, above=True),
        default=None,
        help="set each detector's threshold so that this fraction of the human answers is flagged "
        "as AI (recommended for any model pair other than the published ones)",
    )
    parser.add_argument(
        "--no-human", action="store_true", help="do not score the human answers (no AUROC, no calibration)"
    )
    parser.add_argument(
        "--sample", type=opt.count, default=None, help="score a seeded sample of N records (same for all methods)"
    )
    parser.add_argument("--seed", type=opt.integer(), default=42, help="seed of --sample (default 42)")
    parser.add_argument("--batch-size", type=opt.count, default=8, help="texts per detector batch (default 8)")
    parser.add_argument(
        "--max-length", type=opt.count, default=512, help="tokens per text (longer texts are truncated)"
    )
    parser.add_argument(
        "--device",
        type=opt.torch_device_or_auto,
        default="auto",
        help="auto (cuda when available, one model per GPU) | cpu | cuda:N",
    )
    parser.add_argument(
        "--dtype",
        default="auto",
        choices=["auto", "float32", "bfloat16", "float16"],
        help="model dtype (auto: bf16 on a bf16-capable GPU, else float32)",
    )
    parser.add_argument(
        "--out", required=True, help="output directory (scores/<method>.jsonl, summary.json, summary.md)"
    )


def add_table4(
    summary: dict[str, Any], detectors: list[str], aggs: Mapping[str, tuple[float | None, str | None]]
) -> None:
    """Add ``h`` (H = 1 − mean AI rate), ``joint``, ``detectors_used`` and ``h_label`` to each method (in place).

    ``H`` is kept as an alias of ``h`` for files written by earlier versions' readers."""
    from polyalign_lf.detect.joint import human_likeness, joint_score
    from polyalign_lf.detect.runner import h_label

    for method, entry in summary.items():
        rates = [entry[d]["ai_rate"] for d in detectors if isinstance(entry.get(d), dict) and "ai_rate" in entry[d]]
        entry["detectors_used"] = list(detectors)
        entry["h_label"] = h_label(detectors)
        entry["h"] = human_likeness(rates) if len(rates) == len(detectors) else None
        entry["H"] = entry["h"]
        agg, reason = aggs.get(method, (None, "no --metrics file for this method"))
        entry["agg"] = agg
        if entry["h"] is None:
            entry["joint"], entry["joint_skip_reason"] = None, "a detector could not score this method"
        elif agg is None:
            entry["joint"], entry["joint_skip_reason"] = None, reason
        else:
            entry["joint"] = joint_score(agg, entry["h"])


def table4_markdown(summary: Mapping[str, Any], detectors: list[str]) -> str:
    from polyalign_lf.detect.runner import h_label

    names = {
        "binoculars": "Binoc. AI%",
        "fast_detectgpt": "Fast-DGPT AI%",
        "radar": "RADAR AI%",
        "classifier": "RADAR AI%",
    }  # "classifier": summaries written before radar had its name
    label = h_label([{"classifier": "radar"}.get(d, d) for d in detectors])
    joint = "Joint" if label == "H" else f"Joint[{label}]"
    header = ["Method", "Agg"] + [names.get(d, d) for d in detectors] + [label, joint]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for method, entry in summary.items():
        cells = [method, "–" if entry.get("agg") is None else f"{entry['agg']:.3f}"]
        for d in detectors:
            det = entry.get(d, {})
            cells.append(f"{100 * det['ai_rate']:.1f}" if "ai_rate" in det else "skipped")
        h = entry.get("h", entry.get("H"))
        cells.append("–" if h is None else f"{h:.3f}")
        cells.append("–" if entry.get("joint") is None else f"{entry['joint']:.1f}")
        lines.append("| " + " | ".join(cells) + " |")
    note = (
        ""
        if label == "H"
        else f"\n\n**{label} is not the paper's H**, which averages three detectors "
        "(binoculars, fast_detectgpt, radar); its Joint cannot be placed in Table 4's column."
    )
    return (
        "\n".join(lines) + "\n\nAI% = share of texts a detector classifies as machine-written (lower is better); "
        f"{label} = 1 − mean AI rate of the detectors used; Joint = 100·2·Agg·H/(Agg+H)." + note + "\n"
    )


def _report_unscored(raw: Mapping[str, list[dict]], detectors: list[str]) -> None:
    """Rows a detector could not score (e.g. empty answers) are counted on stderr; if no detector scored any
    row at all, nothing usable was produced and the command fails."""

    total = sum(len(rows) for rows in raw.values())
    scored = {d: sum(1 for rows in raw.values() for row in rows if row[d] is not None) for d in detectors}
    if total and not any(scored.values()):
        raise AllFailed(f"no detector could score any of the {total} texts (are they all empty?); nothing was written")
    for d, n in scored.items():
        if n < total:
            print(
                f"polyalign detect: {d} scored {n} of {total} texts; the rest (e.g. empty answers) are left out of "
                "its rates",
                file=sys.stderr,
            )


def detect_main(args) -> int:
    from polyalign_lf.data.schema import read_records
    from polyalign_lf.detect.joint import agg_from_metrics
    from polyalign_lf.detect.runner import (
        RADAR_AI_LABEL,
        RADAR_MODEL,
        DetectorModels,
        calibrated_rule,
        default_rule,
        h_label,
        parse_detectors,
        score_texts,
        summarize_detection,
    )

    detectors = parse_detectors(args.detectors)
    if args.calibrate_fpr is not None and args.no_human:
        raise ConfigError("--calibrate-fpr needs the human answers: drop --no-human")
    records = read_records(args.records)
    by_id = {r["id"]: r for r in records}
    methods = parse_named_paths(args.predictions, "--predictions", file_names=True)
    if "human" in methods:
        raise ConfigError("'human' is reserved for the records' human answers; rename that method")
    predictions = {
        m: read_predictions(p, by_id.values(), require_all=False, check_question=True) for m, p in methods.items()
    }
    ids = select_ids(records, args.sample, args.seed)
    for method, preds in predictions.items():
        missing = [rid for rid in ids if rid not in preds]
        if missing:
            raise InputError(
                f"{len(missing)} record(s) have no prediction, e.g. {missing[0]!r}",
                where=str(methods[method]),
                hint="every method is scored on the same records; use --sample for a common subset",
            )
    named_metrics = parse_named_paths(args.metrics, "--metrics") if args.metrics else {}
    aggs = {
        m: agg_from_metrics(read_json(p), where=str(p)) for m, p in named_metrics.items()
    }  # checked before any scoring
    models = DetectorModels(
        observer=args.observer,
        performer=args.performer,
        sampling=args.sampling,
        scoring=args.scoring,
        radar=args.radar_model or RADAR_MODEL,
        radar_ai_label=RADAR_AI_LABEL if args.radar_ai_label is None else args.radar_ai_label,
        device=args.device,
        dtype=args.dtype,
        max_length=args.max_length,
        batch_size=args.batch_size,
    )
    models.roles(detectors)  # a missing Binoculars / Fast-DetectGPT model is refused before any scoring
    if "radar" in detectors:
        models.load_radar()  # likewise a RADAR checkpoint that cannot be loaded
    sources = {} if args.no_human else {"human": [by_id[rid]["human_answer"] for rid in ids]}
    sources.update({m: [preds[rid] for rid in ids] for m, preds in predictions.items()})
    raw = {name: score_texts(texts, models, detectors, desc=f"detect {name}") for name, texts in sources.items()}
    _report_unscored(raw, detectors)
    if args.calibrate_fpr is not None:
        rules = {
            d: calibrated_rule(d, [r[d] for r in raw["human"] if r[d] is not None], args.calibrate_fpr)
            for d in detectors
        }
    else:
        rules = {d: default_rule(d, args.binoculars_mode) for d in detectors}
    out = Path(args.out)
    for name, rows in raw.items():
        write_jsonl(
            out / "scores" / f"{name}.jsonl",
            (
                {
                    "id": rid,
                    "n_tokens": row.get("n_tokens"),
                    **{
                        d: (
                            None
                            if row[d] is None
                            else {"raw": row[d], "score_ai": rules[d].score_ai(row[d]), "ai": rules[d].is_ai(row[d])}
                        )
                        for d in detectors
                    },
                }
                for rid, row in zip(ids, rows)
            ),
        )
    summary = summarize_detection(raw, rules, human_method=None if args.no_human else "human")
    add_table4(summary, detectors, aggs)
    result = {
        "detectors": detectors,
        "detectors_used": detectors,
        "h_label": h_label(detectors),
        "rules": {d: r.describe() for d, r in rules.items()},
        "models": {**models.roles(detectors), **({"radar": models.radar} if "radar" in detectors else {})},
        "n_records": len(ids),
        "methods": summary,
    }
    write_json(out / "summary.json", result)
    markdown = table4_markdown(summary, detectors)
    with atomic_write(out / "summary.md") as handle:
        handle.write(markdown)
    print(markdown)
    return 0
