"""Collators that keep PolyAlign's per-example tensors (LLaMA-Factory's rebuild features with fixed keys).

The ``pa_*`` keys are taken out of the features before LLaMA-Factory's collator runs and attached to the
batch afterwards as float32/int64 tensors of shape [B] (per pair for the pairwise collator), which also
keeps them out of LLaMA-Factory's cast to the compute dtype.
"""

from __future__ import annotations

from typing import Any

from polyalign_lf.errors import ConfigError
from polyalign_lf.integration.columns import BATCH_KEYS, STALE_CACHE_HINT

_CLASSES: dict[str, type] = {}


def pop_feature_extras(features: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    import torch

    features = [dict(feature) for feature in features]
    if features and any(key not in features[0] for key in BATCH_KEYS):
        raise ConfigError(STALE_CACHE_HINT)
    extras = {
        "pa_weight": torch.tensor([float(f.pop("pa_weight")) for f in features], dtype=torch.float32),
        "pa_bucket": torch.tensor([int(f.pop("pa_bucket")) for f in features], dtype=torch.long),
        "pa_score_chosen": torch.tensor([float(f.pop("pa_score_chosen")) for f in features], dtype=torch.float32),
        "pa_score_rejected": torch.tensor([float(f.pop("pa_score_rejected")) for f in features], dtype=torch.float32),
    }
    return features, extras


def sft_collator_class():
    if "sft" not in _CLASSES:
        from dataclasses import dataclass

        from llamafactory.data.collator import SFTDataCollatorWith4DAttentionMask

        @dataclass
        class BucketSFTDataCollator(SFTDataCollatorWith4DAttentionMask):
            def __call__(self, features):
                features, extras = pop_feature_extras(features)
                batch = super().__call__(features)
                batch.update(extras)
                return batch

        _CLASSES["sft"] = BucketSFTDataCollator
    return _CLASSES["sft"]


def pairwise_collator_class():
    if "pairwise" not in _CLASSES:
        from dataclasses import dataclass

        from llamafactory.data.collator import PairwiseDataCollatorWithPadding

        @dataclass
        class HDPODataCollator(PairwiseDataCollatorWithPadding):
            def __call__(self, features):
                features, extras = pop_feature_extras(features)
                batch = super().__call__(features)
                batch.update(extras)
                return batch

        _CLASSES["pairwise"] = HDPODataCollator
    return _CLASSES["pairwise"]
