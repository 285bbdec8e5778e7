"""Bad inputs of `polyalign human-eval` (the battery's machinery: tests/bad_input_battery.py)."""

from __future__ import annotations

import pytest
from bad_input_battery import *  # noqa: F403 -- the battery's helpers, as the cases were written

CASES, case = new_battery()  # noqa: F405


case(
    "summarize key missing",
    lambda w, t: ["human-eval", "summarize", "--key", t / "nokey.json", "--out", t / "s.json", w / "key.json"],
    r"nokey\.json",
    absent=("s.json",),
)


case(
    "human-eval ratings truncated",
    lambda w, t: ["human-eval", "summarize", "--key", w / "key.json", "--out", t / "s.json", t / "r.json"],
    r"r\.json",
    setup=lambda w, t: _write(t / "r.json", '{"ratings": [{"item"'),
    absent=("s.json",),
)


for opt, value in (("--per-stratum", "0"), ("--seed", "nan")):
    case(
        f"human-eval build {opt} {value}",
        lambda w, t, opt=opt, value=value: [
            "human-eval",
            "build",
            "--records",
            w / "test.jsonl",
            "--predictions",
            f"sft={w / 'pred_test.jsonl'}",
            "--out",
            t / "page",
            "--key",
            t / "k.json",
            opt,
            value,
        ],
        rf"argument {opt}: must be",
        absent=("page", "k.json"),
    )


case(
    "human ratings out of range",
    lambda w, t: ["human-eval", "summarize", "--key", w / "key.json", "--out", t / "s.json", t / "r.json"],
    r"r\.json: rating #1: usefulness = 9 is not an integer 1-5",
    setup=lambda w, t: _ratings(w, t, score=9),
    absent=("s.json",),
)


case(
    "human ratings NaN",
    lambda w, t: ["human-eval", "summarize", "--key", w / "key.json", "--out", t / "s.json", t / "r.json"],
    r"r\.json: rating #1: usefulness = nan",
    setup=lambda w, t: _ratings(w, t, score=float("nan")),
    absent=("s.json",),
)


# (a null score is an unrated dimension: a counted skip, see the human-eval tests)
for _label, _value in (("a list", [3]), ("an object", {"x": 3}), ("a string", "4")):
    case(
        f"human rating that is {_label}",
        lambda w, t: ["human-eval", "summarize", "--key", w / "key.json", "--out", t / "s.json", t / "r.json"],
        r"r\.json: rating #1: usefulness = .* is not an integer 1-5",
        setup=lambda w, t, value=_value: _ratings(w, t, score=value),
        absent=("s.json",),
    )


case(
    "human rating item id that is a list",
    lambda w, t: ["human-eval", "summarize", "--key", w / "key.json", "--out", t / "s.json", t / "r.json"],
    r"r\.json: rating #1: item_id",
    setup=lambda w, t: _ratings(w, t, score=3, item_id=["x"]),
    absent=("s.json",),
)


case(
    "human-eval duplicate prediction id",
    lambda w, t: [
        "human-eval",
        "build",
        "--records",
        w / "test.jsonl",
        "--predictions",
        f"sft={t / 'p.jsonl'}",
        "--out",
        t / "page",
        "--key",
        t / "k.json",
    ],
    r"p\.jsonl:\d+: duplicate id",
    setup=lambda w, t: _copy_rows(w / "pred_test.jsonl", t / "p.jsonl", _dup_row(0)),
    absent=("page", "k.json"),
)


case(
    "human-eval build into existing key",
    lambda w, t: [
        "human-eval",
        "build",
        "--records",
        w / "test.jsonl",
        "--predictions",
        f"sft={w / 'pred_test.jsonl'}",
        "--out",
        t / "page",
        "--key",
        t / "k.json",
        "--seed",
        "5",
    ],
    r"k\.json.* already exists.*--overwrite",
    setup=lambda w, t: (shutil.copytree(w / "page", t / "page"), shutil.copy(w / "key.json", t / "k.json")),
    unchanged=("k.json",),
)


case(
    "human-eval build --overwrite keeps a backup",
    lambda w, t: [
        "human-eval",
        "build",
        "--records",
        w / "test.jsonl",
        "--predictions",
        f"sft={w / 'pred_test.jsonl'}",
        "--out",
        t / "page",
        "--key",
        t / "k.json",
        "--seed",
        "5",
        "--overwrite",
    ],
    "",
    code=0,
    setup=lambda w, t: (shutil.copytree(w / "page", t / "page"), shutil.copy(w / "key.json", t / "k.json")),
    check=_check_key_backup,
)


case(
    "human-eval build unknown language",
    lambda w, t: [
        "human-eval",
        "build",
        "--records",
        w / "test.jsonl",
        "--predictions",
        f"sft={w / 'pred_test.jsonl'}",
        "--out",
        t / "page",
        "--key",
        t / "k.json",
        "--languages",
        "fr",
    ],
    r"fr",
    absent=("page", "k.json"),
)


case(
    "human-eval key inside the page",
    lambda w, t: [
        "human-eval",
        "build",
        "--records",
        w / "test.jsonl",
        "--predictions",
        f"sft={w / 'pred_test.jsonl'}",
        "--out",
        t / "page",
        "--key",
        t / "page" / "k.json",
    ],
    r"inside the page directory",
    absent=("page",),
)


case(
    "human-eval ratings for another sample",
    lambda w, t: ["human-eval", "summarize", "--key", w / "key.json", "--out", t / "s", t / "r.json"],
    r"r\.json: ratings are for sample",
    setup=lambda w, t: _ratings(w, t, score=3, sample_id="he-other"),
    absent=("s",),
)


case(
    "human-eval ratings for an unknown item",
    lambda w, t: ["human-eval", "summarize", "--key", w / "key.json", "--out", t / "s", t / "r.json"],
    r"r\.json: rating #1: unknown item",
    setup=lambda w, t: _ratings(w, t, score=3, item_id="nope"),
    absent=("s",),
)


case(
    "human-eval same ratings file twice",
    lambda w, t: ["human-eval", "summarize", "--key", w / "key.json", "--out", t / "s", t / "r.json", t / "r.json"],
    r"rated .* twice",
    setup=lambda w, t: _ratings(w, t, score=3),
    absent=("s",),
)


case(
    "human-eval summarize key is not a key",
    lambda w, t: ["human-eval", "summarize", "--key", w / "refs.json", "--out", t / "s", t / "r.json"],
    r"refs\.json",
    setup=lambda w, t: _ratings(w, t, score=3),
    absent=("s",),
)


@pytest.mark.parametrize("c", CASES, ids=[c.name for c in CASES])
def test_bad_input(c, ws, tmp_path, capsys, monkeypatch):
    check_bad_input(c, ws, tmp_path, capsys, monkeypatch)  # noqa: F405
