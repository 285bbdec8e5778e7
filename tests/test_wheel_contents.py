"""The wheel users install: every runtime module of the package, nothing of the test suite."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def test_the_wheel_holds_the_package_and_no_test_only_module(tmp_path):
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path), str(REPO)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if build.returncode != 0 and "hatchling" in build.stderr and "No matching distribution" in build.stderr:
        pytest.skip(f"the build backend (hatchling) cannot be installed here: {build.stderr.strip()[-300:]}")
    assert build.returncode == 0, build.stderr[-3000:]
    (wheel,) = tmp_path.glob("polyalign_lf-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = {n for n in names if n.endswith(".py")}
    source = {str(p.relative_to(REPO)) for p in (REPO / "polyalign_lf").rglob("*.py")}
    assert modules == source, (sorted(modules - source), sorted(source - modules))
    test_only = [n for n in names if "polyalign_testing" in n or n.startswith("tests/") or "conftest" in n]
    assert not test_only, test_only
    assert "polyalign_lf.pth" in names  # the LLaMA-Factory hook
