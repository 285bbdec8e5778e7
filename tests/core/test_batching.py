"""Length-sorted batching: every item once (or dropped when below the minimum), stable, lengths in order."""

from __future__ import annotations

import random

import pytest

from polyalign_lf.core.batching import length_sorted_batches


@pytest.mark.parametrize("longest_first", [False, True])
def test_batches_cover_the_items_in_length_order(longest_first):
    rng = random.Random(3)
    lengths = [rng.randint(0, 9) for _ in range(53)]
    batches = length_sorted_batches(lengths, 8, minimum=2, longest_first=longest_first)
    flat = [k for batch in batches for k in batch]
    assert sorted(flat) == [k for k, n in enumerate(lengths) if n >= 2]
    assert all(len(b) == 8 for b in batches[:-1]) and 0 < len(batches[-1]) <= 8
    seen = [lengths[k] for k in flat]
    assert seen == sorted(seen, reverse=longest_first)
    for a, b in zip(flat, flat[1:]):  # stable: equal lengths keep their input order
        if lengths[a] == lengths[b]:
            assert a < b


def test_empty_input_and_a_bad_batch_size():
    assert length_sorted_batches([], 4) == []
    with pytest.raises(ValueError):
        length_sorted_batches([1, 2], 0)
