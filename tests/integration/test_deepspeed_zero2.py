"""DeepSpeed ZeRO-2 with the plugin, on CPU: 2 ranks (DeepSpeed's CPU accelerator, gloo), Bucket-SFT and HDPO.

The step-1 loss of a ZeRO-2 run equals the plain DDP run's on the same layout, and both equal the independent
recomputation: ZeRO-2 shards optimizer states and gradients, never the loss, so any difference would be the
plugin's loss reaching DeepSpeed's engine differently (a lost gradient-accumulation or world-size factor, a
per-micro-batch renormalization).

DeepSpeed is not a dependency of the suite's environment: `make test` installs it beside it, into
``.deepspeed-site`` (``make deepspeed-site``, pure Python, ``DS_BUILD_OPS=0``), and only these runs see it (on
PYTHONPATH). Where that install failed (no package index, no build tools), the tests skip with the reason.
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path

import pytest
from pa_integration_helpers import PREF_ROWS, SFT_ROWS, expected_bucket_sft_loss, expected_hdpo_loss
from polyalign_testing.lf import run_lf_train, tiny_train_config

from polyalign_lf.pipeline.recipes import DEEPSPEED_Z3_CONFIG

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
DEEPSPEED_SITE = Path(os.environ.get("POLYALIGN_DEEPSPEED_SITE", REPO / ".deepspeed-site"))


def _deepspeed_env() -> dict[str, str]:
    if not (DEEPSPEED_SITE / "deepspeed" / "__init__.py").is_file():
        failure = DEEPSPEED_SITE.with_name(DEEPSPEED_SITE.name + ".failed")
        reason = failure.read_text(encoding="utf-8").strip()[-400:] if failure.is_file() else "not attempted"
        pytest.skip(f"DeepSpeed could not be installed into {DEEPSPEED_SITE} (`make deepspeed-site`): {reason}")
    path = os.pathsep.join(p for p in (str(DEEPSPEED_SITE), os.environ.get("PYTHONPATH", "")) if p)
    # DS_ACCELERATOR=cpu: DeepSpeed's CPU accelerator, which falls back to gloo without oneCCL.
    return {"FORCE_TORCHRUN": "1", "NPROC_PER_NODE": "2", "PYTHONPATH": path, "DS_ACCELERATOR": "cpu"}


def _zero2_config(tmp_path: Path) -> str:
    """LLaMA-Factory's ZeRO-3 example (the grid's) with ZeRO-2's sharding: optimizer states and gradients."""
    config = copy.deepcopy(DEEPSPEED_Z3_CONFIG)
    config["zero_optimization"] = {
        "stage": 2,
        "allgather_partitions": True,
        "allgather_bucket_size": 5e8,
        "overlap_comm": False,
        "reduce_scatter": True,
        "reduce_bucket_size": 5e8,
        "contiguous_gradients": True,
    }
    path = tmp_path / "ds_z2_config.json"
    path.write_text(json.dumps(config, indent=2), encoding="utf-8")
    return str(path)


def _run_both(config: dict, tmp_path: Path) -> tuple[float, float]:
    """(DDP step-1 loss, ZeRO-2 step-1 loss) of the same 2-rank layout."""
    env = _deepspeed_env()
    ddp = run_lf_train(dict(config, ddp_backend="gloo"), tmp_path / "ddp", env=dict(env, PYTHONPATH=None)).check()
    zero2_config = dict(config, deepspeed=_zero2_config(tmp_path), output_dir=str(tmp_path / "zero2_out"))
    zero2 = run_lf_train(zero2_config, tmp_path / "zero2", env=env).check()
    assert "ZeRO stage 2 optimizer" in zero2.stdout + zero2.stderr, "DeepSpeed's ZeRO-2 engine did not start"
    return ddp.step_loss(1), zero2.step_loss(1)


def test_bucket_sft_zero2_step1_loss_equals_ddp(tiny_model, pa_data, tmp_path):
    tokenized = tmp_path / "tokenized"
    config = tiny_train_config(
        tiny_model, "sft4", pa_data, tmp_path / "out", bucket_weighting=True, max_steps=1,
        gradient_accumulation_steps=2, disable_shuffling=True, tokenized_path=str(tokenized),
    )  # fmt: skip
    ddp_loss, zero2_loss = _run_both(config, tmp_path)
    expected, unweighted = expected_bucket_sft_loss(tiny_model, tokenized, [r["bucket_id"] for r in SFT_ROWS])
    assert abs(expected - unweighted) > 1e-3, "test data must make the weights matter"
    assert zero2_loss == pytest.approx(ddp_loss, rel=2e-5, abs=2e-5)
    assert zero2_loss == pytest.approx(expected, rel=2e-5, abs=2e-5)


def test_hdpo_zero2_step1_loss_equals_ddp(tiny_model, tiny_ref_model, pa_data, tmp_path):
    tokenized = tmp_path / "tokenized"
    beta, lam = 0.5, 0.7
    config = tiny_train_config(
        tiny_model, "pref4", pa_data, tmp_path / "out", stage="hdpo", ref_model=str(tiny_ref_model),
        pref_beta=beta, hdpo_lambda=lam, max_steps=1, gradient_accumulation_steps=2, disable_shuffling=True,
        tokenized_path=str(tokenized),
    )  # fmt: skip
    ddp_loss, zero2_loss = _run_both(config, tmp_path)
    expected, unweighted = expected_hdpo_loss(tiny_model, tiny_ref_model, tokenized, PREF_ROWS, beta, lam)
    assert abs(expected - unweighted) > 1e-3
    assert zero2_loss == pytest.approx(ddp_loss, rel=2e-5, abs=2e-5)
    assert zero2_loss == pytest.approx(expected, rel=2e-5, abs=2e-5)
