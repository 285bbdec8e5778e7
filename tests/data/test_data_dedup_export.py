"""Dedup (leak safety, group pinning, report), export (alpaca + dataset_info merge), determinism and atomicity."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from polyalign_lf.cli import main as polyalign
from polyalign_lf.data.dedup import dedup_records
from polyalign_lf.data.export import export_records
from polyalign_lf.data.formatters import get_formatter
from polyalign_lf.data.lf_format import record_to_alpaca
from polyalign_lf.data.normalize import canonical_key
from polyalign_lf.data.prepare import prepare_dataset
from polyalign_lf.data.schema import read_records
from polyalign_lf.errors import InputError
from polyalign_lf.io import read_json, read_jsonl


def custom_row(i, question, answer, split, language="en", **kw):
    row = {
        "id": str(i),
        "question": question,
        "answer": answer,
        "language": language,
        "track": "single",
        "family": "qa",
        "split": split,
    }
    row.update(kw)
    return row


def write(path: Path, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def prepare_custom(tmp_path, rows, name="custom", out="records"):
    src = write(tmp_path / f"{name}.jsonl", rows)
    prepare_dataset(get_formatter("custom"), {"all": str(src)}, tmp_path / out, name=name)
    return tmp_path / out


def load(root: Path, dataset: str, split: str):
    return read_records(root / dataset / f"{split}.jsonl")


def test_dedup_precedence_and_report(tmp_path):
    rows = [
        custom_row(1, "What is H2O?", "Water.", "train"),
        custom_row(2, "what is  h2o?", "WATER.", "test"),  # same canonical key as 1 → train copy removed
        custom_row(3, "Ｗｈａｔ is H2O?", "water.", "val"),  # full-width: same key → val copy removed
        custom_row(4, "Unique question", "Unique.", "train"),
        custom_row(5, "Unique question", "Unique.", "train"),  # same-split duplicate
        custom_row(6, "What is H2O?", "Water.", "test", language="zh"),  # other language: not a duplicate
    ]
    root = prepare_custom(tmp_path, rows)
    # The same example in a second dataset (test) also removes nothing from test, but its train copy goes.
    other = prepare_custom(
        tmp_path, [custom_row(1, "Unique question", "Unique.", "test")], name="other", out="records"
    )
    assert other == root
    report = dedup_records(root, tmp_path / "dedup")
    test_ids = {r["id"] for r in load(tmp_path / "dedup", "custom", "test")}
    assert test_ids == {"custom-2", "custom-6"}
    assert load(tmp_path / "dedup", "custom", "val") == [] and load(tmp_path / "dedup", "custom", "train") == []
    assert [r["id"] for r in load(tmp_path / "dedup", "other", "test")] == ["other-1"]
    counts = report["counts"]
    assert counts["original_total"] == 7 and counts["final_total"] == 3 and counts["removed_total"] == 4
    assert counts["removed_by_reason"] == {"duplicate_cross_dataset": 2, "duplicate_cross_split": 2}
    removed = {r["id"]: r for r in read_jsonl(tmp_path / "dedup" / "dedup_removed.jsonl")}
    assert (
        removed["custom-1"]["duplicate_of"] == "custom-2" and removed["custom-3"]["reason"] == "duplicate_cross_split"
    )
    manifest = read_json(tmp_path / "dedup" / "custom" / "manifest.json")
    assert manifest["dedup_applied"] and manifest["removed_count"] == 4 and manifest["split_counts"]["test"] == 2


def test_group_pinning_keeps_conversations_out_of_train(tmp_path):
    rows = [
        custom_row(1, "turn one", "a1", "test", group="conv"),
        custom_row(2, "turn two", "a2", "train", group="conv"),  # same conversation, different split
        custom_row(3, "turn three", "a3", "val", group="conv"),
        custom_row(4, "solo", "b", "train", group="other"),
    ]
    root = prepare_custom(tmp_path, rows)
    report = dedup_records(root, tmp_path / "dedup")
    assert [r["id"] for r in load(tmp_path / "dedup", "custom", "test")] == ["custom-1"]
    assert [r["id"] for r in load(tmp_path / "dedup", "custom", "train")] == ["custom-4"]
    assert report["counts"]["removed_by_reason"] == {"group_split_conflict": 2}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["What?", "what ?", "WHAT?", "Why?", "ｗｈｙ?", "How?"]),
            st.sampled_from(["Yes.", "yes.", "ＹＥＳ.", "No."]),
            st.sampled_from(["train", "val", "test"]),
            st.sampled_from([None, "g1", "g2"]),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_leak_property_train_and_test_disjoint_on_canonical_key(tmp_path_factory, items):
    """After dedup no canonical key and no conversation is shared by train and test (or val and train)."""
    tmp = tmp_path_factory.mktemp("leak")
    rows = [custom_row(k, q, a, s, **({"group": g} if g else {})) for k, (q, a, s, g) in enumerate(items)]
    root = prepare_custom(tmp, rows)
    dedup_records(root, tmp / "dedup")
    splits = {s: load(tmp / "dedup", "custom", s) for s in ("train", "val", "test")}
    keys = {s: {canonical_key(r) for r in recs} for s, recs in splits.items()}
    groups = {s: {r["meta"].get("group_id") for r in recs} - {None} for s, recs in splits.items()}
    assert not keys["train"] & keys["test"] and not keys["train"] & keys["val"] and not keys["val"] & keys["test"]
    assert (
        not groups["train"] & groups["test"]
        and not groups["train"] & groups["val"]
        and not groups["val"] & groups["test"]
    )
    for recs in splits.values():  # no duplicates left inside a split either
        assert len({canonical_key(r) for r in recs}) == len(recs)
    # Nothing in test was removed: every test row's key survives in test.
    original_test = {canonical_key(r) for r in load(root, "custom", "test")}
    assert original_test == keys["test"]


def test_export_alpaca_rows_and_dataset_info_merge(tmp_path):
    rows = [
        custom_row(1, "Q1", "A1", "train"),
        custom_row(
            2,
            "问题",
            "回答。",
            "test",
            language="zh",
            track="multi",
            family="dialogue",
            history=[{"role": "user", "text": "你好"}, {"role": "assistant", "text": "你好！"}],
        ),
    ]
    root = prepare_custom(tmp_path, rows)
    dedup_records(root, tmp_path / "dedup")
    registry = tmp_path / "registry"
    registry.mkdir()
    (registry / "dataset_info.json").write_text(
        json.dumps({"my_own": {"file_name": "mine.json"}, "polyalign_en_val": {"file_name": "stale.jsonl"}})
    )
    summary = export_records(tmp_path / "dedup", registry)
    info = read_json(registry / "dataset_info.json")
    assert set(info) == {
        "my_own",
        "polyalign_en_train",
        "polyalign_zh_test",
    }  # merged; stale entry of an empty split dropped
    entry = info["polyalign_zh_test"]
    assert entry["formatting"] == "alpaca" and entry["file_name"] == "polyalign_zh_test.jsonl"
    assert entry["columns"] == {
        "prompt": "instruction",
        "query": "input",
        "response": "output",
        "history": "history",
        "bucket_id": "bucket_id",
    }
    (zh,) = read_jsonl(registry / "polyalign_zh_test.jsonl")
    record = load(tmp_path / "dedup", "custom", "test")[0]
    expected = record_to_alpaca(record)
    assert {k: zh[k] for k in expected} == expected
    assert zh["history"] == [["你好", "你好！"]] and zh["bucket_id"] == "zh|multi|dialogue|short"
    assert zh["length_bin"] == "short" and zh["family"] == "dialogue" and zh["dataset"] == "custom"
    (en,) = read_jsonl(registry / "polyalign_en_train.jsonl")
    assert en["history"] == [] and en["output"] == "A1"
    assert summary["entries"]["polyalign_en_train"]["rows"] == 1
    assert not (registry / "polyalign_en_val.jsonl").exists()


def test_prepare_is_deterministic_and_independent_of_argument_order(tmp_path):
    rows = [
        {"instruction": f"Task {k}", "context": "", "response": f"Answer {k}", "category": "qa"} for k in range(200)
    ]
    src = write(tmp_path / "dolly.jsonl", rows)
    outs = []
    for k, seed in enumerate((42, 42, 7)):
        prepare_dataset(get_formatter("dolly"), {"train": str(src)}, tmp_path / f"o{k}", seed=seed)
        outs.append({s: (tmp_path / f"o{k}" / "dolly" / f"{s}.jsonl").read_bytes() for s in ("train", "val", "test")})
    assert outs[0] == outs[1]
    assert outs[0] != outs[2]  # the seed moves rows between splits
    coqa = {"source": "s", "story": "A story.", "questions": ["q1?"], "answers": {"input_text": ["a1"]}}
    a, b = write(tmp_path / "tr.jsonl", [coqa]), write(tmp_path / "va.jsonl", [dict(coqa, story="Other.")])
    prepare_dataset(get_formatter("coqa"), {"train": str(a), "validation": str(b)}, tmp_path / "x1")
    prepare_dataset(get_formatter("coqa"), {"validation": str(b), "train": str(a)}, tmp_path / "x2")
    for s in ("train", "val", "test"):
        assert (tmp_path / "x1" / "coqa" / f"{s}.jsonl").read_bytes() == (
            tmp_path / "x2" / "coqa" / f"{s}.jsonl"
        ).read_bytes()


def test_no_half_written_files_after_an_error(tmp_path):
    good = [
        {"instruction": f"Task {k}", "context": "", "response": f"Answer {k}", "category": "qa"} for k in range(50)
    ]
    src = write(tmp_path / "dolly.jsonl", good)
    prepare_dataset(get_formatter("dolly"), {"train": str(src)}, tmp_path / "out")
    before = {p.name: p.read_bytes() for p in (tmp_path / "out" / "dolly").iterdir()}
    # A rerun that fails on row 40 leaves the previous complete outputs untouched and no temp files.
    write(tmp_path / "dolly.jsonl", good[:39] + [{"instruction": "x", "response": ["bad"]}] + good)
    with pytest.raises(InputError, match=r"dolly\.jsonl:40"):
        prepare_dataset(get_formatter("dolly"), {"train": str(src)}, tmp_path / "out")
    after = {p.name: p.read_bytes() for p in (tmp_path / "out" / "dolly").iterdir()}
    assert after == before
    # A first run that fails leaves nothing at all.
    with pytest.raises(InputError):
        prepare_dataset(get_formatter("dolly"), {"train": str(src)}, tmp_path / "fresh")
    assert not any(p.is_file() for p in (tmp_path / "fresh").rglob("*"))


def test_dedup_rejects_inconsistent_records(tmp_path):
    root = prepare_custom(tmp_path, [custom_row(1, "q", "a", "train")])
    path = root / "custom" / "train.jsonl"
    record = json.loads(path.read_text())
    path.write_text(json.dumps(dict(record, bucket_id="en|single|qa|long")) + "\n")
    with pytest.raises(InputError, match=r"train\.jsonl:1: bucket_id .* does not match"):
        dedup_records(root, tmp_path / "dedup")
    assert not (tmp_path / "dedup" / "custom" / "train.jsonl").exists()


def test_cli_prepare_dedup_export_datasets(tmp_path, capsys):
    src = write(
        tmp_path / "squad.jsonl",
        [
            {
                "id": f"s{k}",
                "title": f"T{k % 3}",
                "context": "Some context.",
                "question": f"Q{k}?",
                "answers": {"text": [f"answer {k}"], "answer_start": [0]},
            }
            for k in range(30)
        ],
    )
    val = write(
        tmp_path / "squad_val.jsonl",
        [{"id": "v", "title": "V", "context": "Some  context.", "question": "q0?", "answers": {"text": ["answer 0"]}}],
    )
    assert (
        polyalign(
            ["prepare", "squad_v2", "--source", f"train={src}", "--source", f"dev={val}", "--out", str(tmp_path / "r")]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "en|single|qa|short" in out and "total" in out
    assert polyalign(["dedup", str(tmp_path / "r"), "--out", str(tmp_path / "d")]) == 0
    assert "removed 1" in capsys.readouterr().out  # the train copy of the test question
    assert polyalign(["export", str(tmp_path / "d"), "--out", str(tmp_path / "lf")]) == 0
    assert "polyalign_en_train" in read_json(tmp_path / "lf" / "dataset_info.json")
    assert polyalign(["datasets"]) == 0
    listing = capsys.readouterr().out
    assert all(name in listing for name in ("dolly", "multiwoz", "dureader", "custom"))


def test_dedup_and_export_name_the_bad_line_of_a_truncated_records_file(tmp_path):
    root = prepare_custom(tmp_path, [custom_row(k, f"q{k}", "a", "train") for k in range(3)])
    path = root / "custom" / "train.jsonl"
    path.write_text(path.read_text()[:-20])
    with pytest.raises(InputError, match=r"train\.jsonl:3: invalid JSON .*truncated"):
        dedup_records(root, tmp_path / "dedup")
    with pytest.raises(InputError, match=r"train\.jsonl:3: invalid JSON"):
        export_records(root, tmp_path / "lf")
    assert not (tmp_path / "lf" / "dataset_info.json").exists()


def test_a_test_row_copied_into_train_with_invisible_characters_is_still_a_leak(tmp_path):
    """Zero-width spaces, a soft hyphen, a BOM and a variation selector inserted into a copy of a test row do
    not change what a reader sees, so the train copy is removed like any exact duplicate."""
    rows = [
        custom_row(1, "Who wrote Hamlet?", "William Shakespeare wrote it.", "test"),
        custom_row(2, "Who\u200b wrote Ham\u00adlet?", "William\u200d Shake\u200cspeare wrote it.\ufeff", "train"),
        custom_row(3, "Who wrote Hamlet?\ufe0f", "William Shakespeare wrote it.\u2060", "train"),
        custom_row(4, "Who wrote Macbeth?", "Shakespeare.", "train"),
    ]
    records = prepare_custom(tmp_path, rows)
    dedup_records(records, tmp_path / "dedup")
    assert [r["question"] for r in load(tmp_path / "dedup", "custom", "train")] == ["Who wrote Macbeth?"]
    assert len(load(tmp_path / "dedup", "custom", "test")) == 1
    assert canonical_key(load(records, "custom", "train")[0]) == canonical_key(load(records, "custom", "test")[0])


@pytest.mark.parametrize("name", ["../mywork", "{abs}", "a/b", "..", "bad\nname", " x"])
def test_a_dataset_name_never_reaches_outside_out(tmp_path, capsys, name):
    """`prepare --name` becomes OUT/<name>/, replaced whole: a name that is a path would replace a user's folder."""
    mywork = tmp_path / "mywork"
    mywork.mkdir()
    (mywork / "notes.txt").write_text("mine")
    src = write(tmp_path / "src.jsonl", [custom_row(1, "Q?", "A.", "train")])
    name = name.replace("{abs}", str(mywork))
    out = tmp_path / "data"
    with pytest.raises(SystemExit) as exited:
        polyalign(["prepare", "custom", "--name", name, "--source", f"all={src}", "--out", str(out)])
    assert exited.value.code == 2 and "names become file or folder names" in capsys.readouterr().err
    assert (mywork / "notes.txt").read_text() == "mine" and not out.exists()
    with pytest.raises(Exception, match="dataset name"):
        prepare_dataset(get_formatter("custom"), {"all": str(src)}, out, name=name)
    assert (mywork / "notes.txt").read_text() == "mine"


def test_export_profile_prompt_writes_a_system_column(tmp_path, make_record):
    """`polyalign export --profile-prompt situation`: every row has its profile system prompt, the dataset_info
    entry maps the `system` column (LLaMA-Factory reads it) and the manifest records the profile."""
    from polyalign_lf.cli import main
    from polyalign_lf.io import read_json, write_jsonl

    prepared = tmp_path / "prepared" / "unit"
    write_jsonl(prepared / "train.jsonl", [make_record(k, split="train", length_bin="short") for k in range(3)])
    assert (
        main(["export", str(tmp_path / "prepared"), "--out", str(tmp_path / "reg"), "--profile-prompt", "situation"])
        == 0
    )
    rows = [json.loads(line) for line in (tmp_path / "reg" / "polyalign_en_train.jsonl").read_text().splitlines()]
    assert all(row["system"].endswith("family=qa; track=single; style=plain.") for row in rows)
    assert read_json(tmp_path / "reg" / "dataset_info.json")["polyalign_en_train"]["columns"]["system"] == "system"
    assert read_json(tmp_path / "reg" / "export_manifest.json")["profile_prompt"] == "situation"
    # the default export has no system column at all
    assert main(["export", str(tmp_path / "prepared"), "--out", str(tmp_path / "plain")]) == 0
    assert "system" not in (tmp_path / "plain" / "polyalign_en_train.jsonl").read_text()
    assert "system" not in read_json(tmp_path / "plain" / "dataset_info.json")["polyalign_en_train"]["columns"]
