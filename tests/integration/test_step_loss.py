"""Step-1 losses of real `llamafactory-cli train` runs equal an independent recomputation.

Per-device batch 1 with gradient accumulation (and 2 gloo ranks) so that any per-micro-batch
renormalization (weights cancel) or a missing GA / world-size factor (loss ×2, ×4) shows up. Every run
covers all 4 examples in its first optimizer step, so the expected value is the step-global objective.
"""

from __future__ import annotations

import pytest

from polyalign_lf.testing.lf import run_lf_train, tiny_train_config

from pa_integration_helpers import PREF_ROWS, SFT_ROWS, expected_bucket_sft_loss, expected_hdpo_loss

pytestmark = pytest.mark.slow

TORCHRUN = {"FORCE_TORCHRUN": "1", "NPROC_PER_NODE": "2"}


def _check(run, expected: float, unweighted: float) -> None:
    run.check()
    assert abs(expected - unweighted) > 1e-3, "test data must make the weights matter"
    assert run.step_loss(1) == pytest.approx(expected, rel=2e-5, abs=2e-5), run.tail()


@pytest.mark.parametrize("distributed", [False, True], ids=["single", "torchrun2"])
def test_bucket_sft_step1_loss(tiny_model, pa_data, tmp_path, distributed):
    tokenized = tmp_path / "tokenized"
    config = tiny_train_config(
        tiny_model, "sft4", pa_data, tmp_path / "out", bucket_weighting=True, max_steps=1,
        gradient_accumulation_steps=2 if distributed else 4, disable_shuffling=True, tokenized_path=str(tokenized),
        **({"ddp_backend": "gloo"} if distributed else {}),
    )
    run = run_lf_train(config, tmp_path, env=TORCHRUN if distributed else None)
    run.check()
    expected, unweighted = expected_bucket_sft_loss(tiny_model, tokenized, [r["bucket_id"] for r in SFT_ROWS])
    _check(run, expected, unweighted)


@pytest.mark.parametrize("distributed", [False, True], ids=["single", "torchrun2"])
def test_hdpo_step1_loss(tiny_model, tiny_ref_model, pa_data, tmp_path, distributed):
    tokenized = tmp_path / "tokenized"
    beta, lam = 0.5, 0.7
    config = tiny_train_config(
        tiny_model, "pref4", pa_data, tmp_path / "out", stage="hdpo", ref_model=str(tiny_ref_model),
        pref_beta=beta, hdpo_lambda=lam, max_steps=1, gradient_accumulation_steps=2 if distributed else 4,
        disable_shuffling=True, tokenized_path=str(tokenized), **({"ddp_backend": "gloo"} if distributed else {}),
    )
    # The distributed run uses the command-line form (`--stage hdpo ...`), the single one the YAML form.
    run = run_lf_train(config, tmp_path, env=TORCHRUN if distributed else None, cli_form=distributed)
    run.check()
    expected, unweighted = expected_hdpo_loss(tiny_model, tiny_ref_model, tokenized, PREF_ROWS, beta, lam)
    _check(run, expected, unweighted)
    logged = run.log_history[0]
    hdpo_keys = {k for k in logged if k.startswith("hdpo/")}
    assert hdpo_keys == {f"hdpo/{m}" for m in ("weight_mean", "score_gap", "regularizer", "accuracy", "dpo_loss", "probability")}
    assert logged["hdpo/weight_mean"] == pytest.approx(sum(r["weight"] for r in PREF_ROWS) / 4, rel=1e-6)
    config_json = (tmp_path / "out" / "polyalign_config.json").read_text()
    assert '"stage": "hdpo"' in config_json
