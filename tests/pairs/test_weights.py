"""Theorem 5: hand-computed weights, an independent naive implementation, and properties (i)–(iii)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from polyalign_lf.errors import ConfigError
from polyalign_lf.pairs.hdpo_weights import (
    PAIR_TYPE_BIAS,
    WeightConfig,
    combine_weight,
    critic_gap,
    hdpo_weights,
    normalized_scarcity,
)


def naive_weights(buckets, langs, s_pos, s_neg, types, a=0.5, b=1.0, c=0.25, e=0.25, lo=0.5, hi=3.0):
    def norm(keys):
        n, k = len(keys), len(set(keys))
        r = {x: max(0.0, n / (k * keys.count(x)) - 1) for x in set(keys)}
        m = max(r.values())
        return {x: (r[x] / m if m > 0 else 0.0) for x in r}

    g, h = norm(list(buckets)), norm(list(langs))
    rho = {"global": 0.0, "local": 0.5, "distribution": 1.0}
    out = []
    for bk, lg, sp, sn, t in zip(buckets, langs, s_pos, s_neg, types):
        w = 1 + a * g[bk] + b * max(sn - sp, 0.0) + c * h[lg] + e * rho[t]
        out.append(min(max(w, lo), hi))
    return out


def test_hand_computed_example():
    # 4 pairs, buckets A A A B: N/(|B| n) = 4/(2*3)=0.667 -> r_A=0; 4/(2*1)=2 -> r_B=1 -> g_B=1
    # languages en en en zh: the same -> h_zh = 1, h_en = 0
    out = hdpo_weights(
        ["A", "A", "A", "B"],
        ["en", "en", "en", "zh"],
        [0.1, 0.5, 0.0, 0.2],
        [0.6, 0.1, 5.0, 0.2],
        ["global", "local", "distribution", "global"],
    )
    assert out["g"].tolist() == [0, 0, 0, 1] and out["h"].tolist() == [0, 0, 0, 1]
    assert out["delta"].tolist() == pytest.approx([0.5, 0.0, 5.0, 0.0])
    assert out["rho"].tolist() == [0.0, 0.5, 1.0, 0.0]
    # 1 + 0.5; 1 + 0.25*0.5; clip(1 + 5 + 0.25) = 3; 1 + 0.5 + 0.25
    assert out["weight"].tolist() == pytest.approx([1.5, 1.125, 3.0, 1.75])
    # w_min binds when it exceeds 1 + terms (weights below 1 only when w_max < 1 … or w_min > 1)
    assert combine_weight(np.zeros(1), np.zeros(1), np.zeros(1), np.zeros(1), WeightConfig(w_min=1.2))[
        0
    ] == pytest.approx(1.2)


def test_invalid_config_and_unknown_type():
    with pytest.raises(ConfigError):
        WeightConfig(alpha=-1).validate()
    with pytest.raises(ConfigError):
        WeightConfig(w_min=2, w_max=1).validate()
    with pytest.raises(ConfigError, match="pair type"):
        hdpo_weights(["A"], ["en"], [0.0], [0.0], ["quality"])


pair = st.tuples(
    st.sampled_from(["b1", "b2", "b3", "b4"]),
    st.sampled_from(["en", "zh"]),
    st.floats(0, 5),
    st.floats(0, 5),
    st.sampled_from(sorted(PAIR_TYPE_BIAS)),
)
coef = st.floats(0, 3)


@settings(max_examples=120, deadline=None)
@given(st.lists(pair, min_size=1, max_size=30), coef, coef, coef, coef, st.floats(0.05, 1.5), st.floats(0, 3))
def test_matches_naive_and_theorem5_i(rows, a, b, c, e, lo, span):
    hi = lo + span
    cfg = WeightConfig(a, b, c, e, lo, hi)
    buckets, langs, sp, sn, types = map(list, zip(*rows))
    w = hdpo_weights(buckets, langs, sp, sn, types, cfg)["weight"]
    np.testing.assert_allclose(w, naive_weights(buckets, langs, sp, sn, types, a, b, c, e, lo, hi), rtol=1e-12)
    assert np.all((w >= lo) & (w <= hi))  # (i)


@settings(max_examples=120, deadline=None)
@given(
    st.floats(0, 1),
    st.floats(0, 5),
    st.floats(0, 1),
    st.sampled_from([0.0, 0.5, 1.0]),
    st.sampled_from(["g", "delta", "h", "rho"]),
    st.floats(0, 2),
    coef,
    coef,
    coef,
    coef,
)
def test_theorem5_ii_nondecreasing_in_each_term(g, d, h, r, which, bump, a, b, c, e):
    cfg = WeightConfig(a, b, c, e)
    base = dict(g=g, delta=d, h=h, rho=r)
    more = dict(base)
    more[which] += bump
    w0 = combine_weight(*(np.array([base[k]]) for k in ("g", "delta", "h", "rho")), cfg)[0]
    w1 = combine_weight(*(np.array([more[k]]) for k in ("g", "delta", "h", "rho")), cfg)[0]
    assert w1 >= w0


@settings(max_examples=120, deadline=None)
@given(st.lists(st.sampled_from(["a", "b", "c", "d", "e"]), min_size=1, max_size=60))
def test_theorem5_iii_no_scarcity_for_large_buckets(keys):
    g = normalized_scarcity(keys)
    n, k = len(keys), len(set(keys))
    for key, value in g.items():
        assert 0 <= value <= 1
        if keys.count(key) >= n / k:
            assert value == 0  # (iii)
    assert max(g.values()) in (0.0, 1.0)


def test_critic_gap_is_positive_part():
    assert critic_gap(np.array([1.0, 0.0]), np.array([0.0, 2.0])).tolist() == [0.0, 2.0]


def test_weights_drops_pairs_whose_chosen_equals_rejected(tmp_path, capsys):
    """A pair with the same answer on both sides (up to case, spaces and invisible characters) has a DPO margin
    of 0 whatever the model does: `weights` drops and counts it instead of weighting it."""
    import json

    from polyalign_lf.cli import main

    base = {"prompt": "Q?", "bucket_id": "en|single|qa|short", "language": "en", "chosen_score": 0.1}
    rows = [
        dict(base, id="a", pair_type="global", chosen="Paris.", rejected="It depends.", rejected_score=0.9),
        dict(base, id="b", pair_type="global", chosen="Paris.", rejected=" paris\u200b. ", rejected_score=0.9),
        dict(base, id="c", pair_type="local", chosen="Rome.", rejected="Maybe Rome?", rejected_score=0.8),
    ]
    path = tmp_path / "pairs.json"
    path.write_text(json.dumps(rows), encoding="utf-8")
    assert main(["weights", "--pairs", str(path), "--out", str(tmp_path / "w.json")]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["identical_pairs_dropped"] == 1 and summary["pairs"] == 2
    assert [r["id"] for r in json.loads((tmp_path / "w.json").read_text())] == ["a", "c"]
