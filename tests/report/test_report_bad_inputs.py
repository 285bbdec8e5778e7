"""Bad inputs of `polyalign report` (the battery's machinery: tests/bad_input_battery.py)."""

from __future__ import annotations

import pytest
from bad_input_battery import *  # noqa: F403 -- the battery's helpers, as the cases were written

CASES, case = new_battery()  # noqa: F405


case(
    "report metrics missing",
    lambda w, t: ["report", t / "nope.json", "--out", t / "rep"],
    r"nope\.json",
    absent=("rep",),
)


case(
    "report metrics is a folder",
    lambda w, t: ["report", f"a={t}", "--out", t / "rep"],
    r"is a folder",
    absent=("rep",),
)


case(
    "truncated metrics json",
    lambda w, t: ["report", f"a={t / 'm.json'}", "--out", t / "rep"],
    r"m\.json.*invalid JSON",
    setup=lambda w, t: _truncate(w / "metrics.json", t / "m.json"),
    absent=("rep",),
)


case(
    "report embedding-sample 0",
    lambda w, t: ["report", w / "metrics.json", "--out", t / "rep", "--embedding-sample", "0"],
    r"argument --embedding-sample: must be",
    absent=("rep",),
)


case(
    "metrics with NaN bng",
    lambda w, t: ["report", f"a={t / 'm.json'}", f"b={w / 'metrics.json'}", "--out", t / "rep"],
    r"m\.json.*bng.*(not finite|NaN)",
    setup=lambda w, t: _edit_metrics(w, t, lambda m: m["bng"].__setitem__("macro", float("nan"))),
    absent=("rep",),
)


case(
    "metrics with negative bng",
    lambda w, t: ["report", f"a={t / 'm.json'}", f"b={w / 'metrics.json'}", "--out", t / "rep"],
    r"m\.json.*bng.*(negative|>= 0)",
    setup=lambda w, t: _edit_metrics(w, t, lambda m: m["bng"].__setitem__("macro", -0.5)),
    absent=("rep",),
)


case(
    "report on a file that is not metrics",
    lambda w, t: ["report", f"a={w / 'refs.json'}", "--out", t / "rep"],
    r"refs\.json: not a metrics file",
    absent=("rep",),
)


case(
    "report metrics with an impossible F1",
    lambda w, t: ["report", f"a={t / 'm.json'}", "--out", t / "rep"],
    r"m\.json: utility\.overall\.f1 must be a finite number in \[0, 1\]",
    setup=lambda w, t: _edit_metrics(w, t, lambda m: m["utility"]["overall"].__setitem__("f1", 1.7)),
    absent=("rep",),
)


case(
    "report metrics with a string MAUVE",
    lambda w, t: ["report", f"a={t / 'm.json'}", "--out", t / "rep"],
    r"m\.json: mauve\.global must be",
    setup=lambda w, t: _edit_metrics(w, t, lambda m: m.__setitem__("mauve", {"global": "0.9"})),
    absent=("rep",),
)


case(
    "report judge summary missing",
    lambda w, t: ["report", w / "metrics.json", "--out", t / "rep", "--judge", t / "no.json"],
    r"no\.json",
    absent=("rep",),
)


@pytest.mark.parametrize("c", CASES, ids=[c.name for c in CASES])
def test_bad_input(c, ws, tmp_path, capsys, monkeypatch):
    check_bad_input(c, ws, tmp_path, capsys, monkeypatch)  # noqa: F405
