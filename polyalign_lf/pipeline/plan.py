"""The PolyAlign pipeline as an ordered list of stages, for one grid cell (languages × model).

Data flows one way (docs/demo.md has the picture)::

    prepare → dedup → export (data_registry/) → records → features → references
      → sft, bucket_sft (llamafactory-cli train)
      → predict-train (SFT / Bucket-SFT outputs on training prompts)
      → pairs-dpo → dpo (llamafactory-cli train)
      → critic → pairs-hdpo (+ critic scores and Theorem-5 weights) → hdpo (llamafactory-cli train)
      → predict-test (every method, BaseLM included) → evaluate → report

Every path is relative to the pipeline *root* (the directory commands run in): recipes use
``dataset_dir: data_registry`` and write ``saves/{lang}/{model}/{method}``. ``polyalign run`` uses the
current directory as root and the committed recipes; ``polyalign demo`` uses its ``--out`` directory as
root and writes CPU-sized recipes for a tiny model there, built by the same function as the committed ones.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from polyalign_lf.io import atomic_write, write_jsonl
from polyalign_lf.pipeline import recipes as layout
from polyalign_lf.pipeline.recipes import METHODS, output_dir, pref_dataset
from polyalign_lf.pipeline.stages import Stage, VllmServer, llamafactory_train, polyalign_command

# Methods evaluated on the test split: the paper's grid plus the BaseLM baseline (the untrained base model).
EVAL_METHODS: tuple[str, ...] = ("base", "sft", "bucket_sft", "dpo", "hdpo")
METHOD_LABELS = {"base": "BaseLM", "sft": "Full-SFT", "bucket_sft": "Bucket-SFT", "dpo": "DPO", "hdpo": "HDPO"}


@dataclass
class CellConfig:
    """One pipeline cell. ``label`` names it in dataset entries and output folders (``en``, ``zh``, or
    a bilingual label such as ``bi`` for the demo, whose records hold both languages)."""

    root: Path
    label: str  # language label of the cell: "en", "zh", or e.g. "bi"
    languages: tuple[str, ...]  # languages of the records used
    model: str  # model key (recipes' file prefix), e.g. "gemma2_2b" or "tiny"
    base_model: str  # path or Hub id of the untrained base model (BaseLM baseline, SFT init)
    template: str  # LLaMA-Factory template (prompts at generation must match training)
    recipe_dir: Path  # where {model}_{method}.yaml and {model}_critic.yaml live
    prepared: Path | None = None  # output of `polyalign prepare` (None: the prepare stage makes it)
    prepare_commands: list[list[str]] = field(default_factory=list)  # `polyalign prepare` argument lists
    min_bucket_size: int | None = None  # references / metrics bucket minimum (None: each tool's default)
    generate_args: list[str] = field(default_factory=list)  # extra `polyalign generate` arguments
    evaluate_args: list[str] = field(default_factory=list)  # extra `polyalign evaluate` arguments
    report_args: list[str] = field(default_factory=list)  # extra `polyalign report` arguments
    critic_args: list[str] = field(default_factory=list)  # extra `polyalign critic train` arguments
    pairs_args: list[str] = field(default_factory=list)  # extra `polyalign pairs hdpo` arguments
    train_env: dict[str, str] = field(default_factory=dict)  # e.g. FORCE_TORCHRUN=1
    critic_config: dict[str, Any] | None = None  # None: read recipe_dir/{model}_critic.yaml
    num_candidates: int = (
        4  # Bucket-SFT candidates per training prompt: greedy + K-1 sampled (distribution/local pairs)
    )
    # How BaseLM is prompted: "base" = a plain prompt (a pre-trained model), "template" = the cell's chat
    # template as in the SFT recipe (a base model that was itself chat-tuned, like the study's)
    base_prompt: str = "base"
    # Generation engine: "hf" (transformers, in-process) or "vllm": with ``vllm_url`` a server the user runs
    # (it must serve each method's model under its path), else each `generate` starts `vllm_serve_cmd MODEL`
    # for its own model and stops it afterwards (vLLM serves one model per server).
    engine: str = "hf"
    vllm_url: str | None = None
    vllm_serve_cmd: str = "vllm serve"
    vllm_serve_args: str = ""

    # --- paths ---------------------------------------------------------------------------------------
    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def prepared_dir(self) -> Path:
        return self.prepared or self.data / "prepared"

    @property
    def dedup_dir(self) -> Path:
        return self.data / "dedup"

    @property
    def registry(self) -> Path:
        return self.root / "data_registry"

    @property
    def lang_dir(self) -> Path:
        return self.data / self.label

    def records(self, split: str) -> Path:
        return self.root / layout.records_path(self.label, split)

    @property
    def all_records(self) -> Path:
        return self.records("all")

    @property
    def human_features(self) -> Path:
        return self.root / layout.human_features_path(self.label)

    @property
    def references(self) -> Path:
        return self.root / layout.references_path(self.label)

    @property
    def cell_dir(self) -> Path:
        return self.root / layout.cell_path(self.label, self.model)

    def output_features(self, method: str, split: str) -> Path:
        return self.root / layout.output_features_path(self.label, self.model, method, split)

    def model_dir(self, method: str) -> Path:
        return self.root / output_dir(self.label, self.model, method)

    def recipe(self, method: str) -> Path:
        return self.recipe_dir / f"{self.model}_{method}.yaml"

    def predictions(self, method: str, split: str) -> Path:
        return self.root / layout.predictions_path(self.label, self.model, method, split)

    def metrics(self, method: str) -> Path:
        return self.cell_dir / "metrics" / f"{method}.json"

    @property
    def report_dir(self) -> Path:
        return self.cell_dir / "report"

    @property
    def critic_dir(self) -> Path:
        return self.model_dir("critic")

    @property
    def pairs_dir(self) -> Path:
        return self.cell_dir / "pairs"

    def sample_predictions(self, seed: int) -> Path:
        return self.cell_dir / "predictions" / f"bucket_sft_train_sample{seed}.jsonl"

    @property
    def candidates(self) -> Path:
        return self.cell_dir / "predictions" / "bucket_sft_train_candidates.jsonl"

    def pref_file(self, kind: str) -> Path:
        return self.registry / f"{pref_dataset(self.label, kind, self.model)}.json"

    @property
    def title(self) -> str:
        return f"PolyAlign · {self.model} · {self.label}"

    def generation_model(self, method: str) -> str:
        return self.base_model if method == "base" else str(self.model_dir(method))


def _concat_records(cfg: CellConfig) -> Callable[[], None]:
    """Collect the cell's records (all deduplicated datasets, the cell's languages) into one file per split."""

    def action() -> None:

        from polyalign_lf.data.dedup import find_datasets
        from polyalign_lf.data.schema import SPLITS, iter_records

        datasets = find_datasets(cfg.dedup_dir)
        with atomic_write(cfg.all_records) as all_handle:
            for split in SPLITS:
                with atomic_write(cfg.records(split)) as handle:
                    for dataset in datasets:
                        path = cfg.dedup_dir / dataset / f"{split}.jsonl"
                        if not path.exists():
                            continue
                        for record in iter_records(path):
                            if record["language"] in cfg.languages:
                                line = json.dumps(record, ensure_ascii=False) + "\n"
                                handle.write(line)
                                all_handle.write(line)

    return action


def build_stages(cfg: CellConfig) -> list[Stage]:
    """Every stage of the pipeline for ``cfg``, in order."""
    stages: list[Stage] = []
    if cfg.prepared is None:
        stages.append(
            Stage(
                "prepare",
                "format source datasets into bucketed records",
                [
                    polyalign_command(*args)
                    for args in (cfg.prepare_commands or [["prepare", "--all", "--out", str(cfg.prepared_dir)]])
                ],
                [cfg.prepared_dir],
            )
        )
    # A stage that runs again (after a failure or --redo) replaces its output folder whole: --overwrite.
    stages.append(
        Stage(
            "dedup",
            "remove duplicates, protect val/test from leakage",
            [polyalign_command("dedup", cfg.prepared_dir, "--out", cfg.dedup_dir, "--overwrite")],
            [cfg.dedup_dir],
        )
    )
    stages.append(
        Stage(
            "export",
            "write LLaMA-Factory files + dataset_info.json entries",
            [polyalign_command("export", cfg.dedup_dir, "--out", cfg.registry)],
            [cfg.registry / "dataset_info.json"],
        )
    )
    stages.append(
        Stage(
            "records",
            f"collect {'+'.join(cfg.languages)} records per split",
            [],
            [cfg.records("train"), cfg.records("test"), cfg.all_records],
            action=_concat_records(cfg),
            action_label=f"records of {', '.join(cfg.languages)} → {cfg.lang_dir.relative_to(cfg.root)}/records_{{train,val,test,all}}.jsonl",
        )
    )
    stages.append(
        Stage(
            "features",
            "bilingual linguistic features of the human answers",
            [polyalign_command("features", "--records", cfg.all_records, "--out", cfg.human_features)],
            [cfg.human_features],
        )
    )
    ref_args = ["references", "--features", cfg.human_features, "--out", cfg.references]
    if cfg.min_bucket_size is not None:
        ref_args += ["--min-bucket-size", str(cfg.min_bucket_size)]
    stages.append(
        Stage(
            "references",
            "per-bucket human reference statistics (train split only)",
            [polyalign_command(*ref_args)],
            [cfg.references],
        )
    )
    corpus_markers, lang_markers = cfg.data / ".stages", cfg.lang_dir / ".stages"
    for stage in stages:
        stage.marker_dir = corpus_markers if stage.name in ("prepare", "dedup", "export") else lang_markers
    for method in ("sft", "bucket_sft"):
        stages.append(_train_stage(cfg, method))
    # Model outputs on training prompts: SFT's for the DPO pairs (chosen = human answer, rejected = SFT
    # output); Bucket-SFT's for the critic and the HDPO pairs, whose distribution/local pairs compare
    # candidates: the greedy Bucket-SFT output plus K-1 sampled ones.
    seeds = range(1, cfg.num_candidates)
    candidate_files = [cfg.predictions("bucket_sft", "train"), *[cfg.sample_predictions(seed) for seed in seeds]]
    stages.append(
        Stage(
            "predict-train",
            "SFT and Bucket-SFT outputs on the training prompts (+ sampled candidates)",
            [
                generate_command(cfg, "sft", "train"),
                generate_command(cfg, "bucket_sft", "train"),
                *[generate_command(cfg, "bucket_sft", "train", sample_seed=seed) for seed in seeds],
            ],
            [cfg.predictions("sft", "train"), cfg.predictions("bucket_sft", "train"), cfg.candidates],
            action=_merge_candidates(candidate_files, cfg.candidates),
            action_label=f"{cfg.num_candidates} candidates per prompt (greedy + {cfg.num_candidates - 1} sampled) "
            f"→ {cfg.candidates.relative_to(cfg.root)}",
            note=generation_note(cfg, "train", 1 + cfg.num_candidates)[0],
        )
    )
    stages.append(
        Stage(
            "pairs-dpo",
            "DPO pairs: human answer over the SFT output",
            [
                polyalign_command(
                    "pairs",
                    "dpo",
                    "--records",
                    cfg.records("train"),
                    "--predictions",
                    cfg.predictions("sft", "train"),
                    "--split",
                    "train",
                    "--lang",
                    cfg.label,
                    "--model-name",
                    cfg.model,
                    "--out",
                    cfg.registry,
                )
            ],
            [cfg.pref_file("dpo")],
        )
    )
    stages.append(_train_stage(cfg, "dpo"))
    stages.append(
        Stage(
            "features-outputs",
            "features of the Bucket-SFT outputs on the training prompts",
            [
                polyalign_command(
                    "features",
                    "--records",
                    cfg.records("train"),
                    "--predictions",
                    cfg.predictions("bucket_sft", "train"),
                    "--out",
                    cfg.output_features("bucket_sft", "train"),
                )
            ],
            [cfg.output_features("bucket_sft", "train")],
        )
    )
    stages.append(
        Stage(
            "critic",
            "train the human-distribution critic (Theorem 4 loss)",
            [
                polyalign_command(
                    "critic",
                    "train",
                    *critic_config_argv(cfg.critic_config or cfg.recipe("critic")),
                    *cfg.critic_args,
                    "--overwrite",
                )
            ],
            [cfg.critic_dir / "critic_config.json"],
        )
    )
    stages.append(
        Stage(
            "pairs-hdpo",
            "HDPO pairs (global/distribution/local), critic scores, Theorem-5 weights",
            [
                polyalign_command(
                    "pairs",
                    "hdpo",
                    "--records",
                    cfg.records("train"),
                    "--predictions",
                    cfg.predictions("bucket_sft", "train"),
                    "--candidates",
                    cfg.candidates,
                    "--critic",
                    cfg.critic_dir,
                    "--split",
                    "train",
                    "--lang",
                    cfg.label,
                    "--model-name",
                    cfg.model,
                    "--out",
                    cfg.registry,
                    *cfg.pairs_args,
                )
            ],
            [cfg.pref_file("hdpo")],
        )
    )
    stages.append(_train_stage(cfg, "hdpo"))
    stages.append(
        Stage(
            "predict-test",
            "every method's answers on the test prompts (BaseLM included)",
            [generate_command(cfg, method, "test") for method in EVAL_METHODS],
            [cfg.predictions(method, "test") for method in EVAL_METHODS],
            note=generation_note(cfg, "test", len(EVAL_METHODS))[0],
        )
    )
    eval_commands = []
    for method in EVAL_METHODS:
        args = [
            "evaluate",
            "--records",
            cfg.records("test"),
            "--predictions",
            cfg.predictions(method, "test"),
            "--out",
            cfg.metrics(method),
            "--references",
            cfg.references,
            "--method",
            METHOD_LABELS[method],
            "--model-label",
            cfg.model,
        ]
        if cfg.min_bucket_size is not None:
            args += ["--min-bucket-size", str(cfg.min_bucket_size)]
        if not any(str(a).startswith("--cache-dir") for a in cfg.evaluate_args):
            # the human answers' features and embeddings do not depend on the method: computed once per test set
            args += ["--cache-dir", cfg.lang_dir / "eval_cache"]
        eval_commands.append(polyalign_command(*args, *cfg.evaluate_args))
    stages.append(
        Stage(
            "evaluate",
            "utility + conditional-naturalness metrics on the full test split",
            eval_commands,
            [cfg.metrics(m) for m in EVAL_METHODS],
        )
    )
    stages.append(
        Stage(
            "report",
            "comparison table and plots",
            [
                polyalign_command(
                    "report",
                    *[f"{METHOD_LABELS[m]}={cfg.metrics(m)}" for m in EVAL_METHODS],
                    "--out",
                    cfg.report_dir,
                    "--overwrite",
                    "--title",
                    cfg.title,
                    "--records",
                    cfg.records("test"),
                    "--predictions",
                    *[f"{METHOD_LABELS[m]}={cfg.predictions(m, 'test')}" for m in EVAL_METHODS],
                    *cfg.report_args,
                )
            ],
            [cfg.report_dir / "report.md"],
        )
    )
    return stages


def critic_config_argv(source: Path | dict[str, Any]) -> list[str]:
    """``polyalign critic train`` arguments for a critic recipe: ``--config FILE`` for a recipe file, or the
    options spelled out for an in-memory config (keys = the command's option names; list values repeat the
    option, ``true`` is a bare flag)."""
    if not isinstance(source, dict):
        return ["--config", str(source)]
    argv: list[str] = []
    for key, value in source.items():
        option = "--" + str(key).replace("_", "-")
        if isinstance(value, bool):
            if value:
                argv.append(option)
        elif isinstance(value, (list, tuple)):
            for item in value:
                argv += [option, str(item)]
        elif value is not None:
            argv += [option, str(value)]
    return argv


def _train_stage(cfg: CellConfig, method: str) -> Stage:
    titles = {
        "sft": "Full-SFT",
        "bucket_sft": "Bucket-SFT (bucket_weighting, Eq. 1)",
        "dpo": "DPO from the SFT model",
        "hdpo": "HDPO from the Bucket-SFT model (Eq. 10)",
    }
    return Stage(
        method,
        f"{titles[method]} — llamafactory-cli train",
        [llamafactory_train(cfg.recipe(method), env=cfg.train_env)],
        [cfg.model_dir(method) / "config.json"],
    )


def generate_command(cfg: CellConfig, method: str, split: str, *, sample_seed: int | None = None):
    """``polyalign generate`` for one method: the chat template it was trained with (its recipe), or the
    plain BaseLM prompt for the untrained base model. ``sample_seed`` draws a sampled candidate instead of
    the paper's low-temperature decoding."""
    out = cfg.predictions(method, split) if sample_seed is None else cfg.sample_predictions(sample_seed)
    model = cfg.generation_model(method)
    args: list[str | os.PathLike] = [
        "generate",
        *engine_args(cfg, model),
        "--model",
        model,
        "--records",
        cfg.records(split),
        "--out",
        out,
        "--method",
        method,
    ]
    if method == "base" and cfg.base_prompt == "base":
        args += ["--mode", "base"]
    else:  # the recipe gives LLaMA-Factory's template and default_system: prompts exactly as in training
        args += ["--recipe", cfg.recipe("sft" if method == "base" else method)]
    if sample_seed is not None:
        args += ["--temperature", "0.9", "--top-p", "0.95", "--seed", str(sample_seed)]
    command = polyalign_command(*args, *cfg.generate_args)
    if cfg.engine == "vllm" and not cfg.vllm_url:
        # the runner serves the model once for all of the stage's commands that use it (not once per command)
        command.server = VllmServer(str(model), cfg.vllm_serve_cmd, cfg.vllm_serve_args)
    return command


def engine_args(cfg: CellConfig, model: str) -> list[str]:
    """`polyalign generate`'s engine options for one model of the cell (without a --vllm-url the stage runner
    starts one `vllm serve` per model and stage and adds its URL: :class:`~polyalign_lf.pipeline.stages.VllmServer`)."""
    if cfg.engine == "hf":
        return ["--engine", "hf"]
    if cfg.vllm_url:
        return ["--engine", "vllm", "--server-url", cfg.vllm_url, "--served-model-name", str(model)]
    return ["--engine", "vllm"]


def count_records(path: Path) -> int | None:
    """Records in a JSONL file (None while the file does not exist yet)."""
    try:
        with open(path, "rb") as handle:
            return sum(1 for line in handle if line.strip())
    except OSError:
        return None


def generation_note(cfg: CellConfig, split: str, n_jobs: int) -> tuple[str, int | None]:
    """How many prompts a generation stage sends (``n_jobs`` generate runs over ``split``), and that number."""
    n = count_records(cfg.records(split))
    engine = f"{cfg.engine} engine" + (
        " (a vllm serve per model)" if cfg.engine == "vllm" and not cfg.vllm_url else ""
    )
    if n is None:
        return f"prompts: {n_jobs} run(s) × the {split} records (not built yet) · {engine}", None
    return f"prompts: {n_jobs} run(s) × {n:,} {split} records = {n_jobs * n:,} generations · {engine}", n_jobs * n


# Above this many generations (or when the records are not built yet, as in a real cell's first dry run) the
# plan says that the hf engine is the slow choice: a paper cell sends ~10^5-10^6 prompts.
HF_PRACTICAL_LIMIT = 20_000


def engine_warning(cfg: CellConfig) -> str | None:
    """A warning for the plan when a large cell would generate with the hf engine."""
    if cfg.engine != "hf":
        return None
    counts = [
        generation_note(cfg, "train", 1 + cfg.num_candidates)[1],
        generation_note(cfg, "test", len(EVAL_METHODS))[1],
    ]
    if all(c is not None for c in counts) and sum(counts) <= HF_PRACTICAL_LIMIT:
        return None
    if all(c is not None for c in counts):
        size = f"{sum(counts):,} generations"
    else:
        size = "this cell's generations (records not built yet; a paper cell sends 10^5-10^6 prompts)"
    return (
        f"warning: {size} with the hf engine (transformers generate in one process) take days; vLLM is the "
        "practical choice: --engine vllm (starts `vllm serve` per model; --vllm-serve-cmd if it lives in another "
        "environment) or --vllm-url URL"
    )


def _merge_candidates(sample_files: list[Path], out: Path) -> Callable[[], None]:
    """Merge prediction files (greedy + sampled) into the candidates file ``{"id", "candidates": [...]}``."""

    def action() -> None:
        from polyalign_lf.core.predictions import align_rows, prediction_rows

        # the core reader: a bad row or a record one file lacks is an error naming the file, never a skip
        merged: dict[str, list[str]] = {}
        for path in sample_files:
            rows = list(prediction_rows(path))
            ids = list(merged) or [row["id"] for _, row in rows if isinstance(row.get("id"), str)]
            for rid, text in align_rows(rows, ids, records_label=str(sample_files[0]), where=str(path)).items():
                merged.setdefault(rid, []).append(text)
        write_jsonl(out, ({"id": rid, "candidates": texts} for rid, texts in merged.items()))

    return action


def stage_names(stages: Sequence[Stage]) -> list[str]:
    return [s.name for s in stages]


__all__ = [
    "CellConfig",
    "build_stages",
    "critic_config_argv",
    "generate_command",
    "EVAL_METHODS",
    "METHOD_LABELS",
    "METHODS",
    "stage_names",
]
