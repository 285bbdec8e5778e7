"""`polyalign prepare polyalign_reference`: the reference implementation's released data read as is — its
LLaMA-Factory views (a real excerpt of its `sample/` folder, history as a list or as a Python-literal string)
and its normalized records — keeping the authors' bucket ids and refusing, with the reason, what cannot be
mapped."""

from __future__ import annotations

import ast
import json
from pathlib import Path

from polyalign_lf.cli import main as polyalign
from polyalign_lf.io import read_jsonl

SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "reference_sample"


def test_reference_sample_folder_as_released(tmp_path, capsys):
    view = json.loads((SAMPLE / "dist_sft_val.json").read_text(encoding="utf-8"))
    assert polyalign(["prepare", "polyalign_reference", "--from-dir", str(SAMPLE), "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr()
    assert "validation ← dist_sft_val.json, val-sample.json" in printed.err
    assert f"skipped: no_bucket_columns={len(view)}" in printed.out  # the plain view has no bucket columns
    records = read_jsonl(tmp_path / "polyalign_reference" / "val.jsonl")
    assert len(records) == len(view)
    for record, row in zip(records, view):
        assert record["bucket_id"] == row["bucket_id"]  # the authors' bucket ids, kept
        assert record["length_bin"] == row["length_bin"] and record["style_bucket"] == row["style_bucket"]
        assert record["meta"]["reference_system"] == row["system"]
        history = row.get("history")
        pairs = ast.literal_eval(history) if isinstance(history, str) else history or []
        assert [t["role"] for t in record["dialogue_history"]] == ["user", "assistant"] * len(pairs)
    assert any(r.get("history") for r in view)
    manifest = json.loads((tmp_path / "polyalign_reference" / "manifest.json").read_text())
    assert manifest["skipped"] == {"no_bucket_columns": len(view)}


def test_normalized_records_and_unmappable_rows(tmp_path, capsys, make_record):
    good = make_record(1, language="en", track="single", family="qa", length_bin="long", answer="A short answer.")
    mismatch = dict(make_record(2), bucket_id="en|single|qa|xlong")  # says xlong, its length_bin says otherwise
    unknown = dict(make_record(3), family="chitchat", bucket_id="en|single|chitchat|short")
    path = tmp_path / "records_test.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in (good, mismatch, unknown)), encoding="utf-8")
    assert (
        polyalign(["prepare", "polyalign_reference", "--source", f"test={path}", "--out", str(tmp_path / "out")]) == 0
    )
    assert "bucket_id_mismatch=1" in capsys.readouterr().out
    (record,) = read_jsonl(tmp_path / "out" / "polyalign_reference" / "test.jsonl")
    assert record["bucket_id"] == "en|single|qa|long"  # released bin kept although the answer measures short
    assert record["meta"]["computed_length_bin"] == "short"
    manifest = json.loads((tmp_path / "out" / "polyalign_reference" / "manifest.json").read_text())
    assert manifest["skipped"] == {"bucket_id_mismatch": 1, "unknown_family": 1}


def test_history_written_as_a_python_literal_string(tmp_path):
    """Some reference artifacts store `history` as str(list): read it like the list (an unreadable one is a
    counted skip, not a crash)."""
    view = json.loads((SAMPLE / "dist_sft_val.json").read_text(encoding="utf-8"))
    row = next(r for r in view if r.get("history"))
    rows = [dict(row, history=str(row["history"])), dict(row, history="[['unclosed'")]
    path = tmp_path / "dist_sft_test.json"
    path.write_text(json.dumps(rows), encoding="utf-8")
    assert polyalign(["prepare", "polyalign_reference", "--source", f"test={path}", "--out", str(tmp_path / "o")]) == 0
    (record,) = read_jsonl(tmp_path / "o" / "polyalign_reference" / "test.jsonl")
    assert [t["text"] for t in record["dialogue_history"]] == [t for pair in row["history"] for t in pair]
    manifest = json.loads((tmp_path / "o" / "polyalign_reference" / "manifest.json").read_text())
    assert manifest["skipped"] == {"unreadable_history": 1}
