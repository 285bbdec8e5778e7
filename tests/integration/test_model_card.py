"""The PolyAlign part of a run's model card: added once (a second write replaces it), tags kept and extended."""

from __future__ import annotations

from types import SimpleNamespace

import yaml

from polyalign_lf.integration.model_card import add_to_model_card, card_settings


def test_card_gets_tags_and_one_section(tmp_path):
    critic = tmp_path / "critic"
    critic.mkdir()
    (critic / "critic_config.json").write_text('{"type": "mlp"}')
    pa = SimpleNamespace(
        hdpo_lambda=0.1,
        hdpo_critic=str(critic),
        bucket_weighting="false",
        weight_normalization="mean",
        bucket_sampling=False,
    )
    settings = card_settings("hdpo", SimpleNamespace(polyalign_args=pa, pref_beta=0.1))
    assert settings["method"] == "hdpo" and len(settings["critic_sha256"]) == 64
    card = tmp_path / "README.md"
    assert not add_to_model_card(card, settings)  # no card: nothing written
    card.write_text("---\nlibrary_name: transformers\ntags:\n- llama-factory\n- full\n---\n\n# dpo\n\nGeneric text.\n")
    assert add_to_model_card(card, settings) and add_to_model_card(card, settings)
    text = card.read_text()
    meta = yaml.safe_load(text.split("---\n")[1])
    assert meta["tags"] == ["llama-factory", "full", "polyalign", "hdpo"] and meta["library_name"] == "transformers"
    assert text.count("## PolyAlign: HDPO") == 1 and "Generic text." in text
    assert f"| `critic_sha256` | `{settings['critic_sha256']}` |" in text
