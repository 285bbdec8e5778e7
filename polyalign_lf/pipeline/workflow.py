"""``polyalign run`` as a library call: :func:`run_cell` runs one grid cell (model × language), resumable."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path

import polyalign_lf.options as opt
from polyalign_lf.errors import ConfigError
from polyalign_lf.options import option
from polyalign_lf.pipeline.recipes import LANGUAGES
from polyalign_lf.pipeline.stages import StageOptions, comma_names, run_stages


def _grid_models() -> tuple[str, ...]:
    from polyalign_lf.pipeline.recipes import MODELS

    return tuple(sorted(MODELS))


@dataclass(kw_only=True)
class RunJob(StageOptions):
    """`polyalign run`'s options: one grid cell (model × language) and how its stages run."""

    recipe_dir: Path | None = option(
        None,
        type=Path,
        help="folder of one language's recipes, e.g. recipes/en (its name is the language); default: "
        "ROOT/recipes/LANG, where the cell's recipes are exported from the installed package when none are there "
        "yet (what `polyalign recipes export ROOT --lang LANG --grid-model MODEL` writes; edited recipes are kept)",
    )
    model: str = option(
        flag="--grid-model", deprecated=("--model",), choices=_grid_models, help="model of the grid cell"
    )
    lang: str | None = option(
        None,
        choices=LANGUAGES,
        help="language of the cell (default: the recipe folder's name; required without --recipe-dir)",
    )
    root: Path = option(
        Path("."), type=Path, help="directory the recipes' relative paths refer to (default: the current directory)"
    )
    prepared: Path | None = option(
        None,
        type=Path,
        help="records already written by `polyalign prepare` (skips the prepare stage, "
        "which otherwise runs `polyalign prepare --all` and needs the Hub)",
    )
    nproc_per_node: int | None = option(
        None,
        type=opt.count,
        help="GPUs per node for training (sets LLaMA-Factory's NPROC_PER_NODE; FORCE_TORCHRUN=1 is always set "
        "because the recipes use DeepSpeed ZeRO-3)",
    )
    engine: str | None = option(
        None,
        choices=("hf", "vllm"),
        help="generation engine: hf (transformers; the default) or vllm, which starts one `vllm serve MODEL` per "
        "model and stage (reused by that model's candidates) and stops it afterwards (the practical choice for a "
        "real cell); see --vllm-url",
    )
    vllm_url: str | None = option(
        None,
        help="generate through a vLLM server you run at this URL (implies --engine vllm); it must serve each "
        "method's model under its path (--served-model-name), a server for another model is refused",
    )
    vllm_serve_cmd: str = option(
        "vllm serve", help="--engine vllm: the command that starts a server, e.g. '/opt/vllm-env/bin/vllm serve'"
    )
    vllm_serve_args: str = option(
        "",
        help="--engine vllm: extra `vllm serve` arguments, one string written with '=', e.g. "
        "--vllm-serve-args='--tensor-parallel-size 8'",
    )
    generate_arg: list[str] = option(
        default_factory=list,
        metavar="ARG",
        help="extra argument for every `polyalign generate` call (e.g. --generate-arg=--engine=vllm); repeatable",
    )
    evaluate_arg: list[str] = option(
        default_factory=list,
        metavar="ARG",
        help="extra argument for every `polyalign evaluate` call (e.g. --evaluate-arg=--encoder=PATH); repeatable",
    )


def run_cell(args: RunJob) -> int:
    """Run the cell the options name (see ``polyalign run --help``): recipes checked and exported, the
    machine checked against them, the resource plan printed, then the stages."""
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
        engine=_run_engine(args),
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

    chosen = {stage.name for stage in select_stages(stages, comma_names(args.stages))}  # unknown names refused first
    training = [m for m in ("sft", "bucket_sft", "dpo", "hdpo") if m in chosen]
    _check_machine(cfg, training, dry_run=args.dry_run)
    if training:
        _print_resource_plan(cfg, training, args.nproc_per_node)
    start = time.perf_counter()
    run_stages(
        stages,
        cfg.root,
        cfg.cell_dir / "pipeline",
        args,
        env={},
        banner=f"PolyAlign pipeline: {spec.display} · {lang} (root {root})",
    )
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


def _run_engine(args: RunJob) -> str:
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
