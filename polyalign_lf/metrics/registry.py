"""The metric family: one :class:`MetricSpec` per reported metric, registered in :data:`METRICS`.

A spec says where the value sits in a METRICS.json (``key``), what tables call it (``label``), which way is
better, which values it can take (``domain``: a value outside is a corrupted file, never ranked) and, for a
metric outside the built-in suite, how to compute it (``compute``). ``polyalign evaluate`` computes every
registered metric, ``polyalign report`` shows each as a column and the study reads labels and directions
from here, so adding a metric is one :func:`register_metric` call (here, or in another package through the
entry-point group ``polyalign_lf.metrics``) and no edit of those modules.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from polyalign_lf.core.registry import Registry

# compute(records, predictions, config) -> the value, or None when it cannot be computed on these rows
MetricCompute = Callable[[Sequence[dict], Sequence[str], Any], "float | None"]


@dataclass(frozen=True)
class MetricSpec:
    key: str  # dotted key in METRICS.json ("bng.macro"); a computed metric's value is written there
    label: str  # column label ("BNG-macro")
    higher_is_better: bool
    domain: tuple[float | None, float | None] = (None, None)
    compute: MetricCompute | None = None  # None: computed by the built-in suite (metrics/evaluate.py)
    fmt: str = "{:.3f}"


METRICS: Registry[MetricSpec] = Registry(
    "metric", builtins=("polyalign_lf.metrics.registry",), entry_point_group="polyalign_lf.metrics"
)


def lookup(obj: Mapping[str, Any], dotted: str) -> Any:
    """``obj['a']['b']`` for ``'a.b'`` (a metric's place in METRICS.json); None when any part is missing."""
    current: Any = obj
    for part in dotted.split("."):
        if not isinstance(current, Mapping) or part not in current:
            return None
        current = current[part]
    return current


def place(obj: dict[str, Any], dotted: str, value: Any) -> None:
    """Set ``obj['a']['b'] = value`` for ``'a.b'``, creating the sections on the way."""
    *sections, last = dotted.split(".")
    for part in sections:
        obj = obj.setdefault(part, {})
        if not isinstance(obj, dict):
            raise ValueError(f"metric key {dotted!r}: {part!r} is a value in METRICS.json, not a section")
    obj[last] = value


def register_metric(spec: MetricSpec, *, replace: bool = False) -> MetricSpec:
    """Register ``spec`` under its key (the order of registration is the order of report columns)."""
    return METRICS.register(spec.key, spec, replace=replace)


def metric_specs() -> tuple[MetricSpec, ...]:
    return tuple(spec for _, spec in METRICS.items())


def computed_metrics() -> tuple[MetricSpec, ...]:
    """The registered metrics outside the built-in suite (``evaluate`` calls their ``compute``)."""
    return tuple(spec for spec in metric_specs() if spec.compute is not None)


for _spec in (
    MetricSpec("utility.overall.f1", "QA-F1", True, (0.0, 1.0)),
    MetricSpec("utility.overall.em", "EM", True, (0.0, 1.0)),
    MetricSpec("utility.overall.nem", "nEM", True, (0.0, 1.0)),
    MetricSpec("utility.overall.rouge_l", "ROUGE-L", True, (0.0, 1.0)),
    MetricSpec("bng.macro", "BNG-macro", False, (0.0, None)),
    MetricSpec("mauve.global", "G-MAUVE", True, (0.0, 1.0)),
    MetricSpec("mauve.conditional_macro", "C-MAUVE", True, (0.0, 1.0)),
    MetricSpec("tdm.macro", "TDM", True, (0.0, 1.0)),
    MetricSpec("nuf.hypervolume", "NUF", True, (0.0, 1.0)),
    MetricSpec("agg", "Agg", True),
):
    register_metric(_spec)
