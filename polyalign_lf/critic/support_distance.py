"""The ``support_distance`` critic: the exact D_b(z) of Eq. 4 from bucket references, no learning.

Bundle: ``critic_config.json`` (``type``, feature schema, band, ε) + ``references.json``. ``score`` extracts
the features of the texts and returns D_b. It is the transparent baseline critic and the critic target.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from polyalign_lf.core.records import bucket_language
from polyalign_lf.critic.interface import CONFIG_NAME
from polyalign_lf.errors import InputError
from polyalign_lf.io import write_json
from polyalign_lf.references.build import BucketReferences

REFERENCES_NAME = "references.json"


def bucket_languages(bucket_ids: Sequence[str]) -> list[str]:
    """The language of each bucket id (its first field)."""
    return [bucket_language(b) for b in bucket_ids]


def featurize(
    texts: Sequence[str],
    bucket_ids: Sequence[str],
    schema_version: str,
    config: dict,
    device: str | None = None,
    show_progress: bool = False,
) -> np.ndarray:
    """Feature matrix of ``texts`` under ``schema_version`` (linguistic, optionally + LM features)."""
    from polyalign_lf.features import FEATURE_SCHEMA_VERSION, extract_features

    if len(texts) != len(bucket_ids):
        raise InputError(f"got {len(texts)} texts but {len(bucket_ids)} bucket ids")
    base, _, lm = schema_version.partition("+")
    if base != FEATURE_SCHEMA_VERSION:
        raise InputError(
            f"the critic was built with feature schema {schema_version!r}; this installation extracts {FEATURE_SCHEMA_VERSION!r}",
            hint="rebuild the references and the critic with this version",
        )
    matrix = extract_features(texts, bucket_languages(bucket_ids), show_progress=show_progress)
    if lm:
        from polyalign_lf.features.lm import LM_FEATURE_SCHEMA_VERSION, extract_lm_features

        if lm != LM_FEATURE_SCHEMA_VERSION or not config.get("lm_model"):
            raise InputError(f"the critic uses LM features {lm!r} but its config names no usable lm_model")
        matrix = np.concatenate([matrix, extract_lm_features(texts, config["lm_model"], device=device)], axis=1)
    return matrix


class SupportDistanceCritic:
    """Scores = D_b(features(text)) against the bundle's references (lower = closer to human support)."""

    def __init__(self, references: BucketReferences, config: dict | None = None, device: str | None = None):
        self.references = references
        self.config = config or {}
        self.device = device

    def score_features(self, matrix: np.ndarray, bucket_ids: Sequence[str]) -> np.ndarray:
        return self.references.distance(matrix, bucket_ids)

    def score(self, texts: Sequence[str], bucket_ids: Sequence[str]) -> list[float]:
        texts, bucket_ids = list(texts), list(bucket_ids)
        if not texts:
            return []
        matrix = featurize(texts, bucket_ids, self.references.schema_version, self.config, self.device)
        return self.score_features(matrix, bucket_ids).tolist()

    def save(self, bundle_dir: str | os.PathLike) -> Path:
        bundle = Path(bundle_dir)
        self.references.save(bundle / REFERENCES_NAME)
        write_json(
            bundle / CONFIG_NAME,
            {
                "type": "support_distance",
                "feature_schema_version": self.references.schema_version,
                "feature_names": self.references.feature_names,
                "band": self.references.band,
                "epsilon": self.references.epsilon,
                **{k: v for k, v in self.config.items() if k == "lm_model"},
            },
        )
        return bundle

    @classmethod
    def load(cls, bundle_dir: Path, config: dict, device: str | None = None) -> SupportDistanceCritic:
        refs = BucketReferences.load(
            Path(bundle_dir) / REFERENCES_NAME, expected_schema=config.get("feature_schema_version")
        )
        return cls(refs, config, device)
