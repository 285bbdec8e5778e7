"""Table 4 of the paper: detector human-likeness H and the Joint quality–human-likeness score."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

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


def add_table4(
    summary: dict[str, Any], detectors: list[str], aggs: Mapping[str, tuple[float | None, str | None]]
) -> None:
    """Add ``h`` (H = 1 − mean AI rate), ``joint``, ``detectors_used`` and ``h_label`` to each method (in place).

    ``H`` is kept as an alias of ``h`` for files written by earlier versions' readers."""
    from polyalign_lf.detect.detection import h_label

    for method, entry in summary.items():
        rates = [entry[d]["ai_rate"] for d in detectors if isinstance(entry.get(d), dict) and "ai_rate" in entry[d]]
        entry["detectors_used"] = list(detectors)
        entry["h_label"] = h_label(detectors)
        entry["h"] = human_likeness(rates) if len(rates) == len(detectors) else None
        entry["H"] = entry["h"]
        agg, reason = aggs.get(method, (None, "no --metrics file for this method"))
        entry["agg"] = agg
        if entry["h"] is None:
            entry["joint"], entry["joint_skip_reason"] = None, "a detector could not score this method"
        elif agg is None:
            entry["joint"], entry["joint_skip_reason"] = None, reason
        else:
            entry["joint"] = joint_score(agg, entry["h"])


def table4_markdown(summary: Mapping[str, Any], detectors: list[str]) -> str:
    from polyalign_lf.detect.detection import h_label
    from polyalign_lf.detect.detectors import DETECTORS

    names = {name: cls.label for name, cls in DETECTORS.items()}
    names["classifier"] = names["radar"]  # summaries written before radar had its name
    label = h_label([{"classifier": "radar"}.get(d, d) for d in detectors])
    joint = "Joint" if label == "H" else f"Joint[{label}]"
    header = ["Method", "Agg"] + [names.get(d, d) for d in detectors] + [label, joint]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for method, entry in summary.items():
        cells = [method, "–" if entry.get("agg") is None else f"{entry['agg']:.3f}"]
        for d in detectors:
            det = entry.get(d, {})
            cells.append(f"{100 * det['ai_rate']:.1f}" if "ai_rate" in det else "skipped")
        h = entry.get("h", entry.get("H"))
        cells.append("–" if h is None else f"{h:.3f}")
        cells.append("–" if entry.get("joint") is None else f"{entry['joint']:.1f}")
        lines.append("| " + " | ".join(cells) + " |")
    note = (
        ""
        if label == "H"
        else f"\n\n**{label} is not the paper's H**, which averages three detectors "
        "(binoculars, fast_detectgpt, radar); its Joint cannot be placed in Table 4's column."
    )
    return (
        "\n".join(lines) + "\n\nAI% = share of texts a detector classifies as machine-written (lower is better); "
        f"{label} = 1 − mean AI rate of the detectors used; Joint = 100·2·Agg·H/(Agg+H)." + note + "\n"
    )
