"""Step losses of real `llamafactory-cli train` runs equal an independent recomputation.

Two families of checks:

* whole-dataset steps (4 rows, per-device batch 1 with gradient accumulation, and 2 gloo ranks): any
  per-micro-batch renormalization (weights cancel) or a missing GA / world-size factor (loss ×2, ×4) shows;
* partial steps (16 rows, 8 per step): the default ``weight_normalization: dataset`` must give
  Σ_{first 8} w_i x_i / (8 · w̄) with w̄ over all 16 rows — the unbiased estimator, which differs from the
  self-normalized Σ_step w x / Σ_step w exactly where a rare bucket's large weight sits in the step.

The epoch test reads the coefficients the trainer applied (POLYALIGN_LOG_COEFFICIENTS) over one shuffled
epoch of an imbalanced set and checks that every bucket receives exactly N/|B| under ``dataset``.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict

import pytest
from pa_integration_helpers import (
    EPOCH_ROWS,
    EPOCH_SIZES,
    PREF16_ROWS,
    PREF_ROWS,
    SFT16_ROWS,
    SFT_ROWS,
    expected_bucket_sft_loss,
    expected_hdpo_loss,
    naive_bucket_weights,
    naive_hdpo_values,
    naive_sft_losses,
    read_coefficient_logs,
)
from polyalign_testing.lf import run_lf_train, tiny_train_config

pytestmark = pytest.mark.slow

TORCHRUN = {"FORCE_TORCHRUN": "1", "NPROC_PER_NODE": "2"}
HDPO_METRIC_KEYS = {
    f"hdpo/{m}"
    for m in ("weight_mean", "score_gap", "regularizer", "accuracy", "dpo_loss", "probability", "regularizer_active")
}


def _check(run, expected: float, unweighted: float) -> None:
    run.check()
    assert abs(expected - unweighted) > 1e-3, "test data must make the weights matter"
    assert run.step_loss(1) == pytest.approx(expected, rel=2e-5, abs=2e-5), run.tail()


def _step_layout(distributed: bool) -> dict:
    """8 examples per optimizer step: batch 2 × GA 4, or 2 ranks × batch 2 × GA 2."""
    layout = {"per_device_train_batch_size": 2, "gradient_accumulation_steps": 2 if distributed else 4}
    return dict(layout, ddp_backend="gloo") if distributed else layout


@pytest.mark.parametrize("distributed", [False, True], ids=["single", "torchrun2"])
def test_bucket_sft_step1_loss(tiny_model, pa_data, tmp_path, distributed):
    tokenized = tmp_path / "tokenized"
    config = tiny_train_config(
        tiny_model,
        "sft4",
        pa_data,
        tmp_path / "out",
        bucket_weighting=True,
        max_steps=1,
        gradient_accumulation_steps=2 if distributed else 4,
        disable_shuffling=True,
        tokenized_path=str(tokenized),
        **({"ddp_backend": "gloo"} if distributed else {}),
    )
    run = run_lf_train(config, tmp_path, env=TORCHRUN if distributed else None)
    run.check()
    expected, unweighted = expected_bucket_sft_loss(tiny_model, tokenized, [r["bucket_id"] for r in SFT_ROWS])
    _check(run, expected, unweighted)
    _check_model_card(tmp_path / "out", "bucket-sft", "| `bucket_weighting` | `true` |")
    assert (
        json.loads((tmp_path / "out" / "polyalign_config.json").read_text())["polyalign_args"]["bucket_weighting"]
        is True
    )


def _check_model_card(out, method, setting):
    """The card LLaMA-Factory writes names the method: tags `polyalign` and the method, the settings, the paper."""
    import yaml

    card = (out / "README.md").read_text()
    meta = yaml.safe_load(card.split("---\n")[1])
    assert {"llama-factory", "polyalign", method} <= set(meta["tags"]), meta
    assert card.count("<!-- polyalign-lf -->") == 1 and setting in card and "arxiv.org/abs/2606.13227" in card


@pytest.mark.parametrize("distributed", [False, True], ids=["single", "torchrun2"])
def test_hdpo_step1_loss(tiny_model, tiny_ref_model, pa_data, tmp_path, distributed):
    tokenized = tmp_path / "tokenized"
    beta, lam = 0.5, 0.7
    config = tiny_train_config(
        tiny_model,
        "pref4",
        pa_data,
        tmp_path / "out",
        stage="hdpo",
        ref_model=str(tiny_ref_model),
        pref_beta=beta,
        hdpo_lambda=lam,
        max_steps=1,
        gradient_accumulation_steps=2 if distributed else 4,
        disable_shuffling=True,
        tokenized_path=str(tokenized),
        **({"ddp_backend": "gloo"} if distributed else {}),
    )
    # The distributed run uses the command-line form (`--stage hdpo ...`), the single one the YAML form.
    run = run_lf_train(config, tmp_path, env=TORCHRUN if distributed else None, cli_form=distributed)
    run.check()
    expected, unweighted = expected_hdpo_loss(tiny_model, tiny_ref_model, tokenized, PREF_ROWS, beta, lam)
    _check(run, expected, unweighted)
    logged = run.log_history[0]
    assert {k for k in logged if k.startswith("hdpo/")} == HDPO_METRIC_KEYS
    assert logged["hdpo/weight_mean"] == pytest.approx(sum(r["weight"] for r in PREF_ROWS) / 4, rel=1e-6)
    assert 0.0 <= logged["hdpo/regularizer_active"] <= 1.0
    config_json = (tmp_path / "out" / "polyalign_config.json").read_text()
    assert '"stage": "hdpo"' in config_json
    _check_model_card(tmp_path / "out", "hdpo", f"| `hdpo_lambda` | `{lam}` |")


# ------------------------------------------------------------------ partial steps: the unbiased estimator


def _dataset_estimate(values: list[float], weights: list[float], m: int) -> tuple[float, float]:
    """(Σ_{first m} w x / (m · w̄), the self-normalized Σ_{first m} w x / Σ_{first m} w)."""
    mean_weight = sum(weights) / len(weights)
    numerator = sum(w * x for w, x in zip(weights[:m], values[:m]))
    return numerator / (m * mean_weight), numerator / sum(weights[:m])


@pytest.mark.parametrize("distributed", [False, True], ids=["single", "torchrun2"])
def test_bucket_sft_partial_step_is_unbiased(tiny_model, pa_data, tmp_path, distributed):
    tokenized = tmp_path / "tokenized"
    config = tiny_train_config(
        tiny_model,
        "sft16",
        pa_data,
        tmp_path / "out",
        bucket_weighting=True,
        max_steps=1,
        disable_shuffling=True,
        tokenized_path=str(tokenized),
        **_step_layout(distributed),
    )
    run = run_lf_train(config, tmp_path, env=TORCHRUN if distributed else None).check()
    losses = naive_sft_losses(tiny_model, tokenized)
    weights = naive_bucket_weights([r["bucket_id"] for r in SFT16_ROWS])
    assert sum(weights) / len(weights) == pytest.approx(1.0)  # Bucket-SFT weights have mean 1 exactly
    expected, self_normalized = _dataset_estimate(losses, weights, 8)
    assert abs(expected - self_normalized) > 1e-2, "the 1-row bucket in the first step must make them differ"
    assert run.step_loss(1) == pytest.approx(expected, rel=2e-5, abs=2e-5), run.tail()


@pytest.mark.parametrize("distributed", [False, True], ids=["single", "torchrun2"])
def test_hdpo_partial_step_is_unbiased(tiny_model, tiny_ref_model, pa_data, tmp_path, distributed):
    tokenized = tmp_path / "tokenized"
    beta, lam = 0.5, 0.7
    config = tiny_train_config(
        tiny_model,
        "pref16",
        pa_data,
        tmp_path / "out",
        stage="hdpo",
        ref_model=str(tiny_ref_model),
        pref_beta=beta,
        hdpo_lambda=lam,
        max_steps=1,
        disable_shuffling=True,
        tokenized_path=str(tokenized),
        **_step_layout(distributed),
    )
    run = run_lf_train(config, tmp_path, env=TORCHRUN if distributed else None, cli_form=distributed).check()
    values = naive_hdpo_values(tiny_model, tiny_ref_model, tokenized, PREF16_ROWS, beta, lam)
    expected, self_normalized = _dataset_estimate(values, [r["weight"] for r in PREF16_ROWS], 8)
    assert abs(expected - self_normalized) > 1e-2
    assert run.step_loss(1) == pytest.approx(expected, rel=2e-5, abs=2e-5), run.tail()


def test_uniform_weighting_is_the_per_example_mean(tiny_model, pa_data, tmp_path):
    """`bucket_weighting: uniform`: Bucket-SFT's per-example token-mean loss with all weights 1."""
    tokenized = tmp_path / "tokenized"
    config = tiny_train_config(
        tiny_model,
        "sft16",
        pa_data,
        tmp_path / "out",
        bucket_weighting="uniform",
        max_steps=1,
        disable_shuffling=True,
        tokenized_path=str(tokenized),
        **_step_layout(False),
    )
    run = run_lf_train(config, tmp_path).check()
    losses = naive_sft_losses(tiny_model, tokenized)
    assert run.step_loss(1) == pytest.approx(sum(losses[:8]) / 8, rel=2e-5, abs=2e-5), run.tail()


# ------------------------------------------------------------------ one epoch: every bucket's mass


def _epoch_masses(rows: list[dict]) -> dict[int, float]:
    """Σ over the epoch of m_step · c_i per bucket: the gradient mass each bucket received (an example's
    mass in a step of m examples is m · c_i; with equal weights it is 1)."""
    masses: dict[int, float] = defaultdict(float)
    for row in rows:
        for bucket, coefficient in zip(row["bucket"], row["coefficient"]):
            masses[bucket] += row["m_step"] * coefficient
    return dict(masses)


@pytest.mark.parametrize("normalization", ["dataset", "step"])
def test_epoch_bucket_mass(tiny_model, pa_data, tmp_path, normalization):
    n, num_buckets = len(EPOCH_ROWS), len(EPOCH_SIZES)
    prefix = tmp_path / "coefficients"
    config = tiny_train_config(
        tiny_model,
        "sft_epoch",
        pa_data,
        tmp_path / "out",
        bucket_weighting=True,
        weight_normalization=normalization,
        max_steps=None,
        num_train_epochs=1,
        per_device_train_batch_size=2,
        gradient_accumulation_steps=4,
        logging_steps=1,
    )
    run = run_lf_train(config, tmp_path, env={"POLYALIGN_LOG_COEFFICIENTS": str(prefix)}).check()
    rows = read_coefficient_logs(prefix)
    assert sorted(i for row in rows for i in row["index"]) == list(range(n)), "one epoch sees every row once"
    assert max(r["step"] for r in rows) == n // 8 and all(r["m_step"] == 8 for r in rows)
    masses = _epoch_masses(rows)
    assert len(masses) == num_buckets
    ideal = n / num_buckets
    shares = {b: m / ideal for b, m in masses.items()}
    print(f"{normalization}: epoch mass share of N/|B| per bucket: {shares}")  # reported with -s
    if normalization == "dataset":
        for mass in masses.values():
            assert mass == pytest.approx(ideal, rel=1e-6)
    else:  # the self-normalized estimator: the 1-row bucket gets far less than its share
        smallest = min(masses, key=lambda b: sum(1 for r in rows for x in r["bucket"] if x == b))
        assert shares[smallest] < 0.9
        assert math.fsum(masses.values()) == pytest.approx(n, rel=1e-6)  # step normalization preserves total
    assert run.step_loss(1) > 0
