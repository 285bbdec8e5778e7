"""What a cell will cost, printed by ``polyalign run --dry-run`` before anything starts: examples per optimizer
step (checked against the paper's 64), and per training stage estimates of GPU memory, checkpoint disk and an
order of magnitude of time. Every figure is an *estimate* from the formulas below, stated with its assumptions.

* Memory per GPU of full fine-tuning with mixed precision and AdamW under ZeRO-3: 16 bytes per parameter
  (bf16 weights 2 + bf16 gradients 2 + fp32 master weights 4 + Adam moments 8) shared over the GPUs, plus
  the frozen bf16 reference model of DPO/HDPO (2 bytes per parameter, also sharded), plus activations
  (not estimated: they grow with ``cutoff_len`` and the per-device batch).
* Disk: the final bf16 model (2 bytes per parameter) plus, while training, one checkpoint with optimizer
  states (``save_total_limit: 1``; about 16 bytes per parameter).
* Time: training tokens × 6 × parameters (× 4/3 for the preference stages' reference forward passes) divided
  by an assumed sustained 150 TFLOP/s per GPU (bf16 on an A100/H100-class GPU at a modest utilization).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

PAPER_GLOBAL_BATCH = 64  # examples per optimizer step in the paper's runs (8 GPUs × 1 × 8 accumulation)
ASSUMED_FLOPS_PER_GPU = 150e12
# Parameters of the grid's base models (their model cards), for the estimates.
MODEL_PARAMETERS = {"qwen25_1_5b": 1.54e9, "gemma2_2b": 2.61e9, "qwen25_3b": 3.09e9, "llama32_3b": 3.21e9}
CHARS_PER_TOKEN = 4.0  # English; Chinese is closer to 1.5 characters per token (the estimate says which)


def gpus_per_node(nproc: int | None) -> int:
    """LLaMA-Factory's NPROC_PER_NODE: the option, the environment, else every visible GPU (at least 1)."""
    if nproc:
        return nproc
    if os.environ.get("NPROC_PER_NODE", "").isdigit():
        return int(os.environ["NPROC_PER_NODE"])
    try:
        import torch

        return max(1, torch.cuda.device_count())
    except Exception:  # noqa: BLE001 - no torch: one process
        return 1


def global_batch(recipe: dict[str, Any], gpus: int) -> int:
    return gpus * int(recipe.get("per_device_train_batch_size", 8)) * int(recipe.get("gradient_accumulation_steps", 1))


def training_tokens(records: Path, language: str, cutoff: int) -> int | None:
    """Tokens of one epoch over the cell's training records (characters / tokens-per-character, each row capped
    at ``cutoff``); None before the records exist."""
    if not records.is_file():
        return None
    per_char = CHARS_PER_TOKEN if language == "en" else 1.5
    total = 0
    with open(records, encoding="utf-8") as handle:
        for line in handle:
            try:
                row = json.loads(line)
            except ValueError:
                continue
            chars = sum(len(str(row.get(k) or "")) for k in ("question", "context", "human_answer"))
            total += min(cutoff, int(chars / per_char) + 16)
    return total


def _gb(n_bytes: float) -> str:
    return f"{n_bytes / 1e9:,.1f} GB"


def _duration(seconds: float) -> str:
    if seconds < 3600:
        return f"~{max(1, round(seconds / 60))} min"
    if seconds < 86400:
        return f"~{seconds / 3600:.1f} h"
    return f"~{seconds / 86400:.1f} days"


def resource_plan(
    recipes: dict[str, dict[str, Any]], model_key: str, language: str, records: Path, gpus: int
) -> list[str]:
    """Lines of the plan: the global batch check, then one line per training stage."""
    params = MODEL_PARAMETERS.get(model_key)
    lines = [f"resource plan (estimates; see polyalign_lf/pipeline/resources.py) for {gpus} GPU(s) per node:"]
    for method, recipe in recipes.items():
        batch = global_batch(recipe, gpus)
        accumulation = int(recipe.get("gradient_accumulation_steps", 1))
        if batch != PAPER_GLOBAL_BATCH:
            per_step = gpus * int(recipe.get("per_device_train_batch_size", 8))
            fix = PAPER_GLOBAL_BATCH / per_step
            hint = (
                f"gradient_accumulation_steps={int(fix)}"
                if fix == int(fix) and fix >= 1
                else "a per-device batch × accumulation × GPUs of 64"
            )
            lines.append(
                f"  warning: {method}: {batch} examples per optimizer step ({gpus} GPU(s) × "
                f"{recipe.get('per_device_train_batch_size')} × {accumulation}), not the paper's {PAPER_GLOBAL_BATCH}: "
                f"step counts and the learning-rate schedule differ from the paper's; to match, pass {hint} "
                f"(`llamafactory-cli train RECIPE {hint}`) or edit the recipe"
            )
        if params is None:
            lines.append(f"  {method}: {batch} examples/step; model size unknown, no memory or time estimate")
            continue
        preference = method in ("dpo", "hdpo")
        zero3 = "z3" in str(recipe.get("deepspeed") or "")
        shards = gpus if zero3 else 1
        memory = (16 * params + (2 * params if preference else 0)) / shards
        disk = 2 * params + 16 * params
        tokens = training_tokens(records, language, int(recipe.get("cutoff_len", 2048)))
        if tokens is None:
            time = "time: records not built yet"
        else:
            factor = 2 if preference else 1  # a pair is two sequences (chosen, rejected)
            flops = (
                tokens * factor * 6 * params * (4 / 3 if preference else 1) * float(recipe.get("num_train_epochs", 1))
            )
            time = f"time {_duration(flops / (gpus * ASSUMED_FLOPS_PER_GPU))} for ~{tokens * factor:,} tokens/epoch"
        lines.append(
            f"  {method}: {batch} examples/step; GPU memory ~{_gb(memory)} per GPU"
            f"{' (ZeRO-3 over ' + str(gpus) + ')' if zero3 else ''} + activations; disk ~{_gb(disk)} while "
            f"training ({_gb(2 * params)} final); {time}"
        )
    if params is not None:
        lines.append(f"  base model download ~{_gb(2 * params)} (bf16 weights), once per machine")
    return lines
