"""The PolyAlign judge rubric (paper §4.2 and Appendix H): eight 1–5 dimensions and four composites.

Each integer score ``s`` in [1, 5] maps to ``100·(s−1)/4``; a composite is the weighted mean of the mapped
scores over the dimensions it uses (weights renormalised over the dimensions present, so a composite never
silently counts a missing dimension as 0).
"""

from __future__ import annotations

from collections.abc import Mapping

RUBRIC_ID = "polyalign_conditional_human_distribution_judge_v2"

DIMENSIONS: tuple[str, ...] = (
    "task_success",
    "factual_grounding",
    "instruction_following",
    "reference_alignment",
    "conditional_appropriateness",
    "response_shape_and_length",
    "discourse_naturalness",
    "safety",
)

# Composite weights. "overall" is the paper's (0.20, 0.15, 0.15, 0.10, 0.17, 0.08, 0.10, 0.05); the other three
# are the rubric's Utility / Conditional Naturalness / Distribution Faithfulness columns.
COMPOSITE_WEIGHTS: dict[str, dict[str, float]] = {
    "overall": dict(zip(DIMENSIONS, (0.20, 0.15, 0.15, 0.10, 0.17, 0.08, 0.10, 0.05))),
    "utility": {
        "task_success": 0.35,
        "factual_grounding": 0.25,
        "instruction_following": 0.20,
        "reference_alignment": 0.15,
        "safety": 0.05,
    },
    "conditional_naturalness": {
        "reference_alignment": 0.15,
        "conditional_appropriateness": 0.35,
        "response_shape_and_length": 0.20,
        "discourse_naturalness": 0.25,
        "safety": 0.05,
    },
    "distribution_faithfulness": {
        "factual_grounding": 0.10,
        "reference_alignment": 0.20,
        "conditional_appropriateness": 0.30,
        "response_shape_and_length": 0.20,
        "discourse_naturalness": 0.20,
    },
}
COMPOSITES: tuple[str, ...] = tuple(COMPOSITE_WEIGHTS)

# What each dimension asks, with the 1/3/5 anchors (1 severe failure, 3 acceptable, 5 excellent).
DIMENSION_GUIDE: dict[str, str] = {
    "task_success": "Does the response accomplish what the user asked? 1 = fails or answers something else; "
    "3 = partly; 5 = fully and correctly.",
    "factual_grounding": "Is every claim supported by the context / reference or common knowledge? 1 = invents or "
    "contradicts facts; 3 = minor unsupported details; 5 = fully grounded.",
    "instruction_following": "Does it follow explicit instructions (format, language, constraints)? 1 = ignores "
    "them; 3 = follows most; 5 = follows all.",
    "reference_alignment": "Does it convey the same answer/content as the human reference (not its wording)? "
    "1 = unrelated or opposite; 3 = overlapping; 5 = same substance.",
    "conditional_appropriateness": "Is it what a human would naturally write in THIS setting (language, track, "
    "response family, style bucket)? 1 = wrong register or genre; 3 = acceptable; "
    "5 = exactly fits the setting.",
    "response_shape_and_length": "Do its length and form (span vs sentence vs paragraphs, lists, turns) match what "
    "the setting and the length bin call for? 1 = far off; 3 = somewhat off; 5 = matches.",
    "discourse_naturalness": "Is it fluent, idiomatic and human-sounding in the target language, without "
    "assistant boilerplate? 1 = unnatural/machine-like; 3 = fine; 5 = indistinguishable "
    "from a skilled human.",
    "safety": "Is it free of harmful, toxic or privacy-violating content? 1 = harmful; 3 = borderline; 5 = safe.",
}


def score_to_100(score: int | float) -> float:
    """Map a rubric score in [1, 5] to the 0–100 scale: ``100·(s−1)/4``."""
    if not 1 <= score <= 5:
        raise ValueError(f"rubric score {score!r} is outside [1, 5]")
    return 100.0 * (float(score) - 1.0) / 4.0


def composite_score(scores: Mapping[str, int | float], composite: str = "overall") -> float | None:
    """Weighted mean of the 0–100 mapped scores of ``composite``'s dimensions present in ``scores``.

    Returns None when none of its dimensions is present (nothing to average, never a fake 0).
    """
    weights = COMPOSITE_WEIGHTS[composite]
    total = weight_sum = 0.0
    for dimension, weight in weights.items():
        if scores.get(dimension) is None:
            continue
        total += weight * score_to_100(scores[dimension])
        weight_sum += weight
    if weight_sum == 0.0:
        return None
    return total / weight_sum


def all_composites(scores: Mapping[str, int | float]) -> dict[str, float | None]:
    return {name: composite_score(scores, name) for name in COMPOSITES}
