"""Bad inputs of `polyalign features` (the battery's machinery: tests/bad_input_battery.py)."""

from __future__ import annotations

import pytest
from bad_input_battery import *  # noqa: F403 -- the battery's helpers, as the cases were written

CASES, case = new_battery()  # noqa: F405


# --- file system: missing, folder-for-file, file-for-folder, unwritable ------------------------------
case(
    "features records missing",
    lambda w, t: ["features", "--records", t / "nope.jsonl", "--out", t / "f.npz"],
    r"nope\.jsonl",
    absent=("f.npz",),
)


case(
    "features records is a folder",
    lambda w, t: ["features", "--records", t, "--out", t / "f.npz"],
    r"is a folder",
    absent=("f.npz",),
)


case(
    "features out under a file",
    lambda w, t: ["features", "--records", w / "records.jsonl", "--out", w / "records.jsonl" / "f.npz"],
    r"records\.jsonl.*(not a folder|is a file)",
)


case(
    "features out is a folder", lambda w, t: ["features", "--records", w / "records.jsonl", "--out", t], r"is a folder"
)


case(
    "truncated records jsonl",
    lambda w, t: ["features", "--records", t / "r.jsonl", "--out", t / "f.npz"],
    r"r\.jsonl:\d+: .*truncated",
    setup=lambda w, t: _truncate(w / "records.jsonl", t / "r.jsonl", 0.37),
    absent=("f.npz",),
)


case(
    "records not utf-8",
    lambda w, t: ["features", "--records", t / "r.jsonl", "--out", t / "f.npz"],
    r"r\.jsonl:3: not UTF-8",
    setup=lambda w, t: _write(
        t / "r.jsonl",
        b"\n".join(w.joinpath("records.jsonl").read_bytes().split(b"\n")[:2]) + b'\n{"id": "\xff\xfe"}\n',
    ),
    absent=("f.npz",),
)


case(
    "gzip where jsonl expected",
    lambda w, t: ["features", "--records", t / "r.jsonl", "--out", t / "f.npz"],
    r"r\.jsonl:1: not UTF-8",
    setup=lambda w, t: _write(t / "r.jsonl", gzip.compress(w.joinpath("records.jsonl").read_bytes())),
    absent=("f.npz",),
)


case(
    "features lm-batch-size 0",
    lambda w, t: ["features", "--records", w / "records.jsonl", "--out", t / "f.npz", "--lm-batch-size", "0"],
    r"argument --lm-batch-size: must be",
    absent=("f.npz",),
)


# --- duplicate ids ---------------------------------------------------------------------------------------
case(
    "features duplicate record id",
    lambda w, t: ["features", "--records", t / "r.jsonl", "--out", t / "f.npz"],
    r"r\.jsonl:\d+: duplicate id .* \(first at line 1\)",
    setup=lambda w, t: _copy_rows(w / "records.jsonl", t / "r.jsonl", _dup_row(0)),
    absent=("f.npz",),
)


case(
    "features duplicate prediction id",
    lambda w, t: [
        "features",
        "--records",
        w / "records.jsonl",
        "--split",
        "train",
        "--predictions",
        t / "p.jsonl",
        "--out",
        t / "f.npz",
    ],
    r"p\.jsonl:\d+: duplicate id",
    setup=lambda w, t: _copy_rows(w / "sft_train.jsonl", t / "p.jsonl", _dup_row(1)),
    absent=("f.npz",),
)


case(
    "features record missing a field",
    lambda w, t: ["features", "--records", t / "r.jsonl", "--out", t / "f.npz"],
    r"r\.jsonl:3: .*bucket_id",
    setup=lambda w, t: _copy_rows(
        w / "records.jsonl",
        t / "r.jsonl",
        lambda rows: rows[:2] + [{k: v for k, v in rows[2].items() if k != "bucket_id"}] + rows[3:],
    ),
    absent=("f.npz",),
)


case(
    "features predictions for unknown ids",
    lambda w, t: [
        "features",
        "--records",
        w / "records.jsonl",
        "--split",
        "train",
        "--predictions",
        t / "p.jsonl",
        "--out",
        t / "f.npz",
    ],
    r"p\.jsonl:\d+: prediction for unknown record id",
    setup=lambda w, t: _copy_rows(w / "sft_train.jsonl", t / "p.jsonl", _edit_row(0, id="ghost")),
    absent=("f.npz",),
)


case(
    "features prediction not a string",
    lambda w, t: [
        "features",
        "--records",
        w / "records.jsonl",
        "--split",
        "train",
        "--predictions",
        t / "p.jsonl",
        "--out",
        t / "f.npz",
    ],
    r"p\.jsonl:1: .*string 'prediction'",
    setup=lambda w, t: _copy_rows(w / "sft_train.jsonl", t / "p.jsonl", _edit_row(0, prediction=3)),
    absent=("f.npz",),
)


case(
    "unknown option",
    lambda w, t: ["features", "--records", w / "records.jsonl", "--out", t / "f.npz", "--fast"],
    r"unrecognized arguments: --fast",
    absent=("f.npz",),
)


# --- the environment, --config files and the judge's server settings (second hardening round) -----------
case(
    "POLYALIGN_SEGMENTER is not a segmenter",
    lambda w, t: ["features", "--records", w / "records.jsonl", "--out", t / "f.npz"],
    r"unknown Chinese segmenter 'bogus' \(from POLYALIGN_SEGMENTER\); expected rjieba or jieba",
    env={"POLYALIGN_SEGMENTER": "bogus"},
    absent=("f.npz",),
)


case(
    "POLYALIGN_DEBUG=off means no traceback",
    lambda w, t: ["features", "--records", t / "nope.jsonl", "--out", t / "f.npz"],
    r"nope\.jsonl",
    env={"POLYALIGN_DEBUG": "off"},
    absent=("f.npz",),
)


@pytest.mark.parametrize("c", CASES, ids=[c.name for c in CASES])
def test_bad_input(c, ws, tmp_path, capsys, monkeypatch):
    check_bad_input(c, ws, tmp_path, capsys, monkeypatch)  # noqa: F405
