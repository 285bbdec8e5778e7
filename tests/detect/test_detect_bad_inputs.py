"""Bad inputs of `polyalign detect` (the battery's machinery: tests/bad_input_battery.py)."""

from __future__ import annotations

import pytest
from bad_input_battery import *  # noqa: F403 -- the battery's helpers, as the cases were written

CASES, case = new_battery()  # noqa: F405


for opt, value in (
    ("--sample", "-1"),
    ("--batch-size", "0"),
    ("--max-length", "0"),
    ("--calibrate-fpr", "1.5"),
    ("--calibrate-fpr", "nan"),
):
    case(
        f"detect {opt} {value}",
        lambda w, t, opt=opt, value=value: _detect(w, t, opt, value),
        rf"argument {opt}: must be",
        absent=("d.json",),
    )


case(
    "detect duplicate prediction id",
    lambda w, t: [
        "detect",
        "--records",
        w / "test.jsonl",
        "--predictions",
        f"sft={t / 'p.jsonl'}",
        "--out",
        t / "d.json",
    ],
    r"p\.jsonl:\d+: duplicate id",
    setup=lambda w, t: _copy_rows(w / "pred_test.jsonl", t / "p.jsonl", _dup_row(0)),
    absent=("d.json",),
)


case("detect unknown detector", lambda w, t: _detect(w, t, "--detectors", "gptzero"), r"gptzero", absent=("d.json",))


case(
    "detect model path missing",
    lambda w, t: _detect(
        w, t, "--detectors", "binoculars", "--observer", t / "no-model", "--performer", t / "no-model"
    ),
    r"no-model",
    absent=("d.json",),
)


case(
    "detect metrics with NaN agg",
    lambda w, t: _detect(w, t, "--metrics", f"sft={t / 'm.json'}"),
    r"m\.json: agg must be a finite",
    setup=lambda w, t: _edit_metrics(w, t, lambda m: m.__setitem__("agg", float("nan"))),
    absent=("d.json",),
)


@pytest.mark.parametrize("c", CASES, ids=[c.name for c in CASES])
def test_bad_input(c, ws, tmp_path, capsys, monkeypatch):
    check_bad_input(c, ws, tmp_path, capsys, monkeypatch)  # noqa: F405
