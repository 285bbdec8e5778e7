"""`polyalign demo` / `polyalign run`: the plan, the shipped sample data, the first stages for real, and resuming."""

from __future__ import annotations

import collections
import io
import json
import sys
from pathlib import Path

import pytest

from polyalign_lf.cli import main as polyalign
from polyalign_lf.pipeline.stages import Command, Stage, StageFailed, StageRunner


def _load_tool(path: Path):
    """The sample-data builder is a development tool (tools/), not a module of the installed package."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


sample = _load_tool(Path(__file__).resolve().parents[2] / "tools" / "build_sample_data.py")

REPO = Path(__file__).resolve().parents[2]
DEMO_STAGES = [
    "setup",
    "prepare",
    "dedup",
    "export",
    "records",
    "features",
    "references",
    "sft",
    "bucket_sft",
    "predict-train",
    "pairs-dpo",
    "dpo",
    "features-outputs",
    "critic",
    "pairs-hdpo",
    "hdpo",
    "predict-test",
    "evaluate",
    "report",
]


def _plan(capsys, argv: list[str]) -> str:
    assert polyalign(argv) == 0
    return capsys.readouterr().out


def _stage_names(plan: str) -> list[str]:
    return [line.split("] ", 1)[1].split(":", 1)[0] for line in plan.splitlines() if line.startswith("[")]


# --- sample data -------------------------------------------------------------------------------------


def test_sample_file_is_the_generators_output():
    assert sample.SAMPLE_FILE.read_text(encoding="utf-8") == sample.render(sample.build_rows())


def test_sample_covers_every_bucket_in_both_languages_and_all_splits():
    from polyalign_lf.data.normalize import length_bin

    rows = [json.loads(line) for line in sample.SAMPLE_FILE.read_text(encoding="utf-8").splitlines()]
    assert 300 <= len(rows) <= 500
    assert len({r["id"] for r in rows}) == len(rows)
    buckets = collections.Counter()
    for r in rows:
        # the bucket a row is meant for is the one the data pipeline's length measure gives it
        assert length_bin(r["answer"], r["language"])[0] == r["id"].split("-")[4]
        buckets[(r["language"], r["track"], r["family"], length_bin(r["answer"], r["language"])[0], r["split"])] += 1
    for lang in ("en", "zh"):
        for track, family, _ in sample.CELLS:
            for bin_ in sample.BINS:
                for split in ("train", "val", "test"):
                    assert buckets[(lang, track, family, bin_, split)] >= 2, (lang, track, family, bin_, split)
    # prompts are unique (dedup keeps every row) and some rows carry history / context
    assert len({(r["question"], r.get("context", ""), json.dumps(r.get("history"))) for r in rows}) == len(rows)
    assert any(r.get("history") for r in rows) and any(r.get("context") for r in rows)
    assert any("\u4e00" <= ch <= "\u9fff" for r in rows if r["language"] == "zh" for ch in r["answer"])


# --- plans --------------------------------------------------------------------------------------------


def test_demo_dry_run_lists_the_whole_method(tmp_path, capsys):
    plan = _plan(capsys, ["demo", "--out", str(tmp_path / "d"), "--data", "sample", "--dry-run"])
    assert _stage_names(plan) == DEMO_STAGES
    for method in ("sft", "bucket_sft", "dpo", "hdpo"):
        assert f"$ llamafactory-cli train recipes/all/tiny_{method}.yaml" in plan
    assert "--mode base" in plan  # the BaseLM baseline is evaluated too
    assert "polyalign pairs hdpo" in plan and "--candidates" in plan and "polyalign critic train --type mlp" in plan
    assert "--encoder bundled-minilm" in plan  # offline: nothing is downloaded
    assert "--recipe recipes/all/tiny_hdpo.yaml" in plan  # prompts rendered with the training template
    assert not (tmp_path / "d").exists(), "a dry run writes nothing"


def test_default_demo_is_the_quick_study_with_every_stage(tmp_path, capsys):
    """Without --data the demo runs the one-seed study: the generated corpus, a trained BaseLM, every pipeline
    stage of the sample demo (its report included) and Bucket-SFT with balanced sampling."""
    plan = _plan(capsys, ["demo", "--out", str(tmp_path / "d"), "--dry-run"])
    names = _stage_names(plan)
    for stage in DEMO_STAGES[1:] + ["corpus", "base-train", "bucket_sampling", "sampling-eval"]:
        assert stage in names, stage
    assert "$ llamafactory-cli train recipes/base.yaml" in plan
    assert "$ llamafactory-cli train recipes/all/study_hdpo.yaml" in plan
    assert "--length-bins en=10,30,60" in plan
    assert not (tmp_path / "d").exists(), "a dry run writes nothing"


def test_run_dry_run_uses_the_committed_recipes(capsys, monkeypatch):
    monkeypatch.chdir(REPO)
    plan = _plan(
        capsys,
        [
            "run",
            "--recipe-dir",
            "recipes/zh",
            "--model",
            "llama32_3b",
            "--dry-run",
            "--stages",
            "sft,bucket_sft,critic,hdpo,predict-test",
        ],
    )
    assert _stage_names(plan) == ["sft", "bucket_sft", "critic", "hdpo", "predict-test"]
    assert "FORCE_TORCHRUN=1 llamafactory-cli train recipes/zh/llama32_3b_hdpo.yaml" in plan
    assert "polyalign critic train --config recipes/zh/llama32_3b_critic.yaml" in plan
    assert "saves/zh/llama32_3b/critic/critic_config.json" in plan
    assert "--model meta-llama/Llama-3.2-3B" in plan and "--mode base" in plan
    assert "--recipe recipes/zh/llama32_3b_dpo.yaml" in plan


def test_run_without_recipe_dir_exports_the_cells_recipes(tmp_path, capsys, monkeypatch):
    """A pip user has no checkout: `polyalign run --lang --model` writes the cell's recipes from the package
    (byte for byte the repository's), then uses them as they are on later runs."""
    monkeypatch.chdir(tmp_path)
    plan = _plan(capsys, ["run", "--lang", "en", "--model", "gemma2_2b", "--dry-run", "--stages", "hdpo,evaluate"])
    assert "exported 6 file(s) for gemma2_2b · en" in plan
    for method in ("sft", "bucket_sft", "dpo", "hdpo", "critic"):
        name = f"gemma2_2b_{method}.yaml"
        assert (tmp_path / "recipes" / "en" / name).read_bytes() == (REPO / "recipes" / "en" / name).read_bytes()
    assert "FORCE_TORCHRUN=1 llamafactory-cli train recipes/en/gemma2_2b_hdpo.yaml" in plan
    # the human side of evaluation is computed once per test set, for every method
    evaluate = [line for line in plan.splitlines() if "polyalign evaluate" in line]
    assert len(evaluate) == 5 and all("--cache-dir data/en/eval_cache" in line for line in evaluate)
    sft_plan = ["run", "--lang", "en", "--model", "gemma2_2b", "--dry-run", "--stages", "sft"]
    assert polyalign(sft_plan) == 0
    assert "trains from" not in capsys.readouterr().err  # the committed recipes start from the cell's BaseLM
    sft = tmp_path / "recipes" / "en" / "gemma2_2b_sft.yaml"
    sft.write_text(sft.read_text().replace("model_name_or_path: google/gemma-2-2b", "model_name_or_path: my/other"))
    assert polyalign(sft_plan) == 0
    err = capsys.readouterr().err
    assert "warning: gemma2_2b_sft.yaml trains from 'my/other'" in err and "'google/gemma-2-2b'" in err
    edited = tmp_path / "recipes" / "en" / "gemma2_2b_hdpo.yaml"
    edited.write_text(edited.read_text().replace("hdpo_lambda: 0.1", "hdpo_lambda: 0.2"))
    plan = _plan(capsys, ["run", "--lang", "en", "--model", "gemma2_2b", "--dry-run", "--stages", "hdpo"])
    assert "exported" not in plan and "hdpo_lambda: 0.2" in edited.read_text()  # the user's edit is kept
    (tmp_path / "recipes" / "en" / "gemma2_2b_dpo.yaml").unlink()
    assert polyalign(["run", "--lang", "en", "--model", "gemma2_2b", "--dry-run"]) == 2
    assert "lacks gemma2_2b_dpo.yaml" in capsys.readouterr().err
    assert polyalign(["run", "--model", "gemma2_2b", "--dry-run"]) == 2
    assert "pass --lang en|zh" in capsys.readouterr().err


def test_run_engine_choice_and_prompt_counts(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    base = ["run", "--lang", "en", "--model", "gemma2_2b", "--dry-run", "--stages", "predict-train,predict-test"]
    plan = _plan(capsys, base)
    assert "warning: this cell's generations (records not built yet" in plan and "--engine vllm" in plan
    assert "prompts: 5 run(s) × the test records (not built yet) · hf engine" in plan
    plan = _plan(capsys, [*base, "--engine", "vllm", "--vllm-serve-cmd", "/opt/vllm/bin/vllm serve"])
    generate = [line for line in plan.splitlines() if "polyalign generate" in line]
    assert len(generate) == 10 and all("--engine vllm" in g and "one per model and stage>" in g for g in generate)
    assert "/opt/vllm/bin/vllm serve saves/en/gemma2_2b/hdpo" in plan and "warning" not in plan
    plan = _plan(capsys, [*base, "--vllm-url", "http://gpu:8000", "--stages", "predict-test"])
    assert (
        "--server-url http://gpu:8000 --served-model-name saves/en/gemma2_2b/hdpo --model saves/en/gemma2_2b/hdpo"
        in plan
    )
    # with the records built, the plan counts the prompts; a small cell needs no warning
    records = tmp_path / "data" / "en"
    records.mkdir(parents=True)
    (records / "records_train.jsonl").write_text('{"id": 1}\n' * 30)
    (records / "records_test.jsonl").write_text('{"id": 1}\n' * 7)
    plan = _plan(capsys, base)
    assert "prompts: 5 run(s) × 30 train records = 150 generations · hf engine" in plan
    assert "prompts: 5 run(s) × 7 test records = 35 generations" in plan and "warning" not in plan
    assert polyalign([*base, "--generate-arg=--engine=vllm"]) == 2
    assert "polyalign run --engine hf|vllm" in capsys.readouterr().err
    assert polyalign([*base, "--engine", "hf", "--vllm-url", "http://x"]) == 2
    assert "choose one" in capsys.readouterr().err


def test_run_rejects_unknown_stages_and_bad_recipe_dirs(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(REPO)
    assert polyalign(["run", "--recipe-dir", "recipes/en", "--model", "gemma2_2b", "--stages", "sft,warp"]) == 2
    assert "unknown stage(s) warp" in capsys.readouterr().err
    (tmp_path / "en").mkdir()
    assert polyalign(["run", "--recipe-dir", str(tmp_path / "en"), "--model", "gemma2_2b", "--dry-run"]) == 2
    assert "lacks gemma2_2b_sft.yaml" in capsys.readouterr().err


# --- the runner ---------------------------------------------------------------------------------------


def test_runner_resumes_and_reports_failures(tmp_path):
    out = io.StringIO()
    runner = StageRunner(tmp_path, tmp_path / "work", out=out)
    target = tmp_path / "a.txt"
    calls = []
    ok = Stage(
        "write",
        "write a file",
        [Command([sys.executable, "-c", f"open({str(target)!r}, 'w').write('x')"])],
        [target],
        action=lambda: calls.append(1),
    )
    runner.run([ok])
    runner.run([ok])  # done-marker + outputs present → skipped
    assert calls == [1] and "already done" in out.getvalue()
    runner.run([ok], redo=["write"])
    assert calls == [1, 1]
    target.unlink()  # an output vanished → the stage runs again
    runner.run([ok])
    assert calls == [1, 1, 1]
    bad = Stage("boom", "fail", [Command([sys.executable, "-c", "import sys; print('the cause'); sys.exit(3)"])], [])
    with pytest.raises(StageFailed) as info:
        runner.run([bad])
    assert "exited with 3" in str(info.value) and "the cause" in str(info.value)
    assert not runner.marker(bad).exists()
    missing = Stage("lazy", "produces nothing", [], [tmp_path / "never"])
    with pytest.raises(StageFailed, match="did not produce"):
        runner.run([missing])


# --- the first stages of the demo, for real -------------------------------------------------------------


def test_demo_data_stages_run_and_resume(tmp_path, capsys):
    """setup → prepare → dedup → export → records → features → references on the shipped sample, then a rerun
    that skips them all. (Training and later stages are exercised by the full `make demo`.)"""
    out = tmp_path / "demo"
    stages = "setup,prepare,dedup,export,records,features,references"
    assert polyalign(["demo", "--out", str(out), "--data", "sample", "--stages", stages]) == 0
    text = capsys.readouterr().out
    assert text.count("✓ done") == 7
    info = json.loads((out / "data_registry" / "dataset_info.json").read_text())
    assert {"polyalign_en_train", "polyalign_zh_train", "polyalign_en_test", "polyalign_zh_test"} <= set(info)
    records = [json.loads(l) for l in (out / "data" / "all" / "records_train.jsonl").read_text().splitlines()]
    assert len({r["bucket_id"] for r in records}) == 32
    refs = json.loads((out / "data" / "all" / "references.json").read_text())
    assert refs  # built from the train split
    assert (out / "models" / "tiny" / "config.json").is_file()
    for method in ("sft", "bucket_sft", "dpo", "hdpo", "critic"):
        assert (out / "recipes" / "all" / f"tiny_{method}.yaml").is_file()
    assert polyalign(["demo", "--out", str(out), "--data", "sample", "--stages", stages]) == 0
    assert capsys.readouterr().out.count("✓ already done") == 7


def test_demo_recipes_are_the_grid_recipes_resized():
    from polyalign_lf.pipeline.demo import DEMO_OVERRIDES, demo_recipe
    from polyalign_lf.pipeline.recipes import build_recipe

    for method in ("sft", "bucket_sft", "dpo", "hdpo"):
        demo = demo_recipe(method, "models/tiny", languages=("en", "zh"), max_steps=None)
        grid = build_recipe("en", "qwen25_1_5b", method)
        changed = {k for k in grid if k in demo and demo[k] != grid[k]}
        allowed = set(DEMO_OVERRIDES) | {
            "model_name_or_path",
            "dataset",
            "output_dir",
            "learning_rate",
            "hdpo_critic",
            "max_steps",
        }
        assert changed <= allowed, changed - allowed
        for key in (
            "stage",
            "pref_beta",
            "pref_loss",
            "hdpo_lambda",
            "bucket_weighting",
            "mask_history",
            "lr_scheduler_type",
            "warmup_ratio",
            "num_train_epochs",
            "template",
            "finetuning_type",
            "dataset_dir",
        ):
            assert demo.get(key) == grid.get(key), (method, key)
        assert "deepspeed" not in demo
        assert demo.get("mask_history") is (True if method in ("sft", "bucket_sft") else None), method


def test_run_dry_run_prints_a_resource_plan(tmp_path, capsys, monkeypatch):
    """Examples per step against the paper's 64 (with the override that restores it), and per training stage
    memory, disk and time estimates from the documented formulas."""
    from polyalign_lf.pipeline.resources import MODEL_PARAMETERS

    monkeypatch.chdir(tmp_path)
    base = ["run", "--lang", "en", "--model", "qwen25_3b", "--dry-run", "--stages", "sft,dpo"]
    plan = _plan(capsys, [*base, "--nproc-per-node", "8"])
    assert "resource plan (estimates" in plan and "for 8 GPU(s) per node" in plan
    assert "sft: 64 examples/step" in plan and "not the paper's" not in plan
    params = MODEL_PARAMETERS["qwen25_3b"]
    assert f"sft: 64 examples/step; GPU memory ~{16 * params / 8 / 1e9:,.1f} GB per GPU (ZeRO-3 over 8)" in plan
    assert f"dpo: 64 examples/step; GPU memory ~{18 * params / 8 / 1e9:,.1f} GB per GPU" in plan  # + reference model
    assert "time: records not built yet" in plan
    plan = _plan(capsys, [*base, "--nproc-per-node", "4"])
    assert "warning: sft: 32 examples per optimizer step (4 GPU(s) × 1 × 8), not the paper's 64" in plan
    assert "gradient_accumulation_steps=16" in plan
    records = tmp_path / "data" / "en"
    records.mkdir(parents=True)
    row = {"question": "q" * 400, "context": "", "human_answer": "a" * 400}  # 800 characters ≈ 200 tokens (+16)
    (records / "records_train.jsonl").write_text((json.dumps(row) + "\n") * 1000)
    plan = _plan(capsys, [*base, "--nproc-per-node", "8"])
    assert "for ~216,000 tokens/epoch" in plan
