"""The critic-scoring preprocessor of ``stage: hdpo`` (``hdpo_critic: <bundle dir>``).

Preference rows that lack ``chosen_score``/``rejected_score`` are scored at dataset-load time, in batches,
through the critic bundle interface (``polyalign_lf.critic.load_critic(dir).score(texts, bucket_ids)``;
lower = closer to the bucket's human support). The scoring runs as a ``datasets.map`` (see
:class:`polyalign_lf.integration.columns.CriticScorer`), so it is cached like LLaMA-Factory's tokenization:
other ranks and later runs load the result, and ``tokenized_path`` stores it with the tokenized data.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
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
