"""``polyalign study`` and ``polyalign demo`` as library calls: :func:`run_study_command` and :func:`run_demo`,
with their option dataclasses (the sizes checked, the real-data study's model and data verified, before anything
runs)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polyalign_lf.options as opt
from polyalign_lf.core.devices import resolve_device
from polyalign_lf.errors import ConfigError
from polyalign_lf.options import option
from polyalign_lf.pipeline.stages import StageOptions, comma_names

REAL = "the real-data study (both --model and --data)"


@dataclass(kw_only=True)
class StudyJob(StageOptions):
    """`polyalign study`'s options."""

    out: Path = option(Path("study_out"), type=Path, help="output folder (default study_out)")
    seeds: int = option(3, type=opt.count, help="training seeds (default 3; the CIs are over seeds)")
    quick: bool = option(False, help="one seed (about 10 minutes on 2 cores)")
    max_new_tokens: int = option(96, type=opt.count, help="generation length (default 96)")
    max_steps: int | None = option(
        None,
        type=opt.count,
        help="cap every training run at this many optimizer steps (reduced runs, e.g. the test suite)",
    )
    corpus_scale: float = option(
        1.0, type=opt.positive, help="fraction of every bucket's rows to use, in (0, 1] (reduced runs; default 1)"
    )
    model: str | None = option(
        None,
        group=REAL,
        help="a real instruct model: a name of `polyalign models list` (the study installs it) or a folder "
        "`polyalign models install` wrote",
    )
    data: Path | None = option(
        None,
        type=Path,
        group=REAL,
        help="records prepared from real human text (`polyalign prepare … --out DIR`), with a test split",
    )
    test_per_bucket: int = option(8, type=opt.count, group=REAL, help="balanced test rows per bucket (default 8)")
    largest: int = option(
        24, type=opt.count, group=REAL, help="training rows of the most frequent bucket (default 24)"
    )
    smallest: int = option(4, type=opt.count, group=REAL, help="training rows of the rarest bucket (default 4)")
    device: str | None = opt.device_option("device of training and generation (cpu or cuda)", group=REAL)


@dataclass(kw_only=True)
class DemoJob(StageOptions):
    """`polyalign demo`'s options."""

    out: Path = option(Path("demo_out"), type=Path, help="output folder (default demo_out)")
    data: Path | None = option(
        None,
        type=Path,
        help="rows in the `custom` formatter layout to run the pipeline on with a random tiny model ('sample' = "
        "the shipped bilingual sample, every bucket present). Without --data the demo runs the one-seed miniature "
        "study (`polyalign study --quick`): a generated corpus with known per-bucket styles and a trained BaseLM, "
        "so its numbers mean something",
    )
    languages: str = option(
        "en,zh",
        flag="--lang",
        deprecated=("--languages",),
        help="languages of the demo cell (default en,zh: one bilingual cell)",
    )
    max_steps: int | None = option(
        None, type=opt.count, help="cap every training run at this many optimizer steps (quick checks)"
    )
    max_new_tokens: int | None = option(
        None, type=opt.count, help="generation length (default 96 for the study, 32 for --data)"
    )
    num_candidates: int = option(
        2,
        type=opt.integer(2),
        help="Bucket-SFT candidates per training prompt for distribution/local HDPO pairs: the greedy output + K-1 "
        "sampled ones (default 2)",
    )


def _check_sizes(max_steps: int | None, max_new_tokens: int | None) -> None:
    """The size options shared by `study` and `demo` (None = the default)."""
    if max_steps is not None and max_steps < 1:
        raise ConfigError(f"--max-steps must be >= 1, got {max_steps}")
    if max_new_tokens is not None and max_new_tokens < 1:
        raise ConfigError(f"--max-new-tokens must be >= 1, got {max_new_tokens}")


def _study_config(args: StudyJob, *, seeds: int, cell_reports: bool = False):
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


def _real_study_config(args: StudyJob, seeds: int):
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
    device = resolve_device(args.device)
    if device not in ("cpu", "cuda"):
        raise ConfigError(f"--device must be cpu or cuda (the study trains through one recipe), got {device!r}")
    model = args.model
    if Path(model).is_dir() or "/" in model:
        from polyalign_lf.models.install import verify_model

        verify_model(model)  # a folder `polyalign models verify` rejects is refused before anything runs
        model = str(Path(model).resolve())
    else:
        from polyalign_lf.models.catalog import model_source

        model_source(model)  # an unknown name is refused with the list of known ones
    return run.StudyConfig(
        out=args.out.resolve(),
        seeds=tuple(range(1, seeds + 1)),
        model=model,
        data=args.data.resolve(),
        rule=DesignRule(test_per_bucket=args.test_per_bucket, largest=args.largest, smallest=args.smallest),
        device=device,
        max_new_tokens=args.max_new_tokens,
        sft_epochs=run.REAL_SFT_EPOCHS,
        pref_max_steps=run.REAL_PREF_MAX_STEPS,
        max_steps=args.max_steps,
    )


def run_study_command(args: StudyJob) -> list[str]:
    """`polyalign study`: the miniature study, or the real-data one with --model and --data; returns the lines
    that say where the report is."""
    from polyalign_lf.study.run import run_study

    cfg = _study_config(args, seeds=1 if args.quick else args.seeds)
    report = run_study(
        cfg, stages=comma_names(args.stages), redo=comma_names(args.redo), dry_run=args.dry_run, verbose=args.verbose
    )
    return [f"report: {report} and {report.with_suffix('.html')}"] if report else []


def run_demo(args: DemoJob) -> list[str]:
    """`polyalign demo`: the one-seed miniature study, or with --data the pipeline on those rows with a random
    tiny model; returns the lines that say where the report is."""
    from polyalign_lf.pipeline.demo import run_sample_demo
    from polyalign_lf.study.run import StudyConfig, run_study

    if args.data is not None:
        run_sample_demo(args)
        return []
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
    if not report:
        return []
    return [
        f"report: {report}\n        {report.with_suffix('.html')}",
        f"        per-method report of the cell: {cfg.seed_root(1) / 'saves/all/study/report/report.html'}",
    ]
