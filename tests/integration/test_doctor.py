"""`polyalign doctor`."""

from __future__ import annotations

import argparse

import pytest

from polyalign_lf.integration.cli import doctor_arguments, doctor_main
from polyalign_lf.integration.doctor import run_checks


def _args(*argv):
    parser = argparse.ArgumentParser()
    doctor_arguments(parser)
    return parser.parse_args(list(argv))


def test_doctor_all_ok_here(capsys):
    assert doctor_main(_args("--no-subprocess")) == 0
    out = capsys.readouterr().out
    from importlib.metadata import version

    assert f"llamafactory {version('llamafactory')}" in out and "[ok  ] polyalign_lf.pth installed" in out
    assert "[ok  ] torch build: " in out and " build; " in out  # cpu / cuda / rocm, and whether bf16 works


@pytest.mark.parametrize(
    "env,name", [("POLYALIGN_LF_DISABLE", "POLYALIGN_LF_DISABLE not set"), ("USE_MCA", "USE_MCA not set")]
)
def test_doctor_reports_what_would_refuse(monkeypatch, capsys, env, name):
    monkeypatch.setenv(env, "1")
    assert doctor_main(_args("--quiet", "--no-subprocess")) == 1
    out = capsys.readouterr().out
    assert f"[FAIL] {name}" in out and "[ok" not in out


def test_doctor_unsupported_version(monkeypatch):
    from importlib import metadata

    real = metadata.version
    monkeypatch.setattr(metadata, "version", lambda d: "0.9.7" if d == "llamafactory" else real(d))
    _, checks = run_checks(subprocess_probe=False)
    failed = {c.name: c.detail for c in checks if not c.ok}
    assert "llamafactory version supported" in failed and "0.9.7" in failed["llamafactory version supported"]


@pytest.mark.slow
def test_doctor_fresh_interpreter_probe():
    info, checks = run_checks(subprocess_probe=True)
    by_name = {c.name: c for c in checks}
    assert by_name["hook active in a fresh interpreter"].ok
    assert by_name["llamafactory.train.tuner patched on import"].ok
    assert by_name["LLaMA-Factory hook points present"].ok
    assert "polyalign" in info["fresh_interpreter"]["loaded"]


@pytest.mark.slow
def test_doctor_says_whether_llamaboard_offers_hdpo():
    from polyalign_lf.integration.doctor import _probe, _webui_check

    probe = _probe()  # a fresh interpreter imports LlamaBoard's interface as `llamafactory-cli webui` does
    import importlib.util

    if importlib.util.find_spec("gradio") is None:
        assert probe["webui"] == {"gradio": False}
    else:
        assert probe["webui"]["registered"] is True, probe
    assert "pip install 'polyalign-lf[webui]'" in _webui_check({"gradio": False}).detail
    broken = _webui_check({"gradio": True, "registered": False, "reason": "this LlamaBoard has no Runner._initialize"})
    assert not broken.ok and not broken.fatal and "cannot be extended safely" in broken.detail
    assert "Runner._initialize" in broken.detail


def _no_deepspeed(monkeypatch):
    import polyalign_lf.integration.doctor as doctor

    real = doctor._version
    monkeypatch.setattr(doctor, "_version", lambda dist: None if dist == "deepspeed" else real(dist))


CPU_ONLY = {"gpu_available": False, "bf16": False, "cpu_bf16": None}


def test_doctor_checks_what_a_recipe_needs(monkeypatch, capsys, tmp_path):
    """A ZeRO recipe without DeepSpeed installed fails doctor with the install command (a warning without a
    recipe); bf16 on a machine without it is a warning, not `[ok]`."""
    from polyalign_lf.integration import doctor

    _no_deepspeed(monkeypatch)
    monkeypatch.setattr(doctor, "torch_build", lambda: {"version": "x", "build": "cpu", **CPU_ONLY})
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ds.json").write_text("{}")
    (tmp_path / "zero.yaml").write_text("deepspeed: ds.json\nbf16: true\n")
    (tmp_path / "plain.yaml").write_text("bf16: false\n")
    assert doctor_main(_args("--no-subprocess", "--recipe", "plain.yaml")) == 0
    out = capsys.readouterr().out
    assert "[warn] DeepSpeed installed: not installed" in out and "--no-build-isolation" in out
    assert doctor_main(_args("--no-subprocess", "--recipe", "zero.yaml")) == 1
    out = capsys.readouterr().out
    assert "[FAIL] DeepSpeed installed: not installed" in out
    assert "[warn] recipe zero.yaml: bf16: asks for bf16: true but no GPU here" in out
    (tmp_path / "missing.yaml").write_text("deepspeed: nowhere.json\n")
    assert doctor_main(_args("--no-subprocess", "--quiet", "--recipe", "missing.yaml")) == 1
    assert "nowhere.json not found" in capsys.readouterr().out


def test_doctor_warns_about_a_deepspeed_outside_the_documented_range(monkeypatch):
    import polyalign_lf.integration.doctor as doctor

    real = doctor._version
    monkeypatch.setattr(doctor, "_version", lambda dist: "0.19.8" if dist == "deepspeed" else real(dist))
    check = doctor.deepspeed_check(required=True)
    assert not check.ok and not check.fatal and "0.19.8 is outside deepspeed>=0.10.0,<=0.16.9" in check.detail
    monkeypatch.setattr(doctor, "_version", lambda dist: "0.16.4" if dist == "deepspeed" else real(dist))
    assert doctor.deepspeed_check(required=True).ok


def test_run_refuses_a_zero_recipe_without_deepspeed(monkeypatch, capsys, tmp_path):
    """`polyalign run` stops before its first stage (a dry run shows the plan and says so)."""
    from polyalign_lf.cli import main

    _no_deepspeed(monkeypatch)
    monkeypatch.chdir(tmp_path)
    argv = ["run", "--lang", "en", "--model", "gemma2_2b", "--stages", "sft"]
    assert main([*argv, "--dry-run"]) == 0
    captured = capsys.readouterr()
    assert "llamafactory-cli train" in captured.out
    assert "would stop before its first stage here: DeepSpeed installed: not installed" in captured.err
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "cannot run the cell's recipes: DeepSpeed installed: not installed" in err
    assert not (tmp_path / "saves").exists()
    # a stage that trains nothing needs no DeepSpeed
    assert main(["run", "--lang", "en", "--model", "gemma2_2b", "--stages", "evaluate", "--dry-run"]) == 0
    assert "would stop" not in capsys.readouterr().err
