"""`polyalign study --model … --data …`: the real-data study on a real instruct model (SmolLM2-135M-Instruct) and
real human answers (an excerpt of the reference implementation's sample), reduced to one ablation arm so the
suite can afford it: the design stage, the profile exports, the model check, and Full-SFT with the oracle profile
trained by `llamafactory-cli train` on rows whose system prompt LLaMA-Factory really reads, then prompted the
same way and evaluated. Bad input: every refusal names the fix."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from polyalign_lf.cli import main
from polyalign_lf.io import read_json, read_jsonl

SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "reference_sample" / "dist_sft_val.json"
SHARED = "design,dedup,export,records,features,references,export-profiles,base-model"


@pytest.fixture(scope="module")
def real_records(tmp_path_factory) -> Path:
    """The excerpt split per bucket: the first two rows of a bucket validate (the training pool), the next two test."""
    root = tmp_path_factory.mktemp("real_records")
    rows = json.loads(SAMPLE.read_text(encoding="utf-8"))
    seen: dict[str, int] = {}
    val, test = [], []
    for row in rows:
        k = seen[row["bucket_id"]] = seen.get(row["bucket_id"], 0) + 1
        (val if k <= 2 else test).append(row)
    (root / "val.json").write_text(json.dumps(val), encoding="utf-8")
    (root / "test.json").write_text(json.dumps(test), encoding="utf-8")
    source = ["--source", f"validation={root / 'val.json'}", "--source", f"test={root / 'test.json'}"]
    assert main(["prepare", "polyalign_reference", *source, "--out", str(root / "records")]) == 0
    return root / "records"


def _study(model, data, out, *extra):
    sizes = [
        "--largest",
        "2",
        "--smallest",
        "2",
        "--test-per-bucket",
        "2",
        "--max-steps",
        "1",
        "--max-new-tokens",
        "4",
    ]
    return main(
        ["study", "--model", str(model), "--data", str(data), "--out", str(out), "--seeds", "1", *sizes, *extra]
    )


@pytest.mark.slow
def test_oracle_profile_arm_trains_and_generates_with_its_system_prompt(smollm2, real_records, tmp_path, capsys):
    out = tmp_path / "study"
    assert _study(smollm2, real_records, out, "--stages", f"{SHARED},setup,sft_oracle,sft_oracle-eval") == 0
    printed = capsys.readouterr().out
    design = read_json(out / "shared" / "data" / "prepared" / "design.json")
    assert design["pool_split"] == "val" and design["test_rows"] == 2 * len(design["buckets"]) >= 16
    assert "en|multi|dialogue|long" in design["excluded"]  # one row in the excerpt: too small for the design
    assert "excluded: 1 pool row(s), 0 test row(s)" in printed
    # the oracle export: every training row names its gold length bin in its system prompt
    rows = list(read_jsonl(out / "shared" / "data_registry_oracle" / "polyalign_en_train.jsonl"))
    assert rows and all(f"length={row['length_bin']}." in row["system"] for row in rows)
    seed = out / "seed_1"
    recipe = (seed / "recipes" / "all" / "study_sft_oracle.yaml").read_text(encoding="utf-8")
    assert "data_registry_oracle" in recipe and "template: smollm2" in recipe
    # LLaMA-Factory read the system column: its logged first training example carries the profile
    train_log = (seed / "pipeline" / "logs" / "sft_oracle.log").read_text(encoding="utf-8")
    assert "Answer in this response profile: family=" in train_log and "; length=" in train_log
    predictions = seed / "saves" / "all" / "study" / "predictions" / "sft_oracle_test.jsonl"
    progress = read_json(predictions.with_name(predictions.name + ".progress.json"))
    assert progress["settings"]["profile_prompt"] == "oracle"
    metrics = read_json(seed / "saves" / "all" / "study" / "metrics" / "sft_oracle.json")
    assert metrics["test_set"]["n"] == design["test_rows"]


def test_real_study_refusals(smollm2, real_records, tmp_path, capsys):
    assert main(["study", "--model", "smollm2-135m-instruct", "--out", str(tmp_path / "a")]) == 2
    assert "needs both --model" in capsys.readouterr().err
    assert main(["study", "--model", "no-such-model", "--data", str(real_records), "--out", str(tmp_path / "b")]) == 2
    assert "unknown model 'no-such-model'" in capsys.readouterr().err
    broken = tmp_path / "broken_model"
    broken.mkdir()
    assert main(["study", "--model", str(broken), "--data", str(real_records), "--out", str(tmp_path / "c")]) == 2
    assert "polyalign models install" in capsys.readouterr().err
    # a folder without test rows stops at the design stage, before anything is trained
    no_test = tmp_path / "no_test" / "polyalign_reference"
    no_test.mkdir(parents=True)
    (no_test / "val.jsonl").write_text((real_records / "polyalign_reference" / "val.jsonl").read_text())
    assert _study(smollm2, no_test.parent, tmp_path / "d") != 0
    err = capsys.readouterr()
    assert "has no test rows" in err.out + err.err
    assert not (tmp_path / "d" / "seed_1").exists()
