"""Versioned, bilingual, bounded response features (a contract: metrics and the critic consume it).

``extract_features(texts, languages)`` returns a ``float32 [n, d]`` matrix whose columns follow
``feature_names()``; ``FEATURE_SCHEMA_VERSION`` changes whenever a definition or the order changes.
Optional LM features (mean token log-prob and friends) live in :mod:`polyalign_lf.features.lm`.
See docs/human_distribution.md for every feature's definition.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from polyalign_lf.features.linguistic import (
    FEATURE_NAMES,
    FEATURE_SCHEMA_VERSION,
    FEATURE_SPECS,
    extract_linguistic_features,
)


def feature_names() -> list[str]:
    """Column names of :func:`extract_features`, in order."""
    return list(FEATURE_NAMES)


def feature_descriptions() -> dict[str, str]:
    return dict(FEATURE_SPECS)


def extract_features(
    texts: Sequence[str], languages: str | Sequence[str], *, show_progress: bool = False
) -> np.ndarray:
    """Linguistic features of ``texts`` (``languages``: one "en"/"zh" per text, or one string for all)."""
    return extract_linguistic_features(texts, languages, show_progress=show_progress)


__all__ = ["FEATURE_SCHEMA_VERSION", "feature_names", "feature_descriptions", "extract_features"]
