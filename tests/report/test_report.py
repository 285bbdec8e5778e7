"""`polyalign report`: the comparison table (values, best marks, skipped reasons), plots and the HTML page."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from polyalign_lf.cli import main
from polyalign_lf.report.plots import frontier_steps
from polyalign_lf.report.render import markdown_to_html
from polyalign_lf.report.tables import comparison_markdown, load_run, rank_marks

BUCKETS = ["en|single|qa|short", "en|single|qa|medium", "en|multi|dialogue|short"]


def fake_metrics(f1: float, bng: float, mauve: float | None, hv: float, agg: float | None, shift: float = 0.0) -> dict:
    """A metrics file shaped like `polyalign evaluate` output (schema polyalign-metrics/1)."""
    skipped = {}
    if mauve is None:
        skipped["mauve.global"] = "120 examples < 200"
    if agg is None:
        skipped["agg"] = "component(s) not available: mauve_global"
    return {
        "schema": "polyalign-metrics/1",
        "test_set": {"n": 300, "ids_sha256": "abc", "languages": ["en"], "buckets": {b: 100 for b in BUCKETS}},
        "utility": {
            "overall": {"em": f1 / 2, "nem": f1 / 1.5, "f1": f1, "rouge_l": f1 * 0.9},
            "by_bucket": {b: {"em": 0.1, "nem": 0.1, "f1": f1, "rouge_l": 0.2, "n": 100} for b in BUCKETS},
        },
        "bng": {
            "macro": bng,
            "by_bucket": {b: {"bng": bng * (k + 1 + shift), "n": 100} for k, b in enumerate(BUCKETS)},
        },
        "mauve": {"global": mauve, "conditional_macro": None if mauve is None else mauve - 0.1, "by_bucket": {}},
        "tdm": {"macro": 0.7, "by_bucket": {}},
        "nuf": {
            "hypervolume": hv,
            "points": [
                {"bucket_id": b, "utility": min(1.0, f1 + 0.1 * k), "naturalness": max(0.05, hv + 0.2 - 0.15 * k)}
                for k, b in enumerate(BUCKETS)
            ],
        },
        "agg": agg,
        "skipped": skipped,
    }


@pytest.fixture
def runs(tmp_path):
    paths = {}
    for name, metrics in {
        "full_sft": fake_metrics(0.317, 5.012, 0.947, 0.547, 0.371),
        "bucket_sft": fake_metrics(0.444, 0.427, 0.939, 0.585, 0.643, shift=0.5),
        "base": fake_metrics(0.248, 6.344, None, 0.170, None),
    }.items():
        paths[name] = tmp_path / f"{name}.json"
        paths[name].write_text(json.dumps(metrics))
    return paths


def test_table_values_marks_and_skips(runs):
    loaded = [load_run(name, path) for name, path in runs.items()]
    text = comparison_markdown(loaded)
    rows = {
        line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]]
        for line in text.splitlines()
        if line.startswith("| ") and "Method" not in line
    }
    # QA-F1 column: bucket_sft best (bold), full_sft second (underlined); BNG: lower is better.
    assert (
        rows["bucket_sft"][0] == "**0.444**" and rows["full_sft"][0] == "<u>0.317</u>" and rows["base"][0] == "0.248"
    )
    assert rows["bucket_sft"][4] == "**0.427**" and rows["full_sft"][4] == "<u>5.012</u>"
    assert rows["base"][5] == "skipped" and rows["base"][9] == "skipped"
    assert "G-MAUVE (base): 120 examples < 200" in text
    assert "Agg (base): component(s) not available: mauve_global" in text


def test_bng_columns_say_their_scale(tmp_path):
    paper = fake_metrics(0.4, 120.0, 0.9, 0.5, 0.3)
    paper["bng"]["scale"] = "paper"
    robust = fake_metrics(0.3, 0.5, 0.9, 0.5, 0.4)
    robust["bng"]["scale"] = "robust"
    paths = {}
    for name, metrics in {"a_paper": paper, "b_robust": robust, "c_paper": dict(paper, agg=0.2)}.items():
        paths[name] = tmp_path / f"{name}.json"
        paths[name].write_text(json.dumps(metrics))
    mixed = comparison_markdown([load_run(n, p) for n, p in paths.items()])
    assert "BNG-macro mixes scales (ranked within each scale only): paper: a_paper, c_paper; robust: b_robust" in mixed
    rows = {
        line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]]
        for line in mixed.splitlines()
        if line.startswith("| ") and "Method" not in line
    }
    assert rows["b_robust"][4] == "0.500"  # not "best" against the paper-scale values: a different quantity
    only_paper = comparison_markdown([load_run(n, paths[n]) for n in ("a_paper", "c_paper")])
    assert "BNG-macro (paper scale) ↓" in only_paper


def test_frontier_steps_outline_hypervolume():
    from polyalign_lf.metrics.nuf import hypervolume_2d

    points = [(0.2, 0.9), (0.5, 0.6), (0.4, 0.3), (0.8, 0.2)]  # (0.4, 0.3) is dominated by (0.5, 0.6)
    xs, ys = frontier_steps(points)
    assert list(zip(xs, ys)) == [(0.0, 0.9), (0.2, 0.9), (0.2, 0.6), (0.5, 0.6), (0.5, 0.2), (0.8, 0.2), (0.8, 0.0)]
    # The area under the staircase is the hypervolume: 0.2*0.9 + 0.3*0.6 + 0.3*0.2 = 0.42
    area = sum((xs[k + 1] - xs[k]) * ys[k] for k in range(len(xs) - 1))
    assert area == pytest.approx(0.42) and hypervolume_2d(points) == pytest.approx(0.42)


def test_markdown_to_html_escapes():
    out = markdown_to_html("| a | b |\n|---|---|\n| <script> | **1** |\n\n- note `x`")
    assert (
        "&lt;script&gt;" in out and "<strong>1</strong>" in out and "<code>x</code>" in out and "<script>" not in out
    )


def test_report_cli_end_to_end(tmp_path, runs, toy_records, write_rows, tiny_model):
    records = write_rows(tmp_path / "test.jsonl", toy_records)
    preds = []
    for name, prefix in (("full_sft", "Answer: "), ("bucket_sft", "")):
        preds.append(
            f"{name}="
            + write_rows(
                tmp_path / f"{name}.jsonl",
                [{"id": r["id"], "prediction": prefix + r["human_answer"]} for r in toy_records],
            )
        )
    out = tmp_path / "report"
    code = main(
        [
            "report",
            *(f"{n}={p}" for n, p in runs.items()),
            "--out",
            str(out),
            "--records",
            records,
            "--predictions",
            *preds,
            "--embedding-model",
            str(tiny_model),
            "--projection",
            "pca",
        ]
    )
    assert code in (0, None)
    assert sorted(p.name for p in (out / "figures").iterdir()) == [
        "bng_by_bucket.png",
        "embedding_shifts.png",
        "nuf_frontier.png",
    ]
    for png in (out / "figures").iterdir():
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000
    page = (out / "report.html").read_text()
    assert page.count("data:image/png;base64,") == 3
    assert not re.search(r"""(src|href)=["']https?://""", page)  # self-contained: nothing fetched from the network
    assert "<strong>0.444</strong>" in page and "(base): 120 examples &lt; 200" in page
    summary = json.loads((out / "report.json").read_text())
    shift = summary["embedding_shift"]
    assert shift["bucket_sft"]["centroid_cosine_distance"] == pytest.approx(0.0, abs=1e-6)  # identical answers
    assert shift["full_sft"]["centroid_cosine_distance"] > 1e-4
    assert "## Answer embeddings vs human answers" in (out / "report.md").read_text()


def test_report_names_from_stem_and_name_flag(tmp_path, runs, capsys):
    out = tmp_path / "r"
    assert main(["report", str(runs["base"]), str(runs["full_sft"]), "--out", str(out)]) in (0, None)
    assert "| base |" in (out / "report.md").read_text()
    assert (
        main(
            [
                "report",
                str(runs["base"]),
                str(runs["full_sft"]),
                "--name",
                "BaseLM",
                "--name",
                "Full-SFT",
                "--out",
                str(out),
            ]
        )
        == 2
    )  # an earlier report is never merged with a new one...
    assert "--overwrite" in capsys.readouterr().err
    assert main(
        [
            "report",
            str(runs["base"]),
            str(runs["full_sft"]),
            "--name",
            "BaseLM",
            "--name",
            "Full-SFT",
            "--out",
            str(out),
            "--overwrite",
        ]
    ) in (0, None)  # ...but replaced whole on request
    assert "| BaseLM |" in (out / "report.md").read_text()
    assert main(["report", str(runs["base"]), "--name", "a", "--name", "b", "--out", str(out)]) == 2
    assert "one per run" in capsys.readouterr().err


def test_report_includes_judge_and_detector_tables(tmp_path, runs):
    from polyalign_lf.judge.rubric import DIMENSIONS, all_composites
    from polyalign_lf.judge.runner import build_summary

    def rows(method, score):
        scores = {d: score for d in DIMENSIONS}
        return [
            {
                "id": f"r{k}",
                "method": method,
                "status": "ok",
                "scores": scores,
                "raw_scores": scores,
                "composites": all_composites(scores),
                "caps": [],
            }
            for k in range(3)
        ]

    judge = tmp_path / "judge.json"
    judge.write_text(
        json.dumps(build_summary({"j1": {"full_sft": rows("full_sft", 4), "bucket_sft": rows("bucket_sft", 5)}}))
    )
    detect = tmp_path / "detect.json"
    detect.write_text(
        json.dumps(
            {
                "detectors": ["binoculars"],
                "methods": {"bucket_sft": {"agg": 0.643, "binoculars": {"ai_rate": 0.381}, "H": 0.619, "joint": 63.1}},
            }
        )
    )
    out = tmp_path / "r"
    assert main(
        [
            "report",
            f"bucket_sft={runs['bucket_sft']}",
            "--judge",
            str(judge),
            "--detect",
            str(detect),
            "--out",
            str(out),
        ]
    ) in (0, None)
    text = (out / "report.md").read_text()
    assert "| full_sft | 75.0 | 75.0 | 75.0 | 75.0 |" in text and "| bucket_sft | 100.0 |" in text
    assert "| bucket_sft | 0.643 | 38.1 | 0.619 | 63.1 |" in text
    # one detector is not the paper's H: the report's table says which H it is
    assert "| H(1: binoculars) | Joint[H(1: binoculars)] |" in text and "not the paper's H" in text
    assert "<td>63.1</td>" in (out / "report.html").read_text()
    assert (out / "figures" / "quality_vs_humanlikeness.png").stat().st_size > 5000


def test_report_html_renders_in_chromium(tmp_path, runs):
    from polyalign_testing.headless import Browser, find_chromium, serve_directory

    if find_chromium() is None:
        pytest.skip("chromium is not installed (apt-get install chromium) — the report screenshot check is skipped")
    pytest.importorskip("websockets", reason="the websockets package drives Chromium over DevTools")
    out = tmp_path / "r"
    assert main(["report", *(f"{n}={p}" for n, p in runs.items()), "--out", str(out)]) in (0, None)
    import os

    shot_dir = Path(os.environ.get("POLYALIGN_SCREENSHOT_DIR") or tmp_path)
    with serve_directory(out) as base, Browser() as browser:
        browser.goto(f"{base}/report.html")
        images = browser.wait_for(
            "Array.from(document.images).every(i => i.complete) && "
            "Array.from(document.images).map(i => i.naturalWidth)"
        )
        assert len(images) == 2 and min(images) > 300  # both figures decoded from their data URIs
        cells = browser.evaluate("Array.from(document.querySelectorAll('tbody tr')).length")
        assert cells == 3
        png = browser.screenshot(shot_dir / "report.png")
    assert png.read_bytes()[:4] == b"\x89PNG" and png.stat().st_size > 20000


def test_mauve_is_ranked_within_one_protocol(tmp_path):
    reference = fake_metrics(0.4, 0.5, 0.95, 0.5, 0.6)
    reference["mauve"]["protocol"] = "reference"
    ours = fake_metrics(0.3, 0.6, 0.80, 0.4, 0.5)
    ours["mauve"]["protocol"] = "polyalign"
    paths = {}
    for name, metrics in {"a_ref": reference, "b_ours": ours, "c_ours": dict(ours, agg=0.4)}.items():
        paths[name] = tmp_path / f"{name}.json"
        paths[name].write_text(json.dumps(metrics))
    runs = [load_run(n, p) for n, p in paths.items()]
    marks = rank_marks(runs)
    # G-MAUVE 0.95 (reference protocol) is not "best" against 0.80 under another protocol: nothing to rank it with
    assert ("a_ref", "mauve.global") not in marks and ("a_ref", "agg") not in marks
    assert marks[("b_ours", "agg")] == "best"
    assert marks[("a_ref", "utility.overall.f1")] == "best"  # utility does not depend on the protocol
    assert "MAUVE mixes protocols" in comparison_markdown(runs)


def test_runs_with_other_references_or_bucket_sizes_are_ranked_apart(tmp_path):
    """BNG against train references is another quantity than BNG against the held-out answers, and per-bucket
    aggregates over buckets of >= 20 rows are not comparable with those over >= 5: such runs are set apart."""
    base = fake_metrics(0.4, 0.5, 0.9, 0.5, 0.6)
    refs = json.loads(json.dumps(base))
    refs["bng"]["scale_source"] = "references (train split, robust IQR)"
    refs["bng"]["macro"] = 0.1  # would be "best" if ranked with the others
    small = json.loads(json.dumps(base))
    small["config"] = {"min_bucket_size": 5}
    small["tdm"]["macro"] = 0.99
    base["config"] = {"min_bucket_size": 20}
    refs["config"] = {"min_bucket_size": 20}
    paths = {}
    for name, metrics in {
        "a_heldout": base,
        "b_refs": refs,
        "c_small": small,
        "d_heldout": dict(base, agg=0.5),
    }.items():
        paths[name] = tmp_path / f"{name}.json"
        paths[name].write_text(json.dumps(metrics))
    runs = [load_run(n, p) for n, p in paths.items()]
    marks = rank_marks(runs)
    assert ("b_refs", "bng.macro") not in marks and ("c_small", "tdm.macro") not in marks
    assert marks[("a_heldout", "utility.overall.f1")] == "best"  # utility does not depend on either
    text = comparison_markdown(runs)
    assert "runs differ in BNG reference statistics" in text and "runs differ in --min-bucket-size" in text
