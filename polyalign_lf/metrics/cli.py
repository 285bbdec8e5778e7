"""``polyalign evaluate``: the metric suite for one method's predictions on a full test set."""

from __future__ import annotations

import argparse


def evaluate_arguments(parser: argparse.ArgumentParser) -> None:
    from polyalign_lf.metrics.workflow import EvaluateJob
    from polyalign_lf.options import add_dataclass_options

    add_dataclass_options(parser, EvaluateJob)


def evaluate_main(args: argparse.Namespace) -> int:
    from polyalign_lf.metrics.registry import lookup, metric_specs
    from polyalign_lf.metrics.workflow import EvaluateJob, evaluate_files
    from polyalign_lf.options import config_from_args

    metrics = evaluate_files(config_from_args(EvaluateJob, args))

    print(f"polyalign evaluate: {metrics['test_set']['n']} predictions → {args.out}")
    print("  " + "  ".join(f"{spec.label} {lookup(metrics, spec.key)}" for spec in metric_specs()))
    for key, reason in metrics["skipped"].items():
        print(f"  skipped {key}: {reason}")
    return 0
