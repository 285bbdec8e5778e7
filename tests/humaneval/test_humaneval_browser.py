"""The human-eval page in headless Chromium: it renders, rates, keeps progress across reloads, exports JSON
that `human-eval summarize` accepts. Skips (with the reason) when chromium or websockets is missing."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from polyalign_testing.headless import find_chromium

from polyalign_lf.cli import main

pytestmark = [
    pytest.mark.skipif(
        find_chromium() is None,
        reason="chromium is not installed (apt-get install chromium) — "
        "the browser check of the human-eval page is skipped",
    ),
]
websockets = pytest.importorskip("websockets", reason="the websockets package drives Chromium over DevTools")


def test_page_rates_persists_and_exports(tmp_path, toy_records, write_rows):
    from polyalign_testing.headless import Browser, serve_directory

    records = write_rows(tmp_path / "test.jsonl", toy_records)
    a = write_rows(
        tmp_path / "a.jsonl", [{"id": r["id"], "prediction": "A: " + r["human_answer"]} for r in toy_records]
    )
    b = write_rows(
        tmp_path / "b.jsonl", [{"id": r["id"], "prediction": "B: " + r["human_answer"]} for r in toy_records]
    )
    page = tmp_path / "page"
    assert main(
        ["human-eval", "build", "--records", records, "--predictions", a, b, "--out", str(page), "--per-stratum", "1"]
    ) in (0, None)
    key = json.loads((tmp_path / "page.key.json").read_text())
    n_items = len(key["items"])
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    with serve_directory(page) as base, Browser() as browser:
        browser.allow_downloads(downloads)
        browser.goto(f"{base}/index.html")
        assert browser.wait_for("document.getElementById('position').textContent") == f"Item 1 of {n_items}"
        first = browser.evaluate("document.getElementById('candidate').textContent")
        assert first.startswith(("A: ", "B: "))
        browser.type_text("#rater", "tester-1")
        expected = {}
        for k, scores in enumerate([(4, 5, 3), (2, 2, 1)]):
            item_id = key["items"][k]["item_id"]
            for dim, value in zip(("usefulness", "answerability", "naturalness"), scores):
                browser.click(f'fieldset[data-dim="{dim}"] label[data-value="{value}"]')
            expected[item_id] = scores
            assert browser.evaluate("document.body.getAttribute('data-rated')") == str(k + 1)
            browser.click("#next")
        assert browser.evaluate("document.getElementById('position').textContent") == f"Item 3 of {n_items}"
        if os.environ.get("POLYALIGN_SCREENSHOT_DIR"):
            browser.click("#prev")
            browser.screenshot(Path(os.environ["POLYALIGN_SCREENSHOT_DIR"]) / "human_eval_page.png")
            browser.click("#next")
        # Progress survives a reload (localStorage), including the position and the rater name.
        browser.reload()
        assert browser.wait_for("document.body.getAttribute('data-rated')") == "2"
        assert browser.evaluate("document.getElementById('position').textContent") == f"Item 3 of {n_items}"
        assert browser.evaluate("document.getElementById('rater').value") == "tester-1"
        browser.click("#prev")
        assert (
            browser.evaluate(
                "document.querySelector('fieldset[data-dim=\"naturalness\"] label.checked').getAttribute('data-value')"
            )
            == "1"
        )
        browser.click("#export")
        deadline = time.monotonic() + 20
        files = []
        while time.monotonic() < deadline:
            files = [p for p in downloads.iterdir() if p.suffix == ".json"]
            if files:
                break
            time.sleep(0.1)
        assert files, "the export did not produce a download"
    exported = json.loads(files[0].read_text())
    assert files[0].name == f"ratings-tester-1-{key['sample_id']}.json"
    assert exported["rater"] == "tester-1" and exported["sample_id"] == key["sample_id"]
    got = {r["item_id"]: (r["usefulness"], r["answerability"], r["naturalness"]) for r in exported["ratings"]}
    assert got == expected
    out = tmp_path / "t8"
    assert main(
        ["human-eval", "summarize", str(files[0]), "--key", str(tmp_path / "page.key.json"), "--out", str(out)]
    ) in (0, None)
    table = json.loads((out / "table8.json").read_text())
    assert table["n_ratings"] == 2
