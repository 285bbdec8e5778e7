"""Bad inputs of `polyalign references` (the battery's machinery: tests/bad_input_battery.py)."""

from __future__ import annotations

import pytest
from bad_input_battery import *  # noqa: F403 -- the battery's helpers, as the cases were written

CASES, case = new_battery()  # noqa: F405


case(
    "references out under a file",
    lambda w, t: ["references", "--features", w / "human.npz", "--out", w / "refs.json" / "r.json"],
    r"refs\.json.*(not a folder|is a file)",
)


case(
    "references out is a folder",
    lambda w, t: ["references", "--features", w / "human.npz", "--out", t],
    r"is a folder",
)


case(
    "disk full while writing",
    lambda w, t: ["references", "--features", w / "human.npz", "--out", t / "r.json"],
    r"r\.json.*no space left.*nothing half-written",
    patch=_fail_with("os.fsync", OSError(errno.ENOSPC, "No space left on device")),
    absent=("r.json",),
)


case(
    "read-only file system",
    lambda w, t: ["references", "--features", w / "human.npz", "--out", t / "r.json"],
    r"read-only",
    patch=_fail_with("tempfile.mkstemp", OSError(errno.EROFS, "Read-only file system", "/ro")),
    absent=("r.json",),
)


case(
    "permission denied on the output",
    lambda w, t: ["references", "--features", w / "human.npz", "--out", t / "r.json"],
    r"r\.json: permission denied",
    patch=_fail_with("os.replace", PermissionError(errno.EACCES, "Permission denied", "r.json")),
    absent=("r.json",),
)


# --- corrupt and truncated inputs ---------------------------------------------------------------------
case(
    "truncated npz",
    lambda w, t: ["references", "--features", t / "h.npz", "--out", t / "r.json"],
    r"h\.npz: .*(truncated|corrupt|not a polyalign feature file)",
    setup=lambda w, t: _truncate(w / "human.npz", t / "h.npz"),
    absent=("r.json",),
)


case(
    "npz that is text",
    lambda w, t: ["references", "--features", t / "h.npz", "--out", t / "r.json"],
    r"h\.npz",
    setup=lambda w, t: _write(t / "h.npz", "hello"),
    absent=("r.json",),
)


case(
    "references epsilon nan",
    lambda w, t: ["references", "--features", w / "human.npz", "--out", t / "r.json", "--epsilon", "nan"],
    r"argument --epsilon: must be",
    absent=("r.json",),
)


case(
    "references epsilon 0",
    lambda w, t: ["references", "--features", w / "human.npz", "--out", t / "r.json", "--epsilon", "0"],
    r"argument --epsilon: must be",
    absent=("r.json",),
)


case(
    "references min-bucket-size 0",
    lambda w, t: ["references", "--features", w / "human.npz", "--out", t / "r.json", "--min-bucket-size", "0"],
    r"argument --min-bucket-size: must be",
    absent=("r.json",),
)


case(
    "features npz with NaN",
    lambda w, t: ["references", "--features", t / "h.npz", "--out", t / "r.json"],
    r"h\.npz.*(not finite|NaN)",
    setup=lambda w, t: _nan_features(w / "human.npz", t / "h.npz"),
    absent=("r.json",),
)


case(
    "references duplicate feature id",
    lambda w, t: ["references", "--features", t / "h.npz", "--out", t / "r.json"],
    r"h\.npz.*duplicate id",
    setup=lambda w, t: _dup_features(w / "human.npz", t / "h.npz"),
    absent=("r.json",),
)


case(
    "references from an empty features split",
    lambda w, t: ["references", "--features", w / "sft.npz", "--out", t / "r.json", "--min-bucket-size", "100000"],
    r"references need human answers",
    absent=("r.json",),
)


case(
    "a killed run's temp file is cleaned by the rerun",
    lambda w, t: ["references", "--features", w / "human.npz", "--out", t / "r.json"],
    "",
    code=0,
    setup=lambda w, t: _write(t / ".r.json.999999999.k1ll.tmp", b"\0" * 4096),
)


@pytest.mark.parametrize("c", CASES, ids=[c.name for c in CASES])
def test_bad_input(c, ws, tmp_path, capsys, monkeypatch):
    check_bad_input(c, ws, tmp_path, capsys, monkeypatch)  # noqa: F405
