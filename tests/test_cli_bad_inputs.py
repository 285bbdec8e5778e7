"""Bad inputs of `polyalign the dispatcher, and cases spanning commands` (the battery's machinery: tests/bad_input_battery.py)."""

from __future__ import annotations

import pytest
from bad_input_battery import *  # noqa: F403 -- the battery's helpers, as the cases were written

CASES, case = new_battery()  # noqa: F405


case("unknown command", lambda w, t: ["trian"], r"unknown command 'trian'")


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


@pytest.mark.parametrize("c", CASES, ids=[c.name for c in CASES])
def test_bad_input(c, ws, tmp_path, capsys, monkeypatch):
    check_bad_input(c, ws, tmp_path, capsys, monkeypatch)  # noqa: F405


def _battery_modules():
    """Every stage's battery module (loaded from its file: the stage folders are not packages)."""
    import importlib.util
    import sys

    tests = Path(__file__).resolve().parent
    for path in sorted([tests / "test_cli_bad_inputs.py", *tests.glob("*/test_*_bad_inputs.py")]):
        name = f"_battery_{path.stem}"
        if name not in sys.modules:
            spec = importlib.util.spec_from_file_location(name, path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module
            spec.loader.exec_module(module)
        yield sys.modules[name]


def test_battery_size():
    """The README's reliability note reports these counts."""
    everything = [c for module in _battery_modules() for c in module.CASES]
    refused = sum(1 for c in everything if c.code != 0)
    reruns = (
        len(everything) - refused
    )  # a rerun over an earlier run's outputs: replaced whole or cleaned, never merged
    assert refused >= 100, refused
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    assert f"{refused} bad inputs, all refused clearly" in readme and f"{reruns} reruns over" in readme
