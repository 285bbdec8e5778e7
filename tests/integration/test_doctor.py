"""`polyalign doctor`."""

from __future__ import annotations

import argparse

import pytest

from polyalign_lf.integration.doctor import doctor_arguments, doctor_main, run_checks


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
