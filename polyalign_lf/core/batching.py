"""Length-sorted batching: the one batching policy of every model pass (generation, embeddings, LM features,
detectors). Neighbours in length share a batch, so little of each batch is padding; callers put results back
in input order by the indices."""

from __future__ import annotations

from collections.abc import Sequence


def length_sorted_batches(
    lengths: Sequence[int], batch_size: int, *, minimum: int = 0, longest_first: bool = False
) -> list[list[int]]:
    """Indices of the items with ``length >= minimum``, sorted by length (stable: equal lengths keep their input
    order) and cut into batches of ``batch_size``. ``longest_first`` puts the largest batch first, so a memory
    peak shows at once rather than at the end of a long run."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    kept = [k for k, n in enumerate(lengths) if n >= minimum]
    order = sorted(kept, key=lambda k: -lengths[k] if longest_first else lengths[k])
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
