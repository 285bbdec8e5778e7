"""Balanced bucket sampling: draw training examples with probability ∝ weight instead of weighting the loss.

With Bucket-SFT weights w_i = N / (|B| n_b), a draw lands in every bucket with probability 1/|B| and is
uniform inside its bucket, so the expected gradient of the plain example mean is the macro bucket risk of
Eq. 1 — without the rare-bucket gradient spikes that a weight of several hundred puts into a step (and that
gradient clipping then removes). Sampling is with replacement, N draws per epoch by default.

The sequence of draws depends only on (seed, epoch): every rank builds the same sequence and the
dataloader shards it (accelerate's ``BatchSamplerShard`` gives rank r every world-th batch), so ranks never
repeat each other's draws, and a resumed run that skips the batches already trained continues the same
sequence.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch
from torch.utils.data import Sampler


class BucketBalancedSampler(Sampler[int]):
    """Indices drawn with replacement with probability ∝ ``weights`` (deterministic under seed and epoch)."""

    def __init__(self, weights: Sequence[float] | torch.Tensor, num_samples: int | None = None, seed: int = 0):
        weights = torch.as_tensor(weights, dtype=torch.float64)
        if weights.ndim != 1 or weights.numel() == 0:
            raise ValueError("bucket sampling needs a non-empty 1-D weight vector")
        if not torch.isfinite(weights).all() or (weights < 0).any():
            raise ValueError("bucket sampling weights must be finite and >= 0")
        if float(weights.sum()) <= 0:
            raise ValueError("bucket sampling weights are all zero: no example could be drawn")
        self.weights = weights
        self.num_samples = int(weights.numel() if num_samples is None else num_samples)
        if self.num_samples < 1:
            raise ValueError(f"num_samples must be >= 1, got {self.num_samples}")
        self.seed = int(seed)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Called by the Trainer (through accelerate's dataloader) at the start of every epoch."""
        self.epoch = int(epoch)

    def draws(self, epoch: int | None = None) -> torch.Tensor:
        """The whole epoch's sequence of drawn indices (what ``__iter__`` yields)."""
        generator = torch.Generator()
        # one stream per (seed, epoch); the odd multiplier keeps (seed, epoch) pairs from colliding
        generator.manual_seed(self.seed * 1_000_003 + (self.epoch if epoch is None else int(epoch)))
        return torch.multinomial(self.weights, self.num_samples, replacement=True, generator=generator)

    def __iter__(self) -> Iterator[int]:
        return iter(self.draws().tolist())

    def __len__(self) -> int:
        return self.num_samples
