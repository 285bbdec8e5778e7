"""LLM-as-a-judge with the PolyAlign rubric (paper §4.2, Appendix H) against OpenAI-compatible servers."""

from polyalign_lf.judge.rubric import (
    COMPOSITE_WEIGHTS,
    COMPOSITES,
    DIMENSIONS,
    all_composites,
    composite_score,
    score_to_100,
)

__all__ = ["COMPOSITE_WEIGHTS", "COMPOSITES", "DIMENSIONS", "all_composites", "composite_score", "score_to_100"]
