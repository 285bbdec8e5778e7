"""``polyalign detect``: the paper's AI-text detectors (Binoculars, Fast-DetectGPT, RADAR) per method, H and
the Joint score of Table 4."""

from __future__ import annotations

import argparse

import polyalign_lf.options as opt


def detect_arguments(parser: argparse.ArgumentParser) -> None:
    from polyalign_lf.detect.detectors import DETECTORS

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
        help=f"comma list from: {', '.join(DETECTORS.names())} (default: the paper's three, as its H; with "
        "others, H and Joint are labelled with the detectors used)",
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


def detect_main(args: argparse.Namespace) -> int:
    from polyalign_lf.detect.workflow import DetectConfig, detect

    print(detect(DetectConfig(**{name: getattr(args, name) for name in DetectConfig.__dataclass_fields__})))
    return 0
