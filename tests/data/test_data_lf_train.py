"""Source files → prepare → dedup → export → the real ``llamafactory-cli train`` (Bucket-SFT), plus a
user-added dataset entry with a bucket the corpus does not have, trained in the same run."""

from __future__ import annotations

import json

import pytest
from polyalign_testing.lf import run_lf_train, tiny_train_config

from polyalign_lf.cli import main as polyalign
from polyalign_lf.io import read_json, write_json


@pytest.mark.slow
def test_source_files_to_llamafactory_train_with_a_user_added_bucket(tmp_path, tiny_model, write_rows, capsys):
    dolly = write_rows(
        tmp_path / "src" / "dolly.jsonl",
        [
            {
                "instruction": f"Give tip number {k}.",
                "context": "",
                "response": f"Tip {k}: drink water " + "and rest " * (k % 50),
                "category": "open_qa",
            }
            for k in range(40)
        ],
    )
    daily = write_rows(
        tmp_path / "src" / "daily_train.jsonl",
        [
            {
                "dialog": ["Hi, how are you?", "Fine, thanks. And you?", "Great!", "Glad to hear it."],
                "act": [1, 2, 1, 1],
                "emotion": [0] * 4,
            },
            {"dialog": ["Where is the station?", "Two blocks north."], "act": [2, 1], "emotion": [0, 0]},
        ],
    )
    registry = tmp_path / "data_registry"
    for name, source in (("dolly", f"train={dolly}"), ("dailydialog", f"train={daily}")):
        assert polyalign(["prepare", name, "--source", source, "--out", str(tmp_path / "records")]) == 0
    assert polyalign(["dedup", str(tmp_path / "records"), "--out", str(tmp_path / "dedup")]) == 0
    assert polyalign(["export", str(tmp_path / "dedup"), "--out", str(registry)]) == 0
    capsys.readouterr()

    # A user adds their own dataset with a new bucket, exactly as docs/data.md describes.
    rows = [
        {
            "instruction": "Summarise our refund policy.",
            "input": "",
            "output": "Refunds within 30 days, receipt needed.",
            "history": [["Hello", "Hi, how can I help?"]],
            "bucket_id": "en|multi|assistant|short",
        }
    ] * 3
    (registry / "my_support.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    info = read_json(registry / "dataset_info.json")
    info["my_support"] = {
        "file_name": "my_support.jsonl",
        "formatting": "alpaca",
        "columns": {
            "prompt": "instruction",
            "query": "input",
            "response": "output",
            "history": "history",
            "bucket_id": "bucket_id",
        },
    }
    write_json(registry / "dataset_info.json", info)

    config = tiny_train_config(
        tiny_model,
        "polyalign_en_train,my_support",
        registry,
        tmp_path / "out",
        bucket_weighting=True,
        max_steps=2,
        per_device_train_batch_size=2,
    )
    run = run_lf_train(config, tmp_path / "work").check()
    losses = [row["loss"] for row in run.train_logs()]
    assert len(losses) == 2 and all(loss == loss and loss > 0 for loss in losses), run.tail()
