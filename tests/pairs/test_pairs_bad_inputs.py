"""Bad inputs of `polyalign pairs | weights` (the battery's machinery: tests/bad_input_battery.py)."""

from __future__ import annotations

import pytest
from bad_input_battery import *  # noqa: F403 -- the battery's helpers, as the cases were written

CASES, case = new_battery()  # noqa: F405


case(
    "pairs dpo out-dir is a file",
    lambda w, t: [
        "pairs",
        "dpo",
        "--records",
        w / "records.jsonl",
        "--predictions",
        w / "sft_train.jsonl",
        "--lang",
        "all",
        "--model",
        "tiny",
        "--out-dir",
        w / "records.jsonl",
    ],
    r"records\.jsonl.*(not a folder|is a file)",
)


case(
    "truncated pairs json",
    lambda w, t: ["weights", "--pairs", t / "p.json", "--critic", w / "critic"],
    r"p\.json.*invalid JSON",
    setup=lambda w, t: _truncate(w / "lf_data" / "polyalign_all_hdpo_tiny.json", t / "p.json"),
)


for opt, value in (
    ("--alpha", "nan"),
    ("--beta", "inf"),
    ("--gamma", "-1"),
    ("--eta", "nan"),
    ("--w-min", "0"),
    ("--w-max", "nan"),
    ("--utility-tolerance", "1.5"),
    ("--min-critic-gap", "-0.1"),
    ("--local-min-utility", "nan"),
):
    case(
        f"pairs hdpo {opt} {value}",
        lambda w, t, opt=opt, value=value: _pairs_hdpo(w, t, opt, value),
        rf"argument {opt}: must be",
        absent=("lf",),
    )


case(
    "pairs hdpo w-min above w-max",
    lambda w, t: _pairs_hdpo(w, t, "--w-min", "2", "--w-max", "1"),
    r"w_min <= w_max",
    absent=("lf",),
)


for opt, value in (("--alpha", "nan"), ("--w-max", "-inf"), ("--gamma", "-0.5")):
    case(
        f"weights {opt} {value}",
        lambda w, t, opt=opt, value=value: [
            "weights",
            "--pairs",
            w / "lf_data" / "polyalign_all_hdpo_tiny.json",
            "--critic",
            w / "critic",
            "--out",
            t / "p.json",
            f"{opt}={value}",
        ],
        rf"argument {opt}: must be",
        absent=("p.json",),
    )


for flag, value in (("--w-max", "1e308"), ("--scarcity", "1e308")):
    case(
        f"weights {flag} {value}",
        lambda w, t, flag=flag, value=value: [
            "weights",
            "--pairs",
            t / "p.json",
            "--out",
            t / "out.json",
            flag,
            value,
        ],
        r"(w_max|alpha)( \(Theorem 5\))? must be a finite number (in \[0, 1000\]|> 0 and <= 1e\+06), got 1e\+308",
        setup=_pairs_file(lambda rows: rows),
        absent=("out.json",),
    )


case(
    "pairs file NaN chosen_score",
    lambda w, t: ["weights", "--pairs", t / "p.json", "--out", t / "out.json"],
    r"p\.json: pair #2 .*chosen_score must be a finite",
    setup=_pairs_file(lambda rows: rows[:1] + [dict(rows[1], chosen_score=float("nan"))] + rows[2:]),
    absent=("out.json",),
)


case(
    "pairs file string score",
    lambda w, t: ["weights", "--pairs", t / "p.json", "--out", t / "out.json"],
    r"p\.json: pair #1 .*rejected_score must be a finite",
    setup=_pairs_file(lambda rows: [dict(rows[0], rejected_score="high")] + rows[1:]),
    absent=("out.json",),
)


case(
    "pairs file duplicate id",
    lambda w, t: ["weights", "--pairs", t / "p.json", "--out", t / "out.json"],
    r"p\.json.*duplicate",
    setup=_pairs_file(lambda rows: rows + [rows[0]]),
    absent=("out.json",),
)


case(
    "pairs dpo duplicate prediction id",
    lambda w, t: [
        "pairs",
        "dpo",
        "--records",
        w / "records.jsonl",
        "--predictions",
        t / "p.jsonl",
        "--lang",
        "all",
        "--model",
        "tiny",
        "--out-dir",
        t / "lf",
    ],
    r"p\.jsonl:\d+: duplicate id",
    setup=lambda w, t: _copy_rows(w / "sft_train.jsonl", t / "p.jsonl", _dup_row(2)),
    absent=("lf",),
)


case(
    "pairs hdpo duplicate candidates id",
    lambda w, t: [
        "pairs",
        "hdpo",
        "--records",
        w / "records.jsonl",
        "--predictions",
        w / "sft_train.jsonl",
        "--candidates",
        t / "c.jsonl",
        "--critic",
        w / "critic",
        "--lang",
        "all",
        "--model",
        "tiny",
        "--out-dir",
        t / "lf",
    ],
    r"c\.jsonl:\d+: duplicate id",
    setup=lambda w, t: _copy_rows(w / "cands_train.jsonl", t / "c.jsonl", _dup_row(0)),
    absent=("lf",),
)


case(
    "pairs dpo missing predictions",
    lambda w, t: [
        "pairs",
        "dpo",
        "--records",
        w / "records.jsonl",
        "--predictions",
        t / "p.jsonl",
        "--lang",
        "all",
        "--model",
        "tiny",
        "--out-dir",
        t / "lf",
    ],
    r"p\.jsonl: \d+ of \d+ record\(s\) have no prediction",
    setup=lambda w, t: _copy_rows(w / "sft_train.jsonl", t / "p.jsonl", lambda rows: rows[:5]),
    absent=("lf",),
)


case("pairs hdpo unknown type", lambda w, t: _pairs_hdpo(w, t, "--types", "global,best"), r"best", absent=("lf",))


case(
    "pairs hdpo candidates not a list",
    lambda w, t: [
        "pairs",
        "hdpo",
        "--records",
        w / "records.jsonl",
        "--predictions",
        w / "sft_train.jsonl",
        "--candidates",
        t / "c.jsonl",
        "--critic",
        w / "critic",
        "--lang",
        "all",
        "--model",
        "tiny",
        "--out-dir",
        t / "lf",
    ],
    r"c\.jsonl:1: .*list of strings",
    setup=lambda w, t: _copy_rows(w / "cands_train.jsonl", t / "c.jsonl", _edit_row(0, candidates="one")),
    absent=("lf",),
)


case(
    "weights on a non-list pairs file",
    lambda w, t: ["weights", "--pairs", t / "p.json", "--out", t / "o.json"],
    r"p\.json: expected a JSON list",
    setup=lambda w, t: _write(t / "p.json", '{"pairs": []}'),
    absent=("o.json",),
)


case(
    "weights pair missing a column",
    lambda w, t: ["weights", "--pairs", t / "p.json", "--out", t / "o.json"],
    r"p\.json: pair #1 lacks pair_type",
    setup=_pairs_file(lambda rows: [{k: v for k, v in rows[0].items() if k != "pair_type"}]),
    absent=("o.json",),
)


case(
    "weights unscored pairs without a critic",
    lambda w, t: ["weights", "--pairs", t / "p.json", "--out", t / "o.json"],
    r"no critic scores",
    setup=_pairs_file(lambda rows: [dict(r, chosen_score=None) for r in rows]),
    absent=("o.json",),
)


case(
    "weights infinite score",
    lambda w, t: ["weights", "--pairs", t / "p.json", "--out", t / "o.json"],
    r"pair #1 .*chosen_score must be a finite",
    setup=_pairs_file(lambda rows: [dict(rows[0], chosen_score=float("inf"))] + rows[1:]),
    absent=("o.json",),
)


case(
    "weights out under a file",
    lambda w, t: [
        "weights",
        "--pairs",
        w / "lf_data" / "polyalign_all_hdpo_tiny.json",
        "--out",
        w / "dolly.jsonl" / "o.json",
    ],
    r"dolly\.jsonl.*(is a file|not a folder)",
)


@pytest.mark.parametrize("c", CASES, ids=[c.name for c in CASES])
def test_bad_input(c, ws, tmp_path, capsys, monkeypatch):
    check_bad_input(c, ws, tmp_path, capsys, monkeypatch)  # noqa: F405
