"""Table-2-style comparison of runs (one METRICS.json per method, from ``polyalign evaluate``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from polyalign_lf.errors import ConfigError, InputError
from polyalign_lf.io import read_json
from polyalign_lf.metrics.registry import lookup
from polyalign_lf.options import number_problem


def columns() -> tuple[tuple[str, str, bool, str], ...]:
    """(column label, dotted key in METRICS.json, higher is better, format) of every registered metric."""
    from polyalign_lf.metrics.registry import metric_specs

    return tuple((m.label, m.key, m.higher_is_better, m.fmt) for m in metric_specs())


def _domain(key: str) -> tuple[float | None, float | None]:
    """The values a metric can take (a value outside is a corrupted or hand-edited file, never ranked)."""
    from polyalign_lf.metrics.registry import METRICS

    return METRICS.get(key).domain if key in METRICS else (None, None)


@dataclass
class Run:
    """One method's metrics file."""

    name: str
    path: Path
    metrics: dict[str, Any]
    test_set: str = ""  # a label of the test set (languages and size); runs are only ranked within one test set
    fingerprint: str | None = None
    values: dict[str, float | None] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)

    @property
    def bng_scale(self) -> str:
        """``robust`` or ``paper`` (files written before the option existed are robust)."""
        scale = lookup(self.metrics, "bng.scale")
        return scale if scale in ("robust", "paper") else "robust"

    @property
    def mauve_protocol(self) -> str:
        """``polyalign`` or ``reference`` (files written before the option existed are polyalign)."""
        protocol = lookup(self.metrics, "mauve.protocol")
        return protocol if isinstance(protocol, str) and protocol else "polyalign"

    @property
    def bng_reference(self) -> str:
        """Where BNG's scales came from (the held-out human answers, or a `--references` file)."""
        source = lookup(self.metrics, "bng.scale_source")
        return "references" if isinstance(source, str) and source.startswith("references") else "held-out"

    @property
    def min_bucket_size(self) -> int | None:
        value = lookup(self.metrics, "config.min_bucket_size")
        return value if isinstance(value, int) else None

    def comparable_as(self, key: str) -> tuple:
        """What two runs must share for their values of ``key`` to be ranked together: the BNG scale and its
        reference statistics for BNG and what is built from it (NUF, Agg), the MAUVE protocol for MAUVE and what
        is built from it, and the minimum bucket size for every per-bucket aggregate."""
        uses_bng = key in ("bng.macro", "nuf.hypervolume", "agg")
        uses_mauve = key.startswith("mauve.") or key in ("nuf.hypervolume", "agg")
        per_bucket = key not in ("mauve.global",) and not key.startswith("utility.")
        return (
            (self.bng_scale, self.bng_reference) if uses_bng else None,
            self.mauve_protocol if uses_mauve else None,
            self.min_bucket_size if per_bucket else None,
        )


def _metric_value(metrics: Mapping[str, Any], key: str, where: str) -> float | None:
    """The value of ``key`` (None when absent or null: a skipped metric); anything else that is not a number
    in the metric's domain is an error naming the file and key."""
    value = lookup(metrics, key)
    if isinstance(value, Mapping):  # tolerate {"value": x} wrappers
        value = value.get("value")
    if value is None:
        return None
    problem = number_problem(value, *_domain(key))
    if problem:
        raise InputError(
            f"{key} {problem}",
            where=where,
            hint="metrics files are written by `polyalign evaluate`; recompute this one rather than editing it",
        )
    return float(value)


def load_run(name: str, path: Path) -> Run:

    metrics = read_json(path)
    if not isinstance(metrics, dict) or "utility" not in metrics:
        raise InputError("not a metrics file from `polyalign evaluate` (no 'utility' section)", where=str(path))
    test_set = metrics.get("test_set") or {}
    languages = ",".join(test_set.get("languages") or []) or "?"
    run = Run(
        name=name,
        path=path,
        metrics=metrics,
        test_set=f"{languages} (n={test_set.get('n', '?')})",
        fingerprint=test_set.get("ids_sha256"),
    )
    reasons = metrics.get("skipped") or {}
    for _, key, _, _ in columns():
        run.values[key] = _metric_value(metrics, key, str(path))
        if run.values[key] is None:
            run.skipped[key] = reasons.get(key, "not in the metrics file")
    return run


def load_runs(named_paths: Mapping[str, Path]) -> list[Run]:
    runs = [load_run(name, path) for name, path in named_paths.items()]
    if not runs:
        raise ConfigError("no run given")
    return runs


def rank_marks(runs: Sequence[Run]) -> dict[tuple[str, str], str]:
    """'best' / 'second' marks per (run, column key), ranking only runs on the same test set.

    Ties share a mark; "second" is only given when at least three runs are compared.
    """
    marks: dict[tuple[str, str], str] = {}
    groups: dict[str, list[Run]] = {}
    for run in runs:
        groups.setdefault(run.fingerprint or run.test_set, []).append(run)
    for group in groups.values():
        if len(group) < 2:
            continue
        for _, key, higher, _ in columns():
            for run in group:
                value = run.values[key]
                if value is None:
                    continue
                # BNG on different scales, MAUVE under different protocols are different quantities: rank
                # each on its own (and what is built from them, NUF and Agg)
                peers = [r for r in group if r.comparable_as(key) == run.comparable_as(key)]
                if len(peers) < 2:
                    continue
                scored = sorted({r.values[key] for r in peers if r.values[key] is not None}, reverse=higher)
                if value == scored[0]:
                    marks[(run.name, key)] = "best"
                elif len(peers) > 2 and len(scored) > 1 and value == scored[1]:  # with two runs "second" = last
                    marks[(run.name, key)] = "second"
    return marks


def comparison_rows(runs: Sequence[Run]) -> tuple[list[str], list[list[tuple[str, str]]], list[str]]:
    """Header, rows of (text, mark) cells and footnotes (skipped metrics with their reasons)."""
    marks = rank_marks(runs)
    show_test_set = len({r.fingerprint or r.test_set for r in runs}) > 1
    header = (
        ["Method"]
        + (["Test set"] if show_test_set else [])
        + [f"{label} {'↑' if higher else '↓'}" for label, _, higher, _ in columns()]
    )
    rows: list[list[tuple[str, str]]] = []
    reasons: dict[tuple[str, str], list[str]] = {}
    for run in runs:
        row = [(run.name, "")] + ([(run.test_set, "")] if show_test_set else [])
        for label, key, _, fmt in columns():
            value = run.values[key]
            if value is None:
                reasons.setdefault((label, run.skipped[key]), []).append(run.name)
                row.append(("skipped", "skipped"))
            else:
                row.append((fmt.format(value), marks.get((run.name, key), "")))
        rows.append(row)
    notes = [
        f"{label} ({'all runs' if len(names) == len(runs) and len(runs) > 1 else ', '.join(names)}): {reason}"
        for (label, reason), names in reasons.items()
    ]
    scales = {r.bng_scale for r in runs}
    if scales == {"paper"}:
        header[header.index("BNG-macro ↓")] = "BNG-macro (paper scale) ↓"
    elif len(scales) > 1:
        by_scale = {scale: ", ".join(r.name for r in runs if r.bng_scale == scale) for scale in sorted(scales)}
        notes.insert(
            0,
            "BNG-macro mixes scales (ranked within each scale only): "
            + "; ".join(f"{scale}: {names}" for scale, names in by_scale.items()),
        )
    for label, attribute in (("BNG reference statistics", "bng_reference"), ("--min-bucket-size", "min_bucket_size")):
        values = {getattr(r, attribute) for r in runs}
        if len(values) > 1:
            groups = {str(v): ", ".join(r.name for r in runs if getattr(r, attribute) == v) for v in values}
            notes.insert(
                0,
                f"runs differ in {label} (per-bucket metrics ranked within each only): "
                + "; ".join(f"{value}: {names}" for value, names in sorted(groups.items())),
            )
    protocols = {r.mauve_protocol for r in runs}
    if len(protocols) > 1:
        by_protocol = {p: ", ".join(r.name for r in runs if r.mauve_protocol == p) for p in sorted(protocols)}
        notes.insert(
            0,
            "MAUVE mixes protocols (MAUVE, NUF and Agg ranked within each protocol only): "
            + "; ".join(f"{p}: {names}" for p, names in by_protocol.items()),
        )
    return header, rows, notes


def comparison_markdown(runs: Sequence[Run]) -> str:
    header, rows, notes = comparison_rows(runs)
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" if k == 0 else "---:" for k in range(len(header))) + "|",
    ]
    for row in rows:
        cells = []
        for text, mark in row:
            cells.append(f"**{text}**" if mark == "best" else f"<u>{text}</u>" if mark == "second" else text)
        lines.append("| " + " | ".join(cells) + " |")
    text = (
        "\n".join(lines)
        + "\n\nBest per column in **bold**, second <u>underlined</u> (ranked among runs on the same test set).\n"
    )
    if notes:
        text += "\nNotes:\n" + "".join(f"- {note}\n" for note in notes)
    return text
