"""The whole human-distribution chain on a tiny corpus, ending in a real `llamafactory-cli train` with
`stage: hdpo`: records → features → references → critic → pairs → weights → training."""

from __future__ import annotations

import json

import pytest
from polyalign_testing.synthetic_corpus import synthetic_corpus

from polyalign_lf.cli import main as cli_main
from polyalign_lf.data.schema import write_records
from polyalign_lf.io import write_jsonl

pytestmark = pytest.mark.slow


def test_records_to_hdpo_training(tiny_model, tiny_ref_model, tmp_path):
    from polyalign_testing.lf import run_lf_train, tiny_train_config

    records, outputs = synthetic_corpus(160, seed=11, split_fractions=(0.9, 0.1, 0.0))
    write_records(tmp_path / "records.jsonl", records)
    train = [r for r in records if r["split"] == "train"]
    write_jsonl(tmp_path / "sft_train.jsonl", [{"id": r["id"], "prediction": outputs[r["id"]][0][0]} for r in train])
    write_jsonl(
        tmp_path / "cands_train.jsonl",
        [
            {"id": r["id"], "candidates": [t for t, _ in outputs[r["id"]]] + [r["human_answer"] + " Indeed."]}
            for r in train
        ],
    )
    run = lambda *argv: cli_main([str(a) for a in argv])  # noqa: E731

    assert run("features", "--records", tmp_path / "records.jsonl", "--out", tmp_path / "human.npz") == 0
    assert (
        run(
            "features",
            "--records",
            tmp_path / "records.jsonl",
            "--split",
            "train",
            "--predictions",
            tmp_path / "sft_train.jsonl",
            "--out",
            tmp_path / "sft.npz",
        )
        == 0
    )
    assert (
        run(
            "references",
            "--features",
            tmp_path / "human.npz",
            "--out",
            tmp_path / "refs.json",
            "--min-bucket-size",
            "10",
        )
        == 0
    )
    assert (
        run(
            "critic",
            "train",
            "--references",
            tmp_path / "refs.json",
            "--features",
            tmp_path / "human.npz",
            "--features",
            tmp_path / "sft.npz",
            "--out",
            tmp_path / "critic",
            "--batch-size",
            "64",
            "--heldout-fraction",
            "0.2",
        )
        == 0
    )
    report = json.loads((tmp_path / "critic" / "training_report.json").read_text())
    assert report["heldout"]["score_std"] > 0.01
    assert (
        run(
            "critic",
            "score",
            "--critic",
            tmp_path / "critic",
            "--records",
            tmp_path / "records.jsonl",
            "--split",
            "train",
            "--predictions",
            tmp_path / "sft_train.jsonl",
            "--out",
            tmp_path / "scores.jsonl",
        )
        == 0
    )
    assert (
        run(
            "critic",
            "report",
            "--critic",
            tmp_path / "critic",
            "--features",
            tmp_path / "human.npz",
            "--features",
            tmp_path / "sft.npz",
            "--split",
            "train",
            "--out",
            tmp_path / "report.json",
        )
        == 0
    )
    data_dir = tmp_path / "lf_data"
    assert (
        run(
            "pairs",
            "hdpo",
            "--records",
            tmp_path / "records.jsonl",
            "--predictions",
            tmp_path / "sft_train.jsonl",
            "--candidates",
            tmp_path / "cands_train.jsonl",
            "--critic",
            tmp_path / "critic",
            "--lang",
            "all",
            "--model",
            "tiny",
            "--out-dir",
            data_dir,
            "--utility-tolerance",
            "0.5",
        )
        == 0
    )
    name = "polyalign_all_hdpo_tiny"
    assert run("weights", "--pairs", data_dir / f"{name}.json", "--critic", tmp_path / "critic") == 0
    rows = json.loads((data_dir / f"{name}.json").read_text())
    assert {r["pair_type"] for r in rows} == {"global", "distribution", "local"}
    assert len({r["weight"] for r in rows}) > 3
    summary = json.loads((data_dir / f"{name}.summary.json").read_text())
    assert all(summary["active_terms"].values()), summary["active_terms"]  # g, δ, h and ρ all non-zero somewhere

    config = tiny_train_config(
        tiny_model,
        name,
        data_dir,
        tmp_path / "out",
        stage="hdpo",
        ref_model=str(tiny_ref_model),
        hdpo_lambda=0.1,
        max_steps=1,
        gradient_accumulation_steps=2,
        pref_beta=0.1,
    )
    result = run_lf_train(config, tmp_path)
    result.check()
    logged = result.log_history[0]
    assert "hdpo/weight_mean" in logged and logged["hdpo/weight_mean"] != pytest.approx(1.0)

    # The same pairs without scores, scored at load time by the real critic bundle through `hdpo_critic`
    # (the core's critic-scoring preprocessor): the step-1 loss must equal the pre-scored run's.
    unscored = [dict(r, chosen_score=None, rejected_score=None) for r in rows]
    (data_dir / "unscored.json").write_text(json.dumps(unscored, ensure_ascii=False), encoding="utf-8")
    info = json.loads((data_dir / "dataset_info.json").read_text(encoding="utf-8"))
    info["unscored"] = dict(info[name], file_name="unscored.json")
    (data_dir / "dataset_info.json").write_text(json.dumps(info, ensure_ascii=False), encoding="utf-8")
    config_critic = dict(
        config, dataset="unscored", hdpo_critic=str(tmp_path / "critic"), output_dir=str(tmp_path / "out_critic")
    )
    rescored = run_lf_train(config_critic, tmp_path / "with_critic")
    rescored.check()
    assert rescored.step_loss(1) == pytest.approx(result.step_loss(1), rel=1e-5)
    assert rescored.log_history[0]["hdpo/score_gap"] == pytest.approx(logged["hdpo/score_gap"], rel=1e-4)
