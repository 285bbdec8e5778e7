"""The paper's training grid as data: one function builds every recipe of ``recipes/``.

The YAML files under ``recipes/{en,zh}/`` are the committed output of :func:`export_recipes`
(``python -m polyalign_lf.pipeline.recipes``, run from the repository root); a test checks that they are identical to what this
module builds, so the grid cannot drift cell by cell. The demo builds its CPU recipes from the same
function (:func:`build_recipe` plus overrides), so what the demo runs is what the paper's grid runs.

Grid (paper §4.1, Appendix C): 4 models × 2 languages × (Full-SFT, Bucket-SFT, DPO, HDPO critic, HDPO policy).

* Full-SFT and Bucket-SFT start from the base model; Bucket-SFT adds ``bucket_weighting: true`` (Eq. 1).
  Both train on the last answer only (``mask_history: true``). They still differ in two ways: the weights
  N/(|B| n_b), and the normalization (LLaMA-Factory's SFT averages over all response tokens of the step,
  Bucket-SFT averages per-example token means). ``bucket_weighting: uniform`` keeps the second and drops the
  first, so (uniform vs true) isolates the weights and (sft vs uniform) the normalization.
* DPO starts from the cell's Full-SFT output, HDPO from the cell's Bucket-SFT output (the paper initialises
  both preference stages from "the corresponding supervised checkpoint"; PolyAlign's chain is
  Bucket-SFT → critic → HDPO).
* Hyper-parameters (taken from the reference implementation's configs; the paper states none): SFT lr 1e-5,
  DPO/HDPO lr 5e-7, β (``pref_beta``) 0.1 with sigmoid loss, λ_hd (``hdpo_lambda``) 0.1, one epoch, cosine
  schedule, warm-up ratio 0.1. Per-device batch 1 × gradient accumulation 8 on 8 GPUs = 64 examples per optimizer step, which reproduces the paper's step counts
  (584,422 English SFT examples / 64 = 9,132 steps, Table 7).
* All paths are relative to the repository root (run ``llamafactory-cli train recipes/...`` from there):
  ``dataset_dir: data_registry``, outputs under ``saves/{lang}/{model}/{method}``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from polyalign_lf.errors import ConfigError, InputError
from polyalign_lf.io import atomic_write, check_output_file
from polyalign_lf.options import option

LANGUAGES: tuple[str, ...] = ("en", "zh")
METHODS: tuple[str, ...] = ("sft", "bucket_sft", "dpo", "hdpo")
TRAINING_METHODS = METHODS  # methods trained with `llamafactory-cli train`
DEEPSPEED_Z3 = "recipes/deepspeed/ds_z3_config.json"
DATASET_DIR = "data_registry"
SAVES_DIR = "saves"


@dataclass(frozen=True)
class ModelSpec:
    key: str  # recipe file prefix, e.g. "qwen25_1_5b"
    display: str  # the paper's name
    hub_id: str  # Hugging Face Hub id of the base (not instruct) model used in the paper
    template: str  # LLaMA-Factory chat template (the one LLaMA-Factory's model group assigns)
    cutoff_len: int  # max tokens per example, from the reference runs (Qwen/Gemma 3072, Llama 4096)


MODELS: dict[str, ModelSpec] = {
    "qwen25_1_5b": ModelSpec("qwen25_1_5b", "Qwen2.5-1.5B", "Qwen/Qwen2.5-1.5B", "qwen", 3072),
    "gemma2_2b": ModelSpec("gemma2_2b", "Gemma-2-2B", "google/gemma-2-2b", "gemma", 3072),
    "qwen25_3b": ModelSpec("qwen25_3b", "Qwen2.5-3B", "Qwen/Qwen2.5-3B", "qwen", 3072),
    "llama32_3b": ModelSpec("llama32_3b", "Llama-3.2-3B", "meta-llama/Llama-3.2-3B", "llama3", 4096),
}

METHOD_TITLES = {
    "sft": "Full-SFT",
    "bucket_sft": "Bucket-SFT (Eq. 1, bucket_weighting)",
    "dpo": "DPO (from this cell's Full-SFT)",
    "hdpo": "HDPO policy (Eqs. 6-10, from this cell's Bucket-SFT, critic-scored pairs)",
}

# Paper / reference-run hyper-parameters (paper Appendix C).
SFT_LEARNING_RATE = 1.0e-5
PREF_LEARNING_RATE = 5.0e-7
PREF_BETA = 0.1
HDPO_LAMBDA = 0.1


def output_dir(lang: str, model: str, method: str) -> str:
    """Where a cell's method writes its model (``critic`` included): ``saves/{lang}/{model}/{method}``."""
    return f"{SAVES_DIR}/{lang}/{model}/{method}"


def sft_dataset(lang: str, split: str) -> str:
    return f"polyalign_{lang}_{split}"


def pref_dataset(lang: str, kind: str, model: str) -> str:
    """``polyalign_{lang}_dpo_{model}`` or ``polyalign_{lang}_hdpo_{model}``: the name `polyalign pairs` writes."""
    from polyalign_lf.pairs.dataset_info import dataset_name

    return dataset_name(kind, lang, model)


def init_model(lang: str, model: str, method: str) -> str:
    """The model a method starts from: the Hub base model for SFT stages, the cell's SFT output otherwise."""
    if method in ("sft", "bucket_sft"):
        return MODELS[model].hub_id
    if method == "dpo":
        return output_dir(lang, model, "sft")
    if method == "hdpo":
        return output_dir(lang, model, "bucket_sft")
    raise ValueError(f"unknown method {method!r}; expected one of {', '.join(METHODS)}")


def build_recipe(lang: str, model: str, method: str) -> dict[str, Any]:
    """The LLaMA-Factory recipe (as an ordered dict) of one grid cell and training method."""
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}; expected one of {', '.join(LANGUAGES)}")
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r}; expected one of {', '.join(MODELS)}")
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; expected one of {', '.join(METHODS)}")
    spec = MODELS[model]
    preference = method in ("dpo", "hdpo")
    recipe: dict[str, Any] = {
        # model
        "model_name_or_path": init_model(lang, model, method),
        "trust_remote_code": True,
        # method
        "stage": {"sft": "sft", "bucket_sft": "sft", "dpo": "dpo", "hdpo": "hdpo"}[method],
        "do_train": True,
        "finetuning_type": "full",
        "deepspeed": DEEPSPEED_Z3,
    }
    if method == "bucket_sft":
        recipe["bucket_weighting"] = True
    if method in ("bucket_sft", "hdpo"):
        # Draw examples ∝ weight instead of weighting the loss: gradient clipping scales a whole step down,
        # so a step holding one heavily weighted rare example loses most of that example's mass, while drawn
        # examples enter unweighted and every bucket keeps its share after clipping
        # (benchmarks/bench_bucket_mass.py). Weighting the loss (Eq. 1 literally) stays one key away.
        recipe["bucket_sampling"] = True
    if preference:
        recipe["pref_beta"] = PREF_BETA
        recipe["pref_loss"] = "sigmoid"
    if method == "hdpo":
        recipe["hdpo_lambda"] = HDPO_LAMBDA
        recipe["hdpo_critic"] = output_dir(lang, model, "critic")
    # data
    recipe["dataset_dir"] = DATASET_DIR
    recipe["dataset"] = pref_dataset(lang, method, model) if preference else sft_dataset(lang, "train")
    if not preference:
        # Preference stages are evaluated by `polyalign evaluate` on the test split, like every method.
        recipe["eval_dataset"] = sft_dataset(lang, "val")
        # ℓ_i is the loss of the answer whose bucket the row carries (its last turn); LLaMA-Factory's default
        # would also train every earlier assistant turn of a multi-turn row, which repeats across rows.
        recipe["mask_history"] = True
    recipe.update(
        {
            "template": spec.template,
            "cutoff_len": spec.cutoff_len,
            "preprocessing_num_workers": 16,
            "dataloader_num_workers": 4,
            # output
            "output_dir": output_dir(lang, model, method),
            "logging_steps": 10,
            "save_strategy": "steps",
            "save_steps": 1000,
            "save_total_limit": 1,  # keeps the latest checkpoint only: an interrupted run resumes from it
            "plot_loss": True,
            "report_to": "none",
            # train
            "per_device_train_batch_size": 1,
            "gradient_accumulation_steps": 8,
            "learning_rate": PREF_LEARNING_RATE if preference else SFT_LEARNING_RATE,
            "num_train_epochs": 1.0,
            "lr_scheduler_type": "cosine",
            "warmup_ratio": 0.1,
            # HF's default, written out: what clipping does to the bucket mass depends on it (ZeRO-3's
            # `gradient_clipping: auto` resolves to it)
            "max_grad_norm": 1.0,
            "bf16": True,
            "ddp_timeout": 180000000,
        }
    )
    if not preference:
        recipe.update({"per_device_eval_batch_size": 1, "eval_strategy": "steps", "eval_steps": 1000})
    return recipe


# --- the pipeline's file layout (relative to the pipeline root), shared by recipes and `polyalign run` ---


def records_path(label: str, split: str) -> str:
    """Deduplicated records of one language (``label``) and split, collected from every dataset."""
    return f"data/{label}/records_{split}.jsonl"


def human_features_path(label: str) -> str:
    return f"data/{label}/features_human.npz"


def references_path(label: str) -> str:
    return f"data/{label}/references.json"


def cell_path(label: str, model: str) -> str:
    return f"{SAVES_DIR}/{label}/{model}"


def predictions_path(label: str, model: str, method: str, split: str) -> str:
    return f"{cell_path(label, model)}/predictions/{method}_{split}.jsonl"


def output_features_path(label: str, model: str, method: str, split: str) -> str:
    return f"{cell_path(label, model)}/features/{method}_{split}.npz"


def build_critic_recipe(lang: str, model: str) -> dict[str, Any]:
    """Config for ``polyalign critic train --config``: the HDPO critic of one grid cell.

    Keys are ``polyalign critic train``'s option names. The critic learns D_b (Eq. 4) with Theorem 4's
    loss (L1 regression + margin ranking, κ 0.1, λ_reg = λ_rank = 1) from human answers *and* this cell's
    Bucket-SFT outputs on the training prompts, so its regression targets vary (the reference trained on
    human answers only and collapsed to a constant).
    """
    if lang not in LANGUAGES or model not in MODELS:
        raise ValueError(f"unknown cell {lang}/{model}")
    return critic_config(lang, model)


def critic_config(lang: str, model: str) -> dict[str, Any]:
    """The critic config of any cell label (``build_critic_recipe`` validates the grid's cells)."""
    return {
        "type": "mlp",
        "references": references_path(lang),
        "features": [human_features_path(lang), output_features_path(lang, model, "bucket_sft", "train")],
        "split": "train",
        "out": output_dir(lang, model, "critic"),
        "heldout_fraction": 0.1,
        "epochs": 8,
        "batch_size": 1024,
        "learning_rate": 3.0e-3,
        "kappa": 0.1,
        "lambda_reg": 1.0,
        "lambda_rank": 1.0,
        "seed": 42,
    }


def recipe_filename(lang: str, model: str, method: str) -> str:
    return f"recipes/{lang}/{model}_{method}.yaml"


def _header(lang: str, model: str, method: str) -> str:
    spec = MODELS[model]
    lang_name = {"en": "English", "zh": "Chinese"}[lang]
    if method == "critic":
        title = "HDPO critic (Theorem 4 loss), for `polyalign critic train --config`"
        run = f"polyalign critic train --config {recipe_filename(lang, model, method)}"
    else:
        title = METHOD_TITLES[method]
        # the recipes use DeepSpeed ZeRO-3, which LLaMA-Factory runs only under torchrun, even on one GPU
        run = f"FORCE_TORCHRUN=1 llamafactory-cli train {recipe_filename(lang, model, method)}"
    lines = [
        f"# PolyAlign grid: {spec.display} · {lang_name} · {title}",
        "# Generated by `python -m polyalign_lf.pipeline.recipes` — edit polyalign_lf/pipeline/recipes.py, not this file.",
        f"# Run from the repository root:  {run}",
    ]
    if method != "critic":
        lines.append("# FORCE_TORCHRUN=1: DeepSpeed ZeRO-3 needs torchrun even on one GPU; see docs/recipes.md.")
    return "\n".join(lines) + "\n"


def dump_recipe(recipe: dict[str, Any]) -> str:
    import yaml

    return yaml.safe_dump(recipe, sort_keys=False, allow_unicode=True, default_flow_style=False)


def recipe_text(lang: str, model: str, method: str) -> str:
    """The exact text of a committed recipe file."""
    recipe = build_critic_recipe(lang, model) if method == "critic" else build_recipe(lang, model, method)
    return _header(lang, model, method) + dump_recipe(recipe)


DEEPSPEED_Z3_CONFIG: dict[str, Any] = {
    # LLaMA-Factory's upstream examples/deepspeed/ds_z3_config.json, unchanged ("auto" values are filled in
    # from the recipe by the HF Trainer).
    "train_batch_size": "auto",
    "train_micro_batch_size_per_gpu": "auto",
    "gradient_accumulation_steps": "auto",
    "gradient_clipping": "auto",
    "zero_allow_untested_optimizer": True,
    "fp16": {
        "enabled": "auto",
        "loss_scale": 0,
        "loss_scale_window": 1000,
        "initial_scale_power": 16,
        "hysteresis": 2,
        "min_loss_scale": 1,
    },
    "bf16": {"enabled": "auto"},
    "zero_optimization": {
        "stage": 3,
        "overlap_comm": False,
        "contiguous_gradients": True,
        "sub_group_size": 1e9,
        "reduce_bucket_size": "auto",
        "stage3_prefetch_bucket_size": "auto",
        "stage3_param_persistence_threshold": "auto",
        "stage3_max_live_parameters": 1e9,
        "stage3_max_reuse_distance": 1e9,
        "stage3_gather_16bit_weights_on_model_save": True,
    },
}


def all_recipe_files() -> dict[str, str]:
    """Relative path → text for every committed recipe file (32 training + 8 critic + the ZeRO-3 config)."""

    files: dict[str, str] = {}
    for lang in LANGUAGES:
        for model in MODELS:
            for method in (*METHODS, "critic"):
                files[recipe_filename(lang, model, method)] = recipe_text(lang, model, method)
    files[DEEPSPEED_Z3] = json.dumps(DEEPSPEED_Z3_CONFIG, indent=2) + "\n"
    return files


# --- data_registry/dataset_info.json: the entries the grid's recipes name ------------------------------


def registry_entries() -> dict[str, dict[str, Any]]:
    """Every ``dataset_info.json`` entry the 32 recipes use, exactly as ``polyalign export`` and
    ``polyalign pairs`` write them (those commands produce the files and re-merge these entries)."""
    from polyalign_lf.data.export import dataset_info_entry, entry_name
    from polyalign_lf.pairs.dataset_info import DPO_COLUMNS, HDPO_COLUMNS

    entries: dict[str, dict[str, Any]] = {}
    for lang in LANGUAGES:
        for split in ("train", "val", "test"):
            entries[entry_name(lang, split)] = dataset_info_entry(f"{entry_name(lang, split)}.jsonl")
    for lang in LANGUAGES:
        for kind, columns in (("dpo", DPO_COLUMNS), ("hdpo", HDPO_COLUMNS)):
            for model in MODELS:
                name = pref_dataset(lang, kind, model)
                entries[name] = {
                    "file_name": f"{name}.json",
                    "formatting": "alpaca",
                    "ranking": True,
                    "columns": dict(columns),
                }
    return entries


@dataclass(kw_only=True)
class RecipesExportJob:
    """`polyalign recipes export`'s options."""

    dir: Path = option(
        flag="positional", metavar="DIR", type=Path, help="folder to write recipes/ and data_registry/ into (e.g. .)"
    )
    lang: str = option("en,zh", help="languages to export, comma-separated (default en,zh)")
    model: str | None = option(
        None,
        flag="--grid-model",
        deprecated=("--model",),
        help="grid models to export, comma-separated (default: the four of the grid)",
    )
    overwrite: bool = option(False, help="replace recipe files that exist with other content")


def export_recipes(
    root: str | os.PathLike,
    *,
    languages: Sequence[str] = LANGUAGES,
    models: Sequence[str] | None = None,
    overwrite: bool = False,
) -> dict[str, list[Path]]:
    """Write the grid's recipes for ``languages`` × ``models`` (all by default), the ZeRO-3 config and the
    matching ``data_registry/dataset_info.json`` entries under ``root`` — byte for byte the repository's files,
    from the installed package, so a pip user can start from them.

    A file that exists with other content is refused unless ``overwrite`` (an identical one is left as it
    is); ``dataset_info.json`` is merged, keeping the user's own entries. Returns ``{"written", "unchanged"}``.
    """

    root = Path(root)
    models = list(models or MODELS)
    unknown = [m for m in models if m not in MODELS] + [lang for lang in languages if lang not in LANGUAGES]
    if unknown:
        raise ConfigError(
            f"unknown model/language {', '.join(unknown)}; models: {', '.join(MODELS)}; "
            f"languages: {', '.join(LANGUAGES)}"
        )
    wanted = {
        recipe_filename(lang, model, method)
        for lang in languages
        for model in models
        for method in (*METHODS, "critic")
    } | {DEEPSPEED_Z3}
    files = {rel: text for rel, text in all_recipe_files().items() if rel in wanted}
    result: dict[str, list[Path]] = {"written": [], "unchanged": []}
    conflicts = []
    for rel, text in files.items():
        path = check_output_file(root / rel)
        if path.is_file() and path.read_text(encoding="utf-8") != text and not overwrite:
            conflicts.append(str(path))
    if conflicts:
        raise InputError(
            f"{len(conflicts)} recipe file(s) exist with other content, e.g. {conflicts[0]}",
            where=str(root),
            hint="pass --overwrite to replace them, or export into another folder",
        )
    for rel, text in files.items():
        path = root / rel
        if path.is_file() and path.read_text(encoding="utf-8") == text:
            result["unchanged"].append(path)
            continue
        with atomic_write(path) as handle:
            handle.write(text)
        result["written"].append(path)
    from polyalign_lf.data.export import entry_name, merge_dataset_info

    names = {entry_name(lang, split) for lang in languages for split in ("train", "val", "test")}
    names |= {pref_dataset(lang, kind, model) for lang in languages for kind in ("dpo", "hdpo") for model in models}
    merge_dataset_info(
        root / DATASET_DIR / "dataset_info.json",
        {name: entry for name, entry in registry_entries().items() if name in names},
    )
    result["written"].append(root / DATASET_DIR / "dataset_info.json")
    return result


CELL_FILES = ("sft", "bucket_sft", "dpo", "hdpo", "critic")


def ensure_cell_recipes(root: Path, lang: str, model: str) -> tuple[Path, int]:
    """``root/recipes/lang`` with the cell's recipes: exported from the installed package when none of them is
    there yet (also under --dry-run, so the plan shows the files that will run); used as they are when all are
    there (a user's edits win); a partial set is refused rather than guessed at. Returns the folder and how
    many recipe files were exported (0 when they were all there)."""
    recipe_dir = root / "recipes" / lang
    present = [m for m in CELL_FILES if (recipe_dir / f"{model}_{m}.yaml").is_file()]
    if len(present) == len(CELL_FILES) and (root / DEEPSPEED_Z3).is_file():
        return recipe_dir, 0
    if present:
        missing = [f"{model}_{m}.yaml" for m in CELL_FILES if m not in present]
        raise ConfigError(
            f"{recipe_dir} has some of this cell's recipes but lacks {', '.join(missing) or DEEPSPEED_Z3}; "
            f"write them with `polyalign recipes export {root} --lang {lang} --grid-model {model}` (it keeps identical "
            "files and refuses to replace edited ones without --overwrite), or pass --recipe-dir"
        )
    result = export_recipes(root, languages=[lang], models=[model])
    return recipe_dir, len(result["written"]) - 1  # dataset_info.json is merged, not a recipe


def _main(argv: list[str] | None = None) -> int:
    """Maintainers' entry point: rewrite the repository's recipes/ and data_registry/ (= `polyalign recipes export .`)."""

    parser = argparse.ArgumentParser(
        prog="python -m polyalign_lf.pipeline.recipes",
        description="Rewrite the recipe grid (recipes/) and data_registry/dataset_info.json of the repository.",
    )
    parser.add_argument("root", nargs="?", default=".", help="the repository root (or its recipes/ folder); default .")
    args = parser.parse_args(argv)
    root_path = Path(args.root)
    if root_path.name == "recipes":  # accept both the repository root and its recipes/ folder
        root_path = root_path.parent
    if not root_path.is_dir():
        parser.error(f"{root_path} is not a folder")
    for path in export_recipes(root_path, overwrite=True)["written"]:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(_main())
