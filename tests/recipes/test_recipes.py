"""The paper's grid of recipes: complete, consistent, committed as generated, and accepted by LLaMA-Factory's
real argument parser with the polyalign-lf plugin active."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from polyalign_lf.pipeline import recipes as R

REPO = Path(__file__).resolve().parents[2]
TRAINING = [(lang, model, method) for lang in R.LANGUAGES for model in R.MODELS for method in R.METHODS]
CELLS = [(lang, model) for lang in R.LANGUAGES for model in R.MODELS]


def load(rel: str) -> dict:
    return yaml.safe_load((REPO / rel).read_text(encoding="utf-8"))


def test_grid_is_complete():
    assert len(TRAINING) == 32 and len(CELLS) == 8
    names = {p.relative_to(REPO).as_posix() for p in (REPO / "recipes").rglob("*.yaml")}
    expected = {R.recipe_filename(*t) for t in TRAINING} | {
        R.recipe_filename(lang, model, "critic") for lang, model in CELLS
    }
    assert names == expected, (sorted(expected - names), sorted(names - expected))
    ds = json.loads((REPO / R.DEEPSPEED_Z3).read_text())
    assert ds["zero_optimization"]["stage"] == 3


def test_committed_files_are_the_generators_output():
    """Nobody hand-edits one cell: every file equals what polyalign_lf.pipeline.recipes builds."""
    stale = [rel for rel, text in R.all_recipe_files().items() if (REPO / rel).read_text(encoding="utf-8") != text]
    assert not stale, f"regenerate with `polyalign recipes export .`: {stale}"


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_recipes_export_writes_the_repositorys_files(tmp_path, capsys):
    """A pip user gets, from the installed package, exactly the repository's recipes and registry entries."""
    from polyalign_lf.cli import main

    assert main(["recipes", "export", str(tmp_path / "proj")]) == 0
    exported = _tree(tmp_path / "proj")
    repo = _tree(REPO / "recipes")
    assert {rel.removeprefix("recipes/"): data for rel, data in exported.items() if rel.startswith("recipes/")} == repo
    assert exported["data_registry/dataset_info.json"] == (REPO / "data_registry" / "dataset_info.json").read_bytes()
    # again: nothing to write; a changed file is refused without --overwrite and restored with it
    assert main(["recipes", "export", str(tmp_path / "proj")]) == 0
    assert "0 file(s) written, 41 already up to date" in capsys.readouterr().out
    edited = tmp_path / "proj" / R.recipe_filename("en", "gemma2_2b", "hdpo")
    edited.write_text("stage: hdpo\n", encoding="utf-8")
    assert main(["recipes", "export", str(tmp_path / "proj")]) == 2
    assert "--overwrite" in capsys.readouterr().err and edited.read_text() == "stage: hdpo\n"
    assert main(["recipes", "export", str(tmp_path / "proj"), "--overwrite"]) == 0
    assert edited.read_bytes() == (REPO / R.recipe_filename("en", "gemma2_2b", "hdpo")).read_bytes()


def test_recipes_export_one_cell_keeps_the_users_registry_entries(tmp_path):
    from polyalign_lf.pipeline.recipes import export_recipes

    registry = tmp_path / "data_registry" / "dataset_info.json"
    registry.parent.mkdir()
    registry.write_text(json.dumps({"my_data": {"file_name": "mine.jsonl"}}), encoding="utf-8")
    export_recipes(tmp_path, languages=["zh"], models=["qwen25_1_5b"])
    names = sorted(p.relative_to(tmp_path).as_posix() for p in (tmp_path / "recipes").rglob("*.yaml"))
    assert names == sorted(R.recipe_filename("zh", "qwen25_1_5b", m) for m in (*R.METHODS, "critic"))
    info = json.loads(registry.read_text(encoding="utf-8"))
    assert info["my_data"] == {"file_name": "mine.jsonl"}
    assert {"polyalign_zh_train", "polyalign_zh_hdpo_qwen25_1_5b"} <= set(info) and "polyalign_en_train" not in info


def test_hyperparameters_and_chain():
    templates = {"qwen25_1_5b": "qwen", "qwen25_3b": "qwen", "gemma2_2b": "gemma", "llama32_3b": "llama3"}
    hub = {
        "qwen25_1_5b": "Qwen/Qwen2.5-1.5B",
        "qwen25_3b": "Qwen/Qwen2.5-3B",
        "gemma2_2b": "google/gemma-2-2b",
        "llama32_3b": "meta-llama/Llama-3.2-3B",
    }
    outputs = set()
    for lang, model, method in TRAINING:
        r = load(R.recipe_filename(lang, model, method))
        where = R.recipe_filename(lang, model, method)
        assert r["template"] == templates[model], where
        assert r["num_train_epochs"] == 1.0 and r["lr_scheduler_type"] == "cosine" and r["warmup_ratio"] == 0.1, where
        assert r["finetuning_type"] == "full" and r["dataset_dir"] == "data_registry", where
        assert r["deepspeed"] == "recipes/deepspeed/ds_z3_config.json", where
        assert r["output_dir"] == f"saves/{lang}/{model}/{method}", where
        outputs.add(r["output_dir"])
        # 8 GPUs × 1 × 8 = 64 examples per step, the paper's step counts (Table 7)
        assert r["per_device_train_batch_size"] * r["gradient_accumulation_steps"] == 8, where
        if method in ("sft", "bucket_sft"):
            assert r["stage"] == "sft" and r["learning_rate"] == 1e-5, where
            assert r["model_name_or_path"] == hub[model], where
            assert r["dataset"] == f"polyalign_{lang}_train" and r["eval_dataset"] == f"polyalign_{lang}_val", where
            assert r.get("bucket_weighting", False) is (method == "bucket_sft"), where
            assert r["mask_history"] is True, where  # ℓ_i is the loss of the row's last (bucketed) answer
        else:
            assert r["learning_rate"] == 5e-7 and r["pref_beta"] == 0.1 and r["pref_loss"] == "sigmoid", where
            assert r["dataset"] == f"polyalign_{lang}_{method}_{model}", where
            assert "bucket_weighting" not in r, where
        if method == "dpo":
            assert r["stage"] == "dpo" and r["model_name_or_path"] == f"saves/{lang}/{model}/sft", where
            assert not any(k.startswith("hdpo_") for k in r), where
        if method == "hdpo":
            assert r["stage"] == "hdpo" and r["hdpo_lambda"] == 0.1, where
            assert r["model_name_or_path"] == f"saves/{lang}/{model}/bucket_sft", where
            critic = load(R.recipe_filename(lang, model, "critic"))
            assert r["hdpo_critic"] == critic["out"] == f"saves/{lang}/{model}/critic", where
    assert len(outputs) == 32


def test_paths_are_relative():
    for path in (REPO / "recipes").rglob("*.yaml"):

        def walk(value):
            if isinstance(value, dict):
                for v in value.values():
                    yield from walk(v)
            elif isinstance(value, list):
                for v in value:
                    yield from walk(v)
            elif isinstance(value, str):
                yield value

        for text in walk(yaml.safe_load(path.read_text(encoding="utf-8"))):
            assert not text.startswith(("/", "~")) and ".." not in text.split("/"), f"{path}: {text}"


def test_datasets_are_registered():
    info = json.loads((REPO / "data_registry" / "dataset_info.json").read_text(encoding="utf-8"))
    for name, entry in R.registry_entries().items():
        assert info.get(name) == entry, name
    for lang, model, method in TRAINING:
        r = load(R.recipe_filename(lang, model, method))
        for name in [*r["dataset"].split(","), *r.get("eval_dataset", "").split(",")]:
            if name:
                assert name in info, f"{R.recipe_filename(lang, model, method)}: {name} not in dataset_info.json"
        if method == "hdpo":
            cols = info[r["dataset"]]["columns"]
            assert {"bucket_id", "weight", "chosen_score", "rejected_score"} <= set(cols)
            assert info[r["dataset"]]["ranking"] is True
        if method == "bucket_sft":
            assert info[r["dataset"]]["columns"]["bucket_id"] == "bucket_id"


def test_critic_configs_are_valid_critic_train_arguments():
    """Every critic config is read by the real `polyalign critic train --config` (unknown keys are refused)."""
    import argparse

    from polyalign_lf.critic.cli import critic_arguments
    from polyalign_lf.options import parse_with_config

    for lang, model in CELLS:
        rel = R.recipe_filename(lang, model, "critic")
        parser = argparse.ArgumentParser()
        critic_arguments(parser)
        args = parse_with_config(parser, ["train", "--config", str(REPO / rel)])
        assert args.type == "mlp" and str(args.out) == f"saves/{lang}/{model}/critic", rel
        assert [str(p) for p in args.features] == [
            f"data/{lang}/features_human.npz",
            f"saves/{lang}/{model}/features/bucket_sft_train.npz",
        ], rel
        assert (args.kappa, args.lambda_reg, args.lambda_rank) == (0.1, 1.0, 1.0), rel


PARSE_SCRIPT = r"""
import json, sys, yaml
import llamafactory.train.tuner as tuner   # the .pth hook patches get_train_args on this import
results = {}
for rel in json.loads(sys.argv[1]):
    recipe = yaml.safe_load(open(sys.argv[2] + "/" + rel, encoding="utf-8"))
    # Machine-specific keys only: DeepSpeed needs torchrun + GPUs and bf16 a GPU; everything else is as shipped.
    recipe.pop("deepspeed")
    recipe["bf16"] = False
    recipe["output_dir"] = "out/" + rel
    model_args, data_args, training_args, finetuning_args, _ = tuner.get_train_args(recipe)
    pa = getattr(finetuning_args, "polyalign_args", None)
    results[rel] = {
        "stage": finetuning_args.stage, "lr": training_args.learning_rate, "beta": finetuning_args.pref_beta,
        "template": data_args.template, "dataset": data_args.dataset, "use_ref_model": finetuning_args.use_ref_model,
        "bucket_weighting": getattr(pa, "bucket_weighting", None), "hdpo_lambda": getattr(pa, "hdpo_lambda", None),
        "hdpo_critic": getattr(pa, "hdpo_critic", None), "epochs": training_args.num_train_epochs,
        "scheduler": str(getattr(training_args.lr_scheduler_type, "value", training_args.lr_scheduler_type)),
    }
print("RESULTS=" + json.dumps(results))
"""


@pytest.mark.slow
def test_every_recipe_parses_with_llamafactory(tmp_path):
    """All 32 recipes through LLaMA-Factory's own get_train_args, patched by the plugin via the .pth hook, in a
    fresh interpreter whose working directory holds the relative paths (critic bundles) the recipes name."""
    for lang, model in CELLS:
        bundle = tmp_path / "saves" / lang / model / "critic"
        bundle.mkdir(parents=True)
        (bundle / "critic_config.json").write_text(json.dumps({"type": "support_distance"}))
    rels = [R.recipe_filename(*t) for t in TRAINING]
    env = {**__import__("os").environ, "DISABLE_VERSION_CHECK": "1", "HF_HUB_OFFLINE": "1", "WANDB_DISABLED": "true"}
    env.pop("POLYALIGN_LF_DISABLE", None)
    proc = subprocess.run(
        [sys.executable, "-c", PARSE_SCRIPT, json.dumps(rels), str(REPO)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=280,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    line = next(l for l in proc.stdout.splitlines() if l.startswith("RESULTS="))
    results = json.loads(line[len("RESULTS=") :])
    assert len(results) == 32
    for (lang, model, method), rel in zip(TRAINING, rels):
        got = results[rel]
        assert got["epochs"] == 1.0 and "cosine" in got["scheduler"], rel
        assert (
            got["dataset"] == [f"polyalign_{lang}_train"]
            if method in ("sft", "bucket_sft")
            else got["dataset"] == [f"polyalign_{lang}_{method}_{model}"]
        ), rel
        if method in ("sft", "bucket_sft"):
            assert got["stage"] == "sft" and got["lr"] == 1e-5, rel
            assert got["bucket_weighting"] == ("true" if method == "bucket_sft" else None), rel
        else:
            # hdpo is parsed as LLaMA-Factory's dpo (reference model, β) with the PolyAlign keys attached
            assert got["stage"] == "dpo" and got["use_ref_model"] is True and got["lr"] == 5e-7, rel
            assert got["beta"] == 0.1, rel
        if method == "hdpo":
            assert got["hdpo_lambda"] == 0.1 and got["hdpo_critic"] == f"saves/{lang}/{model}/critic", rel
        if method == "dpo":
            assert got["hdpo_lambda"] is None, rel


@pytest.mark.slow
def test_hdpo_recipe_fails_loudly_without_the_plugin(tmp_path):
    """With the plugin disabled, a PolyAlign recipe must not train silently as something else."""
    recipe = str(REPO / R.recipe_filename("zh", "gemma2_2b", "hdpo"))
    script = (
        f"import yaml, llamafactory.train.tuner as t; r = yaml.safe_load(open({recipe!r})); r.pop('deepspeed'); "
        "r['bf16'] = False; r['output_dir'] = 'o'; t.get_train_args(r)"
    )
    env = {**__import__("os").environ, "POLYALIGN_LF_DISABLE": "1", "DISABLE_VERSION_CHECK": "1"}
    proc = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=110
    )
    assert proc.returncode != 0
    assert "hdpo_lambda" in proc.stderr or "hdpo" in proc.stderr
