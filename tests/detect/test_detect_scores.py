"""Detector statistics against hand-computed values and a naive per-position implementation."""

from __future__ import annotations

import math
import random

import pytest
import torch

from polyalign_lf.detect.joint import agg_from_metrics, human_likeness, joint_score
from polyalign_lf.detect.scores import (binoculars_score, cross_perplexity, fast_detectgpt_criterion,
                                        fast_detectgpt_probability, token_log_perplexity)


def test_two_token_case_by_hand():
    # Sequence [0, 1]; at position 0 the observer says (.5, .5), the performer (.25, .75) (logit ln 3).
    ids = torch.tensor([[0, 1]])
    mask = torch.ones_like(ids)
    observer = torch.tensor([[[0.0, 0.0], [9.0, 9.0]]])
    performer = torch.tensor([[[0.0, math.log(3.0)], [5.0, -5.0]]])  # the last position predicts nothing
    log_ppl = -math.log(0.75)  # 0.287682
    x_ppl = -(0.5 * math.log(0.25) + 0.5 * math.log(0.75))  # 0.836988
    assert token_log_perplexity(performer, ids, mask).item() == pytest.approx(0.287682, abs=1e-6)
    assert cross_perplexity(observer, performer, ids, mask).item() == pytest.approx(0.836988, abs=1e-6)
    assert binoculars_score(observer, performer, ids, mask).item() == pytest.approx(log_ppl / x_ppl, rel=1e-6)
    assert log_ppl / x_ppl == pytest.approx(0.343711, abs=1e-6)
    # Fast-DetectGPT with sampling = observer, scoring = performer: for a two-point distribution with equal
    # weights, (ℓ(x) − μ)/σ is exactly 1.
    assert fast_detectgpt_criterion(observer, performer, ids, mask).item() == pytest.approx(1.0, abs=1e-5)


def _naive(sampling, scoring, ids, mask):
    """Per-sequence, per-position loops with math (no torch vector ops): (log_ppl, x_ppl, binoculars, fdg)."""
    out = []
    for b in range(ids.shape[0]):
        nll, cross, ll, mu, var, n = 0.0, 0.0, 0.0, 0.0, 0.0, 0
        for t in range(ids.shape[1] - 1):
            if not (mask[b, t] and mask[b, t + 1]):
                continue
            q = [math.exp(x) for x in sampling[b, t].tolist()]
            q = [x / sum(q) for x in q]
            z = math.log(sum(math.exp(x) for x in scoring[b, t].tolist()))
            logp = [x - z for x in scoring[b, t].tolist()]
            target = int(ids[b, t + 1])
            nll -= logp[target]
            cross -= sum(qi * li for qi, li in zip(q, logp))
            m = sum(qi * li for qi, li in zip(q, logp))
            ll += logp[target]
            mu += m
            var += sum(qi * li * li for qi, li in zip(q, logp)) - m * m
            n += 1
        out.append((nll / n, cross / n, (nll / n) / (cross / n), (ll - mu) / math.sqrt(var)))
    return out


def test_batched_padded_matches_naive():
    gen = torch.Generator().manual_seed(0)
    ids = torch.randint(0, 7, (3, 6), generator=gen)
    mask = torch.tensor([[1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0], [0, 0, 1, 1, 1, 1]])  # right and left padding
    observer = torch.randn(3, 6, 7, generator=gen) * 2
    performer = torch.randn(3, 6, 7, generator=gen) * 2
    expected = _naive(observer, performer, ids, mask)
    got = (token_log_perplexity(performer, ids, mask), cross_perplexity(observer, performer, ids, mask),
           binoculars_score(observer, performer, ids, mask), fast_detectgpt_criterion(observer, performer, ids, mask))
    for b in range(3):
        for k in range(4):
            assert got[k][b].item() == pytest.approx(expected[b][k], rel=1e-5, abs=1e-6)


def test_fast_detectgpt_probability_and_table4():
    mu0, s0, mu1, s1 = 0.0, 1.0, 2.0, 1.0
    assert fast_detectgpt_probability(1.0, mu0, s0, mu1, s1) == pytest.approx(0.5)  # equal distance, equal σ
    pdf = lambda x, m, s: math.exp(-0.5 * ((x - m) / s) ** 2) / s  # noqa: E731
    expected = pdf(3.0, mu1, s1) / (pdf(3.0, mu0, s0) + pdf(3.0, mu1, s1))
    assert fast_detectgpt_probability(3.0, mu0, s0, mu1, s1) == pytest.approx(expected)
    # Table 4, Qwen2.5-1.5B English Bucket-SFT: Agg 0.643, AI rates 38.1 / 15.1 / 93.2 → Joint 57.0.
    h = human_likeness([0.381, 0.151, 0.932])
    assert h == pytest.approx(1 - (0.381 + 0.151 + 0.932) / 3)
    assert joint_score(0.643, h) == pytest.approx(57.0, abs=0.05)
    assert joint_score(0.0, 0.0) == 0.0
    with pytest.raises(ValueError):
        joint_score(56.7, h)  # a percentage where a fraction belongs is an error, not a number
    assert agg_from_metrics({"agg": 0.5}) == (0.5, None)
    assert agg_from_metrics({"agg": {"value": 0.25}}) == (0.25, None)
    assert agg_from_metrics({"agg": {"skipped": True, "reason": "few"}})[0] is None


def test_calibrated_rule_hits_target_fpr():
    from polyalign_lf.detect.runner import calibrated_rule

    rng = random.Random(0)
    human = [rng.gauss(1.0, 0.1) for _ in range(200)]  # Binoculars: human texts score high
    rule = calibrated_rule("binoculars", human, 0.05)
    rate = sum(rule.is_ai(x) for x in human) / len(human)
    assert rate <= 0.05 and rate >= 0.04
    assert rule.is_ai(0.5) and not rule.is_ai(1.5)
