"""``polyalign detect`` as a library call: :func:`detect` with a :class:`DetectConfig`."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass

import polyalign_lf.options as opt
from polyalign_lf.core.predictions import parse_named_paths, read_predictions
from polyalign_lf.core.records import select_ids
from polyalign_lf.errors import AllFailed, ConfigError, InputError
from polyalign_lf.io import atomic_write, check_output_folder, read_json, replace_folder, write_json, write_jsonl
from polyalign_lf.options import option


def _detectors_help() -> str:
    from polyalign_lf.detect.detectors import DETECTORS

    return (
        f"comma list from: {', '.join(DETECTORS.names())} (default: the paper's three, as its H; with others, H "
        "and Joint are labelled with the detectors used)"
    )


@dataclass
class DetectConfig:
    """Everything one ``polyalign detect`` run needs: the command's options, generated from these fields."""

    records: str = option(help="test records JSONL (human answers = the human source)")
    predictions: list[str] = option(
        metavar="NAME=PRED.jsonl",
        help="predictions per method (rows {id, prediction}); NAME defaults to the file stem",
    )
    out: str = option(help="output directory (scores/<method>.jsonl, summary.json, summary.md)")
    overwrite: bool = option(False, help="replace an existing --out folder whole")
    metrics: list[str] = option(
        default_factory=list,
        metavar="NAME=METRICS.json",
        help="`polyalign evaluate` outputs: their agg gives the Joint score (Table 4)",
    )
    detectors: str = option("binoculars,fast_detectgpt,radar", help=_detectors_help)
    observer: str | None = option(None, help="Binoculars observer model (e.g. a base LM)")
    performer: str | None = option(None, help="Binoculars performer model (e.g. its instruct version)")
    sampling: str | None = option(None, help="Fast-DetectGPT sampling (reference) model; default --observer")
    scoring: str | None = option(None, help="Fast-DetectGPT scoring model; default --performer")
    radar_model: str | None = option(
        None,
        aliases=("--classifier",),
        metavar="MODEL",
        help="the radar detector's sequence classifier, a Hub id or local path (default: the published RADAR "
        "checkpoint TrustSafeAI/RADAR-Vicuna-7B; --classifier is an old spelling)",
    )
    radar_ai_label: int | None = option(
        None,
        aliases=("--classifier-ai-label",),
        type=opt.non_negative_int,
        help="class index of the classifier meaning AI-written (RADAR: 0, its model card's P(AI) = "
        "softmax(logits)[:, 0])",
    )
    binoculars_mode: str = option(
        "low-fpr",
        choices=("low-fpr", "accuracy"),
        help="Binoculars threshold: low-fpr (the authors' low false-positive one) or accuracy",
    )
    calibrate_fpr: float | None = option(
        None,
        type=opt.number(0.0, 1.0, above=True),
        help="set each detector's threshold so that this fraction of the human answers is flagged as AI "
        "(recommended for any model pair other than the published ones)",
    )
    no_human: bool = option(False, help="do not score the human answers (no AUROC, no calibration)")
    sample: int | None = option(None, type=opt.count, help="score a seeded sample of N records (same for all methods)")
    seed: int = option(42, type=opt.integer(), help="seed of --sample (default 42)")
    batch_size: int = option(8, type=opt.count, help="texts per detector batch (default 8)")
    max_length: int = option(512, type=opt.count, help="tokens per text (longer texts are truncated)")
    device: str | None = opt.device_option(
        "device of the detector models (auto spreads them over the visible GPUs, one model per GPU)"
    )
    dtype: str = opt.dtype_option("dtype of the detector models")


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


def detect(config: DetectConfig) -> str:
    """Score every method's predictions (and the human answers) with the chosen detectors; write
    ``scores/<method>.jsonl``, ``summary.json`` and ``summary.md`` (Table 4) under ``config.out``; return the
    Markdown table."""
    from polyalign_lf.data.schema import read_records
    from polyalign_lf.detect.detection import (
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
    from polyalign_lf.detect.detectors import get_detector
    from polyalign_lf.detect.joint import add_table4, agg_from_metrics, table4_markdown

    detectors = parse_detectors(config.detectors)
    check_output_folder(config.out, overwrite=config.overwrite)  # before any model is loaded
    if config.calibrate_fpr is not None and config.no_human:
        raise ConfigError("--calibrate-fpr needs the human answers: drop --no-human")
    records = read_records(config.records)
    by_id = {r["id"]: r for r in records}
    methods = parse_named_paths(config.predictions, "--predictions", file_names=True)
    if "human" in methods:
        raise ConfigError("'human' is reserved for the records' human answers; rename that method")
    predictions = {
        m: read_predictions(p, by_id.values(), require_all=False, check_question=True) for m, p in methods.items()
    }
    ids = select_ids(records, config.sample, config.seed)
    for method, preds in predictions.items():
        missing = [rid for rid in ids if rid not in preds]
        if missing:
            raise InputError(
                f"{len(missing)} record(s) have no prediction, e.g. {missing[0]!r}",
                where=str(methods[method]),
                hint="every method is scored on the same records; use --sample for a common subset",
            )
    named_metrics = parse_named_paths(config.metrics, "--metrics") if config.metrics else {}
    aggs = {
        m: agg_from_metrics(read_json(p), where=str(p)) for m, p in named_metrics.items()
    }  # checked before any scoring
    models = DetectorModels(
        observer=config.observer,
        performer=config.performer,
        sampling=config.sampling,
        scoring=config.scoring,
        radar=config.radar_model or RADAR_MODEL,
        radar_ai_label=RADAR_AI_LABEL if config.radar_ai_label is None else config.radar_ai_label,
        device=config.device,
        dtype=config.dtype,
        max_length=config.max_length,
        batch_size=config.batch_size,
    )
    for name in detectors:  # a missing or unloadable detector model is refused before any scoring
        get_detector(name).check(models)
    sources = {} if config.no_human else {"human": [by_id[rid]["human_answer"] for rid in ids]}
    sources.update({m: [preds[rid] for rid in ids] for m, preds in predictions.items()})
    raw = {name: score_texts(texts, models, detectors, desc=f"detect {name}") for name, texts in sources.items()}
    _report_unscored(raw, detectors)
    if config.calibrate_fpr is not None:
        rules = {
            d: calibrated_rule(d, [r[d] for r in raw["human"] if r[d] is not None], config.calibrate_fpr)
            for d in detectors
        }
    else:
        rules = {d: default_rule(d, config.binoculars_mode) for d in detectors}
    summary = summarize_detection(raw, rules, human_method=None if config.no_human else "human")
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
    markdown = table4_markdown(summary, detectors)
    # the folder is built aside and swapped in whole: no score file of an earlier run's methods survives
    with replace_folder(config.out, overwrite=config.overwrite) as out:
        for name, rows in raw.items():
            write_jsonl(out / "scores" / f"{name}.jsonl", _score_rows(ids, rows, rules, detectors))
        write_json(out / "summary.json", result)
        with atomic_write(out / "summary.md") as handle:
            handle.write(markdown)
    return markdown


def _score_rows(ids, rows, rules, detectors):
    for rid, row in zip(ids, rows):
        yield {
            "id": rid,
            "n_tokens": row.get("n_tokens"),
            **{
                d: None
                if row[d] is None
                else {"raw": row[d], "score_ai": rules[d].score_ai(row[d]), "ai": rules[d].is_ai(row[d])}
                for d in detectors
            },
        }
