"""The bad-input battery: every command, fed what users actually get wrong.

Each case runs a real ``polyalign`` command line in-process on a small but complete workspace (records,
features, references, a trained critic, pairs, predictions, metrics, a human-eval page) with one thing
broken, and asserts what a user sees: the exit code, a message naming the place at fault, no Python
traceback, and no partial or stale output left behind. The count of cases is reported in the README's
reliability note; keep both in step.
"""

from __future__ import annotations

import errno
import gzip
import io
import json
import re
import shutil
import sys
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


@pytest.fixture(scope="module")
def ws(tmp_path_factory) -> Path:
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


CASES: list[Case] = []


def case(*args, **kwargs) -> None:
    CASES.append(Case(*args, **kwargs))


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
    "evaluate out is a folder",
    lambda w, t: [
        "evaluate",
        "--records",
        w / "test.jsonl",
        "--predictions",
        w / "pred_test.jsonl",
        "--out",
        t,
        "--skip-mauve",
        "--min-bucket-size",
        "2",
    ],
    r"is a folder",
)
case(
    "evaluate records is a folder",
    lambda w, t: [
        "evaluate",
        "--records",
        t,
        "--predictions",
        w / "pred_test.jsonl",
        "--out",
        t / "m.json",
        "--skip-mauve",
    ],
    r"is a folder",
    absent=("m.json",),
)
case(
    "critic score out is a folder",
    lambda w, t: [
        "critic",
        "score",
        "--critic",
        w / "critic",
        "--records",
        w / "records.jsonl",
        "--split",
        "train",
        "--predictions",
        w / "sft_train.jsonl",
        "--out",
        t,
    ],
    r"is a folder",
)
case(
    "critic train out under a file",
    lambda w, t: [
        "critic",
        "train",
        "--references",
        w / "refs.json",
        "--features",
        w / "human.npz",
        "--features",
        w / "sft.npz",
        "--out",
        w / "refs.json" / "c",
        "--batch-size",
        "64",
    ],
    r"refs\.json.*(not a folder|is a file)",
)
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
    "summarize key missing",
    lambda w, t: ["human-eval", "summarize", "--key", t / "nokey.json", "--out", t / "s.json", w / "key.json"],
    r"nokey\.json",
    absent=("s.json",),
)


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
case(
    "output pipe closed (| head)",
    lambda w, t: ["datasets"],
    r"output pipe was closed",
    patch=lambda monkeypatch: monkeypatch.setattr(sys, "stdout", _ClosedPipe()),
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
    "truncated critic.pt",
    lambda w, t: [
        "critic",
        "score",
        "--critic",
        t / "critic",
        "--records",
        w / "records.jsonl",
        "--split",
        "train",
        "--predictions",
        w / "sft_train.jsonl",
        "--out",
        t / "s.jsonl",
    ],
    r"critic\.pt.*(truncated|corrupt)",
    setup=lambda w, t: _critic_copy(w, t, "critic.pt"),
    absent=("s.jsonl",),
)
case(
    "critic config not json",
    lambda w, t: [
        "critic",
        "score",
        "--critic",
        t / "critic",
        "--records",
        w / "records.jsonl",
        "--split",
        "train",
        "--predictions",
        w / "sft_train.jsonl",
        "--out",
        t / "s.jsonl",
    ],
    r"critic_config\.json",
    setup=lambda w, t: (_critic_copy(w, t), _write(t / "critic" / "critic_config.json", "{oops")),
    absent=("s.jsonl",),
)
case(
    "critic folder empty",
    lambda w, t: [
        "critic",
        "score",
        "--critic",
        t / "empty",
        "--records",
        w / "records.jsonl",
        "--split",
        "train",
        "--predictions",
        w / "sft_train.jsonl",
        "--out",
        t / "s.jsonl",
    ],
    r"empty",
    setup=lambda w, t: (t / "empty").mkdir(),
    absent=("s.jsonl",),
)
case(
    "truncated references json",
    lambda w, t: [
        "critic",
        "train",
        "--references",
        t / "r.json",
        "--features",
        w / "human.npz",
        "--features",
        w / "sft.npz",
        "--out",
        t / "c",
    ],
    r"r\.json.*invalid JSON",
    setup=lambda w, t: _truncate(w / "refs.json", t / "r.json"),
    absent=("c",),
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
    "truncated metrics json",
    lambda w, t: ["report", f"a={t / 'm.json'}", "--out", t / "rep"],
    r"m\.json.*invalid JSON",
    setup=lambda w, t: _truncate(w / "metrics.json", t / "m.json"),
    absent=("rep",),
)
case(
    "truncated pairs json",
    lambda w, t: ["weights", "--pairs", t / "p.json", "--critic", w / "critic"],
    r"p\.json.*invalid JSON",
    setup=lambda w, t: _truncate(w / "lf_data" / "polyalign_all_hdpo_tiny.json", t / "p.json"),
)
case(
    "gzip where jsonl expected",
    lambda w, t: ["features", "--records", t / "r.jsonl", "--out", t / "f.npz"],
    r"r\.jsonl:1: not UTF-8",
    setup=lambda w, t: _write(t / "r.jsonl", gzip.compress(w.joinpath("records.jsonl").read_bytes())),
    absent=("f.npz",),
)
case(
    "human-eval ratings truncated",
    lambda w, t: ["human-eval", "summarize", "--key", w / "key.json", "--out", t / "s.json", t / "r.json"],
    r"r\.json",
    setup=lambda w, t: _write(t / "r.json", '{"ratings": [{"item"'),
    absent=("s.json",),
)


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


for opt, value in (
    ("--epochs", "0"),
    ("--batch-size", "0"),
    ("--learning-rate", "nan"),
    ("--learning-rate", "-1"),
    ("--kappa", "inf"),
    ("--heldout-fraction", "1.0"),
    ("--heldout-fraction", "nan"),
    ("--lambda-reg", "-2"),
    ("--threads", "-1"),
    ("--learning-rate", "1e308"),  # finite but absurd
    ("--lambda-rank", "1e308"),
):
    case(
        f"critic train {opt} {value}",
        lambda w, t, opt=opt, value=value: _critic_train(w, t, opt, value),
        rf"argument {opt}: must be",
        absent=("c",),
    )


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


for opt, value in (("--min-bucket-size", "1"), ("--mauve-max-texts", "-3"), ("--threads", "nan"), ("--seed", "x")):
    case(
        f"evaluate {opt} {value}",
        lambda w, t, opt=opt, value=value: _evaluate(w, t, opt, value),
        rf"argument {opt}: must be",
        absent=("m.json",),
    )


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


for opt, value in (("--sample", "0"), ("--concurrency", "0"), ("--timeout", "nan"), ("--max-retries", "-1")):
    case(
        f"judge {opt} {value}",
        lambda w, t, opt=opt, value=value: _judge(w, t, opt, value),
        rf"argument {opt}: must be",
        absent=("j",),
    )


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


for opt, value in (
    ("--sample", "-1"),
    ("--batch-size", "0"),
    ("--max-length", "0"),
    ("--calibrate-fpr", "1.5"),
    ("--calibrate-fpr", "nan"),
):
    case(
        f"detect {opt} {value}",
        lambda w, t, opt=opt, value=value: _detect(w, t, opt, value),
        rf"argument {opt}: must be",
        absent=("d.json",),
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
    "report embedding-sample 0",
    lambda w, t: ["report", w / "metrics.json", "--out", t / "rep", "--embedding-sample", "0"],
    r"argument --embedding-sample: must be",
    absent=("rep",),
)
case(
    "features lm-batch-size 0",
    lambda w, t: ["features", "--records", w / "records.jsonl", "--out", t / "f.npz", "--lm-batch-size", "0"],
    r"argument --lm-batch-size: must be",
    absent=("f.npz",),
)
case(
    "prepare seed not int",
    lambda w, t: ["prepare", "dolly", "--source", f"train={w / 'dolly.jsonl'}", "--out", t / "p", "--seed", "1e3"],
    r"argument --seed: must be",
    absent=("p",),
)
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
    "run nproc-per-node 0",
    lambda w, t: ["run", "--recipe-dir", t, "--model", "gemma2_2b", "--nproc-per-node", "0"],
    r"argument --nproc-per-node: must be",
)


# --- numbers read from files --------------------------------------------------------------------------
def _weights(w, t, pairs_edit, *extra):
    return ["weights", "--pairs", t / "p.json", "--critic", w / "critic", "--out", t / "out.json", *extra]


def _pairs_file(edit):
    def setup(w, t):
        rows = json.loads((w / "lf_data" / "polyalign_all_hdpo_tiny.json").read_text(encoding="utf-8"))
        _write(t / "p.json", json.dumps(edit(rows), ensure_ascii=False))

    return setup


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
    "scores file NaN",
    lambda w, t: [
        "critic",
        "report",
        "--critic",
        w / "critic",
        "--features",
        t / "h.npz",
        "--split",
        "train",
        "--out",
        t / "rep.json",
    ],
    r"h\.npz.*(not finite|NaN)",
    setup=lambda w, t: _nan_features(w / "human.npz", t / "h.npz"),
    absent=("rep.json",),
)
case(
    "references with NaN epsilon inside",
    lambda w, t: [
        "critic",
        "train",
        "--references",
        t / "r.json",
        "--features",
        w / "human.npz",
        "--features",
        w / "sft.npz",
        "--out",
        t / "c",
    ],
    r"r\.json.*(finite|NaN)",
    setup=lambda w, t: _nan_references(w / "refs.json", t / "r.json"),
    absent=("c",),
)
case(
    "features npz with NaN",
    lambda w, t: ["references", "--features", t / "h.npz", "--out", t / "r.json"],
    r"h\.npz.*(not finite|NaN)",
    setup=lambda w, t: _nan_features(w / "human.npz", t / "h.npz"),
    absent=("r.json",),
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
for _device, _why in (("bogus", r"--device: 'bogus' is not a torch device"), ("cuda", r"--device: cuda.*CUDA")):
    case(
        f"critic score --device {_device}",
        lambda w, t, device=_device: [
            "critic",
            "score",
            "--critic",
            w / "critic",
            "--records",
            w / "records.jsonl",
            "--split",
            "train",
            "--predictions",
            w / "sft_train.jsonl",
            "--out",
            t / "s.jsonl",
            "--device",
            device,
        ],
        _why,
        absent=("s.jsonl",),
        patch=lambda mp: mp.setattr("torch.cuda.is_available", lambda: False),  # as on a machine without a GPU
    )


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
    "evaluate duplicate prediction id",
    lambda w, t: _evaluate(w, t, predictions=t / "p.jsonl"),
    r"p\.jsonl:\d+: duplicate id",
    setup=lambda w, t: _copy_rows(w / "pred_test.jsonl", t / "p.jsonl", _dup_row(0)),
    absent=("m.json",),
)
case(
    "evaluate duplicate record id",
    lambda w, t: _evaluate(w, t, records=t / "r.jsonl"),
    r"r\.jsonl:\d+: duplicate id",
    setup=lambda w, t: _copy_rows(w / "test.jsonl", t / "r.jsonl", _dup_row(0)),
    absent=("m.json",),
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
    "critic score duplicate prediction id",
    lambda w, t: [
        "critic",
        "score",
        "--critic",
        w / "critic",
        "--records",
        w / "records.jsonl",
        "--split",
        "train",
        "--predictions",
        t / "p.jsonl",
        "--out",
        t / "s.jsonl",
    ],
    r"p\.jsonl:\d+: duplicate id",
    setup=lambda w, t: _copy_rows(w / "sft_train.jsonl", t / "p.jsonl", _dup_row(0)),
    absent=("s.jsonl",),
)
case(
    "judge duplicate prediction id",
    lambda w, t: [
        "judge",
        "--records",
        w / "test.jsonl",
        "--predictions",
        f"sft={t / 'p.jsonl'}",
        "--judge",
        "j=m@http://127.0.0.1:9/v1",
        "--out",
        t / "j",
    ],
    r"p\.jsonl:\d+: duplicate id",
    setup=lambda w, t: _copy_rows(w / "pred_test.jsonl", t / "p.jsonl", _dup_row(0)),
    absent=("j",),
)
case(
    "detect duplicate prediction id",
    lambda w, t: [
        "detect",
        "--records",
        w / "test.jsonl",
        "--predictions",
        f"sft={t / 'p.jsonl'}",
        "--out",
        t / "d.json",
    ],
    r"p\.jsonl:\d+: duplicate id",
    setup=lambda w, t: _copy_rows(w / "pred_test.jsonl", t / "p.jsonl", _dup_row(0)),
    absent=("d.json",),
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
    "references duplicate feature id",
    lambda w, t: ["references", "--features", t / "h.npz", "--out", t / "r.json"],
    r"h\.npz.*duplicate id",
    setup=lambda w, t: _dup_features(w / "human.npz", t / "h.npz"),
    absent=("r.json",),
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


def _check_key_backup(w: Path, t: Path) -> None:
    backups = sorted(t.glob("k.json.*bak*")) + sorted(t.glob("k.*.bak.json"))
    assert backups, sorted(p.name for p in t.iterdir())
    assert backups[0].read_bytes() == (w / "key.json").read_bytes()


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
    "export with a broken dataset_info writes nothing",
    lambda w, t: ["export", w / "deduped", "--out", t / "reg"],
    r"dataset_info\.json",
    setup=lambda w, t: _write(t / "reg" / "dataset_info.json", "{broken"),
    check=lambda w, t: (
        [p.name for p in (t / "reg").iterdir()] == ["dataset_info.json"]
        or pytest.fail(str(list((t / "reg").iterdir())))
    ),
)
case(
    "evaluate replaces an existing metrics file whole",
    lambda w, t: _evaluate(w, t),
    "",
    code=0,
    setup=lambda w, t: _write(t / "m.json", '{"stale": true}'),
    check=lambda w, t: (
        "stale" not in json.loads((t / "m.json").read_text(encoding="utf-8")) or pytest.fail("stale key kept")
    ),
)


# --- honest exits, interruptions, resumable writers ---------------------------------------------------------
case(
    "judge: every request failed",
    lambda w, t: _judge(w, t, "--max-retries", "0", "--timeout", "1", "--sample", "3"),
    r"(every|all).*(request|judgement)s? failed",
    code=1,
)


def _torn_judge_partial(w: Path, t: Path) -> None:
    (t / "j").mkdir()
    _write(t / "j" / "j.sft.jsonl.partial", '{"id": "x", "sco')


case(
    "judge resumes past a torn partial line",
    lambda w, t: _judge(w, t, "--max-retries", "0", "--timeout", "1", "--sample", "2"),
    r"(every|all).*(request|judgement)s? failed",
    code=1,
    setup=_torn_judge_partial,
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
    "references from an empty features split",
    lambda w, t: ["references", "--features", w / "sft.npz", "--out", t / "r.json", "--min-bucket-size", "100000"],
    r"references need human answers",
    absent=("r.json",),
)
case(
    "critic train into an existing bundle",
    lambda w, t: _critic_train(w, t),
    r"c.*already exists.*--overwrite",
    setup=lambda w, t: _write(t / "c" / "old.pt", b"0"),
    unchanged=("c/old.pt",),
)
case(
    "critic train config unknown key",
    lambda w, t: ["critic", "train", "--config", t / "c.yaml"],
    r"c\.yaml: unknown option 'epoch'",
    setup=lambda w, t: _write(t / "c.yaml", f"references: {w / 'refs.json'}\nout: {t / 'c'}\nepoch: 3\n"),
    absent=("c",),
)
case(
    "critic train config bad number",
    lambda w, t: ["critic", "train", "--config", t / "c.yaml"],
    r"epochs.*must be",
    setup=lambda w, t: _write(t / "c.yaml", f"references: {w / 'refs.json'}\nout: {t / 'c'}\nepochs: 0\n"),
    absent=("c",),
)
case(
    "critic score record whose bucket contradicts it",
    lambda w, t: ["critic", "score", "--critic", w / "critic", "--records", t / "r.jsonl", "--out", t / "s.jsonl"],
    r"r\.jsonl:1: bucket_id .* does not match its fields",
    setup=lambda w, t: _copy_rows(
        w / "records.jsonl", t / "r.jsonl", lambda rows: [dict(rows[0], language="zh", bucket_id="xx|single|qa|short")]
    ),
    absent=("s.jsonl",),
)
case(
    "critic report on a missing feature file",
    lambda w, t: ["critic", "report", "--critic", w / "critic", "--features", t / "no.npz"],
    r"no\.npz.*not found",
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
case(
    "evaluate predictions missing rows",
    lambda w, t: _evaluate(w, t, predictions=t / "p.jsonl"),
    r"record\(s\) have no prediction",
    setup=lambda w, t: _copy_rows(w / "pred_test.jsonl", t / "p.jsonl", lambda rows: rows[:-3]),
    absent=("m.json",),
)
case(
    "evaluate prediction for an unknown id",
    lambda w, t: _evaluate(w, t, predictions=t / "p.jsonl"),
    r"not in the test records",
    setup=lambda w, t: _copy_rows(w / "pred_test.jsonl", t / "p.jsonl", _edit_row(0, id="ghost")),
    absent=("m.json",),
)
case(
    "evaluate train records as test",
    lambda w, t: _evaluate(w, t, records=w / "records.jsonl"),
    r"allow-any-split",
    absent=("m.json",),
)
case(
    "evaluate truncated npy features",
    lambda w, t: _evaluate(w, t, "--human-features", t / "h.npy"),
    r"h\.npy",
    setup=lambda w, t: _write(t / "h.npy", b"\x93NUMPY\x01\x00v\x00{'descr'"),
    absent=("m.json",),
)
case(
    "evaluate references file corrupt",
    lambda w, t: _evaluate(w, t, "--references", t / "r.json"),
    r"r\.json.*invalid JSON",
    setup=lambda w, t: _truncate(w / "refs.json", t / "r.json"),
    absent=("m.json",),
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
case(
    "judge records missing",
    lambda w, t: [
        "judge",
        "--records",
        t / "no.jsonl",
        "--predictions",
        f"sft={w / 'pred_test.jsonl'}",
        "--judge",
        "j=m@http://127.0.0.1:9/v1",
        "--out",
        t / "j",
    ],
    r"no\.jsonl",
    absent=("j",),
)
case(
    "judge spec without a URL",
    lambda w, t: [
        "judge",
        "--records",
        w / "test.jsonl",
        "--predictions",
        f"sft={w / 'pred_test.jsonl'}",
        "--judge",
        "j=model",
        "--out",
        t / "j",
    ],
    r"NAME=MODEL@BASE_URL",
    absent=("j",),
)
case(
    "judge config not a list",
    lambda w, t: [
        "judge",
        "--records",
        w / "test.jsonl",
        "--predictions",
        f"sft={w / 'pred_test.jsonl'}",
        "--judges-config",
        t / "j.yaml",
        "--out",
        t / "j",
    ],
    r"j\.yaml.*list",
    setup=lambda w, t: _write(t / "j.yaml", "name: x\n"),
    absent=("j",),
)
case(
    "judge duplicate method names",
    lambda w, t: [
        "judge",
        "--records",
        w / "test.jsonl",
        "--predictions",
        f"a={w / 'pred_test.jsonl'}",
        f"a={w / 'pred_test.jsonl'}",
        "--judge",
        "j=m@http://127.0.0.1:9/v1",
        "--out",
        t / "j",
    ],
    r"'a'.*(twice|more than once|duplicate)",
    absent=("j",),
)
case("detect unknown detector", lambda w, t: _detect(w, t, "--detectors", "gptzero"), r"gptzero", absent=("d.json",))
case(
    "detect model path missing",
    lambda w, t: _detect(
        w, t, "--detectors", "binoculars", "--observer", t / "no-model", "--performer", t / "no-model"
    ),
    r"no-model",
    absent=("d.json",),
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
case(
    "demo data file missing",
    lambda w, t: ["demo", "--data", t / "rows.jsonl", "--out", t / "demo"],
    r"rows\.jsonl",
    absent=("demo",),
)
case("study out is a file", lambda w, t: ["study", "--out", w / "dolly.jsonl", "--seeds", "1"], r"dolly\.jsonl")
case(
    "evaluate NaN in precomputed features",
    lambda w, t: _evaluate(w, t, "--human-features", t / "h.npy"),
    r"h\.npy: 1 row\(s\) of human features are not finite",
    setup=lambda w, t: _nan_npy(t / "h.npy"),
    absent=("m.json",),
)
case(
    "detect metrics with NaN agg",
    lambda w, t: _detect(w, t, "--metrics", f"sft={t / 'm.json'}"),
    r"m\.json: agg must be a finite",
    setup=lambda w, t: _edit_metrics(w, t, lambda m: m.__setitem__("agg", float("nan"))),
    absent=("d.json",),
)
case(
    "a killed run's temp file is cleaned by the rerun",
    lambda w, t: ["references", "--features", w / "human.npz", "--out", t / "r.json"],
    "",
    code=0,
    setup=lambda w, t: _write(t / ".r.json.999999999.k1ll.tmp", b"\0" * 4096),
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
case("unknown command", lambda w, t: ["trian"], r"unknown command 'trian'")
case(
    "unknown option",
    lambda w, t: ["features", "--records", w / "records.jsonl", "--out", t / "f.npz", "--fast"],
    r"unrecognized arguments: --fast",
    absent=("f.npz",),
)


def _nan_npy(path: Path) -> None:
    import numpy as np

    matrix = np.ones((4, 3))
    matrix[2, 1] = np.nan
    np.save(path, matrix)


def _wrong_split(w: Path, t: Path) -> None:
    shutil.copytree(w / "prepared", t / "prep")
    train = next((t / "prep").rglob("train.jsonl"))
    _copy_rows(train, train, _edit_row(0, split="test"))


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


def _critic_config_case(name: str, yaml_text: str, message: str) -> None:
    case(
        name,
        lambda w, t: ["critic", "train", "--config", t / "c.yaml"],
        message,
        setup=lambda w, t: _write(t / "c.yaml", yaml_text),
    )


_critic_config_case("critic --config out is a list", "out: [a, b]\n", r"c\.yaml: out takes a single value")
_critic_config_case(
    "critic --config overwrite is a string", 'overwrite: "false"\n', r"c\.yaml: overwrite must be true or false"
)


def _judge_config_case(name: str, entry: str, message: str) -> None:
    case(
        name,
        lambda w, t: [
            "judge",
            "--records",
            w / "test.jsonl",
            "--predictions",
            f"sft={w / 'pred_test.jsonl'}",
            "--judges-config",
            t / "j.yaml",
            "--out",
            t / "j",
        ],
        message,
        setup=lambda w, t: _write(t / "j.yaml", f"- name: a\n  model: m\n  base_url: http://127.0.0.1:9/v1\n{entry}"),
        absent=("j",),
    )


_judge_config_case("judge config negative timeout", "  timeout_s: -5\n", r"timeout_s = -5 is outside")
_judge_config_case("judge config timeout is a word", "  timeout_s: soon\n", r"timeout_s must be a number")
_judge_config_case("judge config absurd backoff", "  backoff_s: 1.0e+308\n", r"backoff_s = 1e\+308 is outside")
for _url, _why in (("http://[::1/v1", "not a valid URL"), ("http://127.0.0.1:99999/v1", "not a valid URL")):
    case(
        f"judge URL {_url}",
        lambda w, t, url=_url: [
            "judge",
            "--records",
            w / "test.jsonl",
            "--predictions",
            f"sft={w / 'pred_test.jsonl'}",
            "--judge",
            f"j=m@{url}",
            "--out",
            t / "j",
        ],
        _why,
        absent=("j",),
    )


# names that become files or folders under --out: a method label, a judge's name
for _command, _spec in (("judge", "../escape"), ("detect", "/tmp/abs")):
    case(
        f"{_command} method name that is a path",
        lambda w, t, command=_command, spec=_spec: [
            command,
            "--records",
            w / "test.jsonl",
            "--predictions",
            f"{spec}={w / 'pred_test.jsonl'}",
            *(["--judge", "j=m@http://127.0.0.1:9/v1"] if command == "judge" else ["--detectors", "radar"]),
            "--out",
            t / "o",
        ],
        r"method name .* is not a single file or folder name",
        absent=("o",),
    )
case(
    "judge name that is a path",
    lambda w, t: [
        "judge",
        "--records",
        w / "test.jsonl",
        "--predictions",
        f"sft={w / 'pred_test.jsonl'}",
        "--judge",
        "../up=m@http://127.0.0.1:9/v1",
        "--out",
        t / "o",
    ],
    r"judge name '\.\./up' is not a single file or folder name",
    absent=("o",),
)


@pytest.mark.parametrize("c", CASES, ids=[c.name for c in CASES])
def test_bad_input(c: Case, ws: Path, tmp_path: Path, capsys, monkeypatch):
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


def test_battery_size():
    """The README's reliability note reports these counts."""
    refused = sum(1 for c in CASES if c.code != 0)
    reruns = len(CASES) - refused  # a rerun over an earlier run's outputs: replaced whole or cleaned, never merged
    assert refused >= 100, refused
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    assert f"{refused} bad inputs, all refused clearly" in readme and f"{reruns} reruns over" in readme
