"""Bucket references: statistics, train-only, back-off, schema versioning, distance through the references."""

from __future__ import annotations

import json

import numpy as np
import pytest

from polyalign_lf.errors import InputError
from polyalign_lf.references import BucketReferences, build_references, support_distance, support_scale

BIG = "en|single|qa|short"
SMALL = "en|single|qa|long"
OTHER_FAMILY = "en|multi|dialogue|short"


def _table(seed=0):
    rng = np.random.default_rng(seed)
    buckets = [BIG] * 30 + [SMALL] * 3 + [OTHER_FAMILY] * 25 + [BIG] * 10
    splits = ["train"] * 58 + ["test"] * 10
    X = rng.normal(size=(len(buckets), 3))
    return X, buckets, splits


def test_statistics_match_numpy_and_train_only():
    X, buckets, splits = _table()
    refs = build_references(X, buckets, splits, ["a", "b", "c"], "v1", min_bucket_size=20)
    rows = X[:30]
    entry = refs.entries[BIG]
    assert entry["count"] == 30
    np.testing.assert_allclose(entry["mean"], rows.mean(0), atol=1e-7)
    np.testing.assert_allclose(entry["std"], rows.std(0), atol=1e-7)  # population std
    np.testing.assert_allclose(entry["q10"], np.quantile(rows, 0.1, axis=0), atol=1e-7)
    np.testing.assert_allclose(entry["q90"], np.quantile(rows, 0.9, axis=0), atol=1e-7)
    np.testing.assert_allclose(
        entry["robust_scale"], (np.quantile(rows, 0.75, 0) - np.quantile(rows, 0.25, 0)) / 1.349, atol=1e-7
    )
    assert refs.summary["excluded_rows_by_split"] == {"test": 10}
    # test rows never influence the references
    X2 = X.copy()
    X2[58:] += 1000
    refs2 = build_references(X2, buckets, splits, ["a", "b", "c"], "v1")
    assert refs2.entries == refs.entries
    with pytest.raises(InputError, match="train split only"):
        build_references(X, buckets, ["test"] * len(buckets), ["a", "b", "c"], "v1")


def test_small_bucket_backs_off_to_coarser_level():
    X, buckets, splits = _table()
    refs = build_references(X, buckets, splits, ["a", "b", "c"], "v1", min_bucket_size=20)
    assert refs.resolve(BIG) == BIG
    assert refs.resolve(SMALL) == "en|single|qa"  # 3 rows -> family level (33 rows)
    np.testing.assert_allclose(refs.entries["en|single|qa"]["mean"], X[:33].mean(0), atol=1e-7)
    assert refs.resolve("en|single|assistant|short") == "en"  # unseen family -> language
    assert refs.summary["backed_off_buckets"] == {SMALL: "en|single|qa"}
    with pytest.raises(InputError, match="no reference"):
        refs.resolve("zh|single|qa|short")
    # a larger minimum pushes everything to the language level
    refs_big = build_references(X, buckets, splits, ["a", "b", "c"], "v1", min_bucket_size=50)
    assert refs_big.resolve(BIG) == "en"


def test_distance_through_references_equals_eq4_and_roundtrip(tmp_path):
    X, buckets, splits = _table()
    refs = build_references(X, buckets, splits, ["a", "b", "c"], "v1", band="q25_q75", epsilon=0.05)
    e = refs.entries[BIG]
    z = np.array([[5.0, 0.0, -5.0]])
    expected = support_distance(
        z[0],
        np.array(e["q25"]),
        np.array(e["q75"]),
        support_scale(np.array(e["q25"]), np.array(e["q75"]), np.array(e["std"]), 0.05),
    )
    assert refs.distance(z, [BIG])[0] == pytest.approx(float(expected))
    path = tmp_path / "refs.json"
    refs.save(path)
    loaded = BucketReferences.load(path, expected_schema="v1")
    assert loaded.distance(z, [BIG])[0] == pytest.approx(float(expected))
    with pytest.raises(InputError, match="feature schema"):
        BucketReferences.load(path, expected_schema="v2")
    data = json.loads(path.read_text())
    data["format"] = "something-else"
    path.write_text(json.dumps(data))
    with pytest.raises(InputError, match="not a polyalign"):
        BucketReferences.load(path)


def test_human_answers_mostly_inside_their_support():
    X, buckets, splits = _table()
    refs = build_references(X, buckets, splits, ["a", "b", "c"], "v1")
    d = refs.distance(X[:30], [BIG] * 30)
    assert (d == 0).mean() > 0.4 and (d >= 0).all()
    assert refs.distance(X[:1] + 10, [BIG])[0] > 1
