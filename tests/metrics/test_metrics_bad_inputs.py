"""Bad inputs of `polyalign evaluate` (the battery's machinery: tests/bad_input_battery.py)."""

from __future__ import annotations

import pytest
from bad_input_battery import *  # noqa: F403 -- the battery's helpers, as the cases were written

CASES, case = new_battery()  # noqa: F405


case(
    "evaluate out is a folder",
    lambda w, t: [
        "evaluate",
        "--records",
        w / "test.jsonl",
        "--predictions",
        w / "pred_test.jsonl",
        "--out",
        t,
        "--skip-mauve",
        "--min-bucket-size",
        "2",
    ],
    r"is a folder",
)


case(
    "evaluate records is a folder",
    lambda w, t: [
        "evaluate",
        "--records",
        t,
        "--predictions",
        w / "pred_test.jsonl",
        "--out",
        t / "m.json",
        "--skip-mauve",
    ],
    r"is a folder",
    absent=("m.json",),
)


for opt, value in (("--min-bucket-size", "1"), ("--mauve-max-texts", "-3"), ("--threads", "nan"), ("--seed", "x")):
    case(
        f"evaluate {opt} {value}",
        lambda w, t, opt=opt, value=value: _evaluate(w, t, opt, value),
        rf"argument {opt}: must be",
        absent=("m.json",),
    )


case(
    "evaluate duplicate prediction id",
    lambda w, t: _evaluate(w, t, predictions=t / "p.jsonl"),
    r"p\.jsonl:\d+: duplicate id",
    setup=lambda w, t: _copy_rows(w / "pred_test.jsonl", t / "p.jsonl", _dup_row(0)),
    absent=("m.json",),
)


case(
    "evaluate duplicate record id",
    lambda w, t: _evaluate(w, t, records=t / "r.jsonl"),
    r"r\.jsonl:\d+: duplicate id",
    setup=lambda w, t: _copy_rows(w / "test.jsonl", t / "r.jsonl", _dup_row(0)),
    absent=("m.json",),
)


case(
    "evaluate replaces an existing metrics file whole",
    lambda w, t: _evaluate(w, t),
    "",
    code=0,
    setup=lambda w, t: _write(t / "m.json", '{"stale": true}'),
    check=lambda w, t: (
        "stale" not in json.loads((t / "m.json").read_text(encoding="utf-8")) or pytest.fail("stale key kept")
    ),
)


case(
    "evaluate predictions missing rows",
    lambda w, t: _evaluate(w, t, predictions=t / "p.jsonl"),
    r"record\(s\) have no prediction",
    setup=lambda w, t: _copy_rows(w / "pred_test.jsonl", t / "p.jsonl", lambda rows: rows[:-3]),
    absent=("m.json",),
)


case(
    "evaluate prediction for an unknown id",
    lambda w, t: _evaluate(w, t, predictions=t / "p.jsonl"),
    r"not in the test records",
    setup=lambda w, t: _copy_rows(w / "pred_test.jsonl", t / "p.jsonl", _edit_row(0, id="ghost")),
    absent=("m.json",),
)


case(
    "evaluate train records as test",
    lambda w, t: _evaluate(w, t, records=w / "records.jsonl"),
    r"allow-any-split",
    absent=("m.json",),
)


case(
    "evaluate truncated npy features",
    lambda w, t: _evaluate(w, t, "--human-features", t / "h.npy"),
    r"h\.npy",
    setup=lambda w, t: _write(t / "h.npy", b"\x93NUMPY\x01\x00v\x00{'descr'"),
    absent=("m.json",),
)


case(
    "evaluate references file corrupt",
    lambda w, t: _evaluate(w, t, "--references", t / "r.json"),
    r"r\.json.*invalid JSON",
    setup=lambda w, t: _truncate(w / "refs.json", t / "r.json"),
    absent=("m.json",),
)


case(
    "evaluate NaN in precomputed features",
    lambda w, t: _evaluate(w, t, "--human-features", t / "h.npy"),
    r"h\.npy: 1 row\(s\) of human features are not finite",
    setup=lambda w, t: _nan_npy(t / "h.npy"),
    absent=("m.json",),
)


@pytest.mark.parametrize("c", CASES, ids=[c.name for c in CASES])
def test_bad_input(c, ws, tmp_path, capsys, monkeypatch):
    check_bad_input(c, ws, tmp_path, capsys, monkeypatch)  # noqa: F405
