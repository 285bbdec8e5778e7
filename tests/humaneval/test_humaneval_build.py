"""`polyalign human-eval build | summarize` without a browser: blinding, balance, Table 8 numbers."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from polyalign_lf.cli import main
from polyalign_lf.humaneval.summarize import mean_ci


@pytest.fixture
def built(tmp_path, toy_records, write_rows):
    records = write_rows(tmp_path / "test.jsonl", toy_records)
    sft = write_rows(
        tmp_path / "sft.jsonl", [{"id": r["id"], "prediction": "SFT " + r["human_answer"]} for r in toy_records]
    )
    dpo = write_rows(
        tmp_path / "dpo.jsonl", [{"id": r["id"], "prediction": "DPO " + r["human_answer"]} for r in toy_records]
    )
    page = tmp_path / "page"
    assert main(
        [
            "human-eval",
            "build",
            "--records",
            records,
            "--predictions",
            sft,
            dpo,
            "--out",
            str(page),
            "--per-stratum",
            "2",
            "--seed",
            "3",
        ]
    ) in (0, None)
    return page, tmp_path / "page.key.json"


def _items(page):
    text = (page / "items.js").read_text(encoding="utf-8")
    return json.loads(text[text.index("{") : text.rindex("}") + 1])


def test_build_is_blind_balanced_and_shuffled(built):
    page, key_path = built
    assert sorted(p.name for p in page.iterdir()) == ["app.js", "index.html", "items.js", "style.css"]
    sample = _items(page)
    key = json.loads(key_path.read_text())
    assert key["sample_id"] == sample["sample_id"]
    items = sample["items"]
    assert len(items) == 2 * 2 * 2 * 2  # languages × length bins × per-stratum × methods
    # Nothing on the page names the methods or the record ids.
    page_text = "".join((page / name).read_text(encoding="utf-8") for name in ("items.js", "index.html", "app.js"))
    assert '"sft"' not in page_text and '"dpo"' not in page_text and '"method"' not in page_text
    assert "en-0" not in page_text
    # Balanced over (language, length_bin) and every sampled record is rated for every method.
    by_key = {row["item_id"]: row for row in key["items"]}
    strata = Counter(
        (by_key[i["item_id"]]["language"], by_key[i["item_id"]]["length_bin"], by_key[i["item_id"]]["method"])
        for i in items
    )
    assert set(strata.values()) == {2} and len(strata) == 8
    per_record = Counter(row["record_id"] for row in key["items"])
    assert set(per_record.values()) == {2}
    # Shuffled: methods are interleaved, not in blocks.
    methods = [by_key[i["item_id"]]["method"] for i in items]
    assert methods != sorted(methods) and methods != sorted(methods, reverse=True)
    # The candidate text on the page is the key's method's prediction for that record.
    for item in items:
        row = by_key[item["item_id"]]
        assert item["candidate"].startswith(row["method"].upper() + " ")


def test_summarize_table8_hand_computed(built, tmp_path):
    page, key_path = built
    key = json.loads(key_path.read_text())

    # Rater A gives sft items (4, 5, 3) and dpo items (2, 3, 1); rater B gives sft (5, 5, 5) and leaves one incomplete.
    def ratings(rater, sft_scores, dpo_scores, incomplete=False):
        rows = []
        for row in key["items"]:
            scores = sft_scores if row["method"] == "sft" else dpo_scores
            rows.append(
                {
                    "item_id": row["item_id"],
                    "usefulness": scores[0],
                    "answerability": scores[1],
                    "naturalness": scores[2],
                    "comment": "",
                }
            )
        if incomplete:
            rows[0]["naturalness"] = None
        return {
            "format": "polyalign-human-eval-ratings/v1",
            "sample_id": key["sample_id"],
            "rater": rater,
            "ratings": rows,
        }

    a, b = tmp_path / "a.json", tmp_path / "b.json"
    a.write_text(json.dumps(ratings("A", (4, 5, 3), (2, 3, 1))))
    b.write_text(json.dumps(ratings("B", (5, 5, 5), (2, 3, 1), incomplete=True)))
    out = tmp_path / "t8"
    assert main(
        ["human-eval", "summarize", str(a), str(b), "--key", str(key_path), "--out", str(out), "--by", "language"]
    ) in (0, None)
    result = json.loads((out / "table8.json").read_text())
    assert result["skipped"] == {"incomplete": 1} and result["raters"] == ["A", "B"]
    table = result["table"]
    sft = table["sft"]["all"]
    n_sft = 16 - (1 if key["items"][0]["method"] == "sft" else 0)  # 8 items × 2 raters, minus the incomplete one
    assert sft["n"] == n_sft and sft["n_items"] == 8 and sft["n_raters"] == 2
    # CIs are over items (an item's ratings are not independent): each sft item's mean over its raters
    use = [4.5] * (n_sft - 8) + [4.0] * (16 - n_sft)  # rated by A (4) and B (5), or by A alone
    expected = mean_ci(use)
    assert sft["usefulness"]["mean"] == pytest.approx(sum(use) / len(use))
    assert sft["usefulness"]["ci"] == pytest.approx(expected["ci"])
    assert table["dpo"]["all"]["naturalness"]["mean"] == pytest.approx(1.0)
    assert table["dpo"]["all"]["naturalness"]["ci"] == pytest.approx(0.0)
    assert table["dpo"]["all"]["avg"]["mean"] == pytest.approx(2.0)
    assert set(result["by_language"]["sft"]) == {"en", "zh"}
    assert "| sft | all |" in (out / "table8.md").read_text()


def test_mean_ci_by_hand():
    # values 1, 2, 3: mean 2, sd 1, t_{0.975, 2} = 4.302653 → half-width 4.302653 / sqrt(3) = 2.484138
    stat = mean_ci([1, 2, 3])
    assert stat["mean"] == 2 and stat["ci"] == pytest.approx(2.484138, abs=1e-6)
    assert mean_ci([4])["ci"] is None and mean_ci([])["mean"] is None


def test_summarize_rejects_foreign_or_bad_ratings(built, tmp_path, capsys):
    _, key_path = built
    key = json.loads(key_path.read_text())
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"format": "polyalign-human-eval-ratings/v1", "sample_id": "he-other", "ratings": []}))
    assert main(["human-eval", "summarize", str(bad), "--key", str(key_path), "--out", str(tmp_path / "o")]) == 2
    assert "key is for" in capsys.readouterr().err
    bad.write_text(
        json.dumps(
            {
                "format": "polyalign-human-eval-ratings/v1",
                "sample_id": key["sample_id"],
                "ratings": [
                    {"item_id": key["items"][0]["item_id"], "usefulness": 7, "answerability": 1, "naturalness": 1}
                ],
            }
        )
    )
    assert main(["human-eval", "summarize", str(bad), "--key", str(key_path), "--out", str(tmp_path / "o")]) == 2
    assert "usefulness = 7 is not an integer 1-5" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_label_studio_round_trip_with_two_annotators(built, tmp_path, toy_records, write_rows):
    """A Label Studio project from the same sample, exported with two annotators, summarizes like the page:
    Krippendorff's α equals the krippendorff package on the rating matrix, CIs are over items."""
    import krippendorff
    import numpy as np

    from polyalign_lf.cli import main as cli

    records = write_rows(tmp_path / "test.jsonl", toy_records)
    sft = write_rows(tmp_path / "sft.jsonl", [{"id": r["id"], "prediction": r["human_answer"]} for r in toy_records])
    dpo = write_rows(tmp_path / "dpo.jsonl", [{"id": r["id"], "prediction": "ok"} for r in toy_records])
    out, key_path = tmp_path / "ls_page", tmp_path / "ls.key.json"
    assert cli(
        [
            "human-eval",
            "build",
            "--records",
            records,
            "--predictions",
            f"sft={sft}",
            f"dpo={dpo}",
            "--out",
            str(out),
            "--key",
            str(key_path),
            "--per-stratum",
            "2",
            "--format",
            "label-studio",
        ]
    ) in (0, None)
    assert '<Rating name="naturalness"' in (out / "label_studio" / "label_config.xml").read_text()
    tasks = json.loads((out / "label_studio" / "tasks.json").read_text())
    key = json.loads(key_path.read_text())
    assert len(tasks) == len(key["items"]) and "method" not in json.dumps(tasks)  # blind, like the page
    rng = np.random.default_rng(0)
    scores = {who: rng.integers(1, 6, size=(len(tasks), 3)).tolist() for who in ("ann1@lab", "ann2@lab")}
    export = []
    for k, task in enumerate(tasks):
        annotations = [
            {
                "completed_by": {"email": who},
                "was_cancelled": False,
                "result": [
                    {"from_name": d, "to_name": "candidate", "type": "rating", "value": {"rating": scores[who][k][j]}}
                    for j, d in enumerate(("usefulness", "answerability", "naturalness"))
                ],
            }
            for who in scores
        ]
        export.append({"id": k + 1, "data": task["data"], "annotations": annotations})
    (tmp_path / "export.json").write_text(json.dumps(export))
    assert cli(
        [
            "human-eval",
            "summarize",
            str(tmp_path / "export.json"),
            "--key",
            str(key_path),
            "--out",
            str(tmp_path / "t8"),
        ]
    ) in (0, None)
    result = json.loads((tmp_path / "t8" / "table8.json").read_text())
    assert result["raters"] == ["label-studio:ann1@lab", "label-studio:ann2@lab"] and result["n_items"] == len(tasks)
    for j, d in enumerate(("usefulness", "answerability", "naturalness")):
        matrix = np.array([[scores[who][k][j] for k in range(len(tasks))] for who in scores], dtype=float)
        expected = krippendorff.alpha(
            reliability_data=matrix, level_of_measurement="ordinal", value_domain=[1, 2, 3, 4, 5]
        )
        assert result["agreement"][d]["alpha"] == pytest.approx(expected)
    methods = {row["item_id"]: row["method"] for row in key["items"]}
    sft_items = [k for k, t in enumerate(tasks) if methods[t["data"]["item_id"]] == "sft"]
    per_item = [(scores["ann1@lab"][k][0] + scores["ann2@lab"][k][0]) / 2 for k in sft_items]
    assert result["table"]["sft"]["all"]["usefulness"]["ci"] == pytest.approx(mean_ci(per_item)["ci"])
    assert "Krippendorff's α" in (tmp_path / "t8" / "table8.md").read_text()
