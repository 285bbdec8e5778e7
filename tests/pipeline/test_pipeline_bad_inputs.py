"""Bad inputs of `polyalign run | recipes` (the battery's machinery: tests/bad_input_battery.py)."""

from __future__ import annotations

import pytest
from bad_input_battery import *  # noqa: F403 -- the battery's helpers, as the cases were written

CASES, case = new_battery()  # noqa: F405


case(
    "run nproc-per-node 0",
    lambda w, t: ["run", "--recipe-dir", t, "--model", "gemma2_2b", "--nproc-per-node", "0"],
    r"argument --nproc-per-node: must be",
)


@pytest.mark.parametrize("c", CASES, ids=[c.name for c in CASES])
def test_bad_input(c, ws, tmp_path, capsys, monkeypatch):
    check_bad_input(c, ws, tmp_path, capsys, monkeypatch)  # noqa: F405
