"""The study as pipeline stages: shared data and base model once, then every method per seed.

Two studies share this code: the *miniature* study (a generated corpus with known ground truth and a
1M-parameter BaseLM, the default) and the *real-data* study (``--model`` a real instruct model installed by
``polyalign models install``, ``--data`` records prepared from real human text, sampled by the pre-registered
design of :mod:`polyalign_lf.study.design`), which adds the profile-prompt ablation: Full-SFT and the grid's
Bucket-SFT trained and prompted with the *situation* profile and with the reference's *oracle* profile.

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
from polyalign_lf.pipeline.plan import METHOD_LABELS as PIPELINE_LABELS
from polyalign_lf.pipeline.stages import Stage, llamafactory_train, polyalign_command

LABEL = "all"  # one bilingual cell
MODEL = "study"
# The study's methods: the paper's four, BaseLM, and Bucket-SFT trained with balanced bucket sampling.
METHODS = ("base", "sft", "bucket_sft", "bucket_sampling", "dpo", "hdpo")
METHOD_LABELS = {**PIPELINE_LABELS, "bucket_sampling": "Bucket-SFT (sampling)"}  # the pipeline's, plus ours
# The profile-prompt ablation of the real-data study: (method, profile) → method key. The grid's Bucket-SFT is
# the balanced-sampling recipe, so the ablation trains Full-SFT and "bucket_sampling" with each profile.
ABLATION: dict[tuple[str, str], str] = {
    (method, profile): f"{method}_{profile}"
    for method in ("sft", "bucket_sampling")
    for profile in ("situation", "oracle")
}
PROFILE_LABELS = {"situation": "situation profile", "oracle": "oracle profile, leaks gold length"}
METHOD_LABELS.update(
    {key: f"{METHOD_LABELS[method]} + {PROFILE_LABELS[profile]}" for (method, profile), key in ABLATION.items()}
)
REAL_METHODS = METHODS + tuple(ABLATION.values())
# Study sizes: SFT epochs, preference steps and generation length of the 1M-parameter model on 2 cores.
SFT_EPOCHS = 3.0
PREF_MAX_STEPS = 40
STUDY_LEARNING_RATES = {"sft": 2.0e-3, "bucket_sft": 2.0e-3, "dpo": 1.0e-4, "hdpo": 1.0e-4}
# The real-data study's sizes for a ~135M-parameter instruct model on a 2-core CPU (docs/study.md: chosen by
# measured throughput so one seed of the whole design fits the time budget). Full fine-tuning, fp32 (bf16
# autocast is slower on CPUs without AMX), effective batch 8 as in the grid's recipes.
REAL_RECIPE_KEYS: dict[str, Any] = {
    "disable_gradient_checkpointing": True,  # activations of a 135M model fit; recomputing them costs a third
    "cutoff_len": 384,
    "per_device_train_batch_size": 2,  # short batches pad less (rows range from 20 to 384 tokens)
    "gradient_accumulation_steps": 4,
    "logging_steps": 2,
}
REAL_PREF_RECIPE_KEYS: dict[str, Any] = {"per_device_train_batch_size": 1, "gradient_accumulation_steps": 4}
REAL_SFT_EPOCHS = 1.0
REAL_PREF_MAX_STEPS = 12
REAL_LEARNING_RATES = {"sft": 5.0e-5, "bucket_sft": 5.0e-5, "dpo": 5.0e-6, "hdpo": 5.0e-6}


@dataclass
class StudyConfig:
    out: Path
    seeds: tuple[int, ...] = (1, 2, 3)
    # the real-data study: a model of `polyalign models list` (installed by the study) or an installed folder,
    # and a folder of records prepared from real human text
    model: str | None = None
    data: Path | None = None
    rule: Any = None  # polyalign_lf.study.design.DesignRule of the real-data study
    device: str = "cpu"
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
    def real(self) -> bool:
        return self.model is not None

    @property
    def methods(self) -> tuple[str, ...]:
        return REAL_METHODS if self.real else METHODS

    @property
    def model_folder(self) -> Path | None:
        """The installed folder ``--model`` names (None: a model name the study installs itself)."""
        if self.model is not None and (Path(self.model).is_dir() or "/" in self.model):
            return Path(self.model).resolve()
        return None

    @property
    def base_model(self) -> Path:
        return self.model_folder or self.shared / "models" / "base"

    @property
    def prepared(self) -> Path:
        return self.shared / "data" / "prepared"

    def profile_registry(self, profile: str) -> Path:
        return self.shared / f"data_registry_{profile}"

    @property
    def languages(self) -> tuple[str, ...]:
        """Languages of the study's records: the design's buckets (or, before the design exists, --data's)."""
        if not self.real:
            return ("en", "zh")
        design = self.prepared / "design.json"
        if design.is_file():
            buckets = read_json(design)["buckets"]
        else:
            from polyalign_lf.study.design import data_buckets

            buckets = data_buckets(self.data)
        return tuple(sorted({bucket.split("|", 1)[0] for bucket in buckets}))

    @property
    def template(self) -> str:
        if not self.real:
            return "qwen"
        card = self.base_model / "polyalign_model.json"
        if card.is_file():
            return read_json(card)["template"]
        from polyalign_lf.models.catalog import model_source

        return model_source(str(self.model)).template

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
    if cfg.real:
        return CellConfig(
            root=root,
            label=LABEL,
            languages=cfg.languages,
            model=MODEL,
            base_model=str(cfg.base_model.resolve()),
            template=cfg.template,
            recipe_dir=root / "recipes" / LABEL,
            prepared=cfg.prepared,
            min_bucket_size=cfg.rule.smallest,
            critic_config=critic,
            num_candidates=2,
            base_prompt="template",  # an instruct model: BaseLM answers through its chat template
            # prompts are cut (oldest history turns, then the context's end) to the training cutoff, as the
            # models saw them in training; uncut, the 1,000+-token conversational-QA prompts dominate the time
            generate_args=[
                "--max-new-tokens",
                str(cfg.max_new_tokens),
                "--max-model-len",
                str(REAL_RECIPE_KEYS["cutoff_len"] + cfg.max_new_tokens),
                "--batch-size",
                "32",
                "--device",
                cfg.device,
            ],
            evaluate_args=[
                "--encoder",
                "bundled-minilm",
                "--cache-dir",
                str((cfg.shared / "eval_cache").resolve()),
            ],
            report_args=["--encoder", "bundled-minilm"],
        )
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
            "--encoder",
            "bundled-minilm",
            "--cache-dir",
            str((cfg.shared / "eval_cache").resolve()),
        ],
        report_args=["--encoder", "bundled-minilm"],
    )


DATA_STAGES = ("prepare", "dedup", "export", "records", "features", "references")


def real_shared_stages(cfg: StudyConfig) -> list[Stage]:
    """The real-data study's shared stages: the design's rows, the data stages, the two profile exports of the
    ablation and the instruct model (installed and verified; every design prompt rendered by its template)."""
    from polyalign_lf.pipeline.plan import build_stages
    from polyalign_lf.study.design import write_design

    cell = cell_config(cfg, cfg.shared)
    stages = [
        Stage(
            "design",
            "the pre-registered design: imbalanced training rows, balanced test rows",
            [],
            [cfg.prepared / "design.json"],
            action=lambda: print_design(write_design(cfg.data, cfg.rule, cfg.prepared)),
            action_label=f"design rule over {cfg.data} → {cfg.prepared.relative_to(cfg.out)}/",
        )
    ]
    stages += [s for s in build_stages(cell) if s.name in DATA_STAGES]
    stages.append(
        Stage(
            "export-profiles",
            "the ablation's training files: every row with its situation / oracle profile system prompt",
            [
                polyalign_command(
                    "export", cell.dedup_dir, "--out", cfg.profile_registry(profile), "--profile-prompt", profile
                )
                for profile in PROFILE_LABELS
            ],
            [cfg.profile_registry(profile) / "dataset_info.json" for profile in PROFILE_LABELS],
        )
    )
    install = []
    if cfg.model_folder is None:
        install = [polyalign_command("models", "install", str(cfg.model), "--out", cfg.base_model, "--overwrite")]
    stages.append(
        Stage(
            "base-model",
            f"BaseLM: {cfg.model} as installed (verified; every design prompt rendered by its template)",
            install,
            [],
            action=lambda: check_base_model(cfg, cell),
            action_label=f"polyalign models verify {cfg.base_model}; render every record with template "
            f"{cfg.template if cfg.model_folder is None or cfg.model_folder.is_dir() else '?'}",
        )
    )
    for stage in stages:
        stage.marker_dir = cfg.shared / ".stages"
    return stages


def print_design(summary: dict[str, Any]) -> None:
    print(
        f"design: {summary['train_rows']} training rows (from the {summary['pool_split']} split, imbalance "
        f"{summary['imbalance']}x), {summary['test_rows']} test rows; rare buckets {', '.join(summary['rare_buckets'])}"
    )
    for bucket, sizes in summary["buckets"].items():
        print(f"  {bucket:<32} train {sizes['train']:>4} (of {sizes['pool']:>5})  test {sizes['test']:>3}")
    for bucket, sizes in summary["excluded"].items():
        print(f"  {bucket:<32} excluded: {sizes['pool']} pool row(s), {sizes['test']} test row(s)")


def check_base_model(cfg: StudyConfig, cell) -> None:
    """The base model verifies (`polyalign models verify`) and its template renders every design record, with
    and without each profile prompt, before anything is trained."""
    from polyalign_lf.data.lf_format import PROFILE_PROMPTS, record_prompt
    from polyalign_lf.data.schema import read_records
    from polyalign_lf.integration.prompting import load_chat_renderer
    from polyalign_lf.models.install import verify_model
    from polyalign_lf.pipeline.stages import StageFailed

    verify_model(cfg.base_model)
    from transformers import AutoTokenizer

    renderer = load_chat_renderer(AutoTokenizer.from_pretrained(str(cfg.base_model)), cfg.template)
    failures = []
    for split in ("train", "test"):
        for record in read_records(cell.records(split)):
            for profile in PROFILE_PROMPTS:
                try:
                    renderer.prompt_ids(record_prompt(record, profile))
                except Exception as exc:  # noqa: BLE001 - every failure is listed below, then refused
                    failures.append(f"{record['id']} ({profile}): {type(exc).__name__}: {exc}")
    if failures:
        raise StageFailed(
            f"template {cfg.template!r} cannot render {len(failures)} design record(s): " + "; ".join(failures[:5]),
            hint="fix or drop these records in --data, or use a model whose template accepts them",
        )


def shared_stages(cfg: StudyConfig) -> list[Stage]:
    """Corpus, data stages and the base model (once for every seed)."""
    if cfg.real:
        return real_shared_stages(cfg)

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


def real_bf16(device: str) -> bool:
    """bf16 where it pays: a GPU that supports it, or a CPU with AMX tiles (bf16 autocast there trains ~2x faster;
    with AVX512-BF16 alone it is slower than fp32: benchmarks/bench_cpu_bf16.py measured 0.67x)."""
    if device == "cuda":
        import torch

        return bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())
    from polyalign_lf.integration.doctor import cpu_bf16

    return cpu_bf16() == "AMX-BF16"


def seed_recipes(cfg: StudyConfig, seed: int) -> dict[str, dict[str, Any]]:
    """The grid's recipes resized for the study (only size keys, learning rate and seed differ)."""
    from polyalign_lf.pipeline.demo import demo_recipe

    recipes = {}
    for method in ("sft", "bucket_sft", "dpo", "hdpo"):
        recipe = demo_recipe(
            method, str(cfg.base_model.resolve()), languages=cfg.languages, max_steps=None, label=LABEL, model=MODEL
        )
        recipe["seed"] = seed
        recipe["learning_rate"] = (REAL_LEARNING_RATES if cfg.real else STUDY_LEARNING_RATES)[method]
        if cfg.real:
            recipe.update(REAL_RECIPE_KEYS, template=cfg.template)
            if method in ("dpo", "hdpo"):
                recipe.update(REAL_PREF_RECIPE_KEYS)
            recipe["bf16"] = real_bf16(cfg.device)
            if cfg.device == "cpu":
                recipe["use_cpu"] = True
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
    if cfg.real:  # the ablation: the same recipes on the profile exports
        for (method, profile), key in ABLATION.items():
            recipes[key] = dict(
                recipes[method],
                dataset_dir=str(cfg.profile_registry(profile).resolve()),
                output_dir=recipes[method]["output_dir"].replace(f"/{method}", f"/{key}"),
            )
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
                f"# polyalign study recipe (seed {seed}): the grid's recipe resized for the study's "
                + (f"{cfg.model} on CPU" if cfg.real else "1M-parameter model")
                + "\n"
                + dump_recipe(recipe),
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

    def train(method: str, title: str) -> Stage:
        return Stage(
            method,
            f"{title} — llamafactory-cli train",
            [llamafactory_train(cell.recipe(method))],
            [cell.model_dir(method) / "config.json"],
        )

    def test_and_evaluate(name: str, method: str, profile: str = "none") -> Stage:
        generate = generate_command(cell, method, "test")
        if profile != "none":
            generate.argv += ["--profile-prompt", profile]
        evaluate = polyalign_command(
            "evaluate",
            "--records",
            cell.records("test"),
            "--predictions",
            cell.predictions(method, "test"),
            "--out",
            cell.metrics(method),
            "--references",
            cell.references,
            "--method",
            METHOD_LABELS[method],
            "--model-label",
            MODEL,
            "--min-bucket-size",
            str(cell.min_bucket_size),
            *cell.evaluate_args,
        )
        return Stage(
            name, f"{METHOD_LABELS[method]}: test answers and metrics", [generate, evaluate], [cell.metrics(method)]
        )

    sampling = train("bucket_sampling", "Bucket-SFT with balanced bucket sampling")
    extra_evals = [test_and_evaluate("sampling-eval", "bucket_sampling")]
    ablation_training = []
    if cfg.real:
        for (_, profile), key in ABLATION.items():
            ablation_training.append(train(key, METHOD_LABELS[key]))
            extra_evals.append(test_and_evaluate(f"{key}-eval", key, profile))
    for stage in pipeline:
        stages.append(stage)
        if stage.name == "bucket_sft":
            stages.append(sampling)
        if stage.name == "evaluate":
            stages += ablation_training + extra_evals
    return stages


def metrics_paths(cfg: StudyConfig) -> dict[int, dict[str, Path]]:
    """seed → method → its METRICS.json."""
    out = {}
    for seed in cfg.seeds:
        cell = cell_config(cfg, cfg.seed_root(seed))
        out[seed] = {method: cell.metrics(method) for method in cfg.methods}
    return out


def offline_env(threads: int = 1) -> dict[str, str]:
    """The environment of every stage: offline, no trackers, ``threads`` BLAS threads (one for the 1M-parameter
    model, which gains nothing from threads on 2 cores; every core for a real model)."""
    return {
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "WANDB_DISABLED": "true",
        "TOKENIZERS_PARALLELISM": "false",
        "DISABLE_VERSION_CHECK": "1",
        "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", str(threads)),
    }


def check_options(cfg: StudyConfig) -> None:
    """Refuse to resume an output folder built with other sizes (its finished stages would be reused and mix
    with the new ones); record the sizes on first use."""

    options = {
        "model": cfg.model,
        "data": str(cfg.data) if cfg.data else None,
        "design": dict(vars(cfg.rule)) if cfg.rule else None,
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
    env = {**offline_env((os.cpu_count() or 1) if cfg.real else 1), **cfg.env}
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
