"""Shared fixtures. Everything is offline: tiny models and tokenizers are built here, never downloaded."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# No test may reach the Hugging Face Hub or a tracker.
for _key, _value in {
    "HF_HUB_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "WANDB_DISABLED": "true",
    "TOKENIZERS_PARALLELISM": "false",
    "POLYALIGN_NO_PROGRESS": "1",
    "DISABLE_VERSION_CHECK": os.environ.get("DISABLE_VERSION_CHECK", "0"),
}.items():
    os.environ.setdefault(_key, _value)

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    """A tiny random Qwen2 causal LM with a bilingual byte-level BPE tokenizer (template: qwen)."""
    from polyalign_lf.testing.tiny import build_tiny_causal_lm

    return build_tiny_causal_lm(tmp_path_factory.mktemp("tiny_model") / "model")


@pytest.fixture(scope="session")
def tiny_ref_model(tiny_model, tmp_path_factory) -> Path:
    """The tiny model with perturbed weights: a reference model that differs from the policy."""
    from polyalign_lf.testing.tiny import perturb_weights

    return perturb_weights(tiny_model, tmp_path_factory.mktemp("tiny_ref") / "model")
