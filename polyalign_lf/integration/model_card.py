"""The model card of a PolyAlign run: LLaMA-Factory writes a generic one (``tags: llama-factory, full``), so a
Bucket-SFT or HDPO model pushed to a hub would carry no trace of the method. This adds the ``polyalign`` and
method tags and a section with the run's PolyAlign settings (and the critic's hash) to ``README.md``, both when
LLaMA-Factory writes the card locally and when ``push_to_hub`` writes it before the upload."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

PAPER_URL = "https://arxiv.org/abs/2606.13227"
SECTION_MARK = "<!-- polyalign-lf -->"


def method_name(stage: str, pa: Any) -> str:
    if stage == "hdpo":
        return "hdpo"
    return "bucket-sft" if getattr(pa, "bucket_weighting", "false") in ("true", "uniform") else "sft"


def critic_digest(critic_dir: str | None) -> str | None:
    """sha256 of the critic bundle's files (names and bytes, in name order): which critic shaped the model."""
    if not critic_dir or not os.path.isdir(critic_dir):
        return None
    digest = hashlib.sha256()
    for path in sorted(Path(critic_dir).rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(critic_dir)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def card_settings(stage: str, finetuning_args: Any) -> dict[str, Any]:
    """The PolyAlign settings a reader of the card needs to know what was trained."""
    pa = finetuning_args.polyalign_args
    settings: dict[str, Any] = {"method": method_name(stage, pa)}
    if stage == "hdpo":
        settings.update(
            hdpo_lambda=pa.hdpo_lambda,
            pref_beta=getattr(finetuning_args, "pref_beta", None),
            hdpo_critic=pa.hdpo_critic,
            critic_sha256=critic_digest(pa.hdpo_critic),
        )
    settings.update(
        bucket_weighting=pa.bucket_weighting,
        weight_normalization=getattr(pa, "weight_normalization", None),
        bucket_sampling=getattr(pa, "bucket_sampling", None),
    )
    return settings


def polyalign_section(settings: dict[str, Any]) -> str:
    from polyalign_lf import __version__

    rows = "".join(f"| `{key}` | `{value}` |\n" for key, value in settings.items() if value is not None)
    title = {"hdpo": "HDPO", "bucket-sft": "Bucket-SFT", "sft": "SFT"}[settings["method"]]
    return (
        f"\n{SECTION_MARK}\n## PolyAlign: {title}\n\n"
        f"Trained with [polyalign-lf](https://github.com/polyalign-lf/polyalign-lf) {__version__} "
        f"(PolyAlign: conditional human-distribution alignment, {PAPER_URL}).\n\n"
        f"| setting | value |\n|---|---|\n{rows}"
    )


def add_to_model_card(readme: str | os.PathLike, settings: dict[str, Any]) -> bool:
    """Add the PolyAlign tags and section to the card at ``readme`` (replacing an earlier PolyAlign section, so
    writing twice gives one section). Returns False when there is no card there."""
    import yaml

    from polyalign_lf.io import atomic_write

    path = Path(readme)
    if not path.is_file():
        return False
    text = path.read_text(encoding="utf-8")
    meta: dict[str, Any] = {}
    body = text
    if text.startswith("---\n") and "\n---\n" in text[4:]:
        head, body = text[4:].split("\n---\n", 1)
        loaded = yaml.safe_load(head) or {}
        meta = loaded if isinstance(loaded, dict) else {}
    tags = meta.get("tags") or []
    tags = [tags] if isinstance(tags, str) else list(tags)
    for tag in ("polyalign", settings["method"]):
        if tag not in tags:
            tags.append(tag)
    meta["tags"] = tags
    body = body.split(f"\n{SECTION_MARK}\n", 1)[0].rstrip("\n") + "\n"
    with atomic_write(path) as handle:
        handle.write("---\n" + yaml.safe_dump(meta, sort_keys=False, allow_unicode=True) + "---\n")
        handle.write(body + polyalign_section(settings))
    return True


def wrap_create_modelcard_and_push(original, stage: str):
    """LLaMA-Factory's card writer, then the PolyAlign tags and section on the card it wrote locally (a push
    goes through the trainer's ``create_model_card``, which adds them before the upload)."""

    def create_modelcard_and_push(trainer, model_args, data_args, training_args, finetuning_args):
        original(trainer, model_args, data_args, training_args, finetuning_args)
        if training_args.do_train and not training_args.push_to_hub and getattr(training_args, "should_save", True):
            add_to_model_card(
                os.path.join(training_args.output_dir, "README.md"), card_settings(stage, finetuning_args)
            )

    create_modelcard_and_push.__wrapped__ = original
    return create_modelcard_and_push
