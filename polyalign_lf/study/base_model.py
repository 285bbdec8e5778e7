"""The study's base model: a ~1M-parameter Qwen2 that answers every prompt in one global assistant style.

Built offline in two steps, both cached (a rerun skips them):

1. :func:`init_base_model` — a byte-level BPE tokenizer trained on the training split's texts (prompts,
   human and uniform answers; nothing of the test split) and a randomly initialised Qwen2 with the Qwen
   chat template;
2. :func:`base_recipe` — a plain LLaMA-Factory SFT recipe that trains it on the *uniform* answers of the
   training prompts (``uniform_answer`` of :mod:`polyalign_lf.study.corpus`), run with
   ``llamafactory-cli train`` like every other training stage.

The result plays the paper's BaseLM: it follows the chat template and answers with the right content, but
in one formal, boilerplate-wrapped style whatever the interaction context.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from polyalign_lf.io import atomic_write, read_json, write_json

BASE_DATASET = "study_uniform_train"
MODEL_SHAPE = dict(hidden_size=128, num_layers=4, num_heads=4, num_kv_heads=2, intermediate_size=352, vocab_size=1600)


def tokenizer_texts(rows: Iterable[dict]) -> list[str]:
    """The texts the tokenizer is trained on: everything of the training split's rows."""
    texts = []
    for row in rows:
        if row["split"] != "train":
            continue
        texts += [row["question"], row["context"], row["answer"], row["uniform_answer"]]
        texts += [turn["text"] for turn in row["history"]]
    return [t for t in texts if t]


def init_base_model(out_dir: Path, rows: list[dict], seed: int = 0) -> Path:
    """Tokenizer trained on the corpus and a random Qwen2 of :data:`MODEL_SHAPE` (idempotent)."""
    from polyalign_lf.core.tiny_models import build_tiny_causal_lm

    return build_tiny_causal_lm(out_dir, corpus=tokenizer_texts(rows) * 2, seed=seed, **MODEL_SHAPE)


def write_base_dataset(registry: Path, records_train: Path, rows: list[dict]) -> Path:
    """The training prompts with their uniform answers as a LLaMA-Factory alpaca file + dataset_info entry.

    The prompt side goes through the same record → alpaca mapping as every other stage, so the base model
    sees exactly the prompts the later stages train and generate with."""
    from polyalign_lf.data.lf_format import record_to_alpaca
    from polyalign_lf.data.schema import iter_records

    uniform = {row["id"]: row["uniform_answer"] for row in rows}
    examples = []
    for record in iter_records(records_train):
        source = (record.get("meta") or {}).get("source_id")
        if source not in uniform:
            raise KeyError(f"record {record['id']} has no uniform answer (source id {source!r})")
        example = record_to_alpaca(record)
        example["output"] = uniform[source]
        examples.append(example)
    path = registry / f"{BASE_DATASET}.json"
    with atomic_write(path) as handle:
        json.dump(examples, handle, ensure_ascii=False)
    info_path = registry / "dataset_info.json"
    info = read_json(info_path) if info_path.is_file() else {}
    info[BASE_DATASET] = {
        "file_name": path.name,
        "columns": {"prompt": "instruction", "query": "input", "response": "output", "history": "history"},
    }
    write_json(info_path, info)
    return path


def base_recipe(model_dir: str, output_dir: str, *, seed: int = 42) -> dict[str, Any]:
    """Plain LLaMA-Factory SFT (no PolyAlign key) of the random model on the uniform answers."""
    return {
        "model_name_or_path": model_dir,
        "trust_remote_code": False,
        "stage": "sft",
        "do_train": True,
        "finetuning_type": "full",
        "dataset_dir": "data_registry",
        "dataset": BASE_DATASET,
        "template": "qwen",
        "cutoff_len": 256,
        "mask_history": True,
        "preprocessing_num_workers": 1,
        "dataloader_num_workers": 0,
        "output_dir": output_dir,
        "overwrite_output_dir": True,
        "logging_steps": 10,
        "save_strategy": "no",
        "plot_loss": False,
        "report_to": "none",
        "per_device_train_batch_size": 8,
        "gradient_accumulation_steps": 1,
        "learning_rate": 3.0e-3,
        "num_train_epochs": 3.0,
        "lr_scheduler_type": "cosine",
        "warmup_ratio": 0.05,
        "disable_gradient_checkpointing": True,
        "bf16": False,
        "seed": seed,
    }
