"""``polyalign generate``: predictions for test records with the vLLM server client or transformers. The
options are :class:`~polyalign_lf.inference.generate.GenerateJob`'s and
:class:`~polyalign_lf.inference.decoding.DecodingConfig`'s fields."""

from __future__ import annotations

import argparse
import os
import sys


def generate_arguments(parser: argparse.ArgumentParser) -> None:
    from polyalign_lf.inference.decoding import DecodingConfig
    from polyalign_lf.inference.generate import GenerateJob
    from polyalign_lf.options import add_dataclass_options

    add_dataclass_options(
        parser, GenerateJob, defaults={"server_url": os.environ.get("VLLM_SERVER_URL", "http://127.0.0.1:8000")}
    )
    add_dataclass_options(parser, DecodingConfig)


def generate_main(args: argparse.Namespace) -> int:
    from polyalign_lf.inference.decoding import DecodingConfig
    from polyalign_lf.inference.generate import GenerateJob, generate_predictions, summary_lines
    from polyalign_lf.options import config_from_args

    job = config_from_args(GenerateJob, args, decoding=config_from_args(DecodingConfig, args))
    result = generate_predictions(job)
    print("\n".join(summary_lines(job, result)))
    if not result.complete:
        print(
            f"polyalign generate: {result.failed} record(s) failed (see {result.failed_path}); "
            f"{args.out} is not written until all succeed — rerun the same command to retry them",
            file=sys.stderr,
        )
        return 1
    print(f"  wrote {args.out}")
    return 0
