"""The real-data study's pre-registered design rule: eligibility, the geometric imbalance, balanced test rows,
a choice that does not depend on file order, and clear errors for data the design cannot use."""

from __future__ import annotations

import random

import pytest

from polyalign_lf.errors import InputError
from polyalign_lf.study.design import DesignRule, design_rows


def _rows(make_record, bucket_sizes, split):
    rows = []
    for (family, length_bin), n in bucket_sizes.items():
        for k in range(n):
            rows.append(
                dict(
                    make_record(len(rows), family=family, length_bin=length_bin, split=split),
                    id=f"{split}-{family}-{length_bin}-{k}",
                )
            )
    return rows


POOL = {
    ("qa", "short"): 50,
    ("qa", "medium"): 40,
    ("assistant", "short"): 30,
    ("assistant", "long"): 20,
    ("dialogue", "short"): 3,
}
TEST = {
    ("qa", "short"): 9,
    ("qa", "medium"): 9,
    ("assistant", "short"): 9,
    ("assistant", "long"): 5,
    ("dialogue", "short"): 9,
}


def test_rule_by_hand(make_record):
    rule = DesignRule(test_per_bucket=6, largest=16, smallest=4, seed=7)
    design = design_rows(_rows(make_record, POOL, "val") + _rows(make_record, TEST, "test"), rule)
    summary = design["summary"]
    # eligible: >= 6 test rows and >= 4 pool rows -> three buckets (assistant|long has 5 test rows, dialogue 3 pool)
    assert summary["excluded"] == {
        "en|single|assistant|long": {"pool": 20, "test": 5},
        "en|single|dialogue|short": {"pool": 3, "test": 9},
    }
    # ranked by pool size: 16 · (4/16)^(k/2) for k = 0, 1, 2 -> 16, 8, 4
    assert {b: s["train"] for b, s in summary["buckets"].items()} == {
        "en|single|qa|short": 16,
        "en|single|qa|medium": 8,
        "en|single|assistant|short": 4,
    }
    assert summary["pool_split"] == "val" and summary["imbalance"] == 4.0
    assert summary["rare_buckets"] == ["en|single|assistant|short", "en|single|qa|medium"]
    assert DesignRule(largest=32, smallest=4).training_sizes(11) == [32, 26, 21, 17, 14, 11, 9, 7, 6, 5, 4]
    assert len(design["train"]) == 28 and all(r["split"] == "train" for r in design["train"])
    assert len(design["test"]) == 18 and {r["split"] for r in design["test"]} == {"test"}


def test_choice_does_not_depend_on_file_order(make_record):
    rows = _rows(make_record, POOL, "val") + _rows(make_record, TEST, "test")
    rule = DesignRule(test_per_bucket=6, largest=16, smallest=4)
    first = design_rows(rows, rule)
    shuffled = list(rows)
    random.Random(3).shuffle(shuffled)
    second = design_rows(shuffled, rule)
    assert sorted(r["id"] for r in first["train"]) == sorted(r["id"] for r in second["train"])
    assert sorted(r["id"] for r in first["test"]) == sorted(r["id"] for r in second["test"])
    # another seed draws other rows
    other = design_rows(rows, DesignRule(test_per_bucket=6, largest=16, smallest=4, seed=8))
    assert sorted(r["id"] for r in other["train"]) != sorted(r["id"] for r in first["train"])


def test_train_split_is_the_pool_when_present(make_record):
    rows = _rows(make_record, POOL, "train") + _rows(make_record, POOL, "val") + _rows(make_record, TEST, "test")
    design = design_rows(rows, DesignRule(test_per_bucket=6, largest=16, smallest=4))
    assert design["summary"]["pool_split"] == "train"
    assert all(r["id"].startswith("train-") for r in design["train"])


def test_data_the_design_cannot_use_is_refused(make_record):
    with pytest.raises(InputError, match="no test rows"):
        design_rows(_rows(make_record, POOL, "val"), DesignRule())
    with pytest.raises(InputError, match="neither train nor validation"):
        design_rows(_rows(make_record, TEST, "test"), DesignRule())
    with pytest.raises(InputError, match=r"only 0 bucket\(s\)"):
        design_rows(_rows(make_record, POOL, "val") + _rows(make_record, TEST, "test"), DesignRule(test_per_bucket=10))


def test_records_the_template_cannot_render_stop_the_study_before_training(tmp_path, monkeypatch, make_record):
    """The base-model stage renders every design record with and without each profile prompt; one that fails is
    named (with the profile) before any model is trained."""
    import transformers

    import polyalign_lf.integration.prompting as prompting
    import polyalign_lf.models.install as install
    from polyalign_lf.data.schema import write_records
    from polyalign_lf.pipeline.stages import StageFailed
    from polyalign_lf.study.run import StudyConfig, cell_config, check_base_model

    cfg = StudyConfig(out=tmp_path, model=str(tmp_path / "model"), data=tmp_path, rule=DesignRule(), device="cpu")
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "polyalign_model.json").write_text('{"template": "smollm2"}')
    (tmp_path / "shared" / "data" / "prepared").mkdir(parents=True)
    (tmp_path / "shared" / "data" / "prepared" / "design.json").write_text('{"buckets": {"en|single|qa|short": {}}}')
    cell = cell_config(cfg, cfg.shared)
    write_records(
        cell.records("train"), [make_record(1, split="train"), make_record(2, split="train", question="BAD")]
    )
    write_records(cell.records("test"), [make_record(3)])

    class Renderer:
        def prompt_ids(self, example):
            if example["instruction"] == "BAD" and "system" in example:
                raise ValueError("the template has no system role")
            return [1, 2, 3]

    monkeypatch.setattr(install, "verify_model", lambda folder: {})
    monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained", lambda *a, **k: object())
    monkeypatch.setattr(prompting, "load_chat_renderer", lambda tokenizer, template: Renderer())
    with pytest.raises(StageFailed, match=r"cannot render 2 design record\(s\): en-2 \(situation\).*en-2 \(oracle\)"):
        check_base_model(cfg, cell)
