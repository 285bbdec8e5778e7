"""Critic: Theorem 4's loss, the synthetic done-when target, collapse refusal, bundles through the interface."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from polyalign_lf.critic import load_critic
from polyalign_lf.critic.support_distance import SupportDistanceCritic
from polyalign_lf.critic.train import collapse_check, critic_loss, heldout_mask, ranking_accuracy, ranking_pairs
from polyalign_lf.errors import ConfigError, InputError


def test_theorem4_loss_hand_computed():
    pred, target = torch.tensor([0.5, 2.0]), torch.tensor([1.0, 1.0])
    chosen, rejected = torch.tensor([0.0, 1.0]), torch.tensor([0.05, 3.0])
    # reg = (0.5 + 1.0)/2 = 0.75; rank = ([0.1 - 0.05 + 0]+ + [0.1 - 3 + 1]+)/2 = 0.025
    loss = critic_loss(pred, target, chosen, rejected, kappa=0.1, lambda_reg=2.0, lambda_rank=4.0)
    assert loss.item() == pytest.approx(2.0 * 0.75 + 4.0 * 0.025)
    # zero loss <=> exact calibration and margin-consistent ranking (Theorem 4)
    assert critic_loss(target, target, torch.tensor([0.0]), torch.tensor([0.1]), kappa=0.1).item() == 0
    assert critic_loss(target, target, torch.tensor([0.0]), torch.tensor([0.09]), kappa=0.1).item() > 0
    assert critic_loss(target, target, torch.zeros(0), torch.zeros(0)).item() == 0  # no pairs: rank term 0


def test_pairs_heldout_and_accuracy_helpers():
    pairs = ranking_pairs(["a", "a", "a", "b"], np.array([0.0, 1.0, 1.01, 5.0]), tie_tolerance=0.05)
    assert sorted(map(tuple, pairs.tolist())) == [(0, 1), (0, 2)]  # 1 vs 2 is a tie; b has one response
    assert ranking_accuracy(np.array([0.0, 2.0, 1.0, 0.0]), pairs) == 1.0
    m = heldout_mask([f"id{i}" for i in range(2000)], 0.25)
    assert 0.2 < m.mean() < 0.3 and np.array_equal(m, heldout_mask([f"id{i}" for i in range(2000)], 0.25))
    with pytest.raises(ConfigError, match="collapsed"):
        collapse_check(np.full(10, 0.0313))


def test_mlp_critic_meets_done_when_target_on_synthetic_corpus(trained_mlp, synthetic, tmp_path):
    critic, data = trained_mlp
    records, outputs, *_ = synthetic
    heldout = critic.report["heldout"]
    assert heldout["pairs"] >= 50 and heldout["ranking_accuracy"] >= 0.95, heldout
    assert heldout["spearman_with_target"] > 0.6 and heldout["score_std"] > 0.1
    # true support (known by construction): on unseen val/test prompts, in-support outputs beat off-support ones
    ins, offs, buckets = [], [], []
    for r in records:
        if r["split"] == "train":
            continue
        by_kind = {flag: text for text, flag in outputs[r["id"]]}
        ins.append(by_kind[True])
        offs.append(by_kind[False])
        buckets.append(r["bucket_id"])
    s_in, s_off = np.array(critic.score(ins, buckets)), np.array(critic.score(offs, buckets))
    assert np.mean(s_in < s_off) >= 0.95 and np.std(np.concatenate([s_in, s_off])) > 0.1
    # the bundle is self-contained and loads through the interface with identical scores
    critic.save(tmp_path / "mlp")
    files = {p.name for p in (tmp_path / "mlp").iterdir()}
    assert {"critic_config.json", "bucket_vocab.json", "references.json", "critic.pt", "training_report.json"} <= files
    loaded = load_critic(tmp_path / "mlp")
    np.testing.assert_allclose(loaded.score(ins[:20], buckets[:20]), s_in[:20], rtol=1e-5, atol=1e-6)


def test_support_distance_bundle_scores_eq4(synthetic, tmp_path):
    records, outputs, human, model, refs = synthetic
    SupportDistanceCritic(refs).save(tmp_path / "sd")
    critic = load_critic(tmp_path / "sd")
    texts = [r["human_answer"] for r in records[:30]]
    buckets = [r["bucket_id"] for r in records[:30]]
    np.testing.assert_allclose(critic.score(texts, buckets), refs.distance(human.matrix[:30], buckets), atol=1e-6)
    # a bundle from another feature schema refuses to load
    cfg = json.loads((tmp_path / "sd" / "critic_config.json").read_text())
    cfg["feature_schema_version"] = "pa-ling-0.0"
    (tmp_path / "sd" / "critic_config.json").write_text(json.dumps(cfg))
    with pytest.raises(InputError, match="feature schema"):
        load_critic(tmp_path / "sd")


def test_refuses_constant_targets(synthetic):
    from polyalign_lf.critic.mlp import MLPCritic
    from polyalign_lf.critic.train import critic_data_from_tables

    records, outputs, human, model, refs = synthetic
    data = critic_data_from_tables([human], refs)
    data.targets[:] = 0.0  # human answers only, all inside their support: nothing to learn
    with pytest.raises(ConfigError, match="constant"):
        MLPCritic.train(refs, data)


@pytest.mark.slow
def test_encoder_critic_with_bundled_minilm(synthetic, tmp_path):
    from polyalign_lf.critic.encoder import EncoderCritic
    from polyalign_lf.critic.mlp import MLPCriticConfig
    from polyalign_lf.critic.train import heldout_mask

    records, outputs, human, model, refs = synthetic
    en = [r for r in records if r["language"] == "en" and r["split"] == "train"][:120]
    texts = [r["human_answer"] for r in en] + [outputs[r["id"]][0][0] for r in en]
    buckets = [r["bucket_id"] for r in en] * 2
    groups = [r["id"] for r in en] * 2
    critic = EncoderCritic.train(
        refs,
        texts,
        buckets,
        groups,
        heldout_mask(groups, 0.25),
        "bundled-minilm",
        MLPCriticConfig(batch_size=32, min_steps=120),
    )
    held = critic.report["heldout"]
    # a frozen sentence encoder sees content more than surface form: weaker than the feature MLP, but it learns
    assert held["ranking_accuracy"] >= 0.7 and held["score_std"] > 0.01, held
    critic.save(tmp_path / "enc")
    loaded = load_critic(tmp_path / "enc")
    np.testing.assert_allclose(
        loaded.score(texts[:5], buckets[:5]), critic.score(texts[:5], buckets[:5]), rtol=1e-5, atol=1e-6
    )


def test_mlp_scores_an_empty_answer_by_its_exact_support_distance(trained_mlp, synthetic, monkeypatch):
    """An MLP extrapolates freely far from its training data; a net that calls everything perfectly human
    (score 0) must still not make an empty answer a winner."""
    critic, _ = trained_mlp
    bucket = synthetic[0][0]["bucket_id"]
    monkeypatch.setattr(critic, "score_features", lambda matrix, bucket_ids: np.zeros(len(bucket_ids)))
    scores = critic.score(["", "   ", "A real answer."], [bucket] * 3)
    exact = SupportDistanceCritic(critic.references).score(["", "   "], [bucket] * 2)
    assert scores[2] == 0.0 and scores[:2] == pytest.approx(exact) and min(exact) > 0.5


def test_a_critic_with_nan_weights_is_refused_at_load(trained_mlp, tmp_path):
    """A corrupted or diverged bundle would score every text NaN, and the NaN scores would train HDPO."""
    import torch

    from polyalign_lf.critic.interface import load_critic
    from polyalign_lf.errors import InputError

    critic, _ = trained_mlp
    bundle = tmp_path / "critic"
    critic.save(bundle)
    load_critic(bundle)  # the healthy bundle loads
    state = torch.load(bundle / "critic.pt", weights_only=True)
    name = next(k for k, v in state.items() if torch.is_floating_point(v))
    state[name] = state[name].clone().fill_(float("nan"))
    torch.save(state, bundle / "critic.pt")
    with pytest.raises(InputError, match=f"NaN or infinite values \\({name}\\)"):
        load_critic(bundle)
