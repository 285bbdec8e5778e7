"""The miniature study as pipeline stages: shared data and base model once, then every method per seed.

Layout under ``--out``::

    shared/               corpus.jsonl, data/ (prepare → dedup → records → features → references),
                          data_registry/, models/base (the BaseLM), eval_cache/ (human-side features and
                          embeddings, computed once for every method and seed)
    seed_<s>/             one pipeline cell per training seed: recipes/, data → ../shared/data,
                          data_registry/ (a copy: the preference stages add their files), saves/all/study/…
    report/               study.md, study.html, study.json, figures/

Every training stage is ``llamafactory-cli train`` on the grid's recipes with only size keys changed (the
demo's resizing, plus the seed), every answer comes from ``polyalign generate`` and every number from
``polyalign evaluate`` — the code path of a real run. Stages keep done-markers, so a rerun resumes.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from polyalign_lf.errors import ConfigError
from polyalign_lf.io import read_json, write_json
from polyalign_lf.pipeline.stages import Stage, llamafactory_train, polyalign_command

LABEL = "all"  # one bilingual cell
MODEL = "study"
# The study's methods: the paper's four, BaseLM, and Bucket-SFT trained with balanced bucket sampling.
METHODS = ("base", "sft", "bucket_sft", "bucket_sampling", "dpo", "hdpo")
METHOD_LABELS = {
    "base": "BaseLM",
    "sft": "Full-SFT",
    "bucket_sft": "Bucket-SFT",
    "bucket_sampling": "Bucket-SFT (sampling)",
    "dpo": "DPO",
    "hdpo": "HDPO",
}
# Study sizes: SFT epochs, preference steps and generation length of the 1M-parameter model on 2 cores.
SFT_EPOCHS = 3.0
PREF_MAX_STEPS = 40
STUDY_LEARNING_RATES = {"sft": 2.0e-3, "bucket_sft": 2.0e-3, "dpo": 1.0e-4, "hdpo": 1.0e-4}


@dataclass
class StudyConfig:
    out: Path
    seeds: tuple[int, ...] = (1, 2, 3)
    max_new_tokens: int = 96
    sft_epochs: float = SFT_EPOCHS
    pref_max_steps: int = PREF_MAX_STEPS
    max_steps: int | None = None  # caps every training run (the suite's reduced study)
    corpus_scale: float = 1.0  # fraction of each bucket's rows (the suite's reduced study)
    cell_reports: bool = False  # also run each seed's own `polyalign report` (the demo does)
    env: dict[str, str] = field(default_factory=dict)

    @property
    def shared(self) -> Path:
        return self.out / "shared"

    def seed_root(self, seed: int) -> Path:
        return self.out / f"seed_{seed}"

    @property
    def corpus(self) -> Path:
        return self.shared / "corpus.jsonl"

    @property
    def base_model(self) -> Path:
        return self.shared / "models" / "base"

    @property
    def report_dir(self) -> Path:
        return self.out / "report"


def corpus_rows(cfg: StudyConfig) -> list[dict]:
    from polyalign_lf.study.corpus import generate_corpus

    rows = generate_corpus()
    if cfg.corpus_scale >= 1.0:
        return rows
    # keep the first fraction of every (bucket, split), at least 2 rows, so every bucket stays present
    kept, seen = [], {}
    totals: dict[tuple[str, str], int] = {}
    for row in rows:
        key = (row["id"].rsplit("-", 1)[0], row["split"])
        totals[key] = totals.get(key, 0) + 1
    for row in rows:
        key = (row["id"].rsplit("-", 1)[0], row["split"])
        seen[key] = seen.get(key, 0) + 1
        if seen[key] <= max(2, round(totals[key] * cfg.corpus_scale)):
            kept.append(row)
    return kept


def cell_config(cfg: StudyConfig, root: Path):
    """The pipeline cell of one seed (or, with ``root = shared``, of the shared data stages)."""
    from polyalign_lf.pipeline.plan import CellConfig
    from polyalign_lf.pipeline.recipes import critic_config
    from polyalign_lf.study.corpus import length_bin_args

    critic = critic_config(LABEL, MODEL)
    critic.update({"epochs": 40, "batch_size": 64, "heldout_fraction": 0.2})
    return CellConfig(
        root=root,
        label=LABEL,
        languages=("en", "zh"),
        model=MODEL,
        base_model=str(cfg.base_model.resolve()),
        template="qwen",
        recipe_dir=root / "recipes" / LABEL,
        prepare_commands=[
            [
                "prepare",
                "custom",
                "--source",
                f"all={cfg.corpus.resolve()}",
                "--name",
                "study",
                "--out",
                str(root / "data" / "prepared"),
                *length_bin_args(),
            ]
        ],
        min_bucket_size=5,
        critic_config=critic,
        num_candidates=2,
        base_prompt="template",
        generate_args=["--max-new-tokens", str(cfg.max_new_tokens), "--batch-size", "64", "--device", "cpu"],
        # the human side of every evaluation is computed once (same test set for every method and seed)
        evaluate_args=[
            "--mauve-featurizer",
            "bundled-minilm",
            "--cache-dir",
            str((cfg.shared / "eval_cache").resolve()),
        ],
        report_args=["--embedding-model", "bundled-minilm"],
    )


DATA_STAGES = ("prepare", "dedup", "export", "records", "features", "references")


def shared_stages(cfg: StudyConfig) -> list[Stage]:
    """Corpus, data stages and the base model (once for every seed)."""

    from polyalign_lf.pipeline.plan import build_stages
    from polyalign_lf.pipeline.stages import write_text_atomic
    from polyalign_lf.study import base_model

    cell = cell_config(cfg, cfg.shared)

    def write_corpus() -> None:
        rows = corpus_rows(cfg)
        write_text_atomic(
            cfg.corpus,
            "".join(
                json.dumps({k: v for k, v in r.items() if k != "uniform_answer"}, ensure_ascii=False) + "\n"
                for r in rows
            ),
        )

    init_dir = cfg.shared / "models" / "base_init"
    base_recipe = cfg.shared / "recipes" / "base.yaml"

    def prepare_base() -> None:
        from polyalign_lf.pipeline.recipes import dump_recipe

        rows = corpus_rows(cfg)
        base_model.init_base_model(init_dir, rows)
        base_model.write_base_dataset(cell.registry, cell.records("train"), rows)
        recipe = base_model.base_recipe(str(init_dir.resolve()), str(cfg.base_model.resolve()))
        if cfg.max_steps:
            recipe["max_steps"] = cfg.max_steps
        write_text_atomic(
            base_recipe, "# the study's BaseLM: plain SFT on uniform assistant-style answers\n" + dump_recipe(recipe)
        )

    stages = [
        Stage(
            "corpus",
            "bilingual corpus with known per-bucket human styles (custom layout)",
            [],
            [cfg.corpus],
            action=write_corpus,
            action_label=f"generate_corpus() → {cfg.corpus.name}",
        )
    ]
    stages += [s for s in build_stages(cell) if s.name in DATA_STAGES]
    stages.append(
        Stage(
            "base-setup",
            "BaseLM: corpus tokenizer, random Qwen2, uniform-style training data",
            [],
            [init_dir / "config.json", base_recipe],
            action=prepare_base,
            action_label="init_base_model(); uniform answers → data_registry/study_uniform_train.json",
        )
    )
    stages.append(
        Stage(
            "base-train",
            "BaseLM: one global assistant style — llamafactory-cli train",
            [llamafactory_train(base_recipe)],
            [cfg.base_model / "config.json"],
        )
    )
    for stage in stages:  # their markers live in shared/, so every seed's runner sees them done
        stage.marker_dir = cfg.shared / ".stages"
    return stages


def seed_recipes(cfg: StudyConfig, seed: int) -> dict[str, dict[str, Any]]:
    """The grid's recipes resized for the study (only size keys, learning rate and seed differ)."""
    from polyalign_lf.pipeline.demo import demo_recipe

    recipes = {}
    for method in ("sft", "bucket_sft", "dpo", "hdpo"):
        recipe = demo_recipe(
            method, str(cfg.base_model.resolve()), languages=("en", "zh"), max_steps=None, label=LABEL, model=MODEL
        )
        recipe["seed"] = seed
        recipe["learning_rate"] = STUDY_LEARNING_RATES[method]
        if method in ("sft", "bucket_sft"):
            recipe["num_train_epochs"] = cfg.sft_epochs
        else:
            recipe["max_steps"] = cfg.pref_max_steps
        if cfg.max_steps:
            recipe["max_steps"] = cfg.max_steps
        recipes[method] = recipe
    # The study measures both ways to give buckets equal mass: its Bucket-SFT weights the loss (Eq. 1 literally,
    # the grid's recipe without `bucket_sampling`) and "bucket_sampling" draws ∝ weight (the grid's recipe).
    recipes["bucket_sft"].pop("bucket_sampling", None)
    sampling = dict(recipes["bucket_sft"], bucket_sampling=True)
    sampling["output_dir"] = recipes["bucket_sft"]["output_dir"].replace("/bucket_sft", "/bucket_sampling")
    recipes["bucket_sampling"] = sampling
    return recipes


def seed_stages(cfg: StudyConfig, seed: int) -> list[Stage]:
    """One seed's cell: every training, generation and evaluation stage of the pipeline, plus Bucket-SFT
    with balanced sampling."""
    from polyalign_lf.pipeline.plan import build_stages, generate_command
    from polyalign_lf.pipeline.recipes import dump_recipe
    from polyalign_lf.pipeline.stages import write_text_atomic

    root = cfg.seed_root(seed)
    cell = cell_config(cfg, root)

    def setup() -> None:
        root.mkdir(parents=True, exist_ok=True)
        data = root / "data"
        if not data.exists():
            data.symlink_to(os.path.relpath(cfg.shared / "data", root), target_is_directory=True)
        if not cell.registry.exists():
            shutil.copytree(cfg.shared / "data_registry", cell.registry)
        for method, recipe in seed_recipes(cfg, seed).items():
            write_text_atomic(
                cell.recipe(method),
                f"# polyalign study recipe (seed {seed}): the grid's recipe "
                "resized for the study's 1M-parameter model\n" + dump_recipe(recipe),
            )

    stages = [
        Stage(
            "setup",
            f"seed {seed}: recipes, shared data and registry",
            [],
            [cell.recipe("bucket_sampling"), cell.registry / "dataset_info.json"],
            action=setup,
            action_label=f"recipes → seed_{seed}/recipes/{LABEL}/; data → ../shared/data",
        )
    ]
    # the study's report (over seeds) replaces the cell's own report stage, unless asked for (the demo)
    skipped = DATA_STAGES if cfg.cell_reports else DATA_STAGES + ("report",)
    pipeline = [s for s in build_stages(cell) if s.name not in skipped]
    sampling = Stage(
        "bucket_sampling",
        "Bucket-SFT with balanced bucket sampling — llamafactory-cli train",
        [llamafactory_train(cell.recipe("bucket_sampling"))],
        [cell.model_dir("bucket_sampling") / "config.json"],
    )
    evaluate = [
        polyalign_command(
            "evaluate",
            "--records",
            cell.records("test"),
            "--predictions",
            cell.predictions("bucket_sampling", "test"),
            "--out",
            cell.metrics("bucket_sampling"),
            "--references",
            cell.references,
            "--method",
            METHOD_LABELS["bucket_sampling"],
            "--model",
            MODEL,
            "--min-bucket-size",
            str(cell.min_bucket_size),
            *cell.evaluate_args,
        )
    ]
    sampling_eval = Stage(
        "sampling-eval",
        "Bucket-SFT (sampling): test answers and metrics",
        [generate_command(cell, "bucket_sampling", "test"), *evaluate],
        [cell.metrics("bucket_sampling")],
    )
    for stage in pipeline:
        stages.append(stage)
        if stage.name == "bucket_sft":
            stages.append(sampling)
        if stage.name == "evaluate":
            stages.append(sampling_eval)
    return stages


def metrics_paths(cfg: StudyConfig) -> dict[int, dict[str, Path]]:
    """seed → method → its METRICS.json."""
    out = {}
    for seed in cfg.seeds:
        cell = cell_config(cfg, cfg.seed_root(seed))
        out[seed] = {method: cell.metrics(method) for method in METHODS}
    return out


def offline_env() -> dict[str, str]:
    """The environment of every stage: offline, no trackers, one BLAS thread (a 1M-parameter model gains
    nothing from threads on 2 cores)."""
    return {
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "WANDB_DISABLED": "true",
        "TOKENIZERS_PARALLELISM": "false",
        "DISABLE_VERSION_CHECK": "1",
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1"),
    }


def check_options(cfg: StudyConfig) -> None:
    """Refuse to resume an output folder built with other sizes (its finished stages would be reused and mix
    with the new ones); record the sizes on first use."""

    options = {
        "corpus_scale": cfg.corpus_scale,
        "max_steps": cfg.max_steps,
        "max_new_tokens": cfg.max_new_tokens,
        "sft_epochs": cfg.sft_epochs,
        "pref_max_steps": cfg.pref_max_steps,
    }
    path = cfg.out / "study_options.json"
    if path.is_file():
        before = read_json(path)
        changed = sorted(k for k in options if before.get(k) != options[k])
        if changed:
            raise ConfigError(
                f"{cfg.out} holds a study run with other options ({', '.join(f'{k}={before.get(k)!r}' for k in changed)}); "
                "its finished stages would be mixed with this run's; use another --out, or delete the folder to "
                "start over"
            )
    else:
        write_json(path, options)


def run_study(
    cfg: StudyConfig,
    *,
    stages: Sequence[str] = (),
    redo: Sequence[str] = (),
    dry_run: bool = False,
    verbose: bool = False,
) -> Path | None:
    """Run (or, with ``dry_run``, print) the shared stages and every seed's, then write the report.

    Returns the report's path, or None when the plan was only printed or some method has no metrics yet
    (``stages`` chose a subset)."""

    from polyalign_lf.pipeline.stages import StageRunner
    from polyalign_lf.study.report import write_report

    if not dry_run:
        check_options(cfg)
    env = {**offline_env(), **cfg.env}
    plans = [
        ("shared", StageRunner(cfg.shared, cfg.shared / "pipeline", env=env, verbose=verbose), shared_stages(cfg))
    ]
    for seed in cfg.seeds:
        root = cfg.seed_root(seed)
        plans.append(
            (f"seed {seed}", StageRunner(root, root / "pipeline", env=env, verbose=verbose), seed_stages(cfg, seed))
        )
    wanted = list(stages)
    known = {s.name for _, _, plan in plans for s in plan}
    unknown = sorted((set(wanted) | set(redo)) - known)
    if unknown:
        raise ConfigError(f"--stages: unknown {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    start = time.perf_counter()
    timings: dict[str, float] = {}
    for name, runner, plan in plans:
        chosen = [s for s in plan if s.name in wanted] if wanted else plan
        if dry_run:
            runner.print(f"== {name}")
            runner.describe(chosen)
            continue
        runner.print(f"\n== PolyAlign study · {name} ({cfg.out})")
        runner.run(chosen, redo=[name for name in redo if any(s.name == name for s in chosen)])
        for stage, seconds in runner.timings.items():
            timings[stage] = timings.get(stage, 0.0) + seconds
    if dry_run:
        return None
    elapsed = time.perf_counter() - start
    print("\nwall time per stage (summed over seeds):")
    for stage, seconds in sorted(timings.items(), key=lambda kv: -kv[1]):
        print(f"  {stage:<18} {seconds:7.1f} s")
    print(f"study finished in {elapsed:.0f} s ({elapsed / 60:.1f} min) for {len(cfg.seeds)} seed(s)")
    if not all(path.is_file() for by_method in metrics_paths(cfg).values() for path in by_method.values()):
        print("some methods have no metrics yet (stages not run); rerun without --stages to finish the report")
        return None
    return write_report(cfg, timings=timings, elapsed_s=elapsed)
