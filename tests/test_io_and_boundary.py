"""The shared layer every command stands on: atomic outputs, temp-file cleanup, readers that name file:line,
validated numbers, and the one error boundary of the ``polyalign`` command."""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys

import pytest

from polyalign_lf import io as pio
from polyalign_lf import options as opt
from polyalign_lf.cli import main as polyalign
from polyalign_lf.cli import run_command
from polyalign_lf.errors import ConfigError, InputError


def test_a_killed_writers_temp_file_is_removed_by_the_next_write(tmp_path):
    target = tmp_path / "out.json"
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    ).stdout.strip()
    stale = tmp_path / f".out.json.{dead}.abcd.tmp"
    stale.write_bytes(b"x" * 1000)
    other = tmp_path / ".other.json.1.abcd.tmp"  # another output's temp file is not ours to remove
    other.write_text("y")
    alive = tmp_path / f".out.json.{os.getppid()}.efgh.tmp"  # a live process (our parent) may still be writing
    alive.write_text("z")
    pio.write_json(target, {"a": 1})
    assert json.loads(target.read_text()) == {"a": 1}
    assert not stale.exists() and other.exists() and alive.exists()


def test_a_killed_folder_build_is_removed_and_a_folder_replaced_whole(tmp_path):
    out = tmp_path / "bundle"
    out.mkdir()
    (out / "old.txt").write_text("stale")
    with pytest.raises(InputError, match="(?s)already exists and is not empty.*--overwrite"):
        with pio.replace_folder(out):
            pass
    dead_build = tmp_path / ".bundle.999999999.xyz.tmp"
    dead_build.mkdir()
    (dead_build / "half.bin").write_bytes(b"0")
    with pio.replace_folder(out, overwrite=True) as building:
        (building / "new.txt").write_text("fresh")
    assert sorted(p.name for p in out.iterdir()) == ["new.txt"]
    assert not dead_build.exists() and not list(tmp_path.glob(".*.tmp"))
    # an error while building leaves the old folder as it was and no temp folder
    with pytest.raises(RuntimeError):
        with pio.replace_folder(out, overwrite=True) as building:
            (building / "partial.txt").write_text("…")
            raise RuntimeError("boom")
    assert sorted(p.name for p in out.iterdir()) == ["new.txt"] and not list(tmp_path.glob(".*.tmp"))


def test_jsonl_errors_name_the_right_line_even_far_into_the_file(tmp_path):
    path = tmp_path / "rows.jsonl"
    good = "".join(json.dumps({"id": str(k), "text": "é" * 50}, ensure_ascii=False) + "\n" for k in range(500))
    path.write_bytes(good.encode("utf-8") + b'{"id": "bad \xff"}\n')
    with pytest.raises(InputError, match=r"rows\.jsonl:501: not UTF-8"):
        list(pio.iter_jsonl(path))
    path.write_text(good + good.splitlines(keepends=True)[7])
    with pytest.raises(InputError, match=r"rows\.jsonl:501: duplicate id '7' \(first at line 8\)"):
        list(pio.iter_jsonl(path, unique="id"))
    assert len(list(pio.iter_jsonl(path))) == 501  # without unique=, repeats are the caller's business


def test_unique_keys_across_files_name_both(tmp_path):
    keys = pio.UniqueKeys("id")
    keys.add("a", 3, "one.jsonl")
    with pytest.raises(InputError, match=r"two\.jsonl:9: duplicate id 'a' \(first at one\.jsonl:3\)"):
        keys.add("a", 9, "two.jsonl")


def test_recover_jsonl_drops_a_torn_last_line_and_rewrites_the_file(tmp_path):
    path = tmp_path / "x.partial"
    path.write_text('{"id": "a"}\n{"id": "b"}\n{"id": "c", "predic')
    rows, torn = pio.recover_jsonl(path)
    assert [r["id"] for r in rows] == ["a", "b"] and torn == 1
    assert path.read_text() == '{"id": "a"}\n{"id": "b"}\n'
    assert pio.recover_jsonl(tmp_path / "missing.partial") == ([], 0)


@pytest.mark.parametrize(
    "parse,text,ok",
    [
        (opt.count, "1", 1),
        (opt.count, "0", None),
        (opt.count, "2.0", None),
        (opt.non_negative_int, "0", 0),
        (opt.non_negative_int, "-1", None),
        (opt.positive, "1e-9", 1e-9),
        (opt.positive, "0", None),
        (opt.positive, "inf", None),
        (opt.probability, "1", 1.0),
        (opt.probability, "nan", None),
        (opt.probability, "-0.0001", None),
        (opt.integer(), "-7", -7),
        (opt.number(-2, 2), "2.5", None),
        (opt.number(0.0, 1.0, above=True), "0", None),
        (opt.number(0.0, 1.0, above=True), "1", 1.0),
    ],
)
def test_option_types(parse, text, ok):
    if ok is None:
        with pytest.raises(argparse.ArgumentTypeError, match="must be"):
            parse(text)
    else:
        assert parse(text) == ok


def test_check_number_for_config_keys():
    opt.check_number("alpha", 0.5, 0.0)
    opt.check_number("limit", None, 0, optional=True)
    for value in (math.nan, math.inf, -1.0, "0.5", True, None):
        with pytest.raises(ConfigError, match="alpha must be"):
            opt.check_number("alpha", value, 0.0)
    with pytest.raises(ConfigError, match="epochs must be an integer >= 1"):
        opt.check_number("epochs", 1.5, 1, integer=True)


def test_the_boundary_turns_a_bug_into_a_short_note_and_saves_the_traceback(capsys, monkeypatch):
    monkeypatch.delenv("POLYALIGN_DEBUG", raising=False)

    def buggy(args):
        return {}["missing"]

    assert run_command("polyalign x", buggy, argparse.Namespace()) == 1
    err = capsys.readouterr().err
    assert "internal error: KeyError" in err and "Traceback" not in err and "--debug" in err
    saved = err.split("saved to ")[1].split(";")[0]
    assert "Traceback" in open(saved, encoding="utf-8").read()
    os.unlink(saved)
    with pytest.raises(KeyError):  # --debug lets it through, traceback and all
        run_command("polyalign x", buggy, argparse.Namespace(), debug=True)


def test_debug_flag_and_env_show_the_traceback(tmp_path, capsys, monkeypatch):
    missing = tmp_path / "nope.json"
    argv = ["references", "--features", str(missing), "--out", str(tmp_path / "r.json")]
    assert polyalign(argv) == 2
    assert "Traceback" not in capsys.readouterr().err
    with pytest.raises(InputError):
        polyalign(["--debug", *argv])
    monkeypatch.setenv("POLYALIGN_DEBUG", "1")
    with pytest.raises(InputError):
        polyalign(argv)


def test_recipes_module_help_writes_nothing(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "polyalign_lf.pipeline.recipes", "--help"], cwd=tmp_path, capture_output=True, text=True
    )
    assert proc.returncode == 0 and "usage:" in proc.stdout
    assert list(tmp_path.iterdir()) == []


def test_overwrite_never_replaces_the_current_or_home_folder(tmp_path, monkeypatch):
    (tmp_path / "keep.txt").write_text("mine")
    monkeypatch.chdir(tmp_path)
    for folder in (".", str(tmp_path), str(tmp_path.parent)):
        with pytest.raises(InputError, match="current folder"):
            with pio.replace_folder(folder, overwrite=True):
                pass
    assert (tmp_path / "keep.txt").read_text() == "mine"
