from __future__ import annotations

import pytest
from polyalign_testing.synthetic_corpus import synthetic_corpus

from polyalign_lf.features import FEATURE_SCHEMA_VERSION, extract_features, feature_names
from polyalign_lf.features.store import FeatureTable
from polyalign_lf.references import build_references


def tables_for(records, outputs):
    names = feature_names()
    human = FeatureTable(
        extract_features([r["human_answer"] for r in records], [r["language"] for r in records]),
        [r["id"] for r in records],
        [r["bucket_id"] for r in records],
        [r["language"] for r in records],
        [r["split"] for r in records],
        names,
        FEATURE_SCHEMA_VERSION,
        "human_answer",
    )
    rows = [(r, text) for r in records for text, _ in outputs[r["id"]]]
    model = FeatureTable(
        extract_features([t for _, t in rows], [r["language"] for r, _ in rows]),
        [r["id"] for r, _ in rows],
        [r["bucket_id"] for r, _ in rows],
        [r["language"] for r, _ in rows],
        [r["split"] for r, _ in rows],
        names,
        FEATURE_SCHEMA_VERSION,
        "prediction",
    )
    return human, model


@pytest.fixture(scope="session")
def synthetic():
    """(records, outputs, human table, model table, references) of a 500-prompt bilingual synthetic corpus."""
    records, outputs = synthetic_corpus(500, seed=3)
    human, model = tables_for(records, outputs)
    refs = build_references(human.matrix, human.bucket_ids, human.splits, human.feature_names, human.schema_version)
    return records, outputs, human, model, refs


@pytest.fixture(scope="session")
def trained_mlp(synthetic):
    from polyalign_lf.critic.mlp import MLPCritic, MLPCriticConfig
    from polyalign_lf.critic.train import critic_data_from_tables

    records, outputs, human, model, refs = synthetic
    data = critic_data_from_tables([human, model], refs, heldout_fraction=0.2)
    return MLPCritic.train(refs, data, MLPCriticConfig(batch_size=256, min_steps=250)), data
