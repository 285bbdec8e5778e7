"""The study corpus: deterministic, imbalanced like Table 1, every answer in its bucket, and the human
answers of different buckets differ in the features the metrics use."""

from __future__ import annotations

from collections import Counter

import numpy as np

from polyalign_lf.study.corpus import BUCKETS, TEST_PER_BUCKET, generate_corpus, study_bins


def _bucket(row) -> str:
    return next(b.bucket_id for b in BUCKETS if row["id"].startswith("study-" + b.bucket_id.replace("|", "-") + "-"))


def test_deterministic_and_unique():
    a, b = generate_corpus(), generate_corpus()
    assert a == b
    assert len({r["id"] for r in a}) == len(a)
    prompts = Counter((r["question"], r["context"], str(r["history"])) for r in a)
    assert max(prompts.values()) == 1  # no prompt repeats, so deduplication keeps every row
    assert generate_corpus(seed=7) != a  # the seed changes the draws (list orders, tips)


def test_imbalance_and_balanced_test_split():
    rows = generate_corpus()
    train = Counter(_bucket(r) for r in rows if r["split"] == "train")
    test = Counter(_bucket(r) for r in rows if r["split"] == "test")
    assert len(train) == len(BUCKETS) >= 12
    assert max(train.values()) >= 50 * min(train.values())
    assert sum(1 for n in train.values() if n < 10) >= 2  # at least two rare buckets
    assert set(test.values()) == {TEST_PER_BUCKET}
    assert {r["language"] for r in rows} == {"en", "zh"}


def test_every_answer_is_in_its_bucket_and_styles_differ():
    from polyalign_lf.data.normalize import length_bin
    from polyalign_lf.features import extract_features, feature_names

    rows = generate_corpus()
    bins = study_bins()
    for row in rows:
        spec = next(b for b in BUCKETS if b.bucket_id == _bucket(row))
        assert length_bin(row["answer"], row["language"], bins)[0] == spec.length_bin
        assert (row["context"] != "") == (spec.family == "qa") and bool(row["history"]) == (spec.track == "multi")
    names = list(feature_names())
    by_bucket = {}
    for spec in BUCKETS:
        answers = [r["answer"] for r in rows if _bucket(r) == spec.bucket_id][:20]
        by_bucket[spec.bucket_id] = extract_features(answers, [spec.language] * len(answers)).mean(axis=0)
    # within a language, every pair of buckets differs clearly in at least one feature the metrics use
    for a in by_bucket:
        for b in by_bucket:
            if a < b and a.split("|")[0] == b.split("|")[0]:
                scale = np.abs(by_bucket[a]) + np.abs(by_bucket[b]) + 1e-9
                assert (np.abs(by_bucket[a] - by_bucket[b]) / scale).max() > 0.3, (a, b)
    # and the uniform assistant style is one style: longer than every short human answer, same opener
    uniform = [r["uniform_answer"] for r in rows]
    assert all(u.startswith(("Sure! Here is", "好的！下面是")) for u in uniform)
    assert len(names) == len(by_bucket[BUCKETS[0].bucket_id])
