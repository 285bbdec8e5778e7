"""The study's aggregation: means and t-based CIs over seeds, paired claim differences and their verdicts,
checked against hand computations."""

from __future__ import annotations

import math

import pytest

from polyalign_lf.study.report import CLAIMS, markdown, mean_ci, summarize, verdict

RARE = ["en|multi|dialogue|medium", "zh|multi|dialogue|medium"]
METHODS = ("base", "sft", "bucket_sft", "bucket_sampling", "dpo", "hdpo")


def _metrics(f1, bng, rare, agg=0.3):
    return {
        "test_set": {"ids_sha256": "abc"},
        "utility": {"overall": {"f1": f1}},
        "bng": {"macro": bng, "by_bucket": {RARE[0]: {"bng": rare}, RARE[1]: {"bng": rare + 0.2}, "x": {"bng": 1.0}}},
        "mauve": {"conditional_macro": 0.5, "global": 0.6},
        "nuf": {"hypervolume": 0.4},
        "agg": agg,
    }


def test_mean_ci_by_hand():
    ci = mean_ci([1.0, 2.0, 3.0])
    assert ci["mean"] == 2.0 and ci["n"] == 3
    assert ci["ci95"] == pytest.approx(4.302652729911275 * 1.0 / math.sqrt(3))  # t(0.975, 2) · sd / √n
    assert mean_ci([5.0]) == {"mean": 5.0, "ci95": None, "n": 1}
    assert mean_ci([])["mean"] is None


def test_verdicts():
    assert verdict({"mean": -0.5, "ci95": 0.2}, higher_is_better=False) == "holds"
    assert verdict({"mean": -0.1, "ci95": 0.2}, higher_is_better=False) == "inconclusive"
    assert verdict({"mean": 0.5, "ci95": 0.2}, higher_is_better=False) == "contradicted"
    assert verdict({"mean": 0.5, "ci95": 0.2}, higher_is_better=True) == "holds"
    assert verdict({"mean": -0.5, "ci95": None}, higher_is_better=False) == "single seed: claimed direction"
    assert verdict({"mean": None, "ci95": None}, higher_is_better=True) == "not measured"


def test_summary_claims_are_paired_over_seeds():
    by_seed = {}
    for seed, shift in ((1, 0.0), (2, 0.1), (3, -0.1)):
        by_seed[seed] = {m: _metrics(0.4, 2.0, 3.0 + shift) for m in METHODS}
        by_seed[seed]["bucket_sft"] = _metrics(0.41, 1.5, 1.0 + 2 * shift)
    summary = summarize(by_seed, RARE, METHODS)
    rare = summary["table"]["bucket_sft"]["rare_bng"]
    assert rare["mean"] == pytest.approx(1.1) and rare["n"] == 3  # mean of (1.1, 1.3, 0.9)
    claim = next(c for c in summary["claims"] if c["better"] == "bucket_sft" and c["metric"] == "rare_bng")
    diffs = [(1.0 + 2 * s + 0.1) - (3.0 + s + 0.1) for s in (0.0, 0.1, -0.1)]  # paired per seed
    assert claim["difference"]["mean"] == pytest.approx(sum(diffs) / 3)
    assert claim["difference"]["ci95"] == pytest.approx(mean_ci(diffs)["ci95"])
    assert claim["verdict"] == "holds"
    assert len(summary["claims"]) == len(CLAIMS)
    text = markdown(summary, {})
    for c in CLAIMS:
        assert c.text in text
    assert "| bucket_sft |" in text and "±" in text


def test_runs_on_different_test_sets_are_refused():
    by_seed = {1: {m: _metrics(0.4, 2.0, 3.0) for m in METHODS}}
    by_seed[1]["hdpo"]["test_set"]["ids_sha256"] = "other"
    with pytest.raises(ValueError, match="one test set"):
        summarize(by_seed, RARE, METHODS)
