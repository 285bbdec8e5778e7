"""benchmarks/gpu/validate.sh: the GPU validation run, checked on the CPU (--dry-run runs every section's code
at tiny sizes), and its refusal on a machine without CUDA."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "benchmarks" / "gpu" / "validate.sh"


def _run(*args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHON": sys.executable}
    return subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True, env=env, timeout=timeout)


def test_without_cuda_it_says_so_and_how_to_check_on_cpu(tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    proc = _run("--out", str(tmp_path / "r"))
    assert proc.returncode == 2
    assert "no CUDA GPU is visible" in proc.stderr and "--dry-run" in proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "r").exists()


@pytest.mark.slow
def test_dry_run_runs_every_section(tmp_path):
    out = tmp_path / "results"
    proc = _run("--dry-run", "--out", str(out))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    results = json.loads((out / "results.json").read_text())
    assert list(results) == [
        "environment",
        "train_overhead",
        "step1_loss",
        "zero3_step1_loss",
        "lm_features",
        "detectors",
        "embeddings",
        "vllm",
    ]
    assert not [name for name, entry in results.items() if "error" in entry]
    assert results["environment"]["result"]["dry_run"] is True
    overhead = results["train_overhead"]["result"]["figures"]
    assert overhead["ratio.bucket_sft_vs_sft"] > 0 and overhead["ratio.hdpo_vs_dpo"] > 0
    checks = results["step1_loss"]["result"]["checks"]
    assert set(checks) == {"bucket_sft", "hdpo"} and all(c["ok"] for c in checks.values())
    for name in ("lm_features", "detectors", "embeddings"):
        assert results[name]["result"]["tokens_per_s"] > 0
    assert "skipped" in results["vllm"]["result"]
    zero3 = results["zero3_step1_loss"]["result"]  # runs where DeepSpeed is installed, else says why not
    assert (
        "DeepSpeed is not installed" in zero3["skipped"]
        if "skipped" in zero3
        else all(c["ok"] for c in zero3["checks"].values())
    )
    table = (out / "results.md").read_text()
    assert "| train_overhead | ratio.hdpo_vs_dpo |" in table and "equal (rel 1e-4): yes" in table


def test_unknown_section_is_refused(tmp_path):
    proc = _run("--dry-run", "--out", str(tmp_path / "r"), "--sections", "warp")
    assert proc.returncode == 2 and "unknown section(s) warp" in proc.stderr
