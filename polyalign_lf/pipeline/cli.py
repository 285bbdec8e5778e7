"""``polyalign run`` (one grid cell, real models, resumable) and ``polyalign demo`` (the whole method on the
shipped sample data with a tiny offline model, on CPU, in minutes)."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

import polyalign_lf.options as opt
from polyalign_lf.errors import ConfigError
from polyalign_lf.pipeline.demo import SAMPLE_DATA, demo_config, write_demo_recipes

# --- shared ----------------------------------------------------------------------------------------


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--stages",
        default=None,
        help="comma-separated stages to run (default: all, in order); see --dry-run for the names",
    )
    parser.add_argument("--redo", default="", help="comma-separated stages to run again even if done")
    parser.add_argument(
        "--dry-run", action="store_true", help="print the plan (stages, exact commands, outputs) and exit"
    )
    parser.add_argument(
        "--verbose", "-v", action="store_true", help="stream every command's output (default: logs only)"
    )


def _split(text: str | None) -> list[str]:
    return [t.strip() for t in (text or "").split(",") if t.strip()]


def _execute(stages, cfg, args, *, env: dict[str, str], banner: str) -> Any:
    from polyalign_lf.pipeline.stages import StageRunner, select_stages

    chosen = select_stages(stages, _split(args.stages))
    redo = _split(args.redo)
    select_stages(stages, redo)  # validates the names
    runner = StageRunner(cfg.root, cfg.cell_dir / "pipeline", env=env, verbose=args.verbose)
    if args.dry_run:
        runner.describe(chosen)
        return runner
    runner.print(banner)
    runner.run(chosen, redo=redo)
    return runner


# --- polyalign run ---------------------------------------------------------------------------------


def run_arguments(parser: argparse.ArgumentParser) -> None:
    from polyalign_lf.pipeline.recipes import LANGUAGES, MODELS

    parser.add_argument(
        "--recipe-dir",
        default=None,
        type=Path,
        help="folder of one language's recipes, e.g. recipes/en (its name is the language); default: "
        "ROOT/recipes/LANG, where the cell's recipes are exported from the installed package when none are there "
        "yet (what `polyalign recipes export ROOT --lang LANG --model MODEL` writes; edited recipes are kept)",
    )
    parser.add_argument("--model", required=True, choices=sorted(MODELS), help="model of the grid cell")
    parser.add_argument(
        "--lang",
        default=None,
        choices=LANGUAGES,
        help="language of the cell (default: the recipe folder's name; required without --recipe-dir)",
    )
    parser.add_argument(
        "--root",
        type=Path,
        default=Path("."),
        help="directory the recipes' relative paths refer to (default: the current directory)",
    )
    parser.add_argument(
        "--prepared",
        type=Path,
        default=None,
        help="records already written by `polyalign prepare` (skips the prepare stage, "
        "which otherwise runs `polyalign prepare --all` and needs the Hub)",
    )
    parser.add_argument(
        "--nproc-per-node",
        type=opt.count,
        default=None,
        help="GPUs per node for training (sets LLaMA-Factory's NPROC_PER_NODE; FORCE_TORCHRUN=1 is always set "
        "because the recipes use DeepSpeed ZeRO-3)",
    )
    parser.add_argument(
        "--engine",
        choices=["hf", "vllm"],
        default=None,
        help="generation engine: hf (transformers; the default) or vllm, which starts one `vllm serve MODEL` per "
        "model and stage (reused by that model's candidates) and stops it afterwards (the practical choice for a "
        "real cell); see --vllm-url",
    )
    parser.add_argument(
        "--vllm-url",
        default=None,
        help="generate through a vLLM server you run at this URL (implies --engine vllm); it must serve each "
        "method's model under its path (--served-model-name), a server for another model is refused",
    )
    parser.add_argument(
        "--vllm-serve-cmd",
        default="vllm serve",
        help="--engine vllm: the command that starts a server, e.g. '/opt/vllm-env/bin/vllm serve'",
    )
    parser.add_argument(
        "--vllm-serve-args",
        default="",
        help="--engine vllm: extra `vllm serve` arguments, one string written with '=', e.g. "
        "--vllm-serve-args='--tensor-parallel-size 8'",
    )
    parser.add_argument(
        "--generate-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="extra argument for every `polyalign generate` call (e.g. --generate-arg=--engine=vllm); repeatable",
    )
    parser.add_argument(
        "--evaluate-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="extra argument for every `polyalign evaluate` call (e.g. --evaluate-arg=--mauve-featurizer=PATH); repeatable",
    )
    _add_common(parser)


def run_main(args: argparse.Namespace) -> int:
    from polyalign_lf.pipeline.plan import CellConfig, build_stages, engine_warning
    from polyalign_lf.pipeline.recipes import LANGUAGES, MODELS

    root = args.root.resolve()
    if args.recipe_dir is None:
        if not args.lang:
            raise ConfigError("pass --lang en|zh (or --recipe-dir DIR, a folder of one language's recipes)")
        from polyalign_lf.pipeline.recipes import ensure_cell_recipes

        recipe_dir, exported = ensure_cell_recipes(root, args.lang, args.model)
        if exported:
            print(
                f"recipes: exported {exported} file(s) for {args.model} · {args.lang} into {recipe_dir} "
                "(from the installed package; edit them there, later runs use them as they are)"
            )
    else:
        recipe_dir = args.recipe_dir if args.recipe_dir.is_absolute() else (Path.cwd() / args.recipe_dir)
    recipe_dir = recipe_dir.resolve()
    if not recipe_dir.is_dir():
        raise ConfigError(f"--recipe-dir {args.recipe_dir} is not a folder (expected e.g. recipes/en)")
    lang = args.lang or recipe_dir.name
    if lang not in LANGUAGES:
        raise ConfigError(f"cannot tell the language from {recipe_dir.name!r}; pass --lang en|zh")
    from polyalign_lf.pipeline.recipes import CELL_FILES

    missing = [m for m in CELL_FILES if not (recipe_dir / f"{args.model}_{m}.yaml").is_file()]
    if missing:
        raise ConfigError(f"{recipe_dir} lacks {', '.join(f'{args.model}_{m}.yaml' for m in missing)}")
    spec = MODELS[args.model]
    for warning in _check_recipe_outputs(recipe_dir, lang, args.model, spec.hub_id):
        print(f"polyalign run: warning: {warning}", file=sys.stderr)
    env = {"FORCE_TORCHRUN": "1"}
    if args.nproc_per_node:
        env["NPROC_PER_NODE"] = str(args.nproc_per_node)
    cfg = CellConfig(
        root=root,
        label=lang,
        languages=(lang,),
        model=args.model,
        base_model=spec.hub_id,
        template=spec.template,
        recipe_dir=recipe_dir,
        prepared=args.prepared.resolve() if args.prepared else None,
        generate_args=list(args.generate_arg),
        engine=run_engine(args),
        vllm_url=args.vllm_url,
        vllm_serve_cmd=args.vllm_serve_cmd,
        vllm_serve_args=args.vllm_serve_args,
        evaluate_args=list(args.evaluate_arg),
        train_env=env,
    )
    stages = build_stages(cfg)
    warning = engine_warning(cfg)
    if warning:
        print(warning)
    from polyalign_lf.pipeline.stages import select_stages

    chosen = {stage.name for stage in select_stages(stages, _split(args.stages))}  # unknown names refused first
    training = [m for m in ("sft", "bucket_sft", "dpo", "hdpo") if m in chosen]
    _check_machine(cfg, training, dry_run=args.dry_run)
    if training:
        _print_resource_plan(cfg, training, args.nproc_per_node)
    start = time.perf_counter()
    _execute(stages, cfg, args, env={}, banner=f"PolyAlign pipeline: {spec.display} · {lang} (root {root})")
    if not args.dry_run:
        print(f"\nfinished in {time.perf_counter() - start:.0f} s; report: {cfg.report_dir / 'report.md'}")
    return 0


def _print_resource_plan(cfg, methods: list[str], nproc: int | None) -> None:
    from polyalign_lf.integration.prompting import read_recipe
    from polyalign_lf.pipeline.resources import gpus_per_node, resource_plan

    recipes = {m: read_recipe(cfg.recipe(m)) for m in methods}
    lines = resource_plan(recipes, cfg.model, cfg.label, cfg.records("train"), gpus_per_node(nproc))
    print("\n".join(lines))


def _check_machine(cfg, methods: list[str], *, dry_run: bool) -> None:
    """What the recipes of the training stages to run need from this machine (`polyalign doctor --recipe`):
    DeepSpeed for a ZeRO recipe, bf16 support. A real run refuses before its first stage; a dry run shows the
    plan and says what would stop it."""
    from polyalign_lf.integration.doctor import recipe_checks

    checks = recipe_checks([cfg.recipe(m) for m in methods])
    for check in checks:
        if not check.ok and not check.fatal:
            print(f"polyalign run: warning: {check.name}: {check.detail}", file=sys.stderr)
    fatal = [c for c in checks if not c.ok and c.fatal]
    if not fatal:
        return
    text = "; ".join(f"{c.name}: {c.detail}" for c in fatal)
    if not dry_run:
        raise ConfigError(f"this machine cannot run the cell's recipes: {text}")
    print(f"polyalign run: this plan would stop before its first stage here: {text}", file=sys.stderr)


def run_engine(args: argparse.Namespace) -> str:
    """The cell's generation engine from --engine / --vllm-url (and the old --generate-arg=--engine=… spelling)."""
    if any(a == "--engine" or a.startswith("--engine=") for a in args.generate_arg):
        raise ConfigError("pass the generation engine as `polyalign run --engine hf|vllm`, not through --generate-arg")
    if args.vllm_url and args.engine == "hf":
        raise ConfigError("--vllm-url generates with vLLM, --engine hf with transformers: choose one")
    return "vllm" if args.vllm_url else (args.engine or "hf")


def _check_recipe_outputs(recipe_dir: Path, lang: str, model: str, base_model: str) -> list[str]:
    """The pipeline finds each stage's model where the grid puts it; a recipe edited to write elsewhere is
    reported here instead of failing hours later. Returns warnings: an SFT recipe that starts from another
    model than the cell's BaseLM (the report would compare methods that do not share a starting point)."""
    import yaml

    from polyalign_lf.pipeline.recipes import output_dir

    warnings = []
    for method in ("sft", "bucket_sft", "dpo", "hdpo"):
        path = recipe_dir / f"{model}_{method}.yaml"
        try:
            recipe = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML ({exc})") from None
        expected = output_dir(lang, model, method)
        if str(recipe.get("output_dir", "")).rstrip("/") != expected:
            raise ConfigError(
                f"{path}: output_dir is {recipe.get('output_dir')!r}; the pipeline expects {expected!r} "
                "(later stages start from it)"
            )
        start = str(recipe.get("model_name_or_path", ""))
        if method in ("sft", "bucket_sft") and start.rstrip("/") != base_model:
            warnings.append(
                f"{path.name} trains from {start!r}, but this cell's BaseLM (evaluated as the baseline) is "
                f"{base_model!r}: the report would compare methods with different starting points; restore "
                f"model_name_or_path: {base_model}, or add a model to the grid for the new one"
            )
    return warnings


# --- polyalign demo --------------------------------------------------------------------------------


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
    _add_common(parser)


# CPU-sized overrides applied to the grid's recipes (everything else, e.g. β, λ_hd, the schedule and the
# datasets' columns, is exactly what the committed recipes use). The learning rates are raised because a
# randomly initialised tiny model must move visibly in a few dozen steps.


def demo_main(args: argparse.Namespace) -> int:
    from polyalign_lf.pipeline.plan import build_stages
    from polyalign_lf.pipeline.stages import Stage

    # `polyalign demo` without --data is the one-seed study (polyalign_lf.study.cli.demo_main); called as a
    # library function without data, this runs the shipped sample
    data = SAMPLE_DATA if args.data is None or str(args.data) == "sample" else args.data
    languages = tuple(_split(args.languages))
    bad = [lang for lang in languages if lang not in ("en", "zh")]
    if not languages or bad:
        raise ConfigError(f"--lang must list en and/or zh, got {args.languages!r}")
    if not data.is_file():
        raise ConfigError(f"sample data not found: {data}")
    cfg, model_path = demo_config(args.out, data, languages)
    cfg.generate_args = ["--max-new-tokens", str(args.max_new_tokens or 32), "--batch-size", "64", "--device", "cpu"]
    cfg.num_candidates = args.num_candidates
    model_dir = cfg.root / model_path

    def make_model() -> None:
        from polyalign_lf.core.tiny_models import build_tiny_causal_lm

        build_tiny_causal_lm(model_dir)
        write_demo_recipes(cfg, model_path, max_steps=args.max_steps)

    setup = Stage(
        "setup",
        "tiny offline model (random Qwen2 + bilingual tokenizer) and the demo recipes",
        [],
        [model_dir / "config.json", cfg.recipe("hdpo")],
        action=make_model,
        action_label=f"build_tiny_causal_lm({model_path}); recipes → {cfg.recipe_dir.relative_to(cfg.root)}/",
    )
    stages = [setup, *build_stages(cfg)]
    env = {
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "WANDB_DISABLED": "true",
        "TOKENIZERS_PARALLELISM": "false",
        "DISABLE_VERSION_CHECK": "1",
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"),  # a 0.1M-parameter model gains nothing from threads
    }
    start = time.perf_counter()
    runner = _execute(
        stages,
        cfg,
        args,
        env=env,
        banner=f"PolyAlign demo: {len(languages)} language(s), tiny model, CPU — output in {cfg.root}",
    )
    if args.dry_run:
        return 0
    elapsed = time.perf_counter() - start
    report = cfg.report_dir / "report.md"
    ran = [name for name, status in runner.status.items() if status == "ran"]
    runner.print(
        f"\ndemo finished in {elapsed:.0f} s ({elapsed / 60:.1f} min; CPU {sum(runner.cpu.values()):.0f} s); "
        f"stages run: {len(ran)}, skipped (already done): {len(runner.status) - len(ran)}."
    )
    if report.exists():
        runner.print(f"report: {report}")
        html = cfg.report_dir / "report.html"
        if html.exists():
            runner.print(f"        {html}")
    else:
        runner.print(f"no report yet (the report stage has not run); rerun without --stages to finish: {report}")
    return 0


# --- polyalign recipes export ----------------------------------------------------------------------


def recipes_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="recipes_command", required=True)
    export = sub.add_parser(
        "export", help="write the grid's recipes, the ZeRO-3 config and the dataset_info.json entries into DIR"
    )
    export.add_argument(
        "dir", metavar="DIR", type=Path, help="folder to write recipes/ and data_registry/ into (e.g. .)"
    )
    export.add_argument("--lang", default="en,zh", help="languages to export, comma-separated (default en,zh)")
    export.add_argument(
        "--model", default=None, help="models to export, comma-separated (default: the four of the grid)"
    )
    export.add_argument("--overwrite", action="store_true", help="replace recipe files that exist with other content")


def recipes_main(args: argparse.Namespace) -> int:
    from polyalign_lf.pipeline.recipes import export_recipes

    result = export_recipes(
        args.dir, languages=_split(args.lang), models=_split(args.model) or None, overwrite=args.overwrite
    )
    print(
        f"recipes export: {len(result['written']) - 1} file(s) written, {len(result['unchanged'])} already up to date, "
        f"dataset_info.json entries merged into {args.dir / 'data_registry' / 'dataset_info.json'}"
    )
    print(
        f"train one with: cd {args.dir} && FORCE_TORCHRUN=1 llamafactory-cli train recipes/en/gemma2_2b_hdpo.yaml "
        "(after building its data: README, First steps)"
    )
    return 0
