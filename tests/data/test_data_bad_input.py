"""Bad input → a clear error naming file:line (or a counted, reported skip); never a bare traceback."""

from __future__ import annotations

import json

import pytest

from polyalign_lf.cli import main as polyalign
from polyalign_lf.data.formatters import get_formatter
from polyalign_lf.data.prepare import prepare_dataset
from polyalign_lf.errors import ConfigError, InputError

DOLLY = {"instruction": "Say hi.", "context": "", "response": "Hi!", "category": "open_qa"}


def _prepare(name, source, tmp_path, split="train"):
    return prepare_dataset(get_formatter(name), {split: str(source)}, tmp_path / "out")


def test_malformed_json_line_names_file_and_line(tmp_path):
    src = tmp_path / "dolly.jsonl"
    src.write_text(json.dumps(DOLLY) + "\n" + '{"instruction": "x", "response": \n' + json.dumps(DOLLY) + "\n")
    with pytest.raises(InputError, match=r"dolly\.jsonl:2: invalid JSON"):
        _prepare("dolly", src, tmp_path)
    assert not (tmp_path / "out" / "dolly" / "train.jsonl").exists()


def test_truncated_file_is_reported_as_truncated(tmp_path):
    src = tmp_path / "dolly.jsonl"
    text = json.dumps(DOLLY) + "\n" + json.dumps(DOLLY)
    src.write_text(text[:-7])  # cut in the middle of the last row, no final newline
    with pytest.raises(InputError, match=r"dolly\.jsonl:2: .*truncated"):
        _prepare("dolly", src, tmp_path)


def test_truncated_parquet_is_a_clear_error(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    src = tmp_path / "dolly.parquet"
    pq.write_table(pa.Table.from_pylist([DOLLY] * 50), src)
    src.write_bytes(src.read_bytes()[:200])
    with pytest.raises(InputError, match=r"dolly\.parquet: cannot read parquet"):
        _prepare("dolly", src, tmp_path)


def test_missing_column_names_the_row_and_the_layout(tmp_path, write_rows):
    src = write_rows(
        tmp_path / "squad.jsonl",
        [
            {"id": "1", "title": "t", "context": "c", "question": "q?", "answers": {"text": ["a"]}},
            {"id": "2", "title": "t", "context": "c", "query": "q?"},
        ],
    )
    with pytest.raises(InputError, match=r"squad\.jsonl:2: missing column\(s\) question, answers") as info:
        _prepare("squad_v2", src, tmp_path)
    assert "Hub column layout" in str(info.value)


def test_missing_column_in_parquet_schema_is_caught_up_front(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    src = tmp_path / "nq.parquet"
    pq.write_table(pa.Table.from_pylist([{"question": "q", "answer": "a"}]), src)
    with pytest.raises(InputError, match=r"nq\.parquet: missing column\(s\) query"):
        _prepare("natural_questions", src, tmp_path)


def test_wrong_types_name_column_and_line(tmp_path, write_rows):
    src = write_rows(tmp_path / "dolly.jsonl", [DOLLY, dict(DOLLY, response=["not", "a", "string"])])
    with pytest.raises(InputError, match=r"dolly\.jsonl:2: column 'response' must be a string, got list"):
        _prepare("dolly", src, tmp_path)
    src = write_rows(
        tmp_path / "squad.jsonl", [{"id": "1", "title": "t", "context": "c", "question": "q", "answers": "oops"}]
    )
    with pytest.raises(InputError, match=r"squad\.jsonl:1: column 'answers' must be an object"):
        _prepare("squad_v2", src, tmp_path)


def test_unknown_language_and_bad_enums_in_custom_rows(tmp_path, write_rows):
    good = {"id": "1", "question": "q", "answer": "a", "language": "en", "track": "single", "family": "qa"}
    for bad, pattern in (
        (dict(good, id="2", language="fr"), "column 'language' is 'fr'"),
        (dict(good, id="2", family="chat"), "column 'family' is 'chat'"),
        (dict(good, id="2", split="holdout"), "column 'split' is 'holdout'"),
        (dict(good, id="2", history=[{"role": "bot", "text": "x"}]), r"history\[0\] must be"),
        (dict(good, id="1"), "duplicate id 'custom-1'"),
    ):
        src = write_rows(tmp_path / "custom.jsonl", [good, bad])
        with pytest.raises(InputError, match=rf"custom\.jsonl:2: {pattern}"):
            _prepare("custom", src, tmp_path, split="all")


def test_all_rows_skipped_is_an_error_listing_the_reasons(tmp_path, write_rows):
    src = write_rows(tmp_path / "dolly.jsonl", [dict(DOLLY, response=""), dict(DOLLY, response="  ")])
    with pytest.raises(InputError, match="no records were produced.*empty_answer=2"):
        _prepare("dolly", src, tmp_path)


def test_unknown_split_dataset_and_missing_path(tmp_path, write_rows):
    src = write_rows(tmp_path / "dolly.jsonl", [DOLLY])
    with pytest.raises(ConfigError, match="dolly has no source split 'test'; its splits on the Hub are: train"):
        _prepare("dolly", src, tmp_path, split="test")
    with pytest.raises(ConfigError, match="unknown dataset 'nope'"):
        get_formatter("nope")
    with pytest.raises(InputError, match="no such file or folder"):
        _prepare("dolly", tmp_path / "missing.jsonl", tmp_path)
    with pytest.raises(ConfigError, match="Hub is disabled"):
        _prepare("dolly", "databricks/databricks-dolly-15k", tmp_path)  # offline: a Hub id is refused clearly


def test_cli_prints_clean_errors_not_tracebacks(tmp_path, write_rows, capsys):
    src = tmp_path / "dolly.jsonl"
    src.write_text("{not json}\n")
    assert polyalign(["prepare", "dolly", "--source", f"train={src}", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "dolly.jsonl:1: invalid JSON" in err and "Traceback" not in err
    assert polyalign(["prepare", "--all", "--out", str(tmp_path / "o")]) == 2
    assert "Hugging Face Hub" in capsys.readouterr().err
    assert (
        polyalign(
            ["prepare", "dolly", "--source", f"train={src}", "--out", str(tmp_path / "o"), "--length-bins", "en=3,2,1"]
        )
        == 2
    )


def test_other_input_formats_json_array_parquet_folder_and_save_to_disk(tmp_path):
    import datasets
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [dict(DOLLY, instruction=f"Say hi {k}.", response=f"Hi {k}!") for k in range(6)]
    (tmp_path / "arr.json").write_text(json.dumps(rows))
    folder = tmp_path / "folder"
    folder.mkdir()
    pq.write_table(pa.Table.from_pylist(rows[:3]), folder / "part-0.parquet")
    (folder / "part-1.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows[3:]))
    datasets.Dataset.from_list(rows).save_to_disk(str(tmp_path / "arrow"))
    datasets.DatasetDict({"train": datasets.Dataset.from_list(rows)}).save_to_disk(str(tmp_path / "dict"))
    outputs = []
    for k, source in enumerate(("arr.json", "folder", "arrow", "dict")):
        manifest = prepare_dataset(get_formatter("dolly"), {"train": str(tmp_path / source)}, tmp_path / f"out{k}")
        assert sum(manifest["split_counts"].values()) == 6, source
        outputs.append(
            sorted(
                (tmp_path / f"out{k}" / "dolly" / s).read_text() for s in ("train.jsonl", "val.jsonl", "test.jsonl")
            )
        )
    assert outputs[2] == outputs[3]  # same rows, same order → same records
