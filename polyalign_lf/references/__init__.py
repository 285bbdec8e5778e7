"""Bucket references (train split only, with back-off) and the support distance D_b(z) of Eq. 4."""

from polyalign_lf.references.build import BucketReferences, build_references, feature_statistics
from polyalign_lf.references.support import DEFAULT_EPSILON, support_distance, support_scale

__all__ = [
    "BucketReferences",
    "build_references",
    "feature_statistics",
    "support_distance",
    "support_scale",
    "DEFAULT_EPSILON",
]
