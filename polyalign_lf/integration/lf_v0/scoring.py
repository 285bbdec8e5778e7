"""The critic-scoring preprocessor of ``stage: hdpo`` (``hdpo_critic: <bundle dir>``).

Preference rows that lack ``chosen_score``/``rejected_score`` are scored at dataset-load time, in batches,
through the critic bundle interface (``polyalign_lf.critic.load_critic(dir).score(texts, bucket_ids)``;
lower = closer to the bucket's human support). The scoring runs as a ``datasets.map`` (see
:class:`CriticScorer`), so it is cached like LLaMA-Factory's tokenization:
other ranks and later runs load the result, and ``tokenized_path`` stores it with the tokenized data.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from polyalign_lf.errors import InputError


def response_texts(response: list[dict[str, Any]]) -> tuple[str, str]:
    """(chosen, rejected) texts of one aligned preference row (LLaMA-Factory's ``_response`` column)."""
    if not isinstance(response, list) or len(response) < 2:
        return "", ""
    return str(response[0].get("content", "")), str(response[1].get("content", ""))


def score_missing(
    critic: Any,
    responses: Sequence[list[dict[str, Any]]],
    bucket_ids: Sequence[str],
    chosen_scores: Sequence[float],
    rejected_scores: Sequence[float],
) -> tuple[list[float], list[float]]:
    """Fill NaN scores of one batch with one ``critic.score`` call; given scores are kept as they are."""
    chosen = [float(v) for v in chosen_scores]
    rejected = [float(v) for v in rejected_scores]
    texts: list[str] = []
    buckets: list[str] = []
    slots: list[tuple[list[float], int]] = []
    for i, response in enumerate(responses):
        chosen_text, rejected_text = response_texts(response)
        for scores, text in ((chosen, chosen_text), (rejected, rejected_text)):
            if math.isnan(scores[i]):
                texts.append(text)
                buckets.append(str(bucket_ids[i]))
                slots.append((scores, i))
    if not texts:
        return chosen, rejected
    values = list(critic.score(texts, buckets))
    if len(values) != len(texts):
        raise InputError(
            f"the critic returned {len(values)} scores for {len(texts)} texts",
            hint="the critic's score(texts, bucket_ids) must return one float per text",
        )
    for j, ((scores, i), value) in enumerate(zip(slots, values)):
        value = float(value)
        if not math.isfinite(value):
            raise InputError(
                f"the critic returned a non-finite score ({value}) for bucket {buckets[j]!r}",
                hint="check the critic bundle (features/references it was built from)",
            )
        scores[i] = value
    return chosen, rejected


@dataclass
class CriticScorer:
    """Batched ``datasets.map`` function that fills missing chosen/rejected scores with the critic.

    Its fingerprint (hence LLaMA-Factory's/datasets' cache) covers the bundle path and its config; the
    critic itself is loaded on first use only."""

    bundle_dir: str
    bundle_config: str
    _critic: Any = field(default=None, repr=False, compare=False)

    def __getstate__(self):  # never pickle a loaded model into the cache fingerprint or workers
        state = dict(self.__dict__)
        state["_critic"] = None
        return state

    def __call__(self, batch: dict[str, list[Any]]) -> dict[str, list[Any]]:
        from polyalign_lf.integration.lf_v0.scoring import score_missing

        if self._critic is None:
            from polyalign_lf.critic import interface

            self._critic = interface.load_critic(self.bundle_dir)
        chosen, rejected = score_missing(
            self._critic,
            batch["_response"],
            batch["_pa_bucket_id"],
            batch["_pa_score_chosen"],
            batch["_pa_score_rejected"],
        )
        return {"_pa_score_chosen": chosen, "_pa_score_rejected": rejected}


def zero_missing_scores(batch: dict[str, list[Any]]) -> dict[str, list[Any]]:
    return {
        "_pa_score_chosen": [0.0 if math.isnan(v) else v for v in batch["_pa_score_chosen"]],
        "_pa_score_rejected": [0.0 if math.isnan(v) else v for v in batch["_pa_score_rejected"]],
    }
