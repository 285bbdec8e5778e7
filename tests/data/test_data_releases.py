"""The sources as their authors publish them: real release excerpts (tests/fixtures/releases; sources and
licences in tests/fixtures/README.md), the wrappers and compressions release files come in, and
`polyalign prepare --all --from-dir`."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from polyalign_lf.cli import main as polyalign
from polyalign_lf.data.formatters import get_formatter
from polyalign_lf.data.prepare import prepare_dataset
from polyalign_lf.data.schema import read_records
from polyalign_lf.errors import InputError

RELEASES = Path(__file__).resolve().parents[1] / "fixtures" / "releases"


def _records(out: Path, dataset: str) -> list[dict]:
    return [r for split in ("train", "val", "test") for r in read_records(out / dataset / f"{split}.jsonl")]


def _squad_questions(obj) -> list[tuple[str, str]]:
    """(question, first answer) of every answered question, walked independently of the formatter."""
    out = []
    articles = obj["data"] if isinstance(obj, dict) else obj
    for article in articles:
        for paragraph in article.get("paragraphs", [article]):
            for qa in paragraph["qas"]:
                answers = [a["text"] if isinstance(a, dict) else a for a in qa["answers"]]
                answers = [a for a in answers if a.strip()]
                if answers and not qa.get("is_impossible"):
                    out.append((qa.get("question", qa.get("query_text")), answers[0]))
    return out


@pytest.mark.parametrize(
    "dataset,split,rel",
    [
        ("drcd", "dev", "drcd/DRCD_dev.json"),  # minified, one line: {"version", "data": [...]}
        ("cmrc2018", "validation", "cmrc2018/cmrc2018_dev.json"),  # original layout: a JSON array of context_text/qas
        ("cmrc2018", "validation", "cmrc2018/squad-style-data/cmrc2018_dev.json"),  # pretty-printed SQuAD style
    ],
)
def test_real_release_excerpts_give_one_record_per_answered_question(tmp_path, dataset, split, rel):
    path = RELEASES / rel
    expected = _squad_questions(json.loads(path.read_text(encoding="utf-8")))
    manifest = prepare_dataset(get_formatter(dataset), {split: str(path)}, tmp_path)
    records = _records(tmp_path, dataset)
    assert len(records) == len(expected) == manifest["examples_seen"] >= 10
    assert [(r["question"], r["human_answer"]) for r in records[:1]] == [tuple(t.strip() for t in expected[0])]
    assert manifest["split_counts"]["val"] == len(expected)


def test_cmrc2018_original_and_squad_style_files_agree(tmp_path):
    a = prepare_dataset(
        get_formatter("cmrc2018"), {"validation": str(RELEASES / "cmrc2018/cmrc2018_dev.json")}, tmp_path / "a"
    )
    b = prepare_dataset(
        get_formatter("cmrc2018"),
        {"validation": str(RELEASES / "cmrc2018/squad-style-data/cmrc2018_dev.json")},
        tmp_path / "b",
    )
    qa = lambda out: {(r["question"], r["context"], r["human_answer"]) for r in _records(out, "cmrc2018")}  # noqa: E731
    assert a["split_counts"] == b["split_counts"] and qa(tmp_path / "a") == qa(tmp_path / "b")


def _squad_row(k: int) -> dict:
    return {
        "title": f"T{k}",
        "paragraphs": [
            {
                "context": f"Context {k} about things.",
                "qas": [
                    {
                        "id": f"q{k}",
                        "question": f"What is {k}?",
                        "is_impossible": False,
                        "answers": [{"text": f"thing {k}", "answer_start": 0}],
                    }
                ],
            }
        ],
    }


@pytest.mark.parametrize(
    "name,write",
    [
        (
            "one_line.json",
            lambda p: p.write_text(json.dumps({"version": "v2.0", "data": [_squad_row(1), _squad_row(2)]})),
        ),
        (
            "pretty.json",
            lambda p: p.write_text(json.dumps({"version": "v2.0", "data": [_squad_row(1), _squad_row(2)]}, indent=2)),
        ),
        ("array.json", lambda p: p.write_text(json.dumps([_squad_row(1), _squad_row(2)]))),
        (
            "rows.jsonl.gz",
            lambda p: p.write_bytes(gzip.compress("".join(json.dumps(_squad_row(k)) + "\n" for k in (1, 2)).encode())),
        ),
        (
            "wrapped.json.gz",
            lambda p: p.write_bytes(gzip.compress(json.dumps({"data": [_squad_row(1), _squad_row(2)]}).encode())),
        ),
    ],
)
def test_every_shape_of_a_release_file_reads_the_same_rows(tmp_path, name, write):
    path = tmp_path / name
    write(path)
    manifest = prepare_dataset(get_formatter("squad_v2"), {"validation": str(path)}, tmp_path / "out")
    assert manifest["split_counts"]["test"] == 2


def test_a_single_row_jsonl_file_is_a_row_not_a_wrapper(tmp_path):
    path = tmp_path / "one.json"
    path.write_text(
        json.dumps({"instruction": "Say hi.", "context": "", "response": "Hi!", "category": "open_qa"}) + "\n"
    )
    assert prepare_dataset(get_formatter("dolly"), {"train": str(path)}, tmp_path / "out")["examples_seen"] == 1


def test_arrow_file_from_datasets(tmp_path):
    import datasets

    ds = datasets.Dataset.from_list(
        [
            {"instruction": f"Say hi {k}.", "context": "", "response": f"Hi {k}!", "category": "open_qa"}
            for k in range(3)
        ]
    )
    ds.save_to_disk(str(tmp_path / "saved"))
    arrow = next((tmp_path / "saved").glob("*.arrow"))
    assert prepare_dataset(get_formatter("dolly"), {"train": str(arrow)}, tmp_path / "out")["examples_seen"] == 3


def test_column_oriented_ms_marco_release(tmp_path):
    """MS MARCO's release JSON is column-oriented (pandas `to_json`), passages a list of objects."""
    rows = [
        {
            "query": "what is a cat",
            "query_id": 7,
            "query_type": "DESCRIPTION",
            "answers": ["A small feline."],
            "wellFormedAnswers": "[]",
            "passages": [
                {"is_selected": 1, "passage_text": "Cats are small felines.", "url": "u"},
                {"is_selected": 0, "passage_text": "Dogs bark.", "url": "v"},
            ],
        },
        {
            "query": "who",
            "query_id": 8,
            "query_type": "PERSON",
            "answers": ["No Answer Present."],
            "wellFormedAnswers": "[]",
            "passages": [{"is_selected": 0, "passage_text": "x", "url": "w"}],
        },
    ]
    columnar = {key: {str(i): row[key] for i, row in enumerate(rows)} for key in rows[0]}
    path = tmp_path / "dev_v2.1.json"
    path.write_text(json.dumps(columnar))
    manifest = prepare_dataset(get_formatter("ms_marco"), {"validation": str(path)}, tmp_path / "out")
    assert manifest["split_counts"]["val"] == 1 and manifest["skipped"] == {"no_answer_present": 1}
    record = _records(tmp_path / "out", "ms_marco")[0]
    assert record["context"] == "Cats are small felines." and record["meta"]["source_id"] == "7"


def test_coqa_official_release_layout(tmp_path):
    story = {
        "id": "3zotghdk5ibi9cex97fepx7jetpso7",
        "source": "wikipedia",
        "filename": "x.txt",
        "story": "Once upon a time a cat lived in a barn.",
        "questions": [{"input_text": "Who lived in the barn?", "turn_id": 1}, {"input_text": "Where?", "turn_id": 2}],
        "answers": [
            {"input_text": "a cat", "span_text": "a cat", "span_start": 17, "span_end": 22, "turn_id": 1},
            {"input_text": "in a barn", "span_text": "in a barn", "span_start": 29, "span_end": 38, "turn_id": 2},
        ],
    }
    path = tmp_path / "coqa-dev-v1.0.json"
    path.write_text(json.dumps({"version": "1.0", "data": [story]}))
    prepare_dataset(get_formatter("coqa"), {"validation": str(path)}, tmp_path / "out")
    records = _records(tmp_path / "out", "coqa")
    assert [r["human_answer"] for r in records] == ["a cat", "in a barn"]
    assert records[1]["dialogue_history"] == [
        {"role": "user", "text": "Who lived in the barn?"},
        {"role": "assistant", "text": "a cat"},
    ]


def test_multiwoz_21_data_json_keyed_by_dialogue(tmp_path):
    log = [
        {"text": "I need a cheap hotel.", "metadata": {}},
        {"text": "The Alpha is cheap.", "metadata": {"hotel": {}}},
        {"text": "Book it.", "metadata": {}},
        {"text": "Done, reference 123.", "metadata": {"hotel": {}}},
    ]
    path = tmp_path / "data.json"
    path.write_text(
        json.dumps({"SNG0001.json": {"goal": {}, "log": log}, "PMUL0002.json": {"goal": {}, "log": log[:2]}})
    )
    prepare_dataset(get_formatter("multiwoz"), {"train": str(path)}, tmp_path / "out")
    records = _records(tmp_path / "out", "multiwoz")
    assert [r["human_answer"] for r in records] == [
        "The Alpha is cheap.",
        "Done, reference 123.",
        "The Alpha is cheap.",
    ]
    assert records[1]["meta"]["dialogue_id"] == "SNG0001" and records[1]["question"] == "Book it."


def test_an_object_holding_no_rows_is_refused_with_its_keys(tmp_path):
    path = tmp_path / "odd.json"
    path.write_text(json.dumps({"version": "1", "articles": 3}, indent=2))
    with pytest.raises(
        InputError, match=r"odd\.json: one JSON object that holds no rows \(its keys: version, articles\)"
    ):
        prepare_dataset(get_formatter("squad_v2"), {"validation": str(path)}, tmp_path / "out")


def test_prepare_all_from_dir_builds_the_bilingual_corpus(tmp_path, capsys):
    import shutil

    root = tmp_path / "sources"
    shutil.copytree(RELEASES / "drcd", root / "drcd")
    (root / "cmrc2018").mkdir()
    shutil.copy(RELEASES / "cmrc2018" / "cmrc2018_dev.json", root / "cmrc2018")
    (root / "dolly").mkdir()  # a Hub snapshot: the single split takes every data file
    (root / "dolly" / "databricks-dolly-15k.jsonl").write_text(
        "".join(
            json.dumps(
                {"instruction": f"Say hi {k}.", "context": "", "response": f"Hi {k}, friend!", "category": "open_qa"}
            )
            + "\n"
            for k in range(5)
        )
    )
    out = tmp_path / "records"
    assert polyalign(["prepare", "--all", "--from-dir", str(root), "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert "drcd: dev ← DRCD_dev.json; no file for train, test" in captured.err
    assert "cmrc2018: validation ← cmrc2018_dev.json; no file for train, test" in captured.err
    assert "not prepared (11 of 14 sources)" in captured.out and "squad_v2 (no folder" in captured.out
    assert {p.name for p in out.iterdir()} == {"drcd", "cmrc2018", "dolly"}
    assert "dolly: 5 examples seen → 5 records" in captured.out
    assert polyalign(["dedup", str(out), "--out", str(tmp_path / "dedup")]) == 0
    # both layouts of one dev set in one folder: the repeat is named, not silently doubled
    shutil.copy(
        RELEASES / "cmrc2018" / "squad-style-data" / "cmrc2018_dev.json", root / "cmrc2018" / "dev-squad-style.json"
    )
    assert polyalign(["prepare", "--all", "--from-dir", str(root), "--out", str(tmp_path / "again")]) == 2
    assert "duplicate id 'cmrc2018-DEV_0_QUERY_0'" in capsys.readouterr().err


def test_from_dir_refuses_a_folder_whose_files_name_no_split(tmp_path):
    (tmp_path / "src" / "squad_v2").mkdir(parents=True)
    (tmp_path / "src" / "squad_v2" / "squad.json").write_text(json.dumps({"data": [_squad_row(1)]}))
    assert polyalign(["prepare", "--all", "--from-dir", str(tmp_path / "src"), "--out", str(tmp_path / "o")]) == 2
    with pytest.raises(
        InputError, match=r"squad_v2: no file names one of its splits \(train, validation\); found: squad\.json"
    ):
        from polyalign_lf.data.prepare import prepare_from_dir

        prepare_from_dir(tmp_path / "src", tmp_path / "o", report=lambda line: None)


# Expected records per source of the release-layout fixtures, counted by hand from the files (README there).
FIXTURE_RECORDS = {
    "cmrc2018": 10,
    "coig_cqia": 1,
    "coqa": 5,
    "dailydialog": 5,
    "dolly": 3,
    "drcd": 12,
    "dureader": 3,
    "eli5_category": 2,
    "hc3_chinese": 3,
    "ms_marco": 2,
    "multiwoz": 6,
    "natural_questions": 1,
    "oasst2_zh": 2,
    "squad_v2": 3,
}


def _release_root(tmp_path: Path) -> Path:
    """The fixtures as a user's DIR/<dataset>/ tree (CMRC2018's second layout of the same dev set left out)."""
    import shutil

    root = tmp_path / "releases"
    shutil.copytree(RELEASES, root, ignore=shutil.ignore_patterns("squad-style-data"))
    return root


def test_every_source_has_a_release_layout_fixture():
    from polyalign_lf.data.formatters import all_formatters

    public = sorted(name for name, spec in all_formatters().items() if spec.hub_id)
    assert sorted(FIXTURE_RECORDS) == public and all((RELEASES / name).is_dir() for name in public)
    readme = (RELEASES.parent / "README.md").read_text(encoding="utf-8")
    assert all(
        f"`releases/{name}/" in readme for name in public
    )  # each fixture's source, licence and kind is documented


def test_the_whole_bilingual_corpus_from_release_files(tmp_path, capsys):
    out = tmp_path / "records"
    assert polyalign(["prepare", "--all", "--from-dir", str(_release_root(tmp_path)), "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert "not prepared" not in captured.out
    assert (
        "multiwoz: validation ← dialogues_001.json; test ← dialogues_001.json; train ← dialogues_001.json; ignored 1 file(s): schema.json"
        in captured.err
    )
    for name, n in FIXTURE_RECORDS.items():
        manifest = json.loads((out / name / "manifest.json").read_text(encoding="utf-8"))
        assert sum(manifest["split_counts"].values()) == n, (name, manifest["split_counts"], manifest["skipped"])
        assert manifest["examples_seen"] == n + sum(manifest["skipped"].values())
    assert polyalign(["dedup", str(out), "--out", str(tmp_path / "dedup")]) == 0
    assert polyalign(["export", str(tmp_path / "dedup"), "--out", str(tmp_path / "registry")]) == 0
    info = json.loads((tmp_path / "registry" / "dataset_info.json").read_text(encoding="utf-8"))
    assert {"polyalign_en_train", "polyalign_zh_train", "polyalign_en_test", "polyalign_zh_val"} <= set(info)


def test_dailydialog_text_release(tmp_path):
    root = _release_root(tmp_path)
    sources = {s: str(root / "dailydialog" / s / f"dialogues_{s}.txt") for s in ("train", "validation", "test")}
    prepare_dataset(get_formatter("dailydialog"), sources, tmp_path / "out")
    records = _records(tmp_path / "out", "dailydialog")
    first = [r for r in records if r["split"] == "train"][:2]
    assert [(r["question"], r["human_answer"]) for r in first] == [
        (
            "Say , Jim , how about going for a few beers after dinner ?",
            "You know that is tempting but is really not good for our fitness .",
        ),
        ("What do you mean ?", "Doing exercise is better ."),
    ]
    assert first[1]["dialogue_history"][0]["text"].startswith("Say , Jim")


def test_oasst2_release_trees_give_the_same_records_as_flat_messages(tmp_path):
    trees = [
        json.loads(line)
        for line in gzip.decompress(
            (RELEASES / "oasst2_zh" / "train" / "2023-11-05_oasst2_ready.trees.jsonl.gz").read_bytes()
        )
        .decode()
        .splitlines()
    ]
    flat = []

    def walk(message, parent, tree):  # the Hub's flat layout, written out independently of the formatter
        flat.append(
            {
                **{k: v for k, v in message.items() if k != "replies"},
                "parent_id": parent,
                "message_tree_id": tree["message_tree_id"],
                "tree_state": tree["tree_state"],
            }
        )
        for reply in message["replies"]:
            walk(reply, message["message_id"], tree)

    for tree in trees:
        walk(tree["prompt"], None, tree)
    (tmp_path / "flat.jsonl").write_text(
        "".join(json.dumps(m, ensure_ascii=False) + "\n" for m in flat), encoding="utf-8"
    )
    a = prepare_dataset(get_formatter("oasst2_zh"), {"train": str(RELEASES / "oasst2_zh" / "train")}, tmp_path / "a")
    b = prepare_dataset(get_formatter("oasst2_zh"), {"train": str(tmp_path / "flat.jsonl")}, tmp_path / "b")
    assert a["split_counts"] == b["split_counts"] and a["skipped"] == b["skipped"] == {"lower_ranked_sibling": 1}
    assert _records(tmp_path / "a", "oasst2_zh") == _records(tmp_path / "b", "oasst2_zh")


def test_natural_questions_simplified_release_long_answer(tmp_path):
    manifest = prepare_dataset(
        get_formatter("natural_questions"),
        {"train": str(RELEASES / "natural_questions" / "simplified-nq-train.jsonl.gz")},
        tmp_path,
    )
    (record,) = _records(tmp_path, "natural_questions")
    assert (
        record["human_answer"]
        == "The blue whale is a marine mammal . It is the largest animal known to have ever existed ."
    )
    assert record["meta"]["source_id"] == "5655493461695504401" and manifest["skipped"] == {"no_long_answer": 1}


def test_a_row_in_no_known_layout_names_the_layouts_accepted(tmp_path):
    path = tmp_path / "nq.jsonl"
    path.write_text(json.dumps({"q": "x", "a": "y"}) + "\n")
    with pytest.raises(
        InputError,
        match=r"nq\.jsonl:1: missing column\(s\) query, answer for natural_questions \(release layouts "
        r"accepted too: question_text, document_text, annotations\) \(row has: q, a\)",
    ):
        prepare_dataset(get_formatter("natural_questions"), {"train": str(path)}, tmp_path / "out")
