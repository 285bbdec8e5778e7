"""Bad inputs of `polyalign prepare | dedup | export` (the battery's machinery: tests/bad_input_battery.py)."""

from __future__ import annotations

import pytest
from bad_input_battery import *  # noqa: F403 -- the battery's helpers, as the cases were written

CASES, case = new_battery()  # noqa: F405


case(
    "prepare out is a file",
    lambda w, t: ["prepare", "dolly", "--source", f"train={w / 'dolly.jsonl'}", "--out", w / "dolly.jsonl"],
    r"dolly\.jsonl.*(not a folder|is a file)",
)


case("dedup input missing", lambda w, t: ["dedup", t / "nothing", "--out", t / "d"], r"nothing", absent=("d",))


case(
    "dedup input is a file",
    lambda w, t: ["dedup", w / "dolly.jsonl", "--out", t / "d"],
    r"dolly\.jsonl",
    absent=("d",),
)


case("export input missing", lambda w, t: ["export", t / "nothing", "--out", t / "reg"], r"nothing", absent=("reg",))


case(
    "output pipe closed (| head)",
    lambda w, t: ["datasets"],
    r"output pipe was closed",
    patch=lambda monkeypatch: monkeypatch.setattr(sys, "stdout", _ClosedPipe()),
)


case(
    "prepare seed not int",
    lambda w, t: ["prepare", "dolly", "--source", f"train={w / 'dolly.jsonl'}", "--out", t / "p", "--seed", "1e3"],
    r"argument --seed: must be",
    absent=("p",),
)


case(
    "dedup duplicate record id",
    lambda w, t: ["dedup", t / "prep", "--out", t / "d"],
    r"train\.jsonl:\d+: duplicate id",
    setup=lambda w, t: _dup_prepared(w, t),
    absent=("d",),
)


case(
    "export duplicate record id",
    lambda w, t: ["export", t / "prep", "--out", t / "reg"],
    r"train\.jsonl:\d+: duplicate id",
    setup=lambda w, t: _dup_prepared(w, t),
    absent=("reg",),
)


case(
    "dedup into existing output",
    lambda w, t: ["dedup", w / "prepared", "--out", t / "d"],
    r"d.* already exists.*--overwrite",
    setup=_stale_dedup,
    unchanged=("d/oldset/train.jsonl",),
)


case(
    "dedup --overwrite replaces whole",
    lambda w, t: ["dedup", w / "prepared", "--out", t / "d", "--overwrite"],
    "",
    code=0,
    setup=_stale_dedup,
    absent=("d/oldset",),
)


case(
    "export with a broken dataset_info writes nothing",
    lambda w, t: ["export", w / "deduped", "--out", t / "reg"],
    r"dataset_info\.json",
    setup=lambda w, t: _write(t / "reg" / "dataset_info.json", "{broken"),
    check=lambda w, t: (
        [p.name for p in (t / "reg").iterdir()] == ["dataset_info.json"]
        or pytest.fail(str(list((t / "reg").iterdir())))
    ),
)


# --- more shapes of bad input, command by command ------------------------------------------------------------
case(
    "prepare unknown dataset",
    lambda w, t: ["prepare", "nope", "--source", f"train={w / 'dolly.jsonl'}", "--out", t / "p"],
    r"unknown dataset 'nope'",
    absent=("p",),
)


case(
    "prepare source file missing",
    lambda w, t: ["prepare", "dolly", "--source", f"train={t / 'missing.jsonl'}", "--out", t / "p"],
    r"missing\.jsonl.*no such file",
    absent=("p",),
)


case(
    "prepare source without =",
    lambda w, t: ["prepare", "dolly", "--source", str(w / "dolly.jsonl"), "--out", t / "p"],
    r"expected SPLIT=PATH",
    absent=("p",),
)


case(
    "prepare length bins not increasing",
    lambda w, t: [
        "prepare",
        "dolly",
        "--source",
        f"train={w / 'dolly.jsonl'}",
        "--out",
        t / "p",
        "--length-bins",
        "en=50,20,300",
    ],
    r"three increasing positive integers",
    absent=("p",),
)


case(
    "prepare source with a non-object line",
    lambda w, t: ["prepare", "dolly", "--source", f"train={t / 'd.jsonl'}", "--out", t / "p"],
    r"d\.jsonl:2: .*(object|dict)",
    setup=lambda w, t: _write(t / "d.jsonl", json.dumps(DOLLY) + "\n[1, 2]\n"),
    absent=("p",),
)


case("prepare --all offline", lambda w, t: ["prepare", "--all", "--out", t / "p"], r"Hugging Face Hub", absent=("p",))


case(
    "dedup input without datasets",
    lambda w, t: ["dedup", t / "empty", "--out", t / "d"],
    r"no DATASET",
    setup=lambda w, t: (t / "empty").mkdir(),
    absent=("d",),
)


case("dedup out equals input", lambda w, t: ["dedup", w / "prepared", "--out", w / "prepared"], r"must differ")


case(
    "dedup record in the wrong split file",
    lambda w, t: ["dedup", t / "prep", "--out", t / "d"],
    r"train\.jsonl:1: record says split",
    setup=lambda w, t: _wrong_split(w, t),
    absent=("d",),
)


case(
    "export out is a file",
    lambda w, t: ["export", w / "deduped", "--out", w / "dolly.jsonl"],
    r"dolly\.jsonl.*(is a file|not a folder)",
)


case(
    "export dataset_info not an object",
    lambda w, t: ["export", w / "deduped", "--out", t / "reg"],
    r"dataset_info\.json.*JSON object",
    setup=lambda w, t: _write(t / "reg" / "dataset_info.json", "[1, 2]"),
    check=lambda w, t: (
        [p.name for p in (t / "reg").iterdir()] == ["dataset_info.json"] or pytest.fail("files written")
    ),
)


case(
    "export dataset_info entry not an object",
    lambda w, t: ["export", w / "deduped", "--out", t / "reg"],
    r"are not JSON objects",
    setup=lambda w, t: _write(t / "reg" / "dataset_info.json", '{"mine": "oops"}'),
    check=lambda w, t: (
        [p.name for p in (t / "reg").iterdir()] == ["dataset_info.json"] or pytest.fail("files written")
    ),
)


case(
    "prepare DATASET --from-dir holding none of its split files",
    lambda w, t: ["prepare", "dolly", "--from-dir", t, "--out", t / "p"],
    r"dolly: no file names one of its splits \(train\).*--source SPLIT=PATH",
    absent=("p",),
)


case(
    "prepare --from-dir with --source",
    lambda w, t: ["prepare", "dolly", "--from-dir", t, "--source", f"train={w / 'dolly.jsonl'}", "--out", t / "p"],
    r"--from-dir goes with --all .* or with one DATASET",
    absent=("p",),
)


case(
    "prepare --from-dir is a file",
    lambda w, t: ["prepare", "--all", "--from-dir", w / "dolly.jsonl", "--out", t / "p"],
    r"dolly\.jsonl: not a folder",
    absent=("p",),
)


case(
    "prepare --from-dir with no dataset folders",
    lambda w, t: ["prepare", "--all", "--from-dir", t / "src", "--out", t / "p"],
    r"no source was found",
    setup=lambda w, t: (t / "src" / "unrelated").mkdir(parents=True),
    absent=("p",),
)


case(
    "prepare truncated .jsonl.gz",
    lambda w, t: ["prepare", "dolly", "--source", f"train={t / 'd.jsonl.gz'}", "--out", t / "p"],
    r"d\.jsonl\.gz:\d+: .*truncated",
    setup=lambda w, t: _write(t / "d.jsonl.gz", gzip.compress((w / "dolly.jsonl").read_bytes())[:-30]),
    absent=("p",),
)


case(
    "prepare corrupt .arrow",
    lambda w, t: ["prepare", "dolly", "--source", f"train={t / 'd.arrow'}", "--out", t / "p"],
    r"d\.arrow: cannot read this \.arrow file",
    setup=lambda w, t: _write(t / "d.arrow", b"ARROW1\0\0garbage"),
    absent=("p",),
)


case(
    "prepare a JSON object holding no rows",
    lambda w, t: ["prepare", "squad_v2", "--source", f"validation={t / 'x.json'}", "--out", t / "p"],
    r"x\.json: one JSON object that holds no rows \(its keys: version, articles\)",
    setup=lambda w, t: _write(t / "x.json", '{\n "version": 1,\n "articles": []\n}\n'),
    absent=("p",),
)


@pytest.mark.parametrize("c", CASES, ids=[c.name for c in CASES])
def test_bad_input(c, ws, tmp_path, capsys, monkeypatch):
    check_bad_input(c, ws, tmp_path, capsys, monkeypatch)  # noqa: F405
