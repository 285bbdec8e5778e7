"""Balanced bucket sampling: draws ∝ weight (χ² over buckets), determinism, epochs, and rank sharding
through accelerate's own BatchSamplerShard (what the Trainer's dataloader uses under torchrun)."""

from __future__ import annotations

from collections import Counter

import pytest
import torch
from scipy.stats import chisquare

from polyalign_lf.objectives import BucketBalancedSampler, bucket_weights

SIZES = {"a": 1, "b": 3, "c": 12, "d": 48, "e": 400}


def _inventory():
    buckets = [b for b, n in SIZES.items() for _ in range(n)]
    table = bucket_weights(buckets)
    return buckets, [table[b] for b in buckets]


def test_buckets_are_drawn_uniformly():
    buckets, weights = _inventory()
    sampler = BucketBalancedSampler(weights, num_samples=20_000, seed=3)
    counts = Counter(buckets[i] for i in sampler)
    observed = [counts[b] for b in SIZES]
    assert chisquare(observed).pvalue >= 0.01, observed  # uniform over buckets, not ∝ size
    # uniform inside a bucket: the 400-row bucket's rows are hit evenly
    inside = Counter(i for i in BucketBalancedSampler(weights, num_samples=20_000, seed=4) if buckets[i] == "e")
    assert chisquare([inside.get(i, 0) for i in range(64, 464)]).pvalue >= 0.01


def test_deterministic_per_seed_and_epoch():
    _, weights = _inventory()
    a, b = BucketBalancedSampler(weights, seed=7), BucketBalancedSampler(weights, seed=7)
    assert list(a) == list(b) and len(a) == len(weights)  # N draws per epoch by default
    first = list(a)
    a.set_epoch(1)
    assert list(a) != first and list(a) == a.draws(1).tolist()
    assert list(BucketBalancedSampler(weights, seed=8)) != first


def test_two_ranks_shard_one_sequence():
    """Under torchrun every rank builds the same sampler and accelerate gives rank r every 2nd batch: the
    ranks' batches interleave back into the single sequence, so no draw is made twice across ranks, and the
    buckets stay uniform on the union."""
    from accelerate.data_loader import BatchSamplerShard
    from torch.utils.data import BatchSampler

    buckets, weights = _inventory()
    batch_size, num_samples = 4, 12_000
    sequence = BucketBalancedSampler(weights, num_samples=num_samples, seed=11).draws().tolist()
    shards = []
    for rank in range(2):
        batches = BatchSampler(BucketBalancedSampler(weights, num_samples=num_samples, seed=11), batch_size, False)
        shards.append(list(BatchSamplerShard(batches, num_processes=2, process_index=rank)))
    assert len(shards[0]) == len(shards[1])
    interleaved = [i for pair in zip(*shards) for batch in pair for i in batch]
    assert interleaved == sequence  # each global draw position is consumed by exactly one rank
    for rank in range(2):
        counts = Counter(buckets[i] for batch in shards[rank] for i in batch)
        assert chisquare([counts[b] for b in SIZES]).pvalue >= 0.01


@pytest.mark.parametrize(
    "weights,message",
    [
        ([], "non-empty"),
        ([0.0, 0.0], "all zero"),
        ([1.0, float("nan")], "finite"),
        ([1.0, -1.0], ">= 0"),
    ],
)
def test_bad_weights_are_refused(weights, message):
    with pytest.raises(ValueError, match=message):
        BucketBalancedSampler(torch.tensor(weights, dtype=torch.float64))
