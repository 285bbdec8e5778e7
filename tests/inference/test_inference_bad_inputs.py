"""Bad inputs of `polyalign generate` (the battery's machinery: tests/bad_input_battery.py)."""

from __future__ import annotations

import pytest
from bad_input_battery import *  # noqa: F403 -- the battery's helpers, as the cases were written

CASES, case = new_battery()  # noqa: F405


for opt, value in (
    ("--limit", "-2"),
    ("--temperature", "nan"),
    ("--top-p", "0"),
    ("--top-p", "1.5"),
    ("--max-new-tokens", "0"),
    ("--batch-size", "0"),
    ("--concurrency", "0"),
    ("--timeout", "-5"),
    ("--max-retries", "-1"),
    ("--repetition-penalty", "0"),
    ("--frequency-penalty", "3"),
    ("--seed", "1.5"),
):
    case(
        f"generate {opt} {value}",
        lambda w, t, opt=opt, value=value: _generate(w, t, opt, value),
        rf"argument {opt}: must be",
        absent=("g.jsonl",),
    )


case(
    "generate records missing",
    lambda w, t: ["generate", "--records", t / "no.jsonl", "--out", t / "g.jsonl", "--model", t, "--template", "qwen"],
    r"no\.jsonl",
    absent=("g.jsonl",),
)


case("generate model folder missing", lambda w, t: _generate(w, t), r"no-model", absent=("g.jsonl",))


case(
    "generate out is a folder",
    lambda w, t: ["generate", "--records", w / "test.jsonl", "--out", t, "--model", w, "--template", "qwen"],
    r"is a folder",
)


@pytest.mark.parametrize("c", CASES, ids=[c.name for c in CASES])
def test_bad_input(c, ws, tmp_path, capsys, monkeypatch):
    check_bad_input(c, ws, tmp_path, capsys, monkeypatch)  # noqa: F405
