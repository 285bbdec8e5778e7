"""Real `llamafactory-cli train` runs: the evaluation loss is the training objective on the evaluation set
whatever the eval batch size; a step clipped while holding a heavily weighted example is logged and the mass
clipping removed is reported exactly; a saved `tokenized_path` is never reused by a run whose PolyAlign
settings would have given other weights."""

from __future__ import annotations

import json
from collections import defaultdict

import pytest
from pa_integration_helpers import (
    SFT16_ROWS,
    naive_bucket_weights,
    naive_sft_losses,
    read_coefficient_logs,
)
from polyalign_testing.lf import run_lf_train, tiny_train_config

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("eval_batch_size", [1, 3])
def test_eval_loss_is_the_dataset_estimator_for_any_eval_batch_size(tiny_model, pa_data, tmp_path, eval_batch_size):
    tokenized = tmp_path / "tokenized"
    out = tmp_path / "out"
    config = tiny_train_config(
        tiny_model,
        None,
        pa_data,
        out,
        do_train=False,
        do_eval=True,
        eval_dataset="sft16",
        bucket_weighting=True,
        per_device_eval_batch_size=eval_batch_size,
        tokenized_path=str(tokenized),
    )
    run = run_lf_train(config, tmp_path).check()
    metrics = json.loads((out / "all_results.json").read_text())
    losses = naive_sft_losses(tiny_model, tokenized, "validation")
    assert len(losses) == 16  # 3 does not divide 16: the Trainer's own mean would over-count the last batch
    weights = naive_bucket_weights([r["bucket_id"] for r in SFT16_ROWS])
    weighted = sum(w * x for w, x in zip(weights, losses)) / sum(weights)
    plain = sum(losses) / len(losses)
    assert abs(weighted - plain) > 1e-3, "test data must make the weights matter"
    assert metrics["eval_loss"] == pytest.approx(weighted, rel=2e-5, abs=2e-5), run.tail()
    assert metrics["eval_plain_loss"] == pytest.approx(plain, rel=2e-5, abs=2e-5)


def test_clipped_weighted_steps_are_logged_and_the_removed_mass_reported(tiny_model, pa_data, tmp_path):
    """Weighting without sampling, clipped at a tiny norm: every step is clipped. The report's per-bucket mass
    after clipping equals Σ_steps (max_grad_norm / ‖g_step‖) · Σ_{i∈step, b} m_step c_i, recomputed from the
    logged grad norms and the coefficients the trainer applied."""
    out = tmp_path / "out"
    prefix = tmp_path / "coefficients"
    max_norm = 1e-3
    config = tiny_train_config(
        tiny_model,
        "sft16",
        pa_data,
        out,
        bucket_weighting=True,
        max_grad_norm=max_norm,
        max_steps=4,
        per_device_train_batch_size=2,
        gradient_accumulation_steps=2,
    )
    run = run_lf_train(config, tmp_path, env={"POLYALIGN_LOG_COEFFICIENTS": str(prefix)}).check()
    assert "bucket_weighting without bucket_sampling: gradient clipping" in run.stderr
    logs = run.train_logs()
    assert len(logs) == 4
    norms = {row["step"]: row["grad_norm"] for row in logs}
    coefficients = read_coefficient_logs(prefix)
    heavy_steps = {row["step"] for row in coefficients if any(w > 1 + 1e-9 for w in row["weight"])}
    assert heavy_steps, "test data must put a rare bucket's example in some step"
    assert logs[-1]["pa/clipped_weighted_steps"] == len(heavy_steps)
    before, after = defaultdict(float), defaultdict(float)
    for row in coefficients:
        factor = min(1.0, max_norm / norms[row["step"]])
        for bucket, c in zip(row["bucket"], row["coefficient"]):
            before[bucket] += c * row["m_step"]
            after[bucket] += factor * c * row["m_step"]
    report = json.loads((out / "polyalign_mass.json").read_text())
    assert report["clipped_steps"] == report["steps"] == 4
    assert report["clipped_weighted_steps"] == len(heavy_steps)
    assert sorted(report["mass_before"].values()) == pytest.approx(sorted(v for v in before.values() if v))
    assert sorted(v for v in report["mass_after"].values() if v) == pytest.approx(
        sorted(v for v in after.values() if v)
    )
    assert 0 < report["mass_removed"] < 1
    assert "gradient clipping removed" in run.stderr and report["min_share"] < 1


def test_tokenized_path_built_with_other_weights_is_refused(tiny_model, pa_data, tmp_path):
    tokenized = tmp_path / "tokenized"

    def train(weighting, out):
        config = tiny_train_config(
            tiny_model,
            "sft4",
            pa_data,
            tmp_path / out,
            bucket_weighting=weighting,
            max_steps=1,
            tokenized_path=str(tokenized),
        )
        return run_lf_train(config, tmp_path / out)

    train("uniform", "uniform").check()
    assert (tokenized / "polyalign_cache.json").is_file()
    refused = train(True, "weighted")
    assert refused.returncode == 2
    assert "bucket_weighting: cache 'uniform', this run 'true'" in refused.stderr
    assert "Traceback" not in refused.stderr and "tokenized_path" in refused.stderr
    train("uniform", "again").check()  # the same settings reuse it
