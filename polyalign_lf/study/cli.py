"""``polyalign study``: the PolyAlign study on CPU, every method through ``llamafactory-cli train`` with metrics
over seeds and CIs — the miniature study (corpus with known ground truth, a 1M-parameter BaseLM) or, with
``--model`` and ``--data``, the study on real human text with a real instruct model and the profile-prompt
ablation."""

from __future__ import annotations

import argparse
from pathlib import Path

import polyalign_lf.options as opt
from polyalign_lf.errors import ConfigError
from polyalign_lf.pipeline.stages import comma_names


def study_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=Path("study_out"), help="output folder (default study_out)")
    parser.add_argument(
        "--seeds", type=opt.count, default=3, help="training seeds (default 3; the CIs are over seeds)"
    )
    parser.add_argument("--quick", action="store_true", help="one seed (about 10 minutes on 2 cores)")
    parser.add_argument("--max-new-tokens", type=opt.count, default=96, help="generation length (default 96)")
    parser.add_argument(
        "--max-steps",
        type=opt.count,
        default=None,
        help="cap every training run at this many optimizer steps (reduced runs, e.g. the test suite)",
    )
    parser.add_argument(
        "--corpus-scale",
        type=opt.positive,
        default=1.0,
        help="fraction of every bucket's rows to use, in (0, 1] (reduced runs; default 1)",
    )
    real = parser.add_argument_group("the real-data study (both --model and --data)")
    real.add_argument(
        "--model",
        default=None,
        help="a real instruct model: a name of `polyalign models list` (the study installs it) or a folder "
        "`polyalign models install` wrote",
    )
    real.add_argument(
        "--data",
        type=Path,
        default=None,
        help="records prepared from real human text (`polyalign prepare … --out DIR`), with a test split",
    )
    real.add_argument("--test-per-bucket", type=opt.count, default=8, help="balanced test rows per bucket (default 8)")
    real.add_argument(
        "--largest", type=opt.count, default=24, help="training rows of the most frequent bucket (default 24)"
    )
    real.add_argument("--smallest", type=opt.count, default=4, help="training rows of the rarest bucket (default 4)")
    real.add_argument("--device", default="cpu", help="device of training and generation: cpu (default) or cuda")
    from polyalign_lf.pipeline.stages import add_stage_options

    add_stage_options(parser)


def _check_sizes(max_steps: int | None, max_new_tokens: int | None) -> None:
    """The size options shared by `study` and `demo` (None = the default)."""
    if max_steps is not None and max_steps < 1:
        raise ConfigError(f"--max-steps must be >= 1, got {max_steps}")
    if max_new_tokens is not None and max_new_tokens < 1:
        raise ConfigError(f"--max-new-tokens must be >= 1, got {max_new_tokens}")


def _study_config(args: argparse.Namespace, *, seeds: int, cell_reports: bool = False):
    """The :class:`~polyalign_lf.study.run.StudyConfig` of validated command-line options."""
    from polyalign_lf.study.run import StudyConfig

    if seeds < 1:
        raise ConfigError(f"--seeds must be >= 1, got {seeds}")
    if not 0 < args.corpus_scale <= 1:
        raise ConfigError(f"--corpus-scale must be in (0, 1], got {args.corpus_scale}")
    _check_sizes(args.max_steps, args.max_new_tokens)
    if getattr(args, "model", None) is None and getattr(args, "data", None) is None:
        return StudyConfig(
            out=args.out.resolve(),
            seeds=tuple(range(1, seeds + 1)),
            max_new_tokens=args.max_new_tokens,
            max_steps=args.max_steps,
            corpus_scale=args.corpus_scale,
            cell_reports=cell_reports,
        )
    return _real_study_config(args, seeds)


def _real_study_config(args: argparse.Namespace, seeds: int):
    """The real-data study's configuration: --model and --data checked before anything runs."""
    from polyalign_lf.study import run
    from polyalign_lf.study.design import DesignRule

    if args.model is None or args.data is None:
        raise ConfigError("the real-data study needs both --model (an instruct model) and --data (prepared records)")
    if args.corpus_scale != 1.0:
        raise ConfigError(
            "--corpus-scale sizes the miniature study's corpus; the real-data study sizes with --largest"
        )
    if not args.data.is_dir():
        raise ConfigError(f"--data {args.data}: not a folder (run `polyalign prepare … --out DIR` first)")
    if args.smallest > args.largest:
        raise ConfigError(f"--smallest {args.smallest} is above --largest {args.largest}")
    if args.device not in ("cpu", "cuda"):
        raise ConfigError(f"--device must be cpu or cuda, got {args.device!r}")
    model = args.model
    if Path(model).is_dir() or "/" in model:
        from polyalign_lf.models.install import verify_model

        verify_model(model)  # a folder `polyalign models verify` rejects is refused before anything runs
        model = str(Path(model).resolve())
    else:
        from polyalign_lf.models.registry import model_source

        model_source(model)  # an unknown name is refused with the list of known ones
    return run.StudyConfig(
        out=args.out.resolve(),
        seeds=tuple(range(1, seeds + 1)),
        model=model,
        data=args.data.resolve(),
        rule=DesignRule(test_per_bucket=args.test_per_bucket, largest=args.largest, smallest=args.smallest),
        device=args.device,
        max_new_tokens=args.max_new_tokens,
        sft_epochs=run.REAL_SFT_EPOCHS,
        pref_max_steps=run.REAL_PREF_MAX_STEPS,
        max_steps=args.max_steps,
    )


def study_main(args: argparse.Namespace) -> int:
    from polyalign_lf.study.run import run_study

    cfg = _study_config(args, seeds=1 if args.quick else args.seeds)
    report = run_study(
        cfg, stages=comma_names(args.stages), redo=comma_names(args.redo), dry_run=args.dry_run, verbose=args.verbose
    )
    if report:
        print(f"report: {report} and {report.with_suffix('.html')}")
    return 0


# --- polyalign demo: the one-seed study; `--data` runs the pipeline on other rows with a random tiny model ---


def demo_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=Path("demo_out"), help="output folder (default demo_out)")
    parser.add_argument(
        "--data",
        type=Path,
        default=None,
        help="rows in the `custom` formatter layout to run the pipeline on with a random tiny model "
        "('sample' = the shipped bilingual sample, every bucket present). Without --data the "
        "demo runs the one-seed miniature study (`polyalign study --quick`): a generated corpus "
        "with known per-bucket styles and a trained BaseLM, so its numbers mean something",
    )
    parser.add_argument(
        "--lang",
        dest="languages",
        default="en,zh",
        help="languages of the demo cell (default en,zh: one bilingual cell)",
    )
    opt.add_deprecated_alias(parser, "--languages", "--lang", dest="languages")
    parser.add_argument(
        "--max-steps",
        type=opt.count,
        default=None,
        help="cap every training run at this many optimizer steps (quick checks)",
    )
    parser.add_argument(
        "--max-new-tokens",
        type=opt.count,
        default=None,
        help="generation length (default 96 for the study, 32 for --data)",
    )
    parser.add_argument(
        "--num-candidates",
        type=opt.integer(2),
        default=2,
        help="Bucket-SFT candidates per training prompt for distribution/local HDPO pairs: the greedy "
        "output + K-1 sampled ones (default 2)",
    )
    from polyalign_lf.pipeline.stages import add_stage_options

    add_stage_options(parser)


def demo_main(args: argparse.Namespace) -> int:
    from polyalign_lf.pipeline.demo import run_sample_demo
    from polyalign_lf.study.run import StudyConfig, run_study

    if args.data is not None:
        return run_sample_demo(args)
    if args.languages != "en,zh":
        raise ConfigError("--lang applies to --data runs; the study's corpus is bilingual")
    _check_sizes(args.max_steps, args.max_new_tokens)
    # the cell's own `polyalign report` runs too, so the demo exercises every stage of the pipeline
    cfg = StudyConfig(
        out=args.out.resolve(),
        seeds=(1,),
        max_new_tokens=args.max_new_tokens or 96,
        max_steps=args.max_steps,
        cell_reports=True,
    )
    report = run_study(
        cfg, stages=comma_names(args.stages), redo=comma_names(args.redo), dry_run=args.dry_run, verbose=args.verbose
    )
    if report:
        print(f"report: {report}\n        {report.with_suffix('.html')}")
        print(f"        per-method report of the cell: {cfg.seed_root(1) / 'saves/all/study/report/report.html'}")
    return 0
