"""Detector statistics against hand-computed values and a naive per-position implementation."""

from __future__ import annotations

import math
import random

import pytest
import torch

from polyalign_lf.detect.joint import agg_from_metrics, human_likeness, joint_score
from polyalign_lf.detect.scores import (
    binoculars_score,
    cross_perplexity,
    fast_detectgpt_criterion,
    fast_detectgpt_probability,
    token_log_perplexity,
)


def test_two_token_case_by_hand():
    # Sequence [0, 1]; at position 0 the observer says (.5, .5), the performer (.25, .75) (logit ln 3); at
    # position 1 (after the last token) the observer says (.5, .5), the performer logits (5, −5).
    ids = torch.tensor([[0, 1]])
    mask = torch.ones_like(ids)
    observer = torch.tensor([[[0.0, 0.0], [9.0, 9.0]]])
    performer = torch.tensor([[[0.0, math.log(3.0)], [5.0, -5.0]]])
    log_ppl = -math.log(0.75)  # 0.287682: one next-token prediction
    cross_0 = -(0.5 * math.log(0.25) + 0.5 * math.log(0.75))  # 0.836988
    log_z = math.log(math.exp(5.0) + math.exp(-5.0))
    cross_1 = -(0.5 * (5.0 - log_z) + 0.5 * (-5.0 - log_z))  # 5.0000454: the last position counts too
    x_ppl = (cross_0 + cross_1) / 2
    assert token_log_perplexity(performer, ids, mask).item() == pytest.approx(0.287682, abs=1e-6)
    assert cross_perplexity(observer, performer, ids, mask).item() == pytest.approx(x_ppl, abs=1e-6)
    assert x_ppl == pytest.approx(2.9185167, abs=1e-6)
    assert binoculars_score(observer, performer, ids, mask).item() == pytest.approx(log_ppl / x_ppl, rel=1e-6)
    # Fast-DetectGPT with sampling = observer, scoring = performer: for a two-point distribution with equal
    # weights, (ℓ(x) − μ)/σ is exactly 1.
    assert fast_detectgpt_criterion(observer, performer, ids, mask).item() == pytest.approx(1.0, abs=1e-5)


def _naive(sampling, scoring, ids, mask):
    """Per-sequence, per-position loops with math (no torch vector ops): (log_ppl, x_ppl, binoculars, fdg).

    Positions as the official implementations take them: log PPL and Fast-DetectGPT over the next-token
    predictions (t and t+1 both real tokens), X-PPL over every real token position t."""
    out = []
    for b in range(ids.shape[0]):
        nll, cross, ll, mu, var, n, n_cross = 0.0, 0.0, 0.0, 0.0, 0.0, 0, 0
        for t in range(ids.shape[1]):
            if not mask[b, t]:
                continue
            q = [math.exp(x) for x in sampling[b, t].tolist()]
            q = [x / sum(q) for x in q]
            z = math.log(sum(math.exp(x) for x in scoring[b, t].tolist()))
            logp = [x - z for x in scoring[b, t].tolist()]
            cross -= sum(qi * li for qi, li in zip(q, logp))
            n_cross += 1
            if t + 1 >= ids.shape[1] or not mask[b, t + 1]:
                continue
            target = int(ids[b, t + 1])
            nll -= logp[target]
            m = sum(qi * li for qi, li in zip(q, logp))
            ll += logp[target]
            mu += m
            var += sum(qi * li * li for qi, li in zip(q, logp)) - m * m
            n += 1
        out.append((nll / n, cross / n_cross, (nll / n) / (cross / n_cross), (ll - mu) / math.sqrt(var)))
    return out


def test_batched_padded_matches_naive():
    gen = torch.Generator().manual_seed(0)
    ids = torch.randint(0, 7, (3, 6), generator=gen)
    mask = torch.tensor([[1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0], [0, 0, 1, 1, 1, 1]])  # right and left padding
    observer = torch.randn(3, 6, 7, generator=gen) * 2
    performer = torch.randn(3, 6, 7, generator=gen) * 2
    expected = _naive(observer, performer, ids, mask)
    got = (
        token_log_perplexity(performer, ids, mask),
        cross_perplexity(observer, performer, ids, mask),
        binoculars_score(observer, performer, ids, mask),
        fast_detectgpt_criterion(observer, performer, ids, mask),
    )
    for b in range(3):
        for k in range(4):
            assert got[k][b].item() == pytest.approx(expected[b][k], rel=1e-5, abs=1e-6)


def test_binoculars_differs_from_the_t_minus_1_average():
    """At T = 12 averaging X-PPL over T−1 positions (the earlier behaviour) differs by about 2%: the
    implementation must use all T, as the official one does."""
    gen = torch.Generator().manual_seed(3)
    ids = torch.randint(0, 9, (1, 12), generator=gen)
    mask = torch.ones_like(ids)
    observer, performer = torch.randn(1, 12, 9, generator=gen) * 2, torch.randn(1, 12, 9, generator=gen) * 2
    cross = -(torch.softmax(observer, -1) * torch.log_softmax(performer, -1)).sum(-1)[0]
    assert cross_perplexity(observer, performer, ids, mask).item() == pytest.approx(cross.mean().item(), rel=1e-6)
    assert cross_perplexity(observer, performer, ids, mask).item() != pytest.approx(cross[:-1].mean().item(), rel=1e-3)


def _official_fast_detectgpt_analytic(logits_ref, logits_score, labels):
    """The published analytic sampling discrepancy, one text at a time, written from its formula: the
    scoring model's log-likelihood of the text minus its expectation under the sampling model, over the
    square root of the summed per-position variances (logits of positions 0..T−2, labels 1..T−1)."""
    lprobs = torch.log_softmax(logits_score.double(), dim=-1)
    probs = torch.softmax(logits_ref.double(), dim=-1)
    ll = lprobs.gather(-1, labels.unsqueeze(-1)).squeeze(-1).sum(-1)
    mean = (probs * lprobs).sum(-1)
    var = (probs * lprobs.square()).sum(-1) - mean.square()
    return ((ll - mean.sum(-1)) / var.sum(-1).sqrt()).item()


def test_fast_detectgpt_matches_the_official_analytic_formula():
    gen = torch.Generator().manual_seed(7)
    for length in (3, 8, 20):
        ids = torch.randint(0, 11, (1, length), generator=gen)
        ref, score = torch.randn(1, length, 11, generator=gen) * 3, torch.randn(1, length, 11, generator=gen) * 3
        expected = _official_fast_detectgpt_analytic(ref[:, :-1], score[:, :-1], ids[:, 1:])
        got = fast_detectgpt_criterion(ref, score, ids, torch.ones_like(ids)).item()
        assert got == pytest.approx(expected, rel=1e-5, abs=1e-6)


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


# Table 4 of the paper: (Agg, Binoculars %, Fast-DetectGPT %, RADAR %, Joint) per model × method × language.
TABLE4 = """0.235 62.2 44.5 98.5 27.0 0.293 28.1 27.2 58.1 39.8
0.371 23.6 12.8 85.4 45.7 0.529 24.1 26.4 49.8 58.9
0.527 53.6 27.1 96.8 46.0 0.184 40.8 38.3 59.9 27.4
0.643 38.1 15.1 93.2 57.0 0.684 25.5 28.4 60.0 65.1
0.639 47.2 26.1 96.0 51.8 0.694 37.8 36.7 35.3 66.3
0.048 55.3 35.4 96.2 8.5 0.113 35.3 35.2 60.0 18.8
0.138 25.8 14.4 84.9 22.3 0.489 22.7 27.5 54.7 55.8
0.043 54.3 31.0 95.7 7.8 0.058 37.0 43.9 34.9 10.6
0.595 23.8 7.4 89.1 59.7 0.242 19.3 25.0 57.9 35.4
0.731 42.7 19.7 95.8 57.4 0.245 40.8 39.0 35.6 35.0
0.277 32.9 17.9 99.9 35.6 0.374 27.5 24.0 64.7 46.4
0.137 41.8 16.5 95.4 21.4 0.498 23.5 25.2 56.6 56.4
0.381 60.0 43.1 94.9 35.9 0.148 35.0 33.7 48.3 23.8
0.688 39.3 16.6 93.2 58.1 0.669 24.9 27.4 59.9 64.7
56.7 42.5 24.8 96.4 50.4 0.223 34.9 34.0 32.6 33.4
0.278 45.0 20.6 99.5 34.4 0.249 25.7 17.5 70.5 35.5
0.550 49.3 21.5 98.5 48.6 0.433 32.5 34.2 43.8 51.4
0.288 51.5 26.9 99.0 33.8 0.088 38.3 46.6 46.9 15.2
0.566 44.7 18.0 94.1 51.8 0.636 31.8 31.7 61.1 60.9
0.604 50.0 23.5 97.0 50.3 0.665 50.8 50.1 27.5 61.5"""


def test_table4_arithmetic_with_three_detectors():
    """The paper's rates in, its Joint out (inputs are rounded to 0.1 points and 3 decimals, hence 0.06);
    `add_table4` — what `polyalign detect` runs — gives the same numbers."""
    from polyalign_lf.detect.joint import add_table4

    checked = 0
    for line in TABLE4.splitlines():
        values = [float(x) for x in line.split()]
        for agg, binoculars, fdg, radar, joint in (values[:5], values[5:]):
            if agg > 1:  # Qwen2.5-3B English HDPO: Table 4 prints "56.7" where a fraction belongs
                continue
            summary = {
                "m": {
                    d: {"ai_rate": r / 100}
                    for d, r in (("binoculars", binoculars), ("fast_detectgpt", fdg), ("radar", radar))
                }
            }
            add_table4(summary, ["binoculars", "fast_detectgpt", "radar"], {"m": (agg, None)})
            entry = summary["m"]
            assert entry["h"] == pytest.approx(1 - (binoculars + fdg + radar) / 300)
            assert entry["joint"] == pytest.approx(joint, abs=0.06), line
            assert entry["h_label"] == "H" and entry["detectors_used"] == ["binoculars", "fast_detectgpt", "radar"]
            checked += 1
    assert checked == 39
    # Two detectors give a different quantity (the example: Joint 68.5, not 57.0) and say so.
    summary = {"m": {"binoculars": {"ai_rate": 0.381}, "fast_detectgpt": {"ai_rate": 0.151}}}
    add_table4(summary, ["binoculars", "fast_detectgpt"], {"m": (0.643, None)})
    assert summary["m"]["joint"] == pytest.approx(68.5, abs=0.05)
    assert summary["m"]["h_label"] == "H(2: binoculars, fast_detectgpt)"


def test_table4_markdown_labels_h_with_the_detectors_used():
    from polyalign_lf.detect.joint import table4_markdown

    entry = {"agg": 0.6, "h": 0.5, "joint": 54.5, "binoculars": {"ai_rate": 0.4}, "fast_detectgpt": {"ai_rate": 0.6}}
    two = table4_markdown({"m": entry}, ["binoculars", "fast_detectgpt"])
    assert "| H(2: binoculars, fast_detectgpt) | Joint[H(2: binoculars, fast_detectgpt)] |" in two
    assert "not the paper's H" in two
    three = table4_markdown({"m": dict(entry, radar={"ai_rate": 0.5})}, ["binoculars", "fast_detectgpt", "radar"])
    assert "| RADAR AI% | H | Joint |" in three and "not the paper's H" not in three


def test_detector_names():
    from polyalign_lf.detect.detection import parse_detectors
    from polyalign_lf.errors import ConfigError

    assert parse_detectors("binoculars,fast-detectgpt,classifier") == ["binoculars", "fast_detectgpt", "radar"]
    with pytest.raises(ConfigError, match="unknown gptzero"):
        parse_detectors("binoculars,gptzero")


def test_calibrated_rule_hits_target_fpr():
    from polyalign_lf.detect.detection import calibrated_rule

    rng = random.Random(0)
    human = [rng.gauss(1.0, 0.1) for _ in range(200)]  # Binoculars: human texts score high
    rule = calibrated_rule("binoculars", human, 0.05)
    rate = sum(rule.is_ai(x) for x in human) / len(human)
    assert rate <= 0.05 and rate >= 0.04
    assert rule.is_ai(0.5) and not rule.is_ai(1.5)


def test_agg_from_metrics_refuses_what_is_not_a_number():
    from polyalign_lf.errors import InputError

    assert agg_from_metrics({"agg": None, "skipped": {"agg": "no MAUVE"}}) == (None, "agg skipped: no MAUVE")
    for bad in (float("nan"), float("inf"), "0.5", True):
        with pytest.raises(InputError, match=r"m\.json: agg must be a finite number"):
            agg_from_metrics({"agg": bad}, where="m.json")
