"""Table 4 of the paper: detector human-likeness H and the Joint quality–human-likeness score."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from polyalign_lf.errors import InputError
from polyalign_lf.options import number_problem


def human_likeness(ai_rates: Sequence[float]) -> float:
    """``H = 1 − (1/|D|) Σ_d r_d`` with ``r_d`` the predicted-AI rate (in [0, 1]) of detector ``d``."""
    if not ai_rates:
        raise ValueError("human_likeness needs at least one detector's AI rate")
    for rate in ai_rates:
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"AI rate {rate!r} is outside [0, 1]")
    return 1.0 - sum(ai_rates) / len(ai_rates)


def joint_score(agg: float, h: float) -> float:
    """``Joint = 100 · 2AH / (A + H)``: the harmonic mean of benchmark score A (Agg, in [0, 1]) and H, on 0–100."""
    if not (0.0 <= agg <= 1.0 and 0.0 <= h <= 1.0):
        raise ValueError(f"Joint needs A and H in [0, 1], got A={agg!r}, H={h!r}")
    if agg + h == 0.0:
        return 0.0
    return 100.0 * 2.0 * agg * h / (agg + h)


def agg_from_metrics(metrics: Mapping, where: str = "metrics") -> tuple[float | None, str | None]:
    """Read ``agg`` from a METRICS.json object: a number, or an object with ``value``; (None, reason) when it is
    absent or null (skipped). Anything else — NaN, infinity, a string — is an error naming ``where``."""

    value = metrics.get("agg")
    if isinstance(value, Mapping):
        if value.get("skipped") or value.get("status") == "skipped":
            return None, f"agg skipped: {value.get('reason', 'no reason given')}"
        value = value.get("value")
    if value is None:
        reason = (metrics.get("skipped") or {}).get("agg") if isinstance(metrics.get("skipped"), Mapping) else None
        return None, f"agg skipped: {reason}" if reason else "metrics file has no numeric 'agg'"
    problem = number_problem(value)
    if problem:
        raise InputError(
            f"agg {problem}", where=where, hint="metrics files are written by `polyalign evaluate`; recompute this one"
        )
    return float(value), None
