"""Predictions alignment, the three pair types, dataset registration, and the pairs/weights CLI."""

from __future__ import annotations

import json

import pytest
from polyalign_testing.synthetic_corpus import synthetic_corpus

from polyalign_lf.cli import main as cli_main
from polyalign_lf.core.predictions import read_candidates, read_predictions
from polyalign_lf.data.lf_format import record_prompt
from polyalign_lf.data.schema import write_records
from polyalign_lf.errors import InputError
from polyalign_lf.io import write_jsonl
from polyalign_lf.pairs.build import distribution_pairs, global_pairs, local_pairs
from polyalign_lf.pairs.dataset_info import dataset_name, register_ranking_dataset


@pytest.fixture()
def corpus():
    records, outputs = synthetic_corpus(24, seed=5)
    return records, outputs


def _write_preds(path, rows):
    write_jsonl(path, rows)
    return path


def test_predictions_alignment_is_strict(tmp_path, corpus):
    records, _ = corpus
    ids = [r["id"] for r in records]
    ok = _write_preds(tmp_path / "ok.jsonl", [{"id": i, "prediction": "x"} for i in ids])
    assert set(read_predictions(ok, ids)) == set(ids)
    cases = {
        "duplicate": [{"id": i, "prediction": "x"} for i in ids] + [{"id": ids[0], "prediction": "y"}],
        "unknown record": [{"id": i, "prediction": "x"} for i in ids] + [{"id": "nope", "prediction": "y"}],
        "no prediction": [{"id": i, "prediction": "x"} for i in ids[1:]],
        "no string": [{"id": ids[0], "prediction": 3}],
        'no string "id"': [{"prediction": "x"}],
    }
    for message, rows in cases.items():
        with pytest.raises(InputError, match=message):
            read_predictions(_write_preds(tmp_path / "bad.jsonl", rows), ids)
    (tmp_path / "trunc.jsonl").write_text('{"id": "a", "predic')
    with pytest.raises(InputError, match=r"trunc.jsonl:1"):
        read_predictions(tmp_path / "trunc.jsonl", ids)
    with pytest.raises(InputError, match="list of strings"):
        read_candidates(_write_preds(tmp_path / "c.jsonl", [{"id": ids[0], "candidates": "abc"}]), ids)


def test_global_pairs_use_sft_prompts_and_count_skips(corpus):
    records, _ = corpus
    preds = {r["id"]: f"model says {k}" for k, r in enumerate(records)}
    preds[records[0]["id"]] = records[0]["human_answer"] + "  "  # exact match after whitespace
    preds[records[1]["id"]] = "   "
    result = global_pairs(records, preds)
    assert result.skipped == {"global: prediction equals the human answer": 1, "global: empty prediction": 1}
    assert len(result.rows) == len(records) - 2
    row, rec = result.rows[0], records[2]
    prompt = record_prompt(rec)
    assert (row["instruction"], row["input"], row["history"]) == (
        prompt["instruction"],
        prompt["input"],
        prompt.get("history", []),
    )
    assert (
        row["chosen"] == rec["human_answer"] and row["rejected"] == preds[rec["id"]] and row["pair_type"] == "global"
    )


class LengthCritic:
    """A stand-in critic: longer text = farther from support."""

    def score(self, texts, bucket_ids):
        return [float(len(t)) for t in texts]


def test_local_and_distribution_pairs():
    rec = synthetic_corpus(1, seed=1)[0][0]
    rec["human_answer"] = "the cat sat on the mat today"
    cands = {
        rec["id"]: [
            "the cat sat on the mat",
            "completely unrelated words here",
            "the cat sat on a mat today!!!! wow wow",
        ]
    }
    local = local_pairs([rec], cands)
    assert [(r["chosen"], r["rejected"]) for r in local.rows] == [(rec["human_answer"], "the cat sat on the mat")]
    assert local_pairs([rec], cands, local_min_utility=0.99).skipped
    dist = distribution_pairs([rec], cands, LengthCritic(), utility_tolerance=0.2)
    # the first and third candidates have similar F1; the shorter (closer by the critic) wins
    (row,) = dist.rows
    assert (
        row["chosen"] == "the cat sat on the mat"
        and row["rejected"].endswith("wow wow")
        and row["pair_type"] == "distribution"
    )
    assert row["chosen_score"] < row["rejected_score"]
    assert distribution_pairs([rec], {rec["id"]: ["only one"]}, LengthCritic()).skipped


def test_register_merges_entries(tmp_path):
    info = tmp_path / "dataset_info.json"
    info.write_text(json.dumps({"other": {"file_name": "x.json"}}))
    (tmp_path / "d.json").write_text("[]")
    register_ranking_dataset(info, dataset_name("hdpo", "en", "Qwen/Qwen2.5-1.5B"), tmp_path / "d.json", "hdpo")
    data = json.loads(info.read_text())
    assert set(data) == {"other", "polyalign_en_hdpo_qwen_qwen2_5_1_5b"}
    entry = data["polyalign_en_hdpo_qwen_qwen2_5_1_5b"]
    assert entry["ranking"] is True and entry["file_name"] == "d.json"
    assert {"bucket_id", "weight", "chosen_score", "rejected_score", "chosen", "rejected"} <= set(entry["columns"])


def test_cli_pairs_dpo_hdpo_and_weights(tmp_path, capsys):
    from polyalign_lf.critic.support_distance import SupportDistanceCritic
    from polyalign_lf.features import FEATURE_SCHEMA_VERSION, extract_features, feature_names
    from polyalign_lf.references import build_references

    records, outputs = synthetic_corpus(60, seed=2, split_fractions=(1.0, 0, 0))
    write_records(tmp_path / "records.jsonl", records)
    refs = build_references(
        extract_features([r["human_answer"] for r in records], [r["language"] for r in records]),
        [r["bucket_id"] for r in records],
        [r["split"] for r in records],
        feature_names(),
        FEATURE_SCHEMA_VERSION,
        min_bucket_size=5,
    )
    SupportDistanceCritic(refs).save(tmp_path / "critic")
    en = [r for r in records if r["language"] == "en"]
    write_jsonl(tmp_path / "preds.jsonl", [{"id": r["id"], "prediction": outputs[r["id"]][0][0]} for r in en])
    write_jsonl(
        tmp_path / "cands.jsonl",
        [
            {"id": r["id"], "candidates": [t for t, _ in outputs[r["id"]]] + [r["human_answer"] + " Indeed."]}
            for r in en
        ],
    )
    out = tmp_path / "lf_data"
    assert (
        cli_main(
            [
                "pairs",
                "dpo",
                "--records",
                str(tmp_path / "records.jsonl"),
                "--predictions",
                str(tmp_path / "preds.jsonl"),
                "--lang",
                "en",
                "--model",
                "tiny",
                "--out-dir",
                str(out),
            ]
        )
        == 0
    )
    assert (
        cli_main(
            [
                "pairs",
                "hdpo",
                "--records",
                str(tmp_path / "records.jsonl"),
                "--predictions",
                str(tmp_path / "preds.jsonl"),
                "--candidates",
                str(tmp_path / "cands.jsonl"),
                "--critic",
                str(tmp_path / "critic"),
                "--lang",
                "en",
                "--model",
                "tiny",
                "--out-dir",
                str(out),
                "--utility-tolerance",
                "0.5",
            ]
        )
        == 0
    )
    info = json.loads((out / "dataset_info.json").read_text())
    assert {"polyalign_en_dpo_tiny", "polyalign_en_hdpo_tiny"} <= set(info)
    rows = json.loads((out / "polyalign_en_hdpo_tiny.json").read_text())
    types = {r["pair_type"] for r in rows}
    assert types == {"global", "distribution", "local"}, types
    assert len({r["weight"] for r in rows}) > 1 and all(0.5 <= r["weight"] <= 3.0 for r in rows)
    assert all({"bucket_id", "weight", "chosen_score", "rejected_score"} <= set(r) for r in rows)
    # `polyalign weights` with other coefficients recomputes the weights (η = 0, β = 0 → only scarcity)
    assert (
        cli_main(
            [
                "weights",
                "--pairs",
                str(out / "polyalign_en_hdpo_tiny.json"),
                "--out",
                str(tmp_path / "w.json"),
                "--beta",
                "0",
                "--eta",
                "0",
                "--gamma",
                "0",
                "--alpha",
                "0",
            ]
        )
        == 0
    )
    assert {r["weight"] for r in json.loads((tmp_path / "w.json").read_text())} == {1.0}
    # misaligned predictions are a clean CLI error (exit 2)
    write_jsonl(tmp_path / "bad.jsonl", [{"id": en[0]["id"], "prediction": "x"}])
    capsys.readouterr()
    assert (
        cli_main(
            [
                "pairs",
                "dpo",
                "--records",
                str(tmp_path / "records.jsonl"),
                "--predictions",
                str(tmp_path / "bad.jsonl"),
                "--lang",
                "en",
                "--model",
                "tiny",
                "--out-dir",
                str(out),
            ]
        )
        == 2
    )
    assert "have no prediction" in capsys.readouterr().err


def test_pairs_of_a_held_out_split_never_take_the_training_name(tmp_path):
    """`pairs dpo --split test` into the folder of the training pairs writes `…_test`, beside them: the training
    pairs and their dataset_info entry stay as they were (a recipe naming the contract name trains on train)."""
    records, outputs = synthetic_corpus(60, seed=2, split_fractions=(0.5, 0, 0.5))
    write_records(tmp_path / "records.jsonl", records)
    en = [r for r in records if r["language"] == "en"]
    for split in ("train", "test"):
        rows = [{"id": r["id"], "prediction": outputs[r["id"]][0][0]} for r in en if r["split"] == split]
        write_jsonl(tmp_path / f"preds_{split}.jsonl", rows)
    out = tmp_path / "lf_data"

    def pairs(split):
        argv = ["pairs", "dpo", "--records", str(tmp_path / "records.jsonl")]
        argv += ["--predictions", str(tmp_path / f"preds_{split}.jsonl"), "--split", split]
        return cli_main([*argv, "--lang", "en", "--model", "tiny", "--out", str(out)])

    assert pairs("train") == 0
    train_file = out / "polyalign_en_dpo_tiny.json"
    before = train_file.read_bytes()
    assert pairs("test") == 0
    assert train_file.read_bytes() == before
    info = json.loads((out / "dataset_info.json").read_text())
    assert info["polyalign_en_dpo_tiny"]["file_name"] == "polyalign_en_dpo_tiny.json"
    assert info["polyalign_en_dpo_tiny_test"]["file_name"] == "polyalign_en_dpo_tiny_test.json"
    test_ids = {r["id"] for r in en if r["split"] == "test"}
    assert {row["id"] for row in json.loads((out / "polyalign_en_dpo_tiny_test.json").read_text())} <= test_ids
