"""The bad-input battery's machinery: every command, fed what users actually get wrong.

Each case runs a real ``polyalign`` command line in-process on a small but complete workspace (records,
features, references, a trained critic, pairs, predictions, metrics, a human-eval page; the ``ws`` fixture of
tests/conftest.py builds it once) with one thing broken, and asserts what a user sees: the exit code, a message
naming the place at fault, no Python traceback, and no partial or stale output left behind. The cases live
beside each stage's tests (``tests/<stage>/test_<stage>_bad_inputs.py``); their count is reported in the
README's reliability note (``tests/test_cli_bad_inputs.py`` keeps both in step).
"""

from __future__ import annotations

import errno
import gzip  # noqa: F401 -- used by the stage files' cases
import io
import json
import re
import shutil
import sys  # noqa: F401 -- used by the stage files' cases
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from polyalign_testing.synthetic_corpus import synthetic_corpus

from polyalign_lf.cli import main as polyalign
from polyalign_lf.data.schema import write_records
from polyalign_lf.io import write_jsonl

DOLLY = {"instruction": "Say hi.", "context": "", "response": "Hi there, friend!", "category": "open_qa"}


def _run(*argv) -> int:
    return polyalign([str(a) for a in argv])


def build_workspace(tmp_path_factory) -> Path:
    """A complete, valid workspace built with the real commands (the happy path every case breaks)."""
    d = tmp_path_factory.mktemp("ws")
    records, outputs = synthetic_corpus(120, seed=11, split_fractions=(0.7, 0.1, 0.2))
    write_records(d / "records.jsonl", records)
    train = [r for r in records if r["split"] == "train"]
    test = [r for r in records if r["split"] == "test"]
    write_records(d / "test.jsonl", test)
    write_jsonl(d / "sft_train.jsonl", [{"id": r["id"], "prediction": outputs[r["id"]][0][0]} for r in train])
    write_jsonl(
        d / "cands_train.jsonl", [{"id": r["id"], "candidates": [t for t, _ in outputs[r["id"]]]} for r in train]
    )
    write_jsonl(d / "pred_test.jsonl", [{"id": r["id"], "prediction": outputs[r["id"]][0][0]} for r in test])
    write_jsonl(
        d / "dolly.jsonl",
        [dict(DOLLY, instruction=f"Say hi number {k}.", response=f"Hi {k}, friend!") for k in range(12)],
    )
    steps = [
        ("features", "--records", d / "records.jsonl", "--out", d / "human.npz"),
        (
            "features",
            "--records",
            d / "records.jsonl",
            "--split",
            "train",
            "--predictions",
            d / "sft_train.jsonl",
            "--out",
            d / "sft.npz",
        ),
        ("references", "--features", d / "human.npz", "--out", d / "refs.json", "--min-bucket-size", "5"),
        (
            "critic",
            "train",
            "--references",
            d / "refs.json",
            "--features",
            d / "human.npz",
            "--features",
            d / "sft.npz",
            "--out",
            d / "critic",
            "--batch-size",
            "64",
            "--heldout-fraction",
            "0.2",
        ),
        (
            "critic",
            "score",
            "--critic",
            d / "critic",
            "--records",
            d / "records.jsonl",
            "--split",
            "train",
            "--predictions",
            d / "sft_train.jsonl",
            "--out",
            d / "scores.jsonl",
        ),
        (
            "pairs",
            "dpo",
            "--records",
            d / "records.jsonl",
            "--predictions",
            d / "sft_train.jsonl",
            "--lang",
            "all",
            "--model",
            "tiny",
            "--out-dir",
            d / "lf_data",
        ),
        (
            "pairs",
            "hdpo",
            "--records",
            d / "records.jsonl",
            "--predictions",
            d / "sft_train.jsonl",
            "--candidates",
            d / "cands_train.jsonl",
            "--critic",
            d / "critic",
            "--lang",
            "all",
            "--model",
            "tiny",
            "--out-dir",
            d / "lf_data",
            "--utility-tolerance",
            "0.5",
        ),
        (
            "evaluate",
            "--records",
            d / "test.jsonl",
            "--predictions",
            d / "pred_test.jsonl",
            "--out",
            d / "metrics.json",
            "--skip-mauve",
            "--min-bucket-size",
            "2",
        ),
        (
            "human-eval",
            "build",
            "--records",
            d / "test.jsonl",
            "--predictions",
            f"sft={d / 'pred_test.jsonl'}",
            "--out",
            d / "page",
            "--key",
            d / "key.json",
            "--per-stratum",
            "2",
        ),
        ("prepare", "dolly", "--source", f"train={d / 'dolly.jsonl'}", "--out", d / "prepared"),
        ("dedup", d / "prepared", "--out", d / "deduped"),
    ]
    for argv in steps:
        assert _run(*argv) == 0, argv
    return d


@dataclass
class Case:
    """One bad input. ``argv`` and ``setup`` get ``(ws, tmp)``; ``absent``/``unchanged`` name outputs (relative
    to tmp) that must not exist / must keep their bytes afterwards."""

    name: str
    argv: Callable[[Path, Path], list]
    message: str
    code: int = 2
    setup: Callable[[Path, Path], None] | None = None
    absent: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    check: Callable[[Path, Path], None] | None = None
    env: dict = field(default_factory=dict)
    patch: Callable[[pytest.MonkeyPatch], None] | None = None


def _write(path: Path, text: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")


def _jsonl(path: Path, rows: list[dict]) -> None:
    _write(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _copy_rows(src: Path, dst: Path, edit: Callable[[list[dict]], list[dict]]) -> None:
    _jsonl(dst, edit(_rows(src)))


def _edit_row(k: int, **changes) -> Callable[[list[dict]], list[dict]]:
    def edit(rows):
        rows[k] = dict(rows[k], **changes)
        return rows

    return edit


def _dup_row(k: int = 0) -> Callable[[list[dict]], list[dict]]:
    return lambda rows: rows + [rows[k]]


def _truncate(src: Path, dst: Path, keep: float = 0.5) -> None:
    data = src.read_bytes()
    _write(dst, data[: int(len(data) * keep)])


def _critic_copy(ws: Path, tmp: Path, corrupt: str | None = None) -> Path:
    dst = tmp / "critic"
    shutil.copytree(ws / "critic", dst)
    if corrupt:
        _truncate(dst / corrupt, dst / corrupt, 0.4)
    return dst


def new_battery() -> tuple[list[Case], Callable[..., None]]:
    """A stage's list of cases and the ``case(...)`` that adds one to it."""
    cases: list[Case] = []

    def case(*args, **kwargs) -> None:
        cases.append(Case(*args, **kwargs))

    return cases, case


def _fail_with(target: str, exc: BaseException) -> Callable[[pytest.MonkeyPatch], None]:
    """A patch making ``target`` (``module.attr``) raise ``exc``: a full disk, a read-only mount, a lost
    permission or a closed pipe, which a test machine (often running as root) cannot produce for real."""

    def patch(monkeypatch):
        def fail(*args, **kwargs):
            raise exc

        monkeypatch.setattr(target, fail)

    return patch


class _ClosedPipe(io.TextIOBase):
    def write(self, text):
        raise BrokenPipeError(errno.EPIPE, "Broken pipe")

    def fileno(self):
        raise io.UnsupportedOperation("fileno")


# --- numbers: NaN, infinities, out-of-range options -----------------------------------------------------
def _pairs_hdpo(w, t, *extra):
    return [
        "pairs",
        "hdpo",
        "--records",
        w / "records.jsonl",
        "--predictions",
        w / "sft_train.jsonl",
        "--candidates",
        w / "cands_train.jsonl",
        "--critic",
        w / "critic",
        "--lang",
        "all",
        "--model",
        "tiny",
        "--out-dir",
        t / "lf",
        *extra,
    ]


def _critic_train(w, t, *extra):
    return [
        "critic",
        "train",
        "--references",
        w / "refs.json",
        "--features",
        w / "human.npz",
        "--features",
        w / "sft.npz",
        "--out",
        t / "c",
        "--batch-size",
        "64",
        *extra,
    ]


def _generate(w, t, *extra):
    return [
        "generate",
        "--records",
        w / "test.jsonl",
        "--out",
        t / "g.jsonl",
        "--model",
        t / "no-model",
        "--template",
        "qwen",
        *extra,
    ]


def _evaluate(w, t, *extra, records=None, predictions=None):
    return [
        "evaluate",
        "--records",
        records or w / "test.jsonl",
        "--predictions",
        predictions or w / "pred_test.jsonl",
        "--out",
        t / "m.json",
        "--skip-mauve",
        "--min-bucket-size",
        "2",
        *extra,
    ]


def _judge(w, t, *extra):
    return [
        "judge",
        "--records",
        w / "test.jsonl",
        "--predictions",
        f"sft={w / 'pred_test.jsonl'}",
        "--judge",
        "j=m@http://127.0.0.1:9/v1",
        "--out",
        t / "j",
        *extra,
    ]


def _detect(w, t, *extra):
    return [
        "detect",
        "--records",
        w / "test.jsonl",
        "--predictions",
        f"sft={w / 'pred_test.jsonl'}",
        "--out",
        t / "d.json",
        *extra,
    ]


# --- numbers read from files --------------------------------------------------------------------------
def _weights(w, t, pairs_edit, *extra):
    return ["weights", "--pairs", t / "p.json", "--critic", w / "critic", "--out", t / "out.json", *extra]


def _pairs_file(edit):
    def setup(w, t):
        rows = json.loads((w / "lf_data" / "polyalign_all_hdpo_tiny.json").read_text(encoding="utf-8"))
        _write(t / "p.json", json.dumps(edit(rows), ensure_ascii=False))

    return setup


def _nan_features(src: Path, dst: Path) -> None:
    import numpy as np

    data = dict(np.load(src, allow_pickle=False))
    data["matrix"] = data["matrix"].copy()
    data["matrix"][3, 2] = np.nan
    with open(dst, "wb") as handle:
        np.savez(handle, **data)


def _nan_references(src: Path, dst: Path) -> None:
    text = src.read_text(encoding="utf-8")
    obj = json.loads(text)
    bucket = next(iter(obj["buckets"].values()))
    key = next(k for k, v in bucket.items() if isinstance(v, list) and v and isinstance(v[0], (int, float)))
    bucket[key][0] = float("nan")
    _write(dst, json.dumps(obj))


def _edit_metrics(w: Path, t: Path, edit) -> None:
    obj = json.loads((w / "metrics.json").read_text(encoding="utf-8"))
    edit(obj)
    _write(t / "m.json", json.dumps(obj))


def _ratings(w: Path, t: Path, score, sample_id: str | None = None, item_id: str | None = None) -> None:
    from polyalign_lf.humaneval.summarize import RATINGS_FORMAT

    key = json.loads((w / "key.json").read_text(encoding="utf-8"))
    rating = {
        "item_id": item_id or key["items"][0]["item_id"],
        "usefulness": score,
        "answerability": 3,
        "naturalness": 3,
    }
    _write(
        t / "r.json",
        json.dumps(
            {"format": RATINGS_FORMAT, "sample_id": sample_id or key["sample_id"], "rater": "r1", "ratings": [rating]}
        ),
    )


def _dup_features(src: Path, dst: Path) -> None:
    import numpy as np

    data = dict(np.load(src, allow_pickle=False))
    data["ids"] = data["ids"].copy()
    data["ids"][5] = data["ids"][0]
    with open(dst, "wb") as handle:
        np.savez(handle, **data)


def _dup_prepared(w: Path, t: Path) -> None:
    shutil.copytree(w / "deduped", t / "prep")
    train = next((t / "prep").rglob("train.jsonl"))
    _copy_rows(train, train, _dup_row(0))


# --- stale outputs: refuse without --overwrite, replace whole with it --------------------------------------
def _stale_dedup(w: Path, t: Path) -> None:
    shutil.copytree(w / "deduped", t / "d")
    (t / "d" / "oldset").mkdir()
    _write(t / "d" / "oldset" / "train.jsonl", "{}\n")


def _check_key_backup(w: Path, t: Path) -> None:
    backups = sorted(t.glob("k.json.*bak*")) + sorted(t.glob("k.*.bak.json"))
    assert backups, sorted(p.name for p in t.iterdir())
    assert backups[0].read_bytes() == (w / "key.json").read_bytes()


def _torn_judge_partial(w: Path, t: Path) -> None:
    (t / "j").mkdir()
    _write(t / "j" / "j.sft.jsonl.partial", '{"id": "x", "sco')


def _nan_npy(path: Path) -> None:
    import numpy as np

    matrix = np.ones((4, 3))
    matrix[2, 1] = np.nan
    np.save(path, matrix)


def _wrong_split(w: Path, t: Path) -> None:
    shutil.copytree(w / "prepared", t / "prep")
    train = next((t / "prep").rglob("train.jsonl"))
    _copy_rows(train, train, _edit_row(0, split="test"))


def check_bad_input(c: Case, ws: Path, tmp_path: Path, capsys, monkeypatch) -> None:
    """Run one case and assert what its user sees (the test body of every stage's battery)."""
    monkeypatch.delenv("POLYALIGN_DEBUG", raising=False)  # a case may set it (after this)
    for key, value in c.env.items():
        monkeypatch.setenv(key, value)
    if c.setup:
        c.setup(ws, tmp_path)
    before = {rel: (tmp_path / rel).read_bytes() for rel in c.unchanged}
    ws_before = _snapshot(ws)
    capsys.readouterr()
    argv = c.argv(ws, tmp_path)
    try:
        with monkeypatch.context() as patched:
            if c.patch:
                c.patch(patched)
            code = _run(*argv)
    except SystemExit as exc:  # argparse
        code = exc.code
    err = capsys.readouterr().err
    assert "Traceback" not in err, err
    assert code == c.code, f"exit {code}, expected {c.code}: {err}"
    if c.message:
        assert re.search(c.message, err, re.S | re.I), err
    if c.code == 2:
        assert "internal error" not in err, err
    for rel in c.absent:
        assert not (tmp_path / rel).exists(), f"{rel} was written"
    for rel, data in before.items():
        assert (tmp_path / rel).read_bytes() == data, f"{rel} changed"
    assert not list(tmp_path.rglob(".*.tmp")), "temporary files left behind"
    assert _snapshot(ws) == ws_before, "the shared workspace was modified"
    if c.check:
        c.check(ws, tmp_path)


def _snapshot(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}


__all__ = [name for name in dir() if not name.startswith("__")]  # the stage files take every helper
