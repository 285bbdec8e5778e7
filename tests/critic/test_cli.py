"""CLI errors and outputs for features / references / critic (fast; the full chain is in tests/pairs/test_chain.py)."""

from __future__ import annotations

import json

import numpy as np
from polyalign_testing.synthetic_corpus import synthetic_corpus

from polyalign_lf.cli import main as cli_main
from polyalign_lf.data.schema import write_records
from polyalign_lf.features.store import load_feature_table
from polyalign_lf.io import write_jsonl


def test_features_references_critic_cli(tmp_path, capsys):
    records, outputs = synthetic_corpus(60, seed=4, split_fractions=(0.8, 0.2, 0.0))
    write_records(tmp_path / "r.jsonl", records)
    run = lambda *a: cli_main([str(x) for x in a])  # noqa: E731
    assert run("features", "--records", tmp_path / "r.jsonl", "--out", tmp_path / "h.npz") == 0
    table = load_feature_table(tmp_path / "h.npz")
    assert len(table) == 60 and table.ids == [r["id"] for r in records] and table.source == "human_answer"
    # references refuse a feature file of model outputs
    train = [r for r in records if r["split"] == "train"]
    write_jsonl(tmp_path / "p.jsonl", [{"id": r["id"], "prediction": outputs[r["id"]][0][0]} for r in train])
    assert (
        run(
            "features",
            "--records",
            tmp_path / "r.jsonl",
            "--split",
            "train",
            "--predictions",
            tmp_path / "p.jsonl",
            "--out",
            tmp_path / "p.npz",
        )
        == 0
    )
    capsys.readouterr()
    assert run("references", "--features", tmp_path / "p.npz", "--out", tmp_path / "refs.json") == 2
    assert "need human answers" in capsys.readouterr().err
    assert (
        run("references", "--features", tmp_path / "h.npz", "--out", tmp_path / "refs.json", "--min-bucket-size", "5")
        == 0
    )
    summary = json.loads((tmp_path / "refs.json").read_text())["summary"]
    assert summary["excluded_rows_by_split"] == {"val": sum(r["split"] == "val" for r in records)}
    assert (
        run(
            "critic",
            "train",
            "--references",
            tmp_path / "refs.json",
            "--features",
            tmp_path / "h.npz",
            "--features",
            tmp_path / "p.npz",
            "--out",
            tmp_path / "c",
            "--batch-size",
            "32",
        )
        == 0
    )
    assert (
        run(
            "critic",
            "score",
            "--critic",
            tmp_path / "c",
            "--records",
            tmp_path / "r.jsonl",
            "--out",
            tmp_path / "s.jsonl",
        )
        == 0
    )
    scores = [json.loads(line) for line in (tmp_path / "s.jsonl").read_text().splitlines()]
    assert [s["id"] for s in scores] == [r["id"] for r in records] and np.std([s["score"] for s in scores]) > 0
    assert (
        run(
            "critic",
            "report",
            "--critic",
            tmp_path / "c",
            "--features",
            tmp_path / "h.npz",
            "--features",
            tmp_path / "p.npz",
            "--split",
            "train",
            "--out",
            tmp_path / "rep.json",
        )
        == 0
    )
    report = json.loads((tmp_path / "rep.json").read_text())
    assert report["pairs"] > 0 and report["ranking_accuracy"] > 0.8
    # a bundle directory that is not a bundle
    capsys.readouterr()
    assert (
        run("critic", "score", "--critic", tmp_path, "--records", tmp_path / "r.jsonl", "--out", tmp_path / "x.jsonl")
        == 2
    )
    assert "not a critic bundle" in capsys.readouterr().err
