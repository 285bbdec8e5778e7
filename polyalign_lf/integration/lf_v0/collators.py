"""Collators that keep PolyAlign's per-example tensors (LLaMA-Factory's rebuild features with fixed keys).

The ``pa_*`` keys are taken out of the features before LLaMA-Factory's collator runs and attached to the
batch afterwards as float32/int64 tensors of shape [B] (per pair for the pairwise collator), which also
keeps them out of LLaMA-Factory's cast to the compute dtype.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from polyalign_lf.errors import ConfigError
from polyalign_lf.integration.lf_v0.columns import BATCH_KEYS, STALE_CACHE_HINT

_CLASSES: dict[str, type] = {}


def pop_feature_extras(features: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    import torch

    features = [dict(feature) for feature in features]
    if features and any(key not in features[0] for key in BATCH_KEYS):
        raise ConfigError(STALE_CACHE_HINT)
    extras = {
        "pa_weight": torch.tensor([float(f.pop("pa_weight")) for f in features], dtype=torch.float32),
        "pa_bucket": torch.tensor([int(f.pop("pa_bucket")) for f in features], dtype=torch.long),
        "pa_index": torch.tensor([int(f.pop("pa_index")) for f in features], dtype=torch.long),
        "pa_score_chosen": torch.tensor([float(f.pop("pa_score_chosen")) for f in features], dtype=torch.float32),
        "pa_score_rejected": torch.tensor([float(f.pop("pa_score_rejected")) for f in features], dtype=torch.float32),
    }
    return features, extras


def _collator_with_extras(base_name: str, class_name: str):
    """A subclass of LLaMA-Factory's collator ``base_name`` that pops the ``pa_*`` features before LF's own
    collation and attaches them as tensors afterwards (so they stay float32, outside LF's dtype cast)."""
    if base_name not in _CLASSES:
        import llamafactory.data.collator as lf_collator

        base = getattr(lf_collator, base_name)

        def __call__(self, features):
            features, extras = pop_feature_extras(features)
            batch = base.__call__(self, features)
            batch.update(extras)
            return batch

        namespace = {"__call__": __call__, "__module__": __name__, "__qualname__": class_name}
        _CLASSES[base_name] = dataclass(type(class_name, (base,), namespace))
    return _CLASSES[base_name]


def sft_collator_class():
    return _collator_with_extras("SFTDataCollatorWith4DAttentionMask", "BucketSFTDataCollator")


def pairwise_collator_class():
    return _collator_with_extras("PairwiseDataCollatorWithPadding", "HDPODataCollator")
