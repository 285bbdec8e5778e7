"""Inference prompts rendered by LLaMA-Factory's own template code, exactly as training renders them.

Training exports a record with :func:`polyalign_lf.data.lf_format.record_prompt` (alpaca fields), LLaMA-Factory's
alpaca converter turns those into messages (history pairs, then ``instruction + "\\n" + input`` as the user
turn) and the recipe's ``template`` encodes them with its default system prompt (or the recipe's
``default_system``). Here the same three steps produce the prompt token ids: the same converter class, the
same ``get_template_and_fix_tokenizer`` and ``Template.encode_oneturn`` that LLaMA-Factory's own chat engine
uses for generation. The reference implementation re-created the prompt by hand and got the user-message
order and the system prompt wrong.

This is the only module of the inference stage that touches LLaMA-Factory.
"""

from __future__ import annotations

import copy
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from polyalign_lf.errors import ConfigError


def read_recipe(recipe: str | os.PathLike) -> dict[str, Any]:
    """A LLaMA-Factory recipe YAML as a mapping (the model's training recipe)."""
    import yaml

    path = Path(recipe)
    if not path.is_file():
        raise ConfigError(f"recipe not found: {path}")
    with open(path, encoding="utf-8") as handle:
        config = yaml.safe_load(handle) or {}
    if not isinstance(config, dict):
        raise ConfigError(f"{path}: a recipe must be a YAML mapping")
    return config


def read_recipe_template(recipe: str | os.PathLike) -> tuple[str | None, str | None]:
    """``template`` and ``default_system`` of a recipe."""
    config = read_recipe(recipe)
    return config.get("template"), config.get("default_system")


def recipe_profile_prompt(recipe: str | os.PathLike) -> str | None:
    """The profile prompt the recipe's training rows carry: ``profile_prompt`` of the ``export_manifest.json``
    in its ``dataset_dir`` (relative to the working directory, as LLaMA-Factory reads it); None when unknown."""
    manifest = Path(str(read_recipe(recipe).get("dataset_dir") or "data")) / "export_manifest.json"
    if not manifest.is_file():
        return None
    try:
        with open(manifest, encoding="utf-8") as handle:
            return json.load(handle).get("profile_prompt", "none")
    except (OSError, ValueError, AttributeError):
        return None


def alpaca_to_messages(example: dict[str, Any]) -> list[dict[str, str]]:
    """LLaMA-Factory's alpaca conversion of a prompt-only example (its ``_prompt`` messages)."""
    from llamafactory.data.converter import AlpacaDatasetConverter
    from llamafactory.data.parser import DatasetAttr

    attr = DatasetAttr(load_from="file", dataset_name="polyalign_inference", history="history")
    converter = AlpacaDatasetConverter(dataset_attr=attr, data_args=None)
    row = {
        "instruction": example.get("instruction", ""),
        "input": example.get("input", ""),
        "output": None,
        "history": example.get("history") or [],
    }
    return list(converter(row)["_prompt"])


@dataclass
class ChatPromptRenderer:
    """Renders alpaca prompt fields with a LLaMA-Factory template → prompt token ids."""

    tokenizer: Any
    template: Any
    template_name: str | None
    system: str | None = None  # None → the template's (possibly recipe-overridden) default system

    def messages(self, example: dict[str, Any]) -> list[dict[str, str]]:
        return alpaca_to_messages(example)

    def prompt_ids(self, example: dict[str, Any]) -> list[int]:
        """Token ids of the prompt; a per-example ``system`` (the profile prompt) replaces the default one, as
        LLaMA-Factory's ``system`` column does in training."""
        paired = self.messages(example) + [{"role": "assistant", "content": ""}]
        system = example.get("system") or self.system or None
        prompt_ids, _ = self.template.encode_oneturn(self.tokenizer, paired, system, None)
        return list(prompt_ids)

    def stop_token_ids(self) -> list[int]:
        return list(self.template.get_stop_token_ids(self.tokenizer))

    @property
    def default_system(self) -> str:
        return self.system or self.template.default_system


def load_chat_renderer(tokenizer: Any, template: str | None, default_system: str | None = None) -> ChatPromptRenderer:
    """Fix ``tokenizer`` for ``template`` (as LLaMA-Factory does before training) and return a renderer."""
    from llamafactory.data import get_template_and_fix_tokenizer
    from llamafactory.hparams import DataArguments

    if template is None:
        raise ConfigError(
            "no chat template given: pass --template NAME (the recipe's `template:`) or --recipe RECIPE.yaml"
        )
    from llamafactory.data import TEMPLATES

    # get_template_and_fix_tokenizer writes default_system into the shared registry entry; keep a private copy
    # and restore the registry so one renderer's system prompt never leaks into another.
    registered = TEMPLATES.get(template)
    original_system = registered.default_system if registered is not None else None
    try:
        data_args = DataArguments(template=template, default_system=default_system)
        lf_template = copy.copy(get_template_and_fix_tokenizer(tokenizer, data_args))
    except ValueError as exc:
        raise ConfigError(f"LLaMA-Factory rejected template {template!r}: {exc}") from None
    finally:
        if registered is not None:
            registered.default_system = original_system
    return ChatPromptRenderer(tokenizer=tokenizer, template=lf_template, template_name=template, system=None)
