"""Bad inputs of `polyalign critic` (the battery's machinery: tests/bad_input_battery.py)."""

from __future__ import annotations

import pytest
from bad_input_battery import *  # noqa: F403 -- the battery's helpers, as the cases were written

CASES, case = new_battery()  # noqa: F405


def _critic_config_case(name: str, yaml_text: str, message: str) -> None:
    case(
        name,
        lambda w, t: ["critic", "train", "--config", t / "c.yaml"],
        message,
        setup=lambda w, t: _write(t / "c.yaml", yaml_text),
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


_critic_config_case("critic --config out is a list", "out: [a, b]\n", r"c\.yaml: out takes a single value")


_critic_config_case(
    "critic --config overwrite is a string", 'overwrite: "false"\n', r"c\.yaml: overwrite must be true or false"
)


@pytest.mark.parametrize("c", CASES, ids=[c.name for c in CASES])
def test_bad_input(c, ws, tmp_path, capsys, monkeypatch):
    check_bad_input(c, ws, tmp_path, capsys, monkeypatch)  # noqa: F405
