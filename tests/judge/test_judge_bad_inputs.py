"""Bad inputs of `polyalign judge` (the battery's machinery: tests/bad_input_battery.py)."""

from __future__ import annotations

import pytest
from bad_input_battery import *  # noqa: F403 -- the battery's helpers, as the cases were written

CASES, case = new_battery()  # noqa: F405


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


for opt, value in (("--sample", "0"), ("--concurrency", "0"), ("--timeout", "nan"), ("--max-retries", "-1")):
    case(
        f"judge {opt} {value}",
        lambda w, t, opt=opt, value=value: _judge(w, t, opt, value),
        rf"argument {opt}: must be",
        absent=("j",),
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


# --- honest exits, interruptions, resumable writers ---------------------------------------------------------
case(
    "judge: every request failed",
    lambda w, t: _judge(w, t, "--max-retries", "0", "--timeout", "1", "--sample", "3"),
    r"(every|all).*(request|judgement)s? failed",
    code=1,
)


case(
    "judge resumes past a torn partial line",
    lambda w, t: _judge(w, t, "--max-retries", "0", "--timeout", "1", "--sample", "2"),
    r"(every|all).*(request|judgement)s? failed",
    code=1,
    setup=_torn_judge_partial,
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
def test_bad_input(c, ws, tmp_path, capsys, monkeypatch):
    check_bad_input(c, ws, tmp_path, capsys, monkeypatch)  # noqa: F405
