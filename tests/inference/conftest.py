from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def tiny_tokenizer(tiny_model):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_model)


@pytest.fixture
def qwen_renderer(tiny_model):
    from transformers import AutoTokenizer

    from polyalign_lf.integration.prompting import load_chat_renderer

    return load_chat_renderer(AutoTokenizer.from_pretrained(tiny_model), "qwen")
