"""Bad inputs of `polyalign demo | study` (the battery's machinery: tests/bad_input_battery.py)."""

from __future__ import annotations

import pytest
from bad_input_battery import *  # noqa: F403 -- the battery's helpers, as the cases were written

CASES, case = new_battery()  # noqa: F405


case(
    "study seeds 0",
    lambda w, t: ["study", "--out", t / "s", "--seeds", "0"],
    r"argument --seeds: must be",
    absent=("s",),
)


case(
    "study corpus-scale nan",
    lambda w, t: ["study", "--out", t / "s", "--corpus-scale", "nan"],
    r"argument --corpus-scale: must be",
    absent=("s",),
)


case(
    "demo max-steps 0",
    lambda w, t: ["demo", "--data", "sample", "--out", t / "demo", "--max-steps", "0"],
    r"argument --max-steps: must be",
    absent=("demo",),
)


case(
    "demo num-candidates 1",
    lambda w, t: ["demo", "--data", "sample", "--out", t / "demo", "--num-candidates", "1"],
    r"argument --num-candidates: must be",
    absent=("demo",),
)


case(
    "demo data file missing",
    lambda w, t: ["demo", "--data", t / "rows.jsonl", "--out", t / "demo"],
    r"rows\.jsonl",
    absent=("demo",),
)


case("study out is a file", lambda w, t: ["study", "--out", w / "dolly.jsonl", "--seeds", "1"], r"dolly\.jsonl")


@pytest.mark.parametrize("c", CASES, ids=[c.name for c in CASES])
def test_bad_input(c, ws, tmp_path, capsys, monkeypatch):
    check_bad_input(c, ws, tmp_path, capsys, monkeypatch)  # noqa: F405
